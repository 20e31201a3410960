"""The federated job board end to end: two cara-fed instances on loopback (each with its own database and
worker) and a Fedify peer, over real HTTP."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import pytest

from tests.flows.test_browser import VIEWPORTS, Problems, browser, playwright_api, screenshots, site  # noqa: F401
from tests.flows.users import Browserless, eventually
from tests.instance import running_instance
from tests.peers.fedify_peer import require_fedify, running_fedify

pytestmark = pytest.mark.flow

DEADLINE = (datetime.now(UTC) + timedelta(days=40)).date().isoformat()
JOB = {"title": "Background painter", "description": "Paint **moody** skies for our short film.",
       "field": "Illustration", "role": "Mid-level painter", "employment_type": "contract", "workplace": "remote",
       "location": "Europe", "pay_min": "400", "pay_max": "550", "currency": "EUR", "pay_period": "day",
       "skills": "Gouache, Krita", "deadline": DEADLINE, "apply_method": "inapp"}


@pytest.fixture
def two_instances(tmp_path):  # type: ignore[no-untyped-def]
    with running_instance(tmp_path / "a") as a, running_instance(tmp_path / "b") as b:
        a.cli("createuser", "inkwell", "--email", "ink@a.example", "--password", "inkwell password", "--kind", "studio")
        b.cli("createuser", "bob", "--email", "bob@b.example", "--password", "bob password")
        yield a, b


async def post_job(studio: Browserless, **fields: str) -> str:
    response = await studio.post("/jobs/new", {**JOB, **fields}, token_from="/jobs/new")
    assert response.status == 303, f"posting the job failed: {response.status}"
    return response.headers["Location"]


async def test_job_travels_edits_closes_takes_an_application_and_is_deleted(two_instances):
    a, b = two_instances
    studio, bob = Browserless(a.url), Browserless(b.url)
    try:
        await studio.login("inkwell", "inkwell password")
        await bob.login("bob", "bob password")
        # Bob follows the studio from B.
        async with bob.http.get(f"{b.url}/follow", params={"handle": f"@inkwell@127.0.0.1:{a.port}"},
                                allow_redirects=False) as found:
            assert found.status == 303, await found.text()
            profile = found.headers["Location"]
        _, page = await bob.get(profile)
        account_id = re.search(r"/accounts/(\d+)/follow", page).group(1)
        await bob.post(f"/accounts/{account_id}/follow", {}, token_from=profile)

        async def accepted():  # type: ignore[no-untyped-def]
            return "Unfollow" in (await bob.get(profile))[1]
        await eventually(accepted, what="the studio's instance accepting Bob's follow")

        # The studio posts a job on A; it appears on B's board with every field, marked with A's host.
        location = await post_job(studio)
        host = f"127.0.0.1:{a.port}"

        async def on_board():  # type: ignore[no-untyped-def]
            _, html = await bob.get("/jobs?origin=remote")
            return "Background painter" in html and html
        board = await eventually(on_board, what="the job reaching B's board")
        assert f"From {host}" in board
        remote_path = re.search(r'href="(/jobs/\d+)"', board).group(1)
        status, job_page = await bob.get(remote_path)
        assert status == 200
        for shown in ("Background painter", "<strong>moody</strong>", "Mid-level painter", "Illustration", "Contract",
                      "Remote · Europe", "400–550 EUR per day", "Gouache", "Krita", host, "Send application"):
            assert shown in job_page, shown
        assert re.search(r'<time datetime="' + DEADLINE, job_page)
        assert "Background painter" not in (await bob.get("/jobs?origin=local"))[1]

        # An edit on A reaches B.
        job_id = location.rsplit("/", 1)[1]
        edited = await studio.post(f"/jobs/{job_id}/edit", {**JOB, "title": "Sky painter", "pay_max": "600"},
                                   token_from=f"/jobs/{job_id}/edit")
        assert edited.status == 303

        async def edit_arrived():  # type: ignore[no-untyped-def]
            html = (await bob.get(remote_path))[1]
            return "Sky painter" in html and "400–600 EUR per day" in html
        await eventually(edit_arrived, what="the edit reaching B")

        # Bob applies from B: a direct message to the studio on A, which lands in its applications inbox.
        applied = await bob.post(f"{remote_path}/apply", {"message": "I paint skies every evening."},
                                 token_from=remote_path)
        assert applied.status == 303

        async def application_arrived():  # type: ignore[no-untyped-def]
            status, html = await studio.get(f"/jobs/{job_id}/applications")
            return status == 200 and "I paint skies every evening." in html and html
        inbox = await eventually(application_arrived, what="Bob's application reaching the studio on A")
        assert f"@bob@127.0.0.1:{b.port}" in inbox
        assert "applied to your job" in (await studio.get("/notifications"))[1]

        # The studio shortlists Bob on A; B shows Bob the new status and notifies him.
        application_id = re.search(r'action="/applications/(\d+)/status"', inbox).group(1)
        shortlisted = await studio.post(f"/applications/{application_id}/status", {"status": "shortlisted"},
                                        token_from=f"/jobs/{job_id}/applications")
        assert shortlisted.status == 303

        async def status_arrived():  # type: ignore[no-untyped-def]
            return "Status: <strong>Shortlisted</strong>" in (await bob.get(remote_path))[1]
        await eventually(status_arrived, what="the studio's shortlisting reaching Bob on B")
        assert "shortlisted your application" in (await bob.get("/notifications"))[1]

        # Closing on A hides the job from "open" listings on both instances.
        await studio.post(f"/jobs/{job_id}/close", {}, token_from=location)
        assert "Sky painter" not in (await studio.get("/jobs?q=sky"))[1]

        async def closed_on_b():  # type: ignore[no-untyped-def]
            html = (await bob.get("/jobs?q=sky"))[1]
            return "Sky painter" not in html and "Closed" in (await bob.get("/jobs?q=sky&status=all"))[1]
        await eventually(closed_on_b, what="the closure reaching B")

        # Delete on A removes the job on B.
        await studio.post(f"/jobs/{job_id}/delete", {}, token_from=location)

        async def deleted_on_b():  # type: ignore[no-untyped-def]
            return (await bob.get(remote_path))[0] == 404
        await eventually(deleted_on_b, what="the delete reaching B")
    finally:
        await studio.close()
        await bob.close()


async def test_fedify_receives_the_job_page(tmp_path):
    require_fedify()
    with running_instance(tmp_path / "cara") as cara, running_fedify(tmp_path / "peer") as peer:
        cara.cli("createuser", "inkwell", "--email", "ink@cara.example", "--password", "inkwell password",
                 "--kind", "studio")
        actor = f"{cara.url}/users/inkwell"
        await asyncio.to_thread(peer.follow, actor)
        await asyncio.to_thread(peer.wait_for_following, actor)
        studio = Browserless(cara.url)
        try:
            await studio.login("inkwell", "inkwell password")
            location = await post_job(studio)
        finally:
            await studio.close()
        page_id = f"{cara.url}{location}"

        def is_job(activity: dict) -> bool:
            obj = activity.get("object")
            return activity["type"] == "Create" and isinstance(obj, dict) and obj.get("id") == page_id
        create = await asyncio.to_thread(peer.wait_for_inbox, is_job, 60)
        page = create["object"]
        assert page["type"] == "Page" and page["name"] == "Background painter"
        assert "is hiring" in page["summary"] and page["url"] == page_id


@pytest.mark.browser
def test_board_in_a_real_browser(browser, site, output_dir):  # type: ignore[no-untyped-def]  # noqa: F811
    """A studio posts a job through the form with the keyboard-reachable labels; the board, the job page and
    the form are screenshotted at phone and desktop widths (and phone in dark mode) with no CSP errors and
    no text below WCAG AA contrast."""
    site.cli("createuser", "inkwell", "--email", "ink@site.example", "--password", "inkwell password",
             "--kind", "studio")
    problems = Problems()
    context = problems.watch(browser.new_context(viewport=VIEWPORTS["desktop"]))
    try:
        page = context.new_page()
        page.goto(site.url + "/login")
        page.get_by_label("Username or email").fill("inkwell")
        page.get_by_label("Password").fill("inkwell password")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state("load")
        for number, (title, kind, where) in enumerate([("Background painter", "contract", "remote"),
                                                       ("Storyboard artist", "full-time", "hybrid"),
                                                       ("Pixel art intern", "internship", "onsite")]):
            page.goto(site.url + "/jobs/new")
            page.get_by_label("Title").fill(title)
            page.get_by_label("Description").fill("Paint **moody** skies for our short film.")
            page.get_by_label("Employment type").select_option(kind)
            page.get_by_label("Where", exact=True).select_option(where)
            page.get_by_label("Location").fill(["Europe", "Berlin", "Tokyo"][number])
            page.get_by_label("From", exact=True).fill(str(300 + 100 * number))
            page.get_by_label("To", exact=True).fill(str(450 + 100 * number))
            page.get_by_label("Currency").fill("EUR")
            page.get_by_label("Per", exact=True).select_option("day")
            page.get_by_label("Skills").fill("Gouache, Krita")
            page.get_by_role("button", name="Post job").click()
            page.wait_for_url(re.compile(r".*/jobs/\d+$"))
        job_path = page.url.removeprefix(site.url)
        low = screenshots(page, output_dir, site.url, {"jobs-board": "/jobs", "job": job_path, "job-form": "/jobs/new",
                                                       "jobs-filtered": "/jobs?workplace=remote"})
    finally:
        context.close()
    assert (output_dir / "jobs-board-phone.png").is_file() and (output_dir / "jobs-board-desktop.png").is_file()
    assert not problems.seen, "browser console problems:\n" + "\n".join(problems.seen)
    assert not low, "text below WCAG AA contrast:\n" + "\n".join(low)
