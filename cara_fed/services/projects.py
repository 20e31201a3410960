"""Portfolio projects: ordered collections of an artist's works with a cover."""

from __future__ import annotations

from sqlalchemy import func, select

from cara_fed.context import Context
from cara_fed.errors import NotFound, PermissionDenied, ValidationError
from cara_fed.models import Account, Artwork, Project, ProjectItem
from cara_fed.text import render_markdown


async def _validated_items(session, account: Account, artwork_ids: list[int]) -> list[int]:  # type: ignore[no-untyped-def]
    unique = list(dict.fromkeys(artwork_ids))
    if unique:
        owned = set((await session.scalars(select(Artwork.id).where(
            Artwork.id.in_(unique), Artwork.account_id == account.id))).all())
        if missing := [i for i in unique if i not in owned]:
            raise ValidationError({"artworks": f"Artwork {missing[0]} is not one of yours."})
    return unique


def _check(title: str, description: str) -> None:
    errors = {}
    if not title.strip():
        errors["title"] = "Give the project a title."
    elif len(title) > 200:
        errors["title"] = "Keep the title under 200 characters."
    if len(description) > 5000:
        errors["description"] = "Keep the description under 5,000 characters."
    if errors:
        raise ValidationError(errors)


async def save_project(ctx: Context, account: Account, title: str, description: str, artwork_ids: list[int],
                       cover_artwork_id: int | None = None, project_id: int | None = None) -> Project:
    """Create (project_id None) or replace a project's fields and its ordered items."""
    _check(title, description)
    async with ctx.transaction() as tx:
        items = await _validated_items(tx.session, account, artwork_ids)
        if project_id is None:
            position = await tx.session.scalar(select(func.count()).select_from(Project)
                                               .where(Project.account_id == account.id))
            project = Project(account_id=account.id, title="", position=position or 0)
            tx.session.add(project)
        else:
            project = await tx.session.get(Project, project_id)
            if project is None:
                raise NotFound("No such project.")
            if project.account_id != account.id:
                raise PermissionDenied("This project belongs to someone else.")
        project.title = title.strip()
        project.description = description
        project.description_html = render_markdown(description)
        project.items = [ProjectItem(artwork_id=aid, position=i) for i, aid in enumerate(items)]
        if cover_artwork_id is not None and cover_artwork_id not in items:
            raise ValidationError({"cover": "The cover must be one of the project's works."})
        project.cover_artwork_id = cover_artwork_id or (items[0] if items else None)
        await tx.session.flush()
    return project


async def delete_project(ctx: Context, account: Account, project_id: int) -> None:
    async with ctx.transaction() as tx:
        project = await tx.session.get(Project, project_id)
        if project is None:
            raise NotFound("No such project.")
        if project.account_id != account.id:
            raise PermissionDenied("This project belongs to someone else.")
        await tx.session.delete(project)
