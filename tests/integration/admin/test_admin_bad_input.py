"""Every admin route that takes a body refuses a bad one with a 4xx whose message says what is wrong, and
writes nothing: over 64 KiB → 413 (whatever Content-Type it claims), not JSON → 400 (including what Python's
parser would choke on or accept: nesting too deep, integers too long, NaN, undecodable base64), the wrong
shape → 422 naming the field. Path and query values no route can use get a 4xx, never a 5xx."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.support.admin_api import admin_event, call, invoke, stored_state

MERCHANT = "1225"
OVER_64_KIB = 64 * 1024 + 1

# (method, path, a body of the wrong shape, the field its 422 must name)
BODY_ROUTES = [
    ("PUT", f"/admin/merchants/{MERCHANT}", {"paysimple": {"api_username": "u"}}, "body.paysimple.api_key"),
    ("PUT", f"/admin/merchants/{MERCHANT}/settings", {"sync_enabled": "maybe"}, "body.sync_enabled"),
    ("PUT", f"/admin/merchants/{MERCHANT}/mapping", {"fields": "all"}, "body.fields"),
    (
        "POST",
        f"/admin/merchants/{MERCHANT}/links",
        {"paysimple_customer_id": "7", "qbo_customer_id": 5},
        "body.qbo_customer_id",
    ),
    (
        "POST",
        f"/admin/merchants/{MERCHANT}/merges",
        {"primary_paysimple_customer_id": "7", "duplicate_paysimple_customer_ids": "8"},
        "body.duplicate_paysimple_customer_ids",
    ),
    ("POST", f"/admin/merchants/{MERCHANT}/failures/redrive", {"event_ids": []}, "body.event_ids"),
    ("POST", f"/admin/merchants/{MERCHANT}/dry-run", {"page_size": 0}, "body.page_size"),
]
ROUTE_IDS = [
    f"{method} {path.removeprefix(f'/admin/merchants/{MERCHANT}') or '/'}" for method, path, *_ in BODY_ROUTES
]

CONTENT_TYPES = [
    "application/json",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=xyz",
    "multipart/form-data",
    "text/plain",
]


def _raw(method: str, path: str, text: str, *, content_type: str = "application/json", b64: bool = False):
    """The route called with exactly this body text (and Content-Type, and base64 flag)."""
    event = admin_event(method, path, raw_body=text, headers={"Content-Type": content_type})
    event["isBase64Encoded"] = b64
    return invoke(event)


@pytest.fixture
def merchant(merchants) -> str:
    merchants.ready(MERCHANT)
    return MERCHANT


def refusals(responses: dict[str, Any], status: int, *, mentions: str) -> dict[str, str]:
    """The responses (by what was sent) that are not `status` with a message mentioning `mentions`."""
    return {
        sent: f"{response.status} {response.text[:200]}"
        for sent, response in responses.items()
        if response.status != status or mentions not in response.json.get("message", "")
    }


@pytest.mark.parametrize(("method", "path", "wrong_shape", "field"), BODY_ROUTES, ids=ROUTE_IDS)
def test_a_body_over_64_kib_is_413_whatever_its_content_type(merchant, method, path, wrong_shape, field):
    # Given a body just over 64 KiB, declared as each content type
    text = json.dumps({"padding": "x" * OVER_64_KIB})
    before = stored_state()
    # When it is sent
    responses = {ct: _raw(method, path, text, content_type=ct) for ct in CONTENT_TYPES}
    # Then 413, saying so, and nothing is written
    assert refusals(responses, 413, mentions="larger than 65536 bytes") == {}
    assert stored_state() == before


NOT_JSON = {
    "text": "paysimple please",
    "truncated": '{"paysimple": ',
    "nested too deep": "[" * 20_000 + "]" * 20_000,
    "integer too long": '{"page": ' + "9" * 5_000 + "}",
    "NaN": '{"page": NaN}',
    "Infinity": '{"page_size": Infinity}',
    "form encoded": "sync_enabled=true",
}


@pytest.mark.parametrize(("method", "path", "wrong_shape", "field"), BODY_ROUTES, ids=ROUTE_IDS)
def test_a_body_that_is_not_json_is_400_and_writes_nothing(merchant, method, path, wrong_shape, field):
    # Given bodies that are not (plain) JSON, or are sent as a form, multipart or text (the admin API speaks
    # JSON only: a body is never parsed as anything else)
    before = stored_state()
    # When they are sent
    responses = {kind: _raw(method, path, text) for kind, text in NOT_JSON.items()}
    responses |= {ct: _raw(method, path, "--xyz\r\na=1", content_type=ct) for ct in CONTENT_TYPES[1:]}
    # Then 400, saying it is not JSON, and nothing is written
    assert refusals(responses, 400, mentions="not valid JSON") == {}
    assert stored_state() == before


@pytest.mark.parametrize(("method", "path", "wrong_shape", "field"), BODY_ROUTES, ids=ROUTE_IDS)
def test_a_base64_body_that_does_not_decode_is_400(merchant, method, path, wrong_shape, field):
    # Given a body flagged base64 that is not base64, or not UTF-8 once decoded
    encoded = {
        "not base64": "!!!not base64",
        "not utf-8": base64.b64encode(b'{"x": "\xff\xfe"}').decode(),
    }
    before = stored_state()
    # When it is sent
    responses = {kind: _raw(method, path, text, b64=True) for kind, text in encoded.items()}
    # Then 400, saying so, and nothing is written
    assert refusals(responses, 400, mentions="not valid base64-encoded UTF-8") == {}
    assert stored_state() == before


@pytest.mark.parametrize(("method", "path", "wrong_shape", "field"), BODY_ROUTES, ids=ROUTE_IDS)
def test_a_body_of_the_wrong_shape_is_422_naming_the_field(merchant, method, path, wrong_shape, field):
    # Given JSON of the wrong shape for the route, and JSON that is no object at all (or no body)
    before = stored_state()
    # When they are sent
    response = call(method, path, body=wrong_shape)
    not_objects = {document: _raw(method, path, document) for document in ("null", "[]", '"text"', "", "7")}
    # Then 422 naming the field (or the body), and nothing is written
    assert refusals({"wrong shape": response}, 422, mentions=field) == {}
    assert field.split(".") in [[str(part) for part in issue["loc"]] for issue in response.json["detail"]]
    assert refusals(not_objects, 422, mentions="body") == {}
    assert stored_state() == before


UNUSABLE_PARAMETERS = [
    ("GET", f"/admin/merchants/{MERCHANT}/customers", {"status": "everyone"}),
    ("GET", f"/admin/merchants/{MERCHANT}/customers", {"cursor": "\x00not-a-cursor"}),
    ("GET", f"/admin/merchants/{MERCHANT}/customers", {"limit": "1e9"}),
    ("GET", f"/admin/merchants/{MERCHANT}/customers", {"q": "x" * 201}),
    ("GET", f"/admin/merchants/{MERCHANT}/customers", {"q": "\ud800"}),
    ("GET", f"/admin/merchants/{MERCHANT}/customers/7", {"history_cursor": "zz"}),
    ("GET", f"/admin/merchants/{MERCHANT}/customers/7", {"history_limit": "0"}),
    ("GET", f"/admin/merchants/{MERCHANT}/customers/%00", {}),
    ("GET", f"/admin/merchants/{MERCHANT}/customers/{'9' * 201}", {}),
    ("DELETE", f"/admin/merchants/{MERCHANT}/links/..", {}),
    ("GET", f"/admin/merchants/{MERCHANT}/qbo/customers", {}),
    ("GET", f"/admin/merchants/{MERCHANT}/qbo/customers", {"q": "\t"}),
    ("GET", f"/admin/merchants/{MERCHANT}/qbo/customers", {"q": "x" * 101}),
    ("GET", f"/admin/merchants/{MERCHANT}/failures", {"cursor": "eyJ9"}),
    ("GET", f"/admin/merchants/{MERCHANT}/failures", {"limit": "-1"}),
    ("POST", f"/admin/merchants/{MERCHANT}/dry-run", {"format": "xml"}),
    ("GET", "/admin/merchants/a%2Fb/status", {}),
    ("GET", f"/admin/merchants/{'m' * 201}/settings", {}),
    ("GET", "/admin/merchants/1#2/mapping", {}),
    ("GET", "/oauth/qbo/callback", {"state": "\x00" * 10, "code": "c", "realmId": "1"}),
    ("GET", "/oauth/qbo/callback", {"realmId": "x" * 65}),
]


@pytest.mark.parametrize(("method", "path", "query"), UNUSABLE_PARAMETERS)
def test_path_and_query_values_no_route_can_use_are_a_4xx_with_a_message(merchant, method, path, query):
    # Given a value in the path or the query string that no route can use
    before = stored_state()
    body: dict[str, Any] | None = {} if method == "POST" else None
    # When it is sent
    response = call(method, path, query=query or None, body=body)
    # Then a 4xx says what is wrong, and nothing is written
    assert 400 <= response.status < 500, response.text
    assert response.json["message"]
    assert stored_state() == before
