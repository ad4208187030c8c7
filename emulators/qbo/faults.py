"""The error bodies QBO sends, in its three shapes (capitalised JSON, lower-case JSON, XML)."""

from __future__ import annotations

from typing import Any

from emulators.qbo.replies import HTML_TYPE, XML_TYPE, Reply, json_reply, raw_reply
from emulators.qbo.timestamps import platform_time, response_time


class QboFault(Exception):
    """A validation or business fault: HTTP 400 with the capitalised `Fault.Error[]` shape."""

    def __init__(
        self, code: str, message: str, detail: str, *, element: str = "", fault_type: str = "ValidationFault"
    ) -> None:
        super().__init__(f"{code} {message}")
        self.code = code
        self.message = message
        self.detail = detail
        self.element = element
        self.fault_type = fault_type

    def payload(self) -> dict[str, Any]:
        error = {"Message": self.message, "Detail": self.detail, "code": self.code, "element": self.element}
        return {"Error": [error], "type": self.fault_type}

    def reply(self, now: float) -> Reply:
        return json_reply(400, {"Fault": self.payload(), "time": response_time(now)})


def stale_object() -> QboFault:
    return QboFault(
        "5010",
        "Stale Object Error",
        "Stale Object Error : You and Emulator User are working on this at the same time. "
        "Emulator User finished before you did, so your work was not saved.",
    )


def object_not_found(entity_id: str) -> QboFault:
    return QboFault(
        "610",
        "Object Not Found",
        "Object Not Found : Something you're trying to use has been made inactive. "
        f"Check the fields with accounts, customers, items, vendors or employees. Id={entity_id}",
    )


def duplicate_name(holder_id: str) -> QboFault:
    return QboFault(
        "6240", "Duplicate Name Exists Error", f"The name supplied already exists. : Id={holder_id}"
    )


def required_missing(detail: str, element: str = "") -> QboFault:
    return QboFault(
        "2020",
        "Required param missing, need to supply the required value for the API",
        f"Required parameter {detail} is missing in the request",
        element=element,
    )


def bad_length(field: str, maximum: int, supplied: int) -> QboFault:
    return QboFault(
        "2050",
        "String length is either shorter or longer than supported by specification",
        f"String length specified does not match the supported length. Min:0 Max:{maximum} "
        f"supplied:{supplied}",
        element=field,
    )


def bad_email(field: str) -> QboFault:
    return QboFault(
        "2210",
        "Invalid Email Address format",
        "Email Address does not conform to the syntax rules of RFC 822. Supplied value is invalid.",
        element=field,
    )


def invalid_name_characters(field: str) -> QboFault:
    # The reference says names must not hold ':', tab or newline but not which code QBO uses; we answer
    # with 6000 (business validation), which the client treats as permanent for the payload like 2050.
    return QboFault(
        "6000",
        "A business validation error has occurred while processing your request",
        f"Business Validation Error: {field} cannot contain a colon (:), tab or newline.",
        element=field,
    )


def invalid_reference(entity_name: str, reference_id: str) -> QboFault:
    return QboFault(
        "2500", "Invalid Reference Id", f"Invalid Reference Id : {entity_name} {reference_id} does not exist"
    )


def business_rule(detail: str) -> QboFault:
    return QboFault("6000", "A business validation error has occurred while processing your request", detail)


def unsupported_property(detail: str, element: str = "") -> QboFault:
    return QboFault("2010", "Request has invalid or unsupported property", detail, element=element)


def unsupported_operation(operation: str, entity_name: str) -> QboFault:
    return QboFault(
        "2010",
        "Request has invalid or unsupported property",
        f"Operation {operation} is not supported for {entity_name}; make it inactive with Active false",
        element="operation",
    )


def query_parse_error(detail: str) -> QboFault:
    return QboFault("4000", "Error parsing query", f"QueryParserError: {detail}")


# --- platform faults (lower-case shape) ---------------------------------------------------------------

_PLATFORM_NAMES = {
    401: ("AuthenticationFailed", "AUTHENTICATION"),
    403: ("AuthorizationFailure", "AUTHORIZATION"),
}


def platform_fault_reply(status: int, code: str, detail: str | None, now: float) -> Reply:
    name, fault_type = _PLATFORM_NAMES.get(status, ("ServiceFailure", "SERVICE"))
    error = {
        "message": f"message={name}; errorCode={code.zfill(6)}; statusCode={status}",
        "detail": detail,
        "code": code,
        "element": None,
    }
    headers = {"WWW-Authenticate": 'Bearer realm="Intuit", error="invalid_token"'} if status == 401 else {}
    return json_reply(
        status, {"fault": {"error": [error], "type": fault_type}, "time": platform_time(now)}, headers
    )


def token_rejected_reply(detail: str, now: float) -> Reply:
    return platform_fault_reply(401, "3200", detail, now)


def realm_forbidden_reply(now: float) -> Reply:
    return platform_fault_reply(403, "3100", "The token is not authorized for this company (realmId).", now)


THROTTLE_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<IntuitResponse><Fault type="SERVICE"><Error code="3001">'
    "<Message>message=ThrottleExceeded; errorCode=003001; statusCode=429</Message>"
    "</Error></Fault></IntuitResponse>"
)


def throttled_reply() -> Reply:
    """429 is XML even when JSON was asked for."""
    return Reply(429, THROTTLE_XML.encode(), XML_TYPE)


def system_fault_reply(code: str, now: float) -> Reply:
    error = {
        "Message": "An application error has occurred while processing your request",
        "Detail": "System Failure Error: An unexpected error occurred while accessing or saving your data. "
        "Please wait a few minutes and try again. If the problem persists, contact customer support.",
        "code": code,
    }
    return json_reply(500, {"Fault": {"Error": [error], "type": "SystemFault"}, "time": response_time(now)})


def gateway_reply(status: int) -> Reply:
    """502/503/504 come from Intuit's edge as HTML, not JSON."""
    reason = {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}.get(status, "Error")
    page = (
        f"<html><head><title>{status} {reason}</title></head><body><h1>{status} {reason}</h1></body></html>"
    )
    return Reply(status, page.encode(), HTML_TYPE)


def injected_api_fault_reply(status: int, code: str | None, body: str | None, now: float) -> Reply:
    """What an injected failure of an API call looks like, by status."""
    if body is not None:
        return raw_reply(status, body)
    if status == 400:
        return _injected_validation_fault(code).reply(now)
    if status == 401:
        return platform_fault_reply(401, code or "3200", "Token expired", now)
    if status == 403:
        return platform_fault_reply(403, code or "3100", None, now)
    if status == 429:
        return throttled_reply()
    if status == 500:
        return system_fault_reply(code or "10000", now)
    if status in (502, 503, 504):
        return gateway_reply(status)
    return platform_fault_reply(status, code or str(status), None, now)


def _injected_validation_fault(code: str | None) -> QboFault:
    if code is None or code == "6000":
        return business_rule("Injected fault.")
    if code == "5010":
        return stale_object()
    if code == "610":
        return object_not_found("0")
    if code == "4000":
        return query_parse_error("Injected fault.")
    return QboFault(code, "Injected validation fault", "Injected fault.")
