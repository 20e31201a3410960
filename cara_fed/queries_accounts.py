"""Accounts read on every request (the page's artist, the signed-in visitor) without SQLAlchemy's empty eager loads.

`Account.avatar_asset`, `banner_asset` and `moved_to` load with `selectin` by default. For one account the ORM
runs each of those three loaders (and the assets' derivatives loader) after the row even when the keys are NULL,
which most are: it cost ~0.43 ms of the ~0.8 ms a portfolio page spent looking its artist up (bench/page_profile.py,
issue 15). `LEAN` turns them off for the statement, and `complete` fills all three in afterwards, reading only
what exists: nothing when the account has no avatar, banner or move; one statement for the assets (with their
derivatives, joined) when it has some; one more for a move's target. The result reads like a default load:
`avatar_asset` and `banner_asset` are set (or None), and `moved_target` works, one level deep.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, make_dataclass
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer, joinedload, lazyload
from sqlalchemy.orm.attributes import set_committed_value

from cara_fed.db_rows import core_rows
from cara_fed.models import Account, JobPost, MediaAsset, Project
from cara_fed.queries_cards import assets_with_derivatives

# Loader options for a statement whose accounts then go through `complete` or `fill_moves`, or whose readers use
# only the account's own columns (the artwork thread's commenters): reading an unfilled relation would lazy-load,
# which raises in async code.
LEAN = (lazyload(Account.avatar_asset), lazyload(Account.banner_asset), lazyload(Account.moved_to))

# Columns no page or API entity shows of an account it displays beside others (status authors): secrets, keys and
# sources. A loaded author row costs ~2.5 KB less without the keys; a statement that joins authors onto several rows
# per work (images, derivatives) repeats them on each. `raiseload`: reading one raises instead of lazy-loading.
_UNSHOWN = (Account.email, Account.password_hash, Account.totp_secret, Account.private_key_pem,
            Account.ed25519_private_key_pem, Account.public_key_pem, Account.assertion_keys, Account.bio,
            Account.bio_mentions, Account.skills, Account.request_note, Account.also_known_as)
SHOWN_ONLY = tuple(defer(column, raiseload=True) for column in _UNSHOWN)

# Built once (the ids bound at execution). Derivatives join in: an avatar or banner has a handful.
_ASSETS = (select(MediaAsset).options(joinedload(MediaAsset.derivatives))
           .where(MediaAsset.id.in_(bindparam("ids", expanding=True))))
_TARGETS = select(Account).options(*LEAN).where(Account.id.in_(bindparam("ids", expanding=True)))


async def complete(session: AsyncSession, accounts: Sequence[Account]) -> None:
    """Fill the avatar, banner and move target of `accounts` loaded with `LEAN` (and the avatar and banner of
    the move targets; their own moves stay unloaded, as with the default `join_depth=1`)."""
    targets = await _fill_moves(session, accounts)
    await _fill_assets(session, [*accounts, *targets])


async def fill_moves(session: AsyncSession, accounts: Iterable[Any]) -> None:
    """Fill the move target of those `accounts` that are ORM accounts read without one (the API's account lists,
    whose avatars and banners come from the page's facts instead). Plain-row status authors
    (queries_statuses.StatusAuthor) come with theirs. No statement unless one moved."""
    await _fill_assets(session, await _fill_moves(session, [a for a in accounts if isinstance(a, Account)
                                                            and "moved_to" not in a.__dict__]))


async def move_targets(session: AsyncSession, ids: set[int]) -> dict[int, Account]:
    """The accounts with these ids (where accounts moved to), without their avatars, banners and own moves (the
    API's entities show those from the page's facts, one level deep)."""
    if not ids:
        return {}
    return {target.id: target for target in (await session.scalars(_TARGETS, {"ids": list(ids)})).all()}


async def _fill_moves(session: AsyncSession, accounts: Sequence[Account]) -> list[Account]:
    moved = {account.moved_to_id for account in accounts if account.moved_to_id is not None}
    targets: dict[int, Account] = {}
    if moved:
        targets = {target.id: target for target in (await session.scalars(_TARGETS, {"ids": list(moved)})).all()}
    for account in accounts:
        set_committed_value(account, "moved_to", targets.get(account.moved_to_id))
    return list(targets.values())


async def _fill_assets(session: AsyncSession, accounts: Sequence[Account]) -> None:
    wanted = {key for account in accounts for key in (account.avatar_asset_id, account.banner_asset_id)
              if key is not None}
    assets: dict[int, MediaAsset] = {}
    if wanted:
        assets = {asset.id: asset for asset in (await session.scalars(_ASSETS, {"ids": list(wanted)})).unique()}
    for account in accounts:
        set_committed_value(account, "avatar_asset", assets.get(account.avatar_asset_id))
        set_committed_value(account, "banner_asset", assets.get(account.banner_asset_id))


# --- the artist of a portfolio or artwork page, as a plain row -----------------------------------------------
# An ORM Account costs ~130 us of CPU more than its row (instance state, identity map, a populator per column:
# bench/page_profile.py, issue 15), and these pages only read it. PageArtist has the model's attribute names
# (templates and queries read it as they read an Account) and every column but the secrets and keys, which no page
# shows; its avatar and banner are cards' assets (queries_cards.CardAsset: state, derivatives, best), its move
# target an ORM Account (username and URLs: one level deep), each read only when set.
_PAGE_UNSHOWN = frozenset({"email", "password_hash", "totp_secret", "totp_last_step", "private_key_pem",
                           "ed25519_private_key_pem", "public_key_pem", "assertion_keys"})
_PAGE_ATTRIBUTES = tuple(attribute for attribute in Account.__mapper__.column_attrs
                         if attribute.key not in _PAGE_UNSHOWN)
PageArtist = make_dataclass(
    "PageArtist", [(attribute.key, Any) for attribute in _PAGE_ATTRIBUTES]
    + [("avatar_asset", Any, field(default=None)), ("banner_asset", Any, field(default=None)),
       ("moved_target", Any, field(default=None))],
    slots=True, namespace={"is_local": Account.is_local, "name": Account.name,
                           "__doc__": "A portfolio's or artwork page's artist: Account's columns but its secrets."})
_ARTIST_COLUMNS = tuple(getattr(Account, attribute.key) for attribute in _PAGE_ATTRIBUTES)
_BY_NAME = (Account.username == bindparam("username"), Account.domain.is_(None))
_PAGE_ARTIST = select(*_ARTIST_COLUMNS).where(*_BY_NAME)
# The portfolio's artist with whether it has any project and any job post (EXISTS, each by an index on account_id):
# most artists have neither, and their portfolio then skips those two statements (~0.2 ms of wall time each on
# PostgreSQL, measured in process on bench/surge.py's data).
_PORTFOLIO_ARTIST = select(*_ARTIST_COLUMNS, select(Project.id).where(Project.account_id == Account.id).exists(),
                           select(JobPost.id).where(JobPost.account_id == Account.id).exists()).where(*_BY_NAME)


async def _page_artist(session: AsyncSession, row: Any) -> Any:
    artist = PageArtist(*row[:len(_ARTIST_COLUMNS)])
    files = {key for key in (artist.avatar_asset_id, artist.banner_asset_id) if key is not None}
    if files:
        assets = await assets_with_derivatives(session, files)
        artist.avatar_asset = assets.get(artist.avatar_asset_id)
        artist.banner_asset = assets.get(artist.banner_asset_id)
    if artist.moved_to_id is not None:
        artist.moved_target = (await move_targets(session, {artist.moved_to_id})).get(artist.moved_to_id)
    return artist


async def page_artist(session: AsyncSession, username: str) -> Any:
    """The local account called `username` as a PageArtist, or None (any status: the page decides)."""
    rows = await core_rows(session, _PAGE_ARTIST, {"username": username.lower()})
    return await _page_artist(session, rows[0]) if rows else None


@dataclass(frozen=True)
class PortfolioArtist:
    account: Any  # a PageArtist
    has_projects: bool
    has_job_posts: bool  # open or not: the portfolio then asks for the open ones


async def portfolio_artist(session: AsyncSession, username: str) -> PortfolioArtist | None:
    """page_artist for the portfolio page, with what that page may skip."""
    rows = await core_rows(session, _PORTFOLIO_ARTIST, {"username": username.lower()})
    if not rows:
        return None
    row = rows[0]
    return PortfolioArtist(await _page_artist(session, row), bool(row[-2]), bool(row[-1]))
