"""@mentions in our own rich text (artwork descriptions, bios): resolved once, when the text is saved, from
accounts this server already knows (no network: a save must not wait on other servers), linked into the
stored HTML as Mastodon marks them up, and kept as a list the Note and the actor turn into `Mention` tags.

Each stored mention is {"href": actor id, "name": "@name@domain", "url": profile page, "account_id": our row}.
Names that match nobody we know stay plain text; they are looked at again on the next save.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cara_fed import urls
from cara_fed.context import Context
from cara_fed.models import Account
from cara_fed.text import find_mentions, handle_key, link_mentions

MAX_MENTIONS = 20  # as a toot's mention limit keeps a description from addressing a crowd


def _http(url: str | None) -> str:
    """A remote document's URL only when it is plainly http(s): a stranger's `javascript:` never becomes a link."""
    if url and url.startswith(("https://", "http://")) and not any(ch.isspace() or ch in '"<>' for ch in url):
        return url
    return ""


def mention_of(ctx: Context, account: Account) -> dict[str, Any] | None:
    """The stored shape for one account, or None when it has no address we may link to."""
    domain = account.domain or ctx.config.server.domain
    if account.is_local:
        href, url = ctx.url(urls.actor(account.username)), ctx.url(urls.profile(account.username))
    else:
        href = _http(account.uri)
        url = _http(account.url) or href
    if not href or not url:
        return None
    return {"href": href, "name": f"@{account.username}@{domain}", "url": url, "account_id": account.id}


async def known_accounts(session: AsyncSession, own_domain: str, handles: list[str]) -> list[Account]:
    """Active people (not the instance actor) with these handle_keys, local or remote, in one query."""
    wanted = []
    for key in handles[:MAX_MENTIONS]:
        name, _, host = key.partition("@")
        wanted.append(and_(Account.username == name, Account.domain.is_(None)) if host == own_domain.lower()
                      else and_(Account.username == name, Account.domain == host))
    if not wanted:
        return []
    rows = (await session.scalars(select(Account).where(or_(*wanted)))).unique().all()
    return [a for a in rows if a.status == "active" and a.kind != "application"]


async def link(ctx: Context, session: AsyncSession, safe_html: str) -> tuple[str, list[dict[str, Any]]]:
    """(HTML with the known mentions linked, the stored mention list) for text we just rendered."""
    own = ctx.config.server.domain
    handles = find_mentions(safe_html, own)
    if not handles:
        return safe_html, []
    found: dict[str, dict[str, Any]] = {}
    for account in await known_accounts(session, own, handles):
        entry = mention_of(ctx, account)
        if entry is not None:
            found[handle_key(account.username, account.domain, own)] = entry
    ordered = [found[key] for key in handles if key in found]
    return link_mentions(safe_html, {key: m["url"] for key, m in found.items()}, own), ordered
