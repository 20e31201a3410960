"""Discovery: WebFinger round trips, host-meta and NodeInfo, on SQLite and PostgreSQL."""

from __future__ import annotations

from types import SimpleNamespace
from urllib.parse import quote

import pytest

from cara_fed.config import load_config
from federation.discovery.wellknown import BadResource, username_for
from tests.conftest import sign_up
from tests.federation.test_documents import AP, BASE, ap_get, path_of, publish


async def finger(client, resource: str | None, status: int = 200):  # type: ignore[no-untyped-def]
    query = "" if resource is None else f"?resource={quote(resource, safe='')}"
    response = await client.get(f"/.well-known/webfinger{query}")
    assert response.status == status, await response.text()
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    if status == 200:
        assert response.headers["Content-Type"] == "application/jrd+json; charset=utf-8"
    return await response.json(content_type=None)


def _self(jrd: dict) -> str:
    (link,) = [link for link in jrd["links"] if link["rel"] == "self"]
    assert link["type"] == AP
    return link["href"]


@pytest.mark.parametrize(("resource", "expected"), [
    ("acct:ada@test.example", "ada"),
    ("ACCT:Ada@TEST.example", "ada"),
    ("ada@test.example", "ada"),
    ("@ada@test.example", "ada"),
    ("acct:ada@other.example", None),
    ("https://test.example/users/ada", "ada"),
    ("http://test.example/@Ada", "ada"),
    ("https://test.example/actor", "instance"),
    ("acct:test.example@test.example", "instance"),
    ("https://test.example/about", None),
    ("https://other.example/users/ada", None),
    ("https://test.example/users/ada/outbox", None),
])
def test_resource_forms(resource, expected):
    ctx = SimpleNamespace(config=load_config(environ={"CARA_FED__SERVER__DOMAIN": "test.example"}))
    assert username_for(ctx, resource) == expected


@pytest.mark.parametrize("resource", ["ada", "acct:ada", "acct:@test.example", "acct:ada@", "mailto:ada@test.example",
                                      "acct:ada@test.example/x", "acct:a da@test.example"])
def test_malformed_resources(resource):
    ctx = SimpleNamespace(config=load_config(environ={"CARA_FED__SERVER__DOMAIN": "test.example"}))
    with pytest.raises(BadResource):
        username_for(ctx, resource)


async def test_webfinger_round_trip(client):
    await sign_up(client, "ada")
    jrd = await finger(client, "acct:ada@test.example")
    actor_url = _self(jrd)
    assert jrd["subject"] == "acct:ada@test.example" and actor_url == f"{BASE}/users/ada"
    assert f"{BASE}/@ada" in jrd["aliases"] and actor_url in jrd["aliases"]
    (page,) = [link for link in jrd["links"] if link["rel"] == "http://webfinger.net/rel/profile-page"]
    assert page == {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": f"{BASE}/@ada"}
    _, actor = await ap_get(client, actor_url)
    assert actor["id"] == actor_url
    # preferredUsername@domain leads back to the same actor, whichever form is asked.
    for resource in (f"acct:{actor['preferredUsername']}@test.example", actor_url, actor["url"]):
        assert _self(await finger(client, resource)) == actor["id"]


async def test_webfinger_errors(client):
    await sign_up(client, "ada")
    assert "resource" in (await finger(client, None, status=400))["error"]
    await finger(client, "", status=400)
    await finger(client, "ada", status=400)
    await finger(client, "acct:nobody@test.example", status=404)
    await finger(client, "acct:ada@elsewhere.example", status=404)
    await finger(client, "https://elsewhere.example/users/ada", status=404)


async def test_instance_actor_is_webfinger_resolvable(client):
    jrd = await finger(client, "acct:instance@test.example")
    assert jrd["subject"] == "acct:instance@test.example" and _self(jrd) == f"{BASE}/actor"
    _, actor = await ap_get(client, _self(jrd))
    assert actor["type"] == "Application" and actor["preferredUsername"] == "instance"
    assert _self(await finger(client, f"{BASE}/actor")) == actor["id"]


async def test_we_serve_the_subscribe_template_and_fep_3b86_intents(client):
    await sign_up(client, "ada")
    for jrd in (await finger(client, "acct:ada@test.example"), await finger(client, "acct:instance@test.example")):
        rels = {link["rel"]: link for link in jrd["links"]}
        assert rels["http://ostatus.org/schema/1.0/subscribe"] == {
            "rel": "http://ostatus.org/schema/1.0/subscribe", "template": f"{BASE}/authorize_interaction?uri={{uri}}"}
        for intent, hint in (("Follow", "&intent=follow"), ("Like", "&intent=like"),
                             ("Announce", "&intent=announce"), ("Object", "")):
            link = rels[f"https://w3id.org/fep/3b86/{intent}"]
            assert link["href"] == link["template"] == f"{BASE}/authorize_interaction?uri={{object}}{hint}"
    # The server itself answers as acct:host@host (how a visitor who gives only "test.example" is looked up).
    instance = await finger(client, "acct:test.example@test.example")
    assert _self(instance) == f"{BASE}/actor"
    assert any(link["rel"] == "http://ostatus.org/schema/1.0/subscribe" for link in instance["links"])


async def test_host_meta(client):
    response = await client.get("/.well-known/host-meta")
    assert response.status == 200 and response.content_type == "application/xrd+xml"
    body = await response.text()
    assert f'<Link rel="lrdd" template="{BASE}/.well-known/webfinger?resource={{uri}}"/>' in body


async def test_nodeinfo(client):
    response = await client.get("/.well-known/nodeinfo")
    links = (await response.json())["links"]
    assert [link["rel"] for link in links] == ["http://nodeinfo.diaspora.software/ns/schema/2.0",
                                               "http://nodeinfo.diaspora.software/ns/schema/2.1"]
    await sign_up(client, "ada")
    await publish(client)
    await publish(client, visibility="unlisted")
    await client.get("/actor", headers={"Accept": AP})  # the instance actor is not a user
    for link, version in zip(links, ("2.0", "2.1"), strict=True):
        response = await client.get(path_of(link["href"]))
        assert response.status == 200
        assert response.headers["Content-Type"] == (
            f'application/json; profile="http://nodeinfo.diaspora.software/ns/schema/{version}#"')
        doc = await response.json(content_type=None)
        assert doc["version"] == version and doc["software"]["name"] == "cara-fed" and doc["software"]["version"]
        assert doc["protocols"] == ["activitypub"] and doc["openRegistrations"] is True
        assert doc["usage"] == {"users": {"total": 1, "activeMonth": 1, "activeHalfyear": 1}, "localPosts": 2}
        assert doc["metadata"]["nodeName"] == "cara-fed"
        assert doc["metadata"]["features"] == ["portfolios", "projects", "noai", "media-protection"]


async def test_nodeinfo_registration_modes(config, aiohttp_client):
    from cara_fed_run.app import create_app

    config.instance.registration = "closed"
    client = await aiohttp_client(create_app(config, jobs="inline", migrate=True))
    doc = await (await client.get("/nodeinfo/2.1")).json(content_type=None)
    assert doc["openRegistrations"] is False and doc["metadata"]["registrationMode"] == "closed"
    assert doc["usage"]["users"]["total"] == 0
