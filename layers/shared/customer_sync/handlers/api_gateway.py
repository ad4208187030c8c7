"""What a handler needs from an API Gateway REST proxy event beyond what Powertools' data class offers:
the body as the exact bytes the client sent, one unambiguous header value, and a body read as JSON only."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from customer_sync.errors import UndecodableBody


def raw_body(event: APIGatewayProxyEvent) -> bytes:
    """Powertools' `decoded_body` returns text; a signature must be checked over the bytes, so decode here.
    A text body is what API Gateway made of the client's UTF-8 bytes, and UTF-8 turns it back into them."""
    body = event.body or ""
    if not event.is_base64_encoded:
        try:
            return body.encode("utf-8")
        except UnicodeEncodeError:
            # A lone UTF-16 surrogate: no bytes a client sent decode to that.
            raise UndecodableBody("body is not valid UTF-8 text") from None
    try:
        return base64.b64decode(body, validate=True)
    except (ValueError, binascii.Error):
        raise UndecodableBody("body is not valid base64") from None


def single_header(event: APIGatewayProxyEvent, name: str) -> str | None:
    """The header's value, looked up case-insensitively in `multiValueHeaders` then `headers`.

    A header sent several times with different values is ambiguous and treated as absent."""
    values = event.multi_value_headers.get(name) or []
    distinct = set(values)
    if len(distinct) > 1:
        return None
    if distinct:
        return distinct.pop()
    return event.headers.get(name)


_JSON = "application/json"


def body_as_json(event: dict[str, Any]) -> dict[str, Any]:
    """The event with its body declared JSON, whatever Content-Type the client sent.

    For an API that speaks JSON only. Powertools picks a body parser by Content-Type: it would parse a form
    or multipart body itself (past the JSON parser's size limit, and a multipart body without a boundary
    crashes it) and refuse other types without saying what is wrong. Declared JSON, every body meets the
    same parser, so the same limit and the same refusals."""
    if not event.get("body"):
        return event
    headers = {
        name: value for name, value in (event.get("headers") or {}).items() if name.lower() != "content-type"
    }
    multi_value = {
        name: values
        for name, values in (event.get("multiValueHeaders") or {}).items()
        if name.lower() != "content-type"
    }
    return {
        **event,
        "headers": {**headers, "Content-Type": _JSON},
        "multiValueHeaders": {**multi_value, "Content-Type": [_JSON]},
    }
