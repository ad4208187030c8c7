"""PaySimple's response envelope: `{"Meta": {"Errors", "HttpStatusCode", "PagingDetails"}, "Response"}`."""

from __future__ import annotations

import json
import uuid
from typing import Any

from werkzeug.wrappers import Response

JsonObject = dict[str, Any]


def envelope(status: int, response: Any, *, paging: JsonObject | None = None) -> JsonObject:
    return {"Meta": {"Errors": None, "HttpStatusCode": status, "PagingDetails": paging}, "Response": response}


def error_envelope(status: int, error_code: str, messages: list[JsonObject]) -> JsonObject:
    errors = {"ErrorCode": error_code, "ErrorMessages": messages, "TraceCode": uuid.uuid4().hex}
    return {"Meta": {"Errors": errors, "HttpStatusCode": status, "PagingDetails": None}, "Response": None}


def json_response(status: int, body: JsonObject) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json; charset=utf-8")


def error_response(status: int, error_code: str, message: str, field: str | None = None) -> Response:
    return json_response(status, error_envelope(status, error_code, [{"Field": field, "Message": message}]))
