"""The emulator's WSGI application: PaySimple's `/v4/customer` API plus the `/_emulator` control API."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from emulators.paysimple.envelope import envelope, error_envelope, error_response, json_response
from emulators.paysimple.state import (
    CredentialsInUse,
    CustomerNotFound,
    EmulatorState,
    Fault,
    InvalidCustomer,
    JsonObject,
    Merchant,
)
from emulators.paysimple.webhooks import WebhookSender

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

DEFAULT_PAGE_SIZE = 200
_GATEWAY_STATUSES = frozenset({502, 503, 504})
_ERROR_CODES = {
    400: "InvalidInput",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    429: "TooManyRequests",
}

_URL_MAP = Map(
    [
        Rule("/v4/customer/<customer_id>", endpoint="api_get_customer", methods=["GET"]),
        Rule("/v4/customer", endpoint="api_list_customers", methods=["GET"]),
        Rule("/_emulator/reset", endpoint="reset", methods=["POST"]),
        Rule("/_emulator/faults", endpoint="add_fault", methods=["POST"]),
        Rule("/_emulator/webhook-deliveries/redeliver", endpoint="redeliver", methods=["POST"]),
        Rule("/_emulator/merchants/<merchant_id>", endpoint="put_merchant", methods=["PUT"]),
        Rule("/_emulator/merchants/<merchant_id>/customers", endpoint="save_customer", methods=["POST"]),
        Rule(
            "/_emulator/merchants/<merchant_id>/customers/<int:customer_id>",
            endpoint="get_customer",
            methods=["GET"],
        ),
        Rule(
            "/_emulator/merchants/<merchant_id>/customers/<int:customer_id>",
            endpoint="delete_customer",
            methods=["DELETE"],
        ),
        Rule("/_emulator/merchants/<merchant_id>/events", endpoint="send_event", methods=["POST"]),
        Rule("/_emulator/merchants/<merchant_id>/webhook-deliveries", endpoint="deliveries", methods=["GET"]),
    ],
    strict_slashes=False,
)


class BadControlRequest(Exception):
    pass


class PaySimpleApp:
    def __init__(self, state: EmulatorState, webhooks: WebhookSender) -> None:
        self._state = state
        self._webhooks = webhooks

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        try:
            endpoint, args = _URL_MAP.bind_to_environ(environ).match()
        except NotFound:
            return _not_found(request.path)(environ, start_response)
        except MethodNotAllowed:
            return error_response(405, "MethodNotAllowed", "The requested method is not allowed")(
                environ, start_response
            )
        except HTTPException as exc:
            return exc(environ, start_response)
        handler: Callable[..., WsgiApp] = getattr(self, f"_{endpoint}")
        try:
            response = handler(request, **args)
        except BadControlRequest as exc:
            response = error_response(400, "InvalidInput", str(exc))
        return response(environ, start_response)

    # --- PaySimple API ---------------------------------------------------------------------------------
    def _api_get_customer(self, request: Request, customer_id: str) -> WsgiApp:
        numeric_id = int(customer_id) if customer_id.isdigit() else None
        faulted = self._apply_fault(numeric_id)
        if faulted is not None:
            return faulted
        merchant = self._authenticate(request)
        if merchant is None:
            return _unauthorized()
        customer = self._state.customer(merchant.merchant_id, numeric_id) if numeric_id is not None else None
        if customer is None:
            return error_response(404, "NotFound", f"Customer {customer_id} was not found", "Id")
        return json_response(200, envelope(200, customer))

    def _api_list_customers(self, request: Request) -> WsgiApp:
        faulted = self._apply_fault(None)
        if faulted is not None:
            return faulted
        merchant = self._authenticate(request)
        if merchant is None:
            return _unauthorized()
        # ASP.NET binds query parameters case-insensitively.
        query = {key.lower(): value for key, value in request.args.items()}
        page = _positive_int(query.get("page", "1"))
        page_size = _positive_int(query.get("pagesize", str(DEFAULT_PAGE_SIZE)))
        if page is None or page_size is None:
            return error_response(400, "InvalidInput", "page and pagesize must be positive integers")
        items, total = self._state.customer_page(merchant.merchant_id, page, page_size)
        paging = {"TotalItems": total, "Page": page, "ItemsPerPage": page_size}
        if not items:
            # PaySimple's quirk: "no content" that still carries the envelope.
            return _no_content_with_body(envelope(204, [], paging=paging))
        return json_response(200, envelope(200, items, paging=paging))

    def _authenticate(self, request: Request) -> Merchant | None:
        """`Authorization: basic <APIUsername>:<APIKey>`, NOT Base64 (base64 has no ':', so it fails here)."""
        scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
        username, separator, key = credentials.partition(":")
        if scheme.lower() != "basic" or not separator or not username or not key:
            return None
        return self._state.merchant_for_credentials(username, key)

    def _apply_fault(self, customer_id: int | None) -> WsgiApp | None:
        fault = self._state.take_fault(customer_id)
        if fault is None:
            return None
        if fault.latency_seconds > 0:
            time.sleep(fault.latency_seconds)
        return _fault_response(fault.status) if fault.status is not None else None

    # --- control API -----------------------------------------------------------------------------------
    def _reset(self, request: Request) -> WsgiApp:
        self._webhooks.cancel_pending()
        self._state.reset()
        return json_response(200, {"status": "reset"})

    def _add_fault(self, request: Request) -> WsgiApp:
        body = _json_body(request)
        status = _optional_int(body, "status")
        latency = float(body.get("latency_seconds") or 0.0)
        if status is None and latency <= 0:
            raise BadControlRequest("a fault needs a status or latency_seconds")
        fault = Fault(
            status=status,
            remaining=_optional_int(body, "count") or 1,
            customer_id=_optional_int(body, "customer_id"),
            latency_seconds=latency,
        )
        self._state.add_fault(fault)
        return json_response(201, {"status": "added"})

    def _redeliver(self, request: Request) -> WsgiApp:
        return json_response(200, {"deliveries": self._webhooks.redeliver_failed()})

    def _put_merchant(self, request: Request, merchant_id: str) -> WsgiApp:
        if not merchant_id.isdigit():
            raise BadControlRequest("PaySimple merchant ids are integers")
        body = _json_body(request)
        merchant = Merchant(
            merchant_id=merchant_id,
            api_username=_required_str(body, "api_username"),
            api_key=_required_str(body, "api_key"),
            webhook_signing_key=_required_str(body, "webhook_signing_key"),
            webhook_url=body.get("webhook_url") or None,
        )
        try:
            self._state.put_merchant(merchant)
        except CredentialsInUse:
            return error_response(409, "Conflict", "api_username belongs to another merchant")
        return json_response(200, {"merchant_id": merchant.merchant_id})

    def _save_customer(self, request: Request, merchant_id: str) -> WsgiApp:
        merchant = self._state.merchant(merchant_id)
        if merchant is None:
            return error_response(404, "NotFound", f"Merchant {merchant_id} was not found")
        body = _json_body(request)
        payload = body.get("customer")
        if not isinstance(payload, dict):
            raise BadControlRequest("customer must be an object")
        try:
            customer = self._state.save_customer(merchant.merchant_id, payload)
        except InvalidCustomer as exc:
            return json_response(400, error_envelope(400, "InvalidInput", exc.errors))
        except CustomerNotFound:
            return error_response(404, "NotFound", f"Customer {payload.get('Id')} was not found", "Id")
        event_type = "customer_created" if payload.get("Id") is None else "customer_updated"
        data = {
            "customer_id": customer["Id"],
            "first_name": customer["FirstName"],
            "last_name": customer["LastName"],
            "email": customer["Email"],
        }
        outcome = self._publish(merchant, event_type, data, body) if body.get("send_webhook", True) else {}
        status = 201 if event_type == "customer_created" else 200
        return json_response(status, {"customer": customer, "event_id": None, "deliveries": [], **outcome})

    def _get_customer(self, request: Request, merchant_id: str, customer_id: int) -> WsgiApp:
        customer = self._state.customer(merchant_id, customer_id)
        if customer is None:
            return error_response(404, "NotFound", f"Customer {customer_id} was not found", "Id")
        return json_response(200, customer)

    def _delete_customer(self, request: Request, merchant_id: str, customer_id: int) -> WsgiApp:
        merchant = self._state.merchant(merchant_id)
        if merchant is None:
            return error_response(404, "NotFound", f"Merchant {merchant_id} was not found")
        try:
            self._state.delete_customer(merchant.merchant_id, customer_id)
        except CustomerNotFound:
            return error_response(404, "NotFound", f"Customer {customer_id} was not found", "Id")
        options = {key: value == "true" for key, value in request.args.items()}
        send = options.get("send_webhook", True)
        data = {"customer_id": customer_id}
        outcome = self._publish(merchant, "customer_deleted", data, options) if send else {}
        return json_response(200, {"customer_id": customer_id, "event_id": None, "deliveries": [], **outcome})

    def _send_event(self, request: Request, merchant_id: str) -> WsgiApp:
        merchant = self._state.merchant(merchant_id)
        if merchant is None:
            return error_response(404, "NotFound", f"Merchant {merchant_id} was not found")
        body = _json_body(request)
        event_type = _required_str(body, "event_type")
        data = body.get("data")
        if not isinstance(data, dict):
            raise BadControlRequest("data must be an object")
        return json_response(
            200, {"event_id": None, "deliveries": [], **self._publish(merchant, event_type, data, body)}
        )

    def _deliveries(self, request: Request, merchant_id: str) -> WsgiApp:
        return json_response(200, {"deliveries": self._state.deliveries_of(merchant_id)})

    def _publish(
        self, merchant: Merchant, event_type: str, data: JsonObject, options: dict[str, Any]
    ) -> JsonObject:
        """Like PaySimple, send nothing to a merchant without a webhook subscription."""
        if not merchant.webhook_url:
            return {}
        event = self._webhooks.new_event(merchant, event_type, data)
        times = 2 if options.get("duplicate_delivery") else 1
        delay = float(options.get("delay_seconds") or 0.0)
        if delay > 0:
            self._webhooks.deliver_later(event, delay, times=times)
            return {"event_id": event.event_id, "deliveries": []}
        return {"event_id": event.event_id, "deliveries": self._webhooks.deliver(event, times=times)}


def _unauthorized() -> Response:
    return error_response(401, "Unauthorized", "Authorization has been denied for this request.")


def _not_found(path: str) -> Response:
    """An unrouted path gets ASP.NET Web API's own 404, not PaySimple's envelope, as on the real host."""
    message = f"No HTTP resource was found that matches the request URI '{path}'."
    return Response(
        json.dumps({"Message": message}), status=404, content_type="application/json; charset=utf-8"
    )


def _fault_response(status: int) -> WsgiApp:
    reason = HTTP_STATUS_CODES.get(status, "Error")
    if status in _GATEWAY_STATUSES:
        # Load balancers answer these, in HTML, before the API sees the request.
        html = f"<html><body><h1>{status} {reason}</h1></body></html>"
        return Response(html, status=status, content_type="text/html")
    if status == 204:
        return _no_content_with_body(envelope(204, None))
    code = _ERROR_CODES.get(status, "UnexpectedError")
    return json_response(status, error_envelope(status, code, [{"Field": None, "Message": reason}]))


def _no_content_with_body(body: JsonObject) -> WsgiApp:
    """werkzeug's Response drops the body of a 204, so this one is written by hand."""
    payload = json.dumps(body).encode("utf-8")

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        headers = [("Content-Type", "application/json; charset=utf-8"), ("Content-Length", str(len(payload)))]
        start_response("204 No Content", headers)
        return [payload]

    return app


def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(request.get_data() or b"{}")
    except ValueError:
        raise BadControlRequest("body must be JSON") from None
    if not isinstance(body, dict):
        raise BadControlRequest("body must be a JSON object")
    return body


def _required_str(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise BadControlRequest(f"{name} is required")
    return value


def _optional_int(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadControlRequest(f"{name} must be an integer")
    return value


def _positive_int(text: str) -> int | None:
    return int(text) if text.isdigit() and int(text) > 0 else None
