"""Comments on artworks (threaded replies), local and federated, with the artwork's comment setting
(everyone / followers only / off), a per-account rate limit against spam, mentions and hashtags.

Local comments are federated through the `CommentPosted` / `CommentDeleted` events. Remote replies arrive
as RemoteComment (built by the federation edge, HTML already sanitized and sanitized again here); a reply
the artwork's setting does not allow is kept as `rejected` (never shown, never counted), so the decision
can be seen and nothing is lost.
"""

from __future__ import annotations

import html
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete as sql_delete
from sqlalchemy import func, select

from cara_fed import queries, urls
from cara_fed.context import Context
from cara_fed.db import utcnow
from cara_fed.errors import NotFound, PermissionDenied, RateLimited, ValidationError
from cara_fed.events import ArtworkUpdated, CommentDeleted, CommentPosted, emit
from cara_fed.models import Account, Artwork, Comment, Notification
from cara_fed.models.social import COMMENT_POLICIES
from cara_fed.queries_artwork import ShownWork
from cara_fed.queries_safety import blocked_either_way
from cara_fed.services import account_email
from cara_fed.services.interactions import visible_artwork
from cara_fed.services.notifications import notify
from cara_fed.text import MENTION_RE, normalize_tag, sanitize_html

MAX_LENGTH = 2000
RATE_WINDOW = timedelta(hours=1)
HASHTAG_RE = re.compile(r"(?<![\w&/#])#(\w{1,100})")


@dataclass
class RemoteComment:
    """A reply from another server, as federation/inbound/social.py reads it."""

    uri: str
    attributed_to: str
    in_reply_to: str
    content_html: str
    url: str | None = None
    published: datetime | None = None
    mentions: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Mentioned:
    """A resolved @mention: the account and the text that named it."""

    account: Account
    text: str


def may_comment(artwork: Artwork | ShownWork, account: Account, is_follower: bool) -> str | None:
    """None if `account` may comment on `artwork`, else the reason in plain words."""
    if account.id == artwork.account_id:
        return None
    if artwork.comment_policy == "off":
        return "The artist has turned comments off for this artwork."
    if artwork.comment_policy == "followers" and not is_follower:
        return "Only the artist's followers can comment on this artwork."
    return None


def render(text: str, mentioned: list[Mentioned], profile_url: dict[int, str], tag_url: str) -> tuple[str, list[str]]:
    """Plain text -> HTML (escaped, line breaks kept, mentions and hashtags linked as Mastodon marks them up).
    Returns (html, hashtags)."""
    by_text = {m.text.lower(): m for m in mentioned}
    tags: list[str] = []

    def mention(match: re.Match) -> str:
        found = by_text.get(match.group(0).lower())
        if found is None:
            return match.group(0)
        url = html.escape(profile_url[found.account.id])
        return (f'<span class="h-card"><a href="{url}" class="u-url mention">'
                f'@<span>{html.escape(found.account.username)}</span></a></span>')

    def hashtag(match: re.Match) -> str:
        tag = normalize_tag(match.group(1))
        if not tag:
            return match.group(0)
        tags.append(tag)
        return (f'<a href="{html.escape(tag_url + tag)}" class="mention hashtag" rel="tag">'
                f'#<span>{html.escape(match.group(1))}</span></a>')

    paragraphs = []
    for block in re.split(r"\n\s*\n", text.strip()):
        escaped = html.escape(block)  # escaping leaves @, # and word characters alone
        linked = HASHTAG_RE.sub(hashtag, MENTION_RE.sub(mention, escaped))
        paragraphs.append("<p>" + linked.replace("\n", "<br>") + "</p>")
    return "".join(paragraphs), list(dict.fromkeys(tags))


async def resolve_mentions(ctx: Context, text: str) -> list[Mentioned]:
    """Local names and name@host handles in `text`; remote ones we do not know yet are looked up (WebFinger
    through the installed directory). Names that resolve to nobody stay plain text."""
    own = ctx.config.server.domain.lower()
    found: list[Mentioned] = []
    seen: set[str] = set()
    for match in MENTION_RE.finditer(text):
        name, host = match.group(1).lower(), (match.group(2) or "").lower()
        if match.group(0).lower() in seen or len(found) >= 10:
            continue
        seen.add(match.group(0).lower())
        async with ctx.sessions() as session:
            if not host or host == own:
                account = await queries.local_account(session, name)
            else:
                account = await queries.remote_account(session, name, host)
        if account is None and host and host != own and ctx.directory is not None:
            try:
                account = await ctx.directory.resolve_handle(name, host)
            except LookupError:
                account = None
        if account is not None and account.status == "active" and account.kind != "application":
            found.append(Mentioned(account, match.group(0)))
    return found


async def _check_rate(ctx: Context, session, account: Account) -> None:  # type: ignore[no-untyped-def]
    limit = ctx.config.security.comments_per_hour
    if not limit:
        return
    since = utcnow() - RATE_WINDOW
    recent = await session.scalar(select(func.count()).select_from(Comment).where(
        Comment.account_id == account.id, Comment.created_at > since)) or 0
    if recent >= limit:
        oldest = await session.scalar(select(func.min(Comment.created_at)).where(
            Comment.account_id == account.id, Comment.created_at > since))
        wait = max(60, int(((oldest or utcnow()) + RATE_WINDOW - utcnow()).total_seconds()))
        raise RateLimited(f"You have posted {recent} comments in the last hour, the most this instance allows "
                          f"({limit} per hour). Please wait about {(wait + 59) // 60} minutes before commenting "
                          "again.", retry_after=wait)


async def post(ctx: Context, author: Account, artwork_id: int, text: str, parent_id: int | None = None) -> Comment:
    """A local account comments on an artwork (or replies to a comment on it)."""
    account_email.require_verified(ctx, author)
    text = text.strip()
    if not text:
        raise ValidationError({"content": "Write something first."})
    if len(text) > MAX_LENGTH:
        raise ValidationError({"content": f"Comments are at most {MAX_LENGTH} characters."})
    artwork = await visible_artwork(ctx, author, artwork_id)
    async with ctx.sessions() as session:
        reason = may_comment(artwork, author, await queries.is_follower(session, author, artwork.account_id))
        if await blocked_either_way(session, author.id, artwork.account_id):
            reason = "You cannot comment on this artist's works."
        await _check_rate(ctx, session, author)
    if reason:
        raise PermissionDenied(reason)
    mentioned = await resolve_mentions(ctx, text)
    profile_urls = {m.account.id: (ctx.url(urls.profile(m.account.username)) if m.account.is_local
                                   else m.account.url or m.account.uri or "") for m in mentioned}
    content_html, tags = render(text, mentioned, profile_urls, ctx.url("/tags/"))
    async with ctx.transaction() as tx:
        tx.touches(artwork.account_id, author.id)  # the artwork page, the author's outbox (tag pages list works only)
        parent = None
        if parent_id is not None:
            parent = await tx.session.get(Comment, parent_id)
            if parent is None or parent.artwork_id != artwork.id or parent.state != "visible":
                raise NotFound("The comment you are replying to is gone.")
        comment = Comment(artwork_id=artwork.id, account_id=author.id, parent_id=parent.id if parent else None,
                          content=text, content_html=content_html, tags=tags,
                          mentions=[m.account.uri or ctx.url(urls.actor(m.account.username)) for m in mentioned])
        tx.session.add(comment)
        await tx.session.flush()
        # SQLite may reuse a deleted row's id; the random part keeps every Note (and Create) id unique.
        comment.uri = ctx.url(urls.comment(f"{comment.id}-{secrets.token_hex(4)}"))
        _notify_all(tx, comment, artwork, author, parent, [m.account for m in mentioned])
        emit(ctx, tx, CommentPosted(comment.id))
    return comment


def _notify_all(tx, comment: Comment, artwork: Artwork, author: Account, parent: Comment | None,  # type: ignore[no-untyped-def]
                mentioned: list[Account]) -> None:
    """The artist (comment), the parent's author (reply) and everyone mentioned (mention), once each."""
    told = {author.id}
    for account, kind in [(artwork.account, "comment"), *([(parent.account, "reply")] if parent else []),
                          *[(m, "mention") for m in mentioned]]:
        if account.id not in told:
            told.add(account.id)
            notify(tx, account, kind, actor=author, object_type="comment", object_id=comment.id)


async def delete(ctx: Context, account: Account, comment_id: int) -> None:
    """The comment's author or the artwork's artist removes a comment (and the replies under it)."""
    async with ctx.transaction() as tx:
        comment = await tx.session.get(Comment, comment_id)
        artwork = await tx.session.get(Artwork, comment.artwork_id) if comment is not None else None
        if comment is None or artwork is None:
            raise NotFound("That comment does not exist.")
        if account.id not in (comment.account_id, artwork.account_id):
            raise PermissionDenied("Only its author or the artist can remove a comment.")
        tx.touches(artwork.account_id, comment.account_id)
        if comment.account.is_local and comment.uri:
            emit(ctx, tx, CommentDeleted(comment.account_id, artwork.id, comment.uri))
        await _remove(tx.session, comment)


async def set_policy(ctx: Context, owner: Account, artwork_id: int, policy: str) -> Artwork:
    if policy not in COMMENT_POLICIES:
        raise ValidationError({"comment_policy": "Choose everyone, followers or off."})
    async with ctx.transaction() as tx:
        artwork = await tx.session.get(Artwork, artwork_id)
        if artwork is None or artwork.account_id != owner.id:
            raise NotFound("This artwork does not exist or is not yours.")
        if artwork.comment_policy != policy:
            artwork.comment_policy = policy
            if artwork.state == "published":  # servers that read interactionPolicy learn the new setting
                emit(ctx, tx, ArtworkUpdated(artwork.id))
    return artwork


async def receive(ctx: Context, sender: Account, artwork: Artwork, parent: Comment | None,
                  data: RemoteComment, mentioned: list[Account]) -> Comment | None:
    """A remote reply to an artwork we store (or to a comment on it). Idempotent per Note id; an edit
    (Update) replaces the text. Returns None for a duplicate."""
    if data.attributed_to != sender.uri:
        raise PermissionDenied("the reply is attributed to someone other than the sender")
    async with ctx.sessions() as session:
        is_follower = await queries.is_follower(session, sender, artwork.account_id)
        blocked = await blocked_either_way(session, sender.id, artwork.account_id)
        if artwork.account.is_local and not blocked and not await queries.can_view_async(session, artwork, sender):
            # Not even kept as rejected: a stranger must not learn (or fill our database about) a work it cannot see.
            raise PermissionDenied("the work is not visible to this account (followers-only)")
    reason = may_comment(artwork, sender, is_follower) if artwork.account.is_local else None
    if blocked:
        reason = "The artist has blocked this account (or it blocked the artist)."
    async with ctx.transaction() as tx:
        tx.touches(artwork.account_id)  # the artwork page and its replies collection
        existing = await tx.session.scalar(select(Comment).where(Comment.uri == data.uri))
        if existing is not None:
            if existing.account_id != sender.id:
                raise PermissionDenied("that reply belongs to another actor")
            if existing.artwork_id != artwork.id:  # the page it shows on
                tx.touches(await tx.session.scalar(select(Artwork.account_id).where(Artwork.id == existing.artwork_id)))
            existing.content_html = sanitize_html(data.content_html)
            return None
        comment = Comment(artwork_id=artwork.id, account_id=sender.id, parent_id=parent.id if parent else None,
                          uri=data.uri, url=data.url, content_html=sanitize_html(data.content_html),
                          mentions=data.mentions[:50], tags=data.tags[:30], state="rejected" if reason else "visible",
                          reason=(reason or "")[:200], created_at=data.published or utcnow())
        tx.session.add(comment)
        await tx.session.flush()
        if not reason:
            _notify_all(tx, comment, artwork, sender, parent, mentioned)
    return comment


async def remote_deleted(ctx: Context, sender: Account, uri: str) -> bool:
    """Inbound Delete of a remote reply; only its author may delete it."""
    async with ctx.transaction() as tx:
        comment = await tx.session.scalar(select(Comment).where(Comment.uri == uri))
        if comment is None:
            return False
        if comment.account_id != sender.id:
            raise PermissionDenied("only the author may delete this reply")
        tx.touches(await tx.session.scalar(select(Artwork.account_id).where(Artwork.id == comment.artwork_id)))
        await _remove(tx.session, comment)
    return True


async def _remove(session, comment: Comment) -> None:  # type: ignore[no-untyped-def]
    """A comment goes with the replies under it and every notification about them (ids may be reused)."""
    ids, frontier = [comment.id], [comment.id]
    while frontier:
        frontier = list(await session.scalars(select(Comment.id).where(Comment.parent_id.in_(frontier))))
        ids += frontier
    await session.execute(sql_delete(Notification).where(Notification.object_type == "comment",
                                                         Notification.object_id.in_(ids)))
    await session.delete(comment)
