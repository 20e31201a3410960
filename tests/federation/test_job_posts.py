"""Job posts on the wire: the Page we send expands under our namespace with every JobPosting field, and
what a peer sends (compacted like any inbound activity) parses back into the same job."""

from __future__ import annotations

from datetime import timedelta

from pyld import jsonld as pyld
from sqlalchemy import select

from cara_fed.db import utcnow
from cara_fed.services import accounts, jobs
from cara_fed.services.jobs import JobInput
from federation.wire import job_posts
from federation.wire import jsonld as our_jsonld

NS = "https://w3id.org/cara-fed/ns#"


async def _job(ctx, **extra):  # type: ignore[no-untyped-def]
    async with ctx.transaction() as tx:
        studio = await accounts.create_account(ctx, tx, "inkwell", "ink@example.org", "password123", kind="studio",
                                               display_name="Inkwell", bypass_registration=True)
    deadline = (utcnow() + timedelta(days=20)).date().isoformat()
    data = JobInput(title="Concept artist", description="Paint **worlds**", field="Concept Art", role="Senior",
                    employment_type="contract", location="Berlin", workplace="remote", pay_min="3000",
                    pay_max="4500", currency="EUR", pay_period="month", skills=["Photoshop", "Blender"],
                    deadline=deadline, apply_method="inapp", **extra)
    return await jobs.create_job(ctx, studio, data)


async def test_page_has_mastodon_fields_and_expands_under_our_namespace(ctx):
    job = await _job(ctx)
    async with ctx.sessions() as session:
        from cara_fed.models import JobPost

        job = await session.get(JobPost, job.id)
    page = job_posts.page_for_job(ctx, job)
    assert page["type"] == "Page" and page["name"] == "Concept artist"
    assert page["url"] == page["id"] == f"http://test.example/jobs/{job.id}"
    assert "Inkwell is hiring" in page["summary"] and "3,000–4,500 EUR per month" in page["summary"]
    # Every cara: term is defined (by the prefix) in the context we send: it expands to a full IRI.
    expanded = pyld.expand(page, {"documentLoader": our_jsonld.document_loader})[0]
    for term in ("employmentType", "jobLocation", "jobLocationType", "salaryMin", "salaryMax", "salaryCurrency",
                 "salaryUnit", "skills", "validThrough", "jobStatus", "applyMethod", "occupationalCategory", "role"):
        assert NS + term in expanded, term
    assert not any(key.startswith("cara:") for key in expanded)


async def test_round_trip_through_compaction_rebuilds_every_field(ctx):
    job = await _job(ctx)
    async with ctx.sessions() as session:
        from cara_fed.models import JobPost

        job = await session.get(JobPost, job.id)
    page = job_posts.page_for_job(ctx, job)
    compacted = our_jsonld.compact_activity({"@context": page["@context"], "id": "http://test.example/a/1",
                                             "type": "Create", "actor": page["attributedTo"], "object": page})
    obj = compacted["object"]
    assert job_posts.is_job(obj) and not job_posts.is_application(obj)
    data = job_posts.parse_job(obj)
    assert (data.title, data.field, data.role, data.employment_type, data.location, data.workplace) == (
        "Concept artist", "Concept Art", "Senior", "contract", "Berlin", "remote")
    assert (data.pay_min, data.pay_max, data.currency, data.pay_period) == (3000, 4500, "EUR", "month")
    assert data.skills == ["Photoshop", "Blender"] and data.status == "open" and data.apply_method == "inapp"
    assert data.deadline == job.deadline.replace(microsecond=0)
    assert "<strong>worlds</strong>" in data.description_html and "Concept artist" not in data.description_html


async def test_a_single_skill_and_a_plain_mastodon_page_are_read_liberally(ctx):
    doc = {"@context": ["https://www.w3.org/ns/activitystreams", {"cara": NS}], "id": "https://x.example/p/1",
           "type": "Page", "name": "Inker", "cara:employmentType": "part-time", "cara:skills": "Ink",
           "cara:salaryMin": "12", "cara:jobLocationType": "moon"}
    obj = our_jsonld.compact_activity(doc)
    data = job_posts.parse_job(obj)
    assert data.skills == ["Ink"] and data.pay_min == 12
    # A Page without our fields (a Lemmy post, say) is not a job.
    assert not job_posts.is_job(our_jsonld.compact_activity({**doc, "cara:employmentType": None}))


async def test_a_remote_jobs_images_are_fetched_into_our_pipeline(ctx):
    """A job arriving from another instance keeps its images: fetched, protected and served from our cache."""
    from sqlalchemy import select

    from cara_fed.models import JobPost
    from cara_fed.services import remote
    from cara_fed.services.remote import RemoteActor
    from tests import images
    from tests.federation.peer import enable_federation, running_peer

    fed = enable_federation(ctx)
    async with running_peer() as peer:
        actor = peer.add_actor("inkwell")
        studio = await remote.upsert_actor(fed, RemoteActor(
            uri=actor.id, username="inkwell", domain=peer.host, inbox=actor.id + "/inbox",
            public_key_pem=actor.public_pem, key_id=actor.key_id))
        poster = peer.serve("/media/poster.png", images.png(640, 400), "image/png")
        doc = {"@context": ["https://www.w3.org/ns/activitystreams", {"cara": NS}], "id": actor.id + "/jobs/1",
               "type": "Page", "name": "Inker", "attributedTo": actor.id, "cara:employmentType": "freelance",
               "attachment": [{"type": "Document", "mediaType": "image/png", "url": poster, "name": "Our studio"},
                              {"type": "Document", "mediaType": "video/mp4", "url": poster + ".mp4"}]}
        data = job_posts.parse_job(our_jsonld.compact_activity(doc))
        assert [(i.url, i.alt_text) for i in data.images] == [(poster, "Our studio")]  # the video is skipped
        await jobs.upsert_remote_job(fed, studio, data)
        gets = len(peer.gets)
        await jobs.upsert_remote_job(fed, studio, data)  # the same images again: nothing fetched anew
        assert len(peer.gets) == gets
    async with fed.sessions() as session:
        job = await session.scalar(select(JobPost).where(JobPost.uri == actor.id + "/jobs/1"))
        [image] = job.images
        assert image.alt_text == "Our studio" and image.asset.state == "ready" and image.asset.derivatives


async def test_only_the_jobs_studio_can_change_a_sent_applications_status(ctx):
    import pytest

    from cara_fed.errors import NotFound, PermissionDenied, ValidationError
    from cara_fed.models import JobApplication, Notification
    from cara_fed.services import job_applications, remote
    from cara_fed.services.jobs import RemoteJob
    from cara_fed.services.remote import RemoteActor

    async with ctx.transaction() as tx:
        bob = await accounts.create_account(ctx, tx, "bob", "bob@example.org", "password123", bypass_registration=True)
    studio, other = [await remote.upsert_actor(ctx, RemoteActor(
        uri=f"https://{host}/users/s", username="s", domain=host, inbox=f"https://{host}/users/s/inbox",
        public_key_pem="", key_id=f"https://{host}/users/s#key")) for host in ("studio.example", "other.example")]
    job = await jobs.upsert_remote_job(ctx, studio, RemoteJob(uri="https://studio.example/jobs/1", url=None,
                                                               title="Inker"))
    async with ctx.transaction() as tx:
        sent = JobApplication(job_id=job.id, applicant_id=bob.id, message="Hello")
        tx.session.add(sent)
        await tx.session.flush()
        sent.uri = ctx.url(f"/applications/{sent.id}")
    with pytest.raises(PermissionDenied):
        await job_applications.receive_remote_status(ctx, other, sent.uri, "declined")
    with pytest.raises(NotFound):
        await job_applications.receive_remote_status(ctx, studio, "https://x.example/applications/1", "declined")
    with pytest.raises(ValidationError):
        await job_applications.receive_remote_status(ctx, studio, sent.uri, "hired!")
    await job_applications.receive_remote_status(ctx, studio, sent.uri, "shortlisted")
    async with ctx.sessions() as session:
        assert (await session.get(JobApplication, sent.id)).status == "shortlisted"
        kinds = (await session.scalars(select(Notification.kind).where(Notification.account_id == bob.id))).all()
        assert kinds == ["application_shortlisted"]
