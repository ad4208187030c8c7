"""The emulator's own control API under /_emulator/ (JSON): seed data, read state, inject faults, act as a
person in QBO's UI (edit, make inactive, merge), and run the app's webhook subscription.

Not part of QBO: no auth, not metered, not in the call log.

`PUT /_emulator/rate-limits` switches QBO's per-realm limits on or off while the emulator runs:
`{"enabled": true}` enforces QBO's own (500 requests a minute, 10 a second, 40 batch requests a minute);
`{"per_minute": 30}` enforces a lower one (fields left out keep QBO's value, `null` lifts one limit);
`{"enabled": false}` lifts them all. Every realm's meter starts empty. Over a limit the API answers 429
with QBO's XML body (emulators/qbo/faults.py), whatever the Accept header asked for.

`POST /_emulator/faults` makes the next `count` matching calls fail with `status` after `latency_ms`; with
`"applied": true` the call is carried out first and only its answer is lost (Intuit's edge answering 504
after the save, or a `latency_ms` past the client's timeout): a retry with the same `requestid` then gets
the stored answer, and one without meets the first one's name (6240), as on QBO. With `"seconds": n` the
rule ends by itself after n seconds, used up or not (an outage of `count=10**9` for three minutes).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request

from emulators.qbo.faults import QboFault
from emulators.qbo.replies import Reply, empty_reply, json_reply
from emulators.qbo.store import EmulatorState, FaultRule, RateLimits
from emulators.qbo.webhooks import Subscription

_KINDS = {"customers": "Customer", "vendors": "Vendor", "employees": "Employee"}
_REALM = "/_emulator/realms/<realm_id>"

CONTROL_ROUTES = Map(
    [
        Rule("/_emulator/realms", methods=["POST"], endpoint="create_realm"),
        Rule(f"{_REALM}/<any(customers, vendors, employees):kind>", methods=["POST"], endpoint="seed"),
        Rule(f"{_REALM}/<any(customers, vendors, employees):kind>", methods=["GET"], endpoint="list"),
        Rule(
            f"{_REALM}/<any(customers, vendors, employees):kind>/<entity_id>",
            methods=["PATCH"],
            endpoint="edit",
        ),
        Rule(f"{_REALM}/merges", methods=["POST"], endpoint="merge"),
        Rule(f"{_REALM}/company-info", methods=["PUT"], endpoint="rename_company"),
        Rule("/_emulator/webhooks", methods=["PUT"], endpoint="subscribe"),
        Rule("/_emulator/webhooks", methods=["GET"], endpoint="webhooks"),
        Rule("/_emulator/webhooks", methods=["DELETE"], endpoint="unsubscribe"),
        Rule("/_emulator/webhooks/deliver", methods=["POST"], endpoint="deliver"),
        Rule(f"{_REALM}/calls", methods=["GET"], endpoint="calls"),
        Rule(f"{_REALM}/calls", methods=["DELETE"], endpoint="clear_calls"),
        Rule(f"{_REALM}/expire-access-tokens", methods=["POST"], endpoint="expire_access_tokens"),
        Rule(f"{_REALM}/revoke-refresh-tokens", methods=["POST"], endpoint="revoke_refresh_tokens"),
        Rule(f"{_REALM}/authorization-codes", methods=["POST"], endpoint="authorization_code"),
        Rule("/_emulator/faults", methods=["POST"], endpoint="inject_fault"),
        Rule("/_emulator/faults", methods=["DELETE"], endpoint="clear_faults"),
        Rule("/_emulator/rate-limits", methods=["GET"], endpoint="rate_limits"),
        Rule("/_emulator/rate-limits", methods=["PUT"], endpoint="set_rate_limits"),
        Rule("/_emulator/latency", methods=["PUT"], endpoint="set_latency"),
        Rule("/_emulator/consent-realm", methods=["PUT"], endpoint="set_consent_realm"),
        Rule("/_emulator/reset", methods=["POST"], endpoint="reset"),
    ]
)

Handler = Callable[[EmulatorState, Mapping[str, Any], dict[str, Any], Request], Reply]


def serve_control_request(state: EmulatorState, request: Request) -> Reply:
    try:
        endpoint, args = CONTROL_ROUTES.bind_to_environ(request.environ).match()
    except HTTPException as error:
        return json_reply(error.code or 404, {"error": error.name})
    try:
        body = json.loads(request.get_data(as_text=True) or "{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return json_reply(400, {"error": "body must be a JSON object"})
    realm_id = args.get("realm_id")
    # Calls may be logged under a realm that was never created; consent (a code) creates the realm.
    realm_free = ("calls", "clear_calls", "authorization_code")
    if realm_id is not None and endpoint not in realm_free and not state.has_realm(realm_id):
        return json_reply(404, {"error": f"unknown realm {realm_id}"})
    try:
        return _HANDLERS[endpoint](state, args, body, request)
    except QboFault as fault:
        return fault.reply(state.clock())
    except (KeyError, TypeError, ValueError) as error:
        return json_reply(400, {"error": f"bad control request: {error!r}"})


def _create_realm(
    state: EmulatorState, args: Mapping[str, Any], body: dict[str, Any], request: Request
) -> Reply:
    return json_reply(200, state.create_realm(body.get("realm_id")))


def _seed(state: EmulatorState, args: Mapping[str, Any], body: dict[str, Any], request: Request) -> Reply:
    """As a person creates the record in QBO's UI; `"IsProject": true` (with a `ParentRef`) makes a project,
    which the Accounting API itself cannot create."""
    project = body.pop("IsProject", False) is True
    return json_reply(201, state.create(args["realm_id"], _KINDS[args["kind"]], body, project=project))


def _edit(state: EmulatorState, args: Mapping[str, Any], body: dict[str, Any], request: Request) -> Reply:
    """A person edits the record in QBO's UI (`{"Active": false}` makes it inactive)."""
    return json_reply(200, state.edit(args["realm_id"], _KINDS[args["kind"]], args["entity_id"], body))


def _merge(state: EmulatorState, args: Mapping[str, Any], body: dict[str, Any], request: Request) -> Reply:
    """A person merges customer `merged_id` into `survivor_id` in QBO's UI; returns the survivor."""
    merged_id, survivor_id = str(body["merged_id"]), str(body["survivor_id"])
    return json_reply(200, state.merge(args["realm_id"], merged_id, survivor_id))


def _rename_company(
    state: EmulatorState, args: Mapping[str, Any], body: dict[str, Any], request: Request
) -> Reply:
    """A person renames the company in QBO's settings: `{"CompanyName": .., "LegalName": ..}` (the legal
    name is optional); returns the CompanyInfo the API now answers."""
    name, legal = body["CompanyName"], body.get("LegalName")
    if not isinstance(name, str) or not name.strip() or not isinstance(legal, str | None):
        raise ValueError("CompanyName must be a non-empty string, LegalName a string if given")
    return json_reply(200, state.rename_company(args["realm_id"], name, legal))


def _subscribe(
    state: EmulatorState, args: Mapping[str, Any], body: dict[str, Any], request: Request
) -> Reply:
    """Register the app's webhook endpoint: `{"url", "verifier_token", ...}` (emulators/qbo/webhooks.py)."""
    state.webhooks.subscribe(Subscription.from_json(body))
    return empty_reply()


def _webhooks(state: EmulatorState, args: Mapping[str, Any], body: dict[str, Any], request: Request) -> Reply:
    return json_reply(200, state.webhooks.snapshot())


def _unsubscribe(
    state: EmulatorState, args: Mapping[str, Any], body: dict[str, Any], request: Request
) -> Reply:
    state.webhooks.unsubscribe()
    return empty_reply()


def _deliver(state: EmulatorState, args: Mapping[str, Any], body: dict[str, Any], request: Request) -> Reply:
    """One delivery attempt now: the held delivery again, else the pending events (null: nothing to send)."""
    delivery = state.webhooks.deliver_now()
    return json_reply(200, {"delivery": None if delivery is None else asdict(delivery)})


def _list(state: EmulatorState, args: Mapping[str, Any], body: dict[str, Any], request: Request) -> Reply:
    include_inactive = request.args.get("include_inactive", "true").lower() != "false"
    found = state.entities_of(args["realm_id"], _KINDS[args["kind"]], include_inactive)
    return json_reply(200, {args["kind"]: found})


def _calls(state: EmulatorState, args: Mapping[str, Any], body: dict[str, Any], request: Request) -> Reply:
    return json_reply(200, {"calls": state.calls(args["realm_id"])})


def _clear_calls(
    state: EmulatorState, args: Mapping[str, Any], body: dict[str, Any], request: Request
) -> Reply:
    state.clear_calls(args["realm_id"])
    return empty_reply()


def _expire_access_tokens(
    state: EmulatorState, args: Mapping[str, Any], body: dict[str, Any], request: Request
) -> Reply:
    state.expire_access_tokens(args["realm_id"])
    return empty_reply()


def _revoke_refresh_tokens(
    state: EmulatorState, args: Mapping[str, Any], body: dict[str, Any], request: Request
) -> Reply:
    state.revoke_refresh_tokens(args["realm_id"])
    return empty_reply()


def _authorization_code(
    state: EmulatorState, args: Mapping[str, Any], body: dict[str, Any], request: Request
) -> Reply:
    try:
        code = state.issue_authorization_code(args["realm_id"], body["redirect_uri"])
    except ValueError as refused:
        return json_reply(400, {"error": str(refused)})
    return json_reply(200, {"code": code})


def _inject_fault(
    state: EmulatorState, args: Mapping[str, Any], body: dict[str, Any], request: Request
) -> Reply:
    state.add_fault(
        FaultRule(
            realm_id=body.get("realm_id"),
            operation=body.get("operation"),
            status=int(body["status"]),
            remaining=int(body.get("count", 1)),
            code=body.get("code"),
            body=body.get("body"),
            latency_ms=int(body.get("latency_ms", 0)),
            applied=_flag(body, "applied"),
            ends_at=None if body.get("seconds") is None else state.clock() + float(body["seconds"]),
        )
    )
    return empty_reply()


def _flag(body: dict[str, Any], name: str) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false")
    return value


def _clear_faults(
    state: EmulatorState, args: Mapping[str, Any], body: dict[str, Any], request: Request
) -> Reply:
    state.clear_faults()
    return empty_reply()


def _limits_json(limits: RateLimits) -> dict[str, Any]:
    return {
        "per_minute": limits.per_minute,
        "per_second": limits.per_second,
        "batches_per_minute": limits.batches_per_minute,
    }


def _optional_limit(body: dict[str, Any], name: str, qbo_value: int | None) -> int | None:
    if name not in body:
        return qbo_value
    value = body[name]
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer or null")
    return value


def _rate_limits(
    state: EmulatorState, args: Mapping[str, Any], body: dict[str, Any], request: Request
) -> Reply:
    return json_reply(200, _limits_json(state.rate_limits))


def _set_rate_limits(
    state: EmulatorState, args: Mapping[str, Any], body: dict[str, Any], request: Request
) -> Reply:
    enabled = body.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ValueError("enabled must be true or false")
    qbo = RateLimits()
    limits = (
        RateLimits(
            per_minute=_optional_limit(body, "per_minute", qbo.per_minute),
            per_second=_optional_limit(body, "per_second", qbo.per_second),
            batches_per_minute=_optional_limit(body, "batches_per_minute", qbo.batches_per_minute),
        )
        if enabled
        else RateLimits(None, None, None)
    )
    state.set_rate_limits(limits)
    return json_reply(200, _limits_json(limits))


def _set_latency(
    state: EmulatorState, args: Mapping[str, Any], body: dict[str, Any], request: Request
) -> Reply:
    state.set_latency(int(body["latency_ms"]))
    return empty_reply()


def _set_consent_realm(
    state: EmulatorState, args: Mapping[str, Any], body: dict[str, Any], request: Request
) -> Reply:
    state.set_consent_realm(str(body["realm_id"]))
    return empty_reply()


def _reset(state: EmulatorState, args: Mapping[str, Any], body: dict[str, Any], request: Request) -> Reply:
    state.reset()
    return empty_reply()


_HANDLERS: dict[str, Handler] = {
    "create_realm": _create_realm,
    "seed": _seed,
    "edit": _edit,
    "merge": _merge,
    "rename_company": _rename_company,
    "subscribe": _subscribe,
    "webhooks": _webhooks,
    "unsubscribe": _unsubscribe,
    "deliver": _deliver,
    "list": _list,
    "calls": _calls,
    "clear_calls": _clear_calls,
    "expire_access_tokens": _expire_access_tokens,
    "revoke_refresh_tokens": _revoke_refresh_tokens,
    "authorization_code": _authorization_code,
    "inject_fault": _inject_fault,
    "clear_faults": _clear_faults,
    "rate_limits": _rate_limits,
    "set_rate_limits": _set_rate_limits,
    "set_latency": _set_latency,
    "set_consent_realm": _set_consent_realm,
    "reset": _reset,
}
