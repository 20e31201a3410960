"""Fuzz the inbox of a running instance with ActivityStreams-shaped (and shapeless) JSON, unsigned and signed by a
real peer whose key the instance fetches, so signed activities reach the handlers (jobs run inline). The
property: no response ≥ 500 and no ERROR log record, whatever arrives."""

from __future__ import annotations

import json
import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from federation.signatures import sign_request
from tests.fuzz.conftest import example_budget
from tests.fuzz.harness import Instance
from tests.fuzz.strategies import AS_KEYS, AS_TYPES, json_value, nesting, raw_deep, value

FUZZ = settings(max_examples=example_budget(30), deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
AP = "application/activity+json"


def check(instance: Instance, since: int, status: int, what: str, body: str) -> None:
    assert status < 500, f"{what} answered {status}: {body}"
    assert instance.error_lines(since) == [], what


def activity(instance: Instance, data: st.DataObject) -> dict:
    alice = instance.alice
    targets = [instance.base + "/users/ada", instance.base + "/@ada/1", alice.id, alice.id + "/notes/1"]
    obj = data.draw(st.one_of(st.sampled_from(targets), json_value, nesting,
                              st.fixed_dictionaries({"id": st.just(f"{alice.id}/notes/{uuid.uuid4().hex}"),
                                                     "type": st.sampled_from(AS_TYPES),
                                                     "attributedTo": st.just(alice.id)},
                                                    optional={k: json_value for k in AS_KEYS[:24]
                                                              if k not in ("id", "type", "attributedTo")})),
                   label="object")
    extra = data.draw(st.dictionaries(st.sampled_from(AS_KEYS), json_value, max_size=4), label="extra")
    doc = {"@context": "https://www.w3.org/ns/activitystreams", **extra,
           "id": f"{alice.id}/activities/{uuid.uuid4().hex}", "type": data.draw(st.sampled_from(AS_TYPES)),
           "actor": alice.id, "object": obj}
    return doc


@FUZZ
@given(data=st.data())
def test_unsigned_inbox_bodies(instance: Instance, data: st.DataObject) -> None:
    since = len(instance.errors.records)
    path = data.draw(st.sampled_from(["/inbox", "/users/ada/inbox", "/users/nobody/inbox"]), label="inbox")
    body = data.draw(st.one_of(json_value.map(json.dumps), st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
                               st.builds(lambda d: json.dumps(d), st.builds(dict, id=value, type=value, actor=value)),
                               raw_deep),
                     label="body")
    status, text = instance.request("POST", path, session="anonymous", data=body.encode("utf-8", "surrogatepass"),
                                    headers={"Content-Type": AP})
    check(instance, since, status, f"POST {path} {body[:500]!r}", text)


@FUZZ
@given(data=st.data())
def test_signed_activities_reach_the_handlers(instance: Instance, data: st.DataObject) -> None:
    since = len(instance.errors.records)
    path = data.draw(st.sampled_from(["/inbox", "/users/ada/inbox"]), label="inbox")
    body = json.dumps(activity(instance, data)).encode()
    headers = {"Content-Type": AP, "Host": instance.base.split("//", 1)[1]}
    headers.update(sign_request("POST", instance.base + path, {}, body, instance.alice.key_id,
                                instance.alice.private_pem))
    status, text = instance.request("POST", path, session="anonymous", data=body, headers=headers)
    check(instance, since, status, f"POST {path} {body[:800]!r}", text)
