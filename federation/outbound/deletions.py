"""Delete(actor) for a local account whose grace period ended (cara_fed/services/account_deletion.py).

Nothing is sent while the account is in its grace period (it may come back); at the end one Delete goes to
every server that knew it: its followers and the accounts it followed (one shared inbox per server where we
know one), every inbox our retained deliveries of its activities reached, and every server we ever delivered
to successfully (`Instance.last_success_at`), as Mastodon does. Then the follows both ways are dropped.
"""

from __future__ import annotations

from sqlalchemy import func, select

from cara_fed.context import Context
from cara_fed.models import Account, Delivery, Follow, Instance, OutgoingActivity
from cara_fed.services import account_deletion
from federation.outbound.outbox import _record, event_id
from federation.wire import serialize as s


async def _inboxes(session, account_id: int) -> list[str]:  # type: ignore[no-untyped-def]
    inbox = func.coalesce(func.nullif(Account.shared_inbox_url, ""), Account.inbox_url)
    known = select(Account.id).where(Account.domain.is_not(None), Account.status != "suspended")
    related = select(Follow.follower_id).where(Follow.followee_id == account_id).union(
        select(Follow.followee_id).where(Follow.follower_id == account_id))
    urls = set(await session.scalars(select(inbox).where(Account.id.in_(related), Account.id.in_(known))))
    urls |= set(await session.scalars(select(Delivery.inbox_url).join(OutgoingActivity).where(
        OutgoingActivity.actor_id == account_id, OutgoingActivity.activity_type != "Delete")))
    # Every other server we ever reached: one inbox each (a shared one when any of its actors names it).
    reached = select(Instance.domain).where(Instance.last_success_at.is_not(None), Instance.policy != "suspend")
    per_domain = await session.execute(select(Account.domain, func.max(inbox)).where(
        Account.domain.in_(reached), Account.status != "suspended").group_by(Account.domain))
    shared: dict[str, str] = {domain.lower(): url for domain, url in await session.execute(
        select(Account.domain, func.max(Account.shared_inbox_url)).where(
            Account.domain.is_not(None), func.coalesce(Account.shared_inbox_url, "") != "").group_by(Account.domain))}
    # One POST per server where it has a shared inbox: a Delete of an actor concerns the whole server.
    urls = {shared.get(_domain(url), url) for url in urls if url}
    covered = {_domain(url) for url in urls}
    urls |= {url for domain, url in per_domain if url and domain.lower() not in covered}
    return sorted(urls)


def _domain(url: str) -> str:
    return url.split("://", 1)[-1].split("/", 1)[0].lower()


async def account_deleted(ctx: Context, account_id: int | str) -> None:
    """Delete(actor) to everyone who knew the account, signed with its kept key; then forget its follows."""
    async with ctx.sessions() as session:
        account = await session.get(Account, int(account_id))
        if account is None or not account.is_local or account.deleted_at is None:
            return
        inboxes = await _inboxes(session, account.id)
    actor = s.actor_id(ctx, account)
    delete = s.activity(ctx, "Delete", account, actor, to=[s.PUBLIC], id_=event_id(ctx, f"delete-actor:{actor}"))
    await _record(ctx, account, delete, inboxes)
    await account_deletion.forget_relations(ctx, account.id)
