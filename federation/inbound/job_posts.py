"""Job posts and applications we receive (DESIGN.md §4): a studio's job `Page` (stored only when someone
here follows the studio), an in-app application Note to one of our jobs, and a status message about an
application we sent. federation/inbound/handlers.py dispatches to `receive` and `delete`.
"""

from __future__ import annotations

from sqlalchemy import select

from cara_fed.context import Context
from cara_fed.models import Account, JobPost
from cara_fed.services import job_applications
from cara_fed.services import jobs as jobs_service
from cara_fed.services.inbox import Received
from cara_fed.services.job_applications import RemoteApplication
from cara_fed.services.remote import domain_of
from federation.inbound.outcome import Ignored
from federation.inbound.policy import followed_here
from federation.wire.job_posts import application_works, field, is_application, is_job, parse_job
from federation.wire.parse import Activity
from federation.wire.parse_values import first, iri, iris, plain_text, text, text_or_map


async def receive(ctx: Context, act: Activity, obj: dict, sender: Account, item: Received) -> bool:
    """Handle a job Page or an application Note; False when the object is neither (the caller goes on)."""
    status = field(obj, "applicationStatus")
    if status is not None:
        if act.type != "Create":
            raise Ignored("status messages cannot be edited")
        if first(iris(obj.get("attributedTo"))) != sender.uri:
            raise Ignored("the status message is attributed to someone other than the sender")
        await job_applications.receive_remote_status(ctx, sender, iri(obj.get("inReplyTo")) or "", text(status))
        return True
    if is_application(obj):
        if act.type != "Create":
            raise Ignored("applications cannot be edited")
        if first(iris(obj.get("attributedTo"))) != sender.uri:
            raise Ignored("the application is attributed to someone other than the sender")
        message = text(field(obj, "applicationMessage")) or plain_text(text_or_map(obj, "content"))
        await job_applications.receive_remote_application(ctx, sender, RemoteApplication(
            uri=iri(obj.get("id")) or act.id, job_uri=iri(field(obj, "applicationFor")) or "",
            message=message, works=application_works(field(obj, "applicationWorks"))))
        return True
    if not is_job(obj):
        return False
    if not iri(obj.get("id")):
        raise Ignored("a job post needs an id")
    data = parse_job(obj)
    if first(iris(obj.get("attributedTo"))) != sender.uri:
        raise Ignored("the job post is attributed to someone other than the sender")
    if domain_of(data.uri) != domain_of(sender.uri or ""):
        raise Ignored("the job post's id is on another host than its author")
    async with ctx.sessions() as session:
        known = await session.scalar(select(JobPost.id).where(JobPost.uri == data.uri)) is not None
    if not known and not await followed_here(ctx, sender):
        raise Ignored("nobody here follows the studio")
    await jobs_service.upsert_remote_job(ctx, sender, data)
    return True


async def delete(ctx: Context, sender: Account, uri: str) -> bool:
    """Delete of a job post we stored: True when it was one."""
    return await jobs_service.delete_remote_job(ctx, sender, uri)
