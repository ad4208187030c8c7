"""The QBO Accounting API under /v3/company/{realmId}/: customers, vendors, employees, query and batch, and
the company's own CompanyInfo (read only, at `companyinfo/{realmId}`).

Every call goes through the same gate, in this order: global latency, requestid length, bearer token,
per-realm rate limit, injected faults, Accept header, then the `requestid` replay or the operation itself.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request

from emulators.qbo import cdc, faults
from emulators.qbo.entities import SPECS_BY_NAME, SPECS_BY_PATH, JsonObject
from emulators.qbo.faults import QboFault
from emulators.qbo.replies import TEXT_TYPE, Reply, json_reply
from emulators.qbo.store import CallRecord, EmulatorState
from emulators.qbo.timestamps import response_time

MAX_BATCH_ITEMS = 30
MAX_REQUESTID_LENGTH = 50
MAX_BATCH_REQUESTID_LENGTH = 36

_ENTITY_PATHS = ", ".join(SPECS_BY_PATH)
API_ROUTES = Map(
    [
        Rule("/v3/company/<realm_id>/query", methods=["GET", "POST"], endpoint="query"),
        Rule("/v3/company/<realm_id>/batch", methods=["POST"], endpoint="batch"),
        Rule("/v3/company/<realm_id>/cdc", methods=["GET"], endpoint="cdc"),
        Rule("/v3/company/<realm_id>/companyinfo/<company_id>", methods=["GET"], endpoint="company_info"),
        Rule(f"/v3/company/<realm_id>/<any({_ENTITY_PATHS}):entity>", methods=["POST"], endpoint="write"),
        Rule(
            f"/v3/company/<realm_id>/<any({_ENTITY_PATHS}):entity>/<entity_id>",
            methods=["GET"],
            endpoint="read",
        ),
    ],
    strict_slashes=False,
)


@dataclass(frozen=True)
class ApiCall:
    realm_id: str
    operation: str  # "query", "read", "create", "update", "batch" or "cdc"
    cost: int  # units metered by the rate limiter: a batch costs one per item
    execute: Callable[[], Reply]  # runs under the store's lock


def serve_api_request(state: EmulatorState, request: Request) -> Reply:
    try:
        endpoint, args = API_ROUTES.bind_to_environ(request.environ).match()
    except NotFound:
        return json_reply(404, {"error": "Not Found", "path": request.path})
    except MethodNotAllowed:
        return json_reply(405, {"error": "Method Not Allowed", "path": request.path})
    call = _plan(state, request, endpoint, args)
    requestid = request.args.get("requestid")
    reply, replayed = _gate_and_run(state, request, call, requestid)
    state.record_call(
        CallRecord(
            realm_id=call.realm_id,
            method=request.method,
            path=request.path,
            query=request.args.to_dict(),
            operation=call.operation,
            status=reply.status,
            requestid=requestid,
            replayed=replayed,
            at=state.clock(),
        )
    )
    return reply


def _gate_and_run(
    state: EmulatorState, request: Request, call: ApiCall, requestid: str | None
) -> tuple[Reply, bool]:
    _sleep_ms(state.latency_ms)
    now = state.clock()
    if requestid is not None:
        limit = MAX_BATCH_REQUESTID_LENGTH if call.operation == "batch" else MAX_REQUESTID_LENGTH
        if not 0 < len(requestid) <= limit:
            detail = f"requestid must be 1 to {limit} characters long"
            return QboFault("2050", "Invalid requestid", detail, element="requestid").reply(now), False
    problem = state.access_token_problem(_bearer_token(request), call.realm_id)
    if problem == "forbidden":
        return faults.realm_forbidden_reply(now), False
    if problem is not None:
        return faults.token_rejected_reply(
            "Token expired" if problem == "expired" else "Token invalid", now
        ), False
    if not state.admit(call.realm_id, call.cost, is_batch=call.operation == "batch"):
        return faults.throttled_reply(), False
    rule = state.take_fault(call.realm_id, call.operation)
    if rule is not None and not rule.applied:
        _sleep_ms(rule.latency_ms)
        return faults.injected_api_fault_reply(rule.status, rule.code, rule.body, now), False
    if state.settings.require_json_accept and not _accepts_json(request):
        # Real QBO answers XML unless JSON is asked for; the emulator only speaks JSON, so it refuses.
        return Reply(406, b"Send 'Accept: application/json'.", TEXT_TYPE), False
    reply, replayed = _run_once(state, call, requestid)
    if rule is not None:  # carried out, but the caller never learns it
        _sleep_ms(rule.latency_ms)
        return faults.injected_api_fault_reply(rule.status, rule.code, rule.body, now), replayed
    return reply, replayed


def _run_once(state: EmulatorState, call: ApiCall, requestid: str | None) -> tuple[Reply, bool]:
    """The call's own reply, or the stored one of an earlier call with the same requestid (replayed)."""
    with state.lock:  # a concurrent retry with the same requestid waits for the first to finish
        if requestid is not None:
            stored = state.stored_reply(call.realm_id, requestid)
            if stored is not None:
                return stored, True
        reply = call.execute()
        if requestid is not None:
            state.store_reply(call.realm_id, requestid, reply)
        return reply, False


def _plan(state: EmulatorState, request: Request, endpoint: str, args: Mapping[str, Any]) -> ApiCall:
    realm_id: str = args["realm_id"]
    now = state.clock()
    if endpoint == "read":
        spec = SPECS_BY_PATH[args["entity"]]

        def read() -> Reply:
            return _entity_reply(spec.name, lambda: state.read(realm_id, spec.name, args["entity_id"]), now)

        return ApiCall(realm_id, "read", 1, read)
    if endpoint == "company_info":
        return ApiCall(
            realm_id,
            "read",
            1,
            lambda: _entity_reply(
                "CompanyInfo", lambda: state.company_info(realm_id, args["company_id"]), now
            ),
        )
    if endpoint == "query":
        return ApiCall(realm_id, "query", 1, lambda: _query_reply(state, realm_id, _statement(request), now))
    if endpoint == "batch":
        return _plan_batch(state, request, realm_id, now)
    if endpoint == "cdc":
        return ApiCall(realm_id, "cdc", 1, lambda: _cdc_reply(state, realm_id, request, now))
    return _plan_write(state, request, realm_id, SPECS_BY_PATH[args["entity"]].name, now)


def _plan_write(
    state: EmulatorState, request: Request, realm_id: str, entity_name: str, now: float
) -> ApiCall:
    try:
        payload = _json_object(request)
    except QboFault as fault:
        rejected = fault.reply(now)
        return ApiCall(realm_id, "create", 1, lambda: rejected)
    operation = request.args.get("operation")
    if operation is not None and operation != "update":
        # Names cannot be deleted (only made inactive); never treat `?operation=delete` as an update.
        refused = faults.unsupported_operation(operation, entity_name).reply(now)
        return ApiCall(realm_id, "update" if "Id" in payload else "create", 1, lambda: refused)
    if "Id" in payload:
        return ApiCall(
            realm_id,
            "update",
            1,
            lambda: _entity_reply(entity_name, lambda: state.update(realm_id, entity_name, payload), now),
        )
    return ApiCall(
        realm_id,
        "create",
        1,
        lambda: _entity_reply(entity_name, lambda: state.create(realm_id, entity_name, payload), now),
    )


def _plan_batch(state: EmulatorState, request: Request, realm_id: str, now: float) -> ApiCall:
    try:
        payload = _json_object(request)
        items = payload.get("BatchItemRequest")
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise faults.unsupported_property(
                "BatchItemRequest must be a list of objects", "BatchItemRequest"
            )
        if len(items) > MAX_BATCH_ITEMS:
            raise faults.business_rule(
                f"Batch request has {len(items)} items; at most {MAX_BATCH_ITEMS} are allowed."
            )
    except QboFault as fault:
        rejected = fault.reply(now)
        return ApiCall(realm_id, "batch", 1, lambda: rejected)

    def run_batch() -> Reply:
        responses = [_batch_item(state, realm_id, item) for item in items]
        if state.settings.shuffle_batch_responses:
            random.shuffle(responses)  # never depend on the order of items in a batch
        return json_reply(200, {"BatchItemResponse": responses, "time": response_time(now)})

    return ApiCall(realm_id, "batch", max(1, len(items)), run_batch)


def _batch_item(state: EmulatorState, realm_id: str, item: JsonObject) -> JsonObject:
    batch_id = item.get("bId")
    try:
        if "Query" in item:
            statement = item["Query"]
            if not isinstance(statement, str):
                raise faults.query_parse_error("Query must be a string")
            return {"bId": batch_id, "QueryResponse": state.query(realm_id, statement)}
        entity_name = next((name for name in SPECS_BY_NAME if name in item), None)
        operation = item.get("operation")
        if entity_name is None or not isinstance(item[entity_name], dict):
            raise faults.unsupported_property("Batch item has no supported entity", "BatchItemRequest")
        if operation == "create":
            return {"bId": batch_id, entity_name: state.create(realm_id, entity_name, item[entity_name])}
        if operation == "update":
            return {"bId": batch_id, entity_name: state.update(realm_id, entity_name, item[entity_name])}
        raise faults.unsupported_property(f"Unsupported batch operation: {operation}", "operation")
    except QboFault as fault:
        return {"bId": batch_id, "Fault": fault.payload()}


def _entity_reply(entity_name: str, operation: Callable[[], JsonObject], now: float) -> Reply:
    try:
        return json_reply(200, {entity_name: operation(), "time": response_time(now)})
    except QboFault as fault:
        return fault.reply(now)


def _query_reply(state: EmulatorState, realm_id: str, statement: str | None, now: float) -> Reply:
    try:
        if not statement:
            raise faults.query_parse_error("No query statement was supplied")
        return json_reply(
            200, {"QueryResponse": state.query(realm_id, statement), "time": response_time(now)}
        )
    except QboFault as fault:
        return fault.reply(now)


def _cdc_reply(state: EmulatorState, realm_id: str, request: Request, now: float) -> Reply:
    try:
        names = cdc.entity_names(request.args.get("entities"))
        since = cdc.changed_since_epoch(request.args.get("changedSince"), now)
        found = cdc.cdc_response(state, realm_id, names, since, max_objects=state.settings.cdc_max_objects)
        return json_reply(200, {"CDCResponse": found, "time": response_time(now)})
    except QboFault as fault:
        return fault.reply(now)


def _statement(request: Request) -> str | None:
    if request.method == "GET":
        return request.args.get("query")
    if request.mimetype not in ("application/text", "text/plain"):
        return None
    return request.get_data(as_text=True)


def _json_object(request: Request) -> JsonObject:
    if request.mimetype != "application/json":
        raise faults.unsupported_property("Content-Type must be application/json")
    try:
        payload = json.loads(request.get_data(as_text=True))
    except ValueError:
        raise faults.unsupported_property("The request body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise faults.unsupported_property("The request body must be a JSON object")
    return payload


def _bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _accepts_json(request: Request) -> bool:
    return any(
        value.lower() == "application/json" and quality > 0 for value, quality in request.accept_mimetypes
    )


def _sleep_ms(milliseconds: int) -> None:
    if milliseconds > 0:
        time.sleep(milliseconds / 1000)
