"""Fuzz every route's path parameters, every query parameter and every form field of a running instance, as a
logged-in artist (with a valid CSRF token, so forms reach their handlers) and through the client API with a
token. The property: no response ≥ 500 and no ERROR log record. `CARA_FED_FUZZ_EXAMPLES=N` runs N examples
per test instead of the quick default."""

from __future__ import annotations

from urllib.parse import urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz.conftest import example_budget
from tests.fuzz.harness import Instance, field_names
from tests.fuzz.strategies import fill, path_value, placeholders, query_pairs, value

NAMES = field_names()
FUZZ = settings(max_examples=example_budget(40), deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def names_for(data: st.DataObject, own: list[str]) -> st.SearchStrategy[str]:
    """Mostly the names the route's own module reads, sometimes any name at all."""
    return st.sampled_from(own) if own and data.draw(st.integers(0, 4), label="own names") else st.sampled_from(NAMES)


def check(instance: Instance, since: int, status: int, what: str, body: str) -> None:
    assert status < 500, f"{what} answered {status}: {body}"
    assert instance.error_lines(since) == [], what


def test_the_fuzzed_names_cover_the_edges() -> None:
    # A broken name pattern would quietly fuzz nothing; these are read by pages, forms and the API.
    assert {"before", "page", "min_pay", "q", "csrf_token", "title", "max_id", "limit", "status"} <= set(NAMES)


@FUZZ
@given(data=st.data())
def test_every_get_route_with_fuzzed_path_and_query(instance: Instance, data: st.DataObject) -> None:
    since = len(instance.errors.records)
    gets = [(path, own) for method, path, own in instance.routes if method == "GET"]
    template, own = data.draw(st.sampled_from(gets), label="route")
    path = fill(template, data.draw(st.lists(path_value, min_size=placeholders(template),
                                             max_size=placeholders(template)), label="path values"))
    query = urlencode(data.draw(query_pairs(names_for(data, own)), label="query"))
    who = data.draw(st.sampled_from(["browser", "anonymous"]), label="session")
    headers = {"Accept": data.draw(st.sampled_from(["text/html", "application/activity+json", "*/*"]))}
    url = path + ("?" + query if query else "")
    status, body = instance.request("GET", url, session=who, headers=headers)
    check(instance, since, status, f"GET {url}", body)


@FUZZ
@given(data=st.data())
def test_every_form_with_fuzzed_fields(instance: Instance, data: st.DataObject) -> None:
    since = len(instance.errors.records)
    posts = [(p, own) for m, p, own in instance.routes if m == "POST" and not p.startswith(("/api/", "/oauth/"))]
    template, own = data.draw(st.sampled_from(posts), label="route")
    path = fill(template, data.draw(st.lists(path_value, min_size=placeholders(template),
                                             max_size=placeholders(template)), label="path values"))
    fields = data.draw(st.lists(st.tuples(names_for(data, own), value), max_size=8), label="fields")
    form = [("csrf_token", instance.csrf), *fields]
    status, body = instance.request("POST", path, data=form)
    check(instance, since, status, f"POST {path} {fields!r}"[:2000], body)


@FUZZ
@given(data=st.data())
def test_the_client_api_with_fuzzed_parameters(instance: Instance, data: st.DataObject) -> None:
    since = len(instance.errors.records)
    api = [(m, p, own) for m, p, own in instance.routes if p.startswith(("/api/", "/oauth/"))]
    method, template, own = data.draw(st.sampled_from(api), label="route")
    path = fill(template, data.draw(st.lists(path_value, min_size=placeholders(template),
                                             max_size=placeholders(template)), label="path values"))
    query = urlencode(data.draw(query_pairs(names_for(data, own)), label="query"))
    headers = {"Authorization": f"Bearer {instance.token}"}
    kw: dict = {}
    if method != "GET":
        body = data.draw(st.dictionaries(names_for(data, own), value | st.lists(value, max_size=3)
                                         | st.integers(min_value=-(2**70), max_value=2**70), max_size=6),
                         label="body")
        if data.draw(st.booleans(), label="as json"):
            kw["json"] = body
        else:
            kw["data"] = [(k + ("[]" if isinstance(v, list) else ""), str(item)) for k, v in body.items()
                          for item in (v if isinstance(v, list) else [v])]
    url = path + ("?" + query if query else "")
    status, text = instance.request(method, url, session="anonymous", headers=headers, **kw)
    check(instance, since, status, f"{method} {url} {kw!r}"[:2000], text)
