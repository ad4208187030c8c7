"""What a handler needs from an API Gateway REST proxy event beyond what Powertools' data class offers:
the body as the exact bytes the client sent, and one unambiguous header value."""

from __future__ import annotations

import base64
import binascii

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent


class UndecodableBody(ValueError):
    """`isBase64Encoded` is set but the body is not base64."""


def raw_body(event: APIGatewayProxyEvent) -> bytes:
    """Powertools' `decoded_body` returns text; a signature must be checked over the bytes, so decode here.
    A text body is what API Gateway made of the client's UTF-8 bytes, and UTF-8 turns it back into them."""
    body = event.body or ""
    if not event.is_base64_encoded:
        return body.encode("utf-8")
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
