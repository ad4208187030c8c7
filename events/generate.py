"""Builds the signed PaySimple webhook events in events/: API Gateway REST proxy events for IngestFunction,
as `sam local invoke IngestFunction -e events/<file>.json` and the tests take them. `rest_proxy_event` is
also how the tests build every other API Gateway event (the admin API's too).

    .venv/bin/python -m events.generate          # rewrite events/webhook_*.json
    .venv/bin/python -m events.generate --check  # exit 1 if a committed event differs from what this builds

Bodies are signed with TEST_SIGNING_KEY, the documented test key of merchant 1225 (events/README.md). Only
the standard library is used, so the signatures do not depend on the code they test.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

TEST_MERCHANT_ID = 1225
TEST_SIGNING_KEY = "customer-sync-test-webhook-key-1225"
SIGNATURE_HEADER = "PaySimple-Hmac-SHA256"
EVENTS_DIR = Path(__file__).resolve().parent

WEBHOOK_API_ID = "w3bh00k4p1"
WEBHOOK_PATH = "/webhooks/paysimple"
_SOURCE_IP = "198.51.100.24"
# The customer of the sample events (and of the tests' webhooks).
JOHN_DOE = {"customer_id": 8053900, "first_name": "John", "last_name": "Doe", "email": "john@example.com"}
_USER_AGENT = "PaySimple-Webhooks/1.0"


def sign(raw_body: bytes, signing_key: str = TEST_SIGNING_KEY) -> str:
    """Hex HMAC-SHA256 of the raw body bytes: the `PaySimple-Hmac-SHA256` header value."""
    return hmac.new(signing_key.encode("utf-8"), raw_body, hashlib.sha256).hexdigest()


def webhook_envelope(
    event_type: str,
    event_id: str,
    data: Mapping[str, Any],
    *,
    merchant_id: Any = TEST_MERCHANT_ID,
    created_at: str = "2026-11-25T11:40:01.5412011Z",
) -> dict[str, Any]:
    """A PaySimple webhook document, with .NET's 7 fractional digits in `created_at`."""
    return {
        "event_type": event_type,
        "event_id": event_id,
        "merchant_id": merchant_id,
        "created_at": created_at,
        "data": dict(data),
    }


def webhook_body(event_type: str, event_id: str, data: Mapping[str, Any], **envelope: Any) -> bytes:
    """A PaySimple webhook body: webhook_envelope (`envelope`: merchant_id, created_at) as compact JSON."""
    document = webhook_envelope(event_type, event_id, data, **envelope)
    return json.dumps(document, separators=(",", ":")).encode("utf-8")


def rest_proxy_event(
    raw_body: bytes | str | None,
    *,
    headers: Mapping[str, str] | None = None,
    base64_encoded: bool = False,
    method: str = "POST",
    path: str = WEBHOOK_PATH,
    resource: str = WEBHOOK_PATH,
    query: Mapping[str, str] | None = None,
    path_parameters: Mapping[str, str] | None = None,
    api_id: str = WEBHOOK_API_ID,
    user_agent: str | None = _USER_AGENT,
    user_arn: str | None = None,
    request_id: str = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
) -> dict[str, Any]:
    """An API Gateway REST (v1) proxy event with both `headers` and `multiValueHeaders` (and both query
    maps), as Lambda gets it. `resource` is the template's route (e.g. `/admin/{proxy+}`); `user_arn` names
    the caller an IAM-authorised API let in. A body comes with `Content-Type: application/json` unless
    `headers` say otherwise."""
    host = f"{api_id}.execute-api.us-east-1.amazonaws.com"
    all_headers = {
        **({"Content-Type": "application/json"} if raw_body is not None else {}),
        "Host": host,
        **({"User-Agent": user_agent} if user_agent is not None else {}),
        "X-Amzn-Trace-Id": "Root=1-6744636a-0123456789abcdef01234567",
        "X-Forwarded-For": _SOURCE_IP,
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
        **(headers or {}),
    }
    if raw_body is None or isinstance(raw_body, str):
        body = raw_body  # text is passed as it is, even text no HTTP request could carry
    elif base64_encoded:
        body = base64.b64encode(raw_body).decode("ascii")
    else:
        body = raw_body.decode("utf-8")
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {name: [value] for name, value in all_headers.items()},
        "queryStringParameters": dict(query) if query else None,
        "multiValueQueryStringParameters": {name: [value] for name, value in query.items()}
        if query
        else None,
        "pathParameters": dict(path_parameters) if path_parameters else None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "a1b2c3",
            "resourcePath": resource,
            "httpMethod": method,
            "extendedRequestId": "W3bh00kExampleId=",
            "requestTime": "25/Nov/2026:11:40:02 +0000",
            "path": f"/v1{path}",
            "accountId": "123456789012",
            "protocol": "HTTP/1.1",
            "stage": "v1",
            "domainPrefix": api_id,
            "requestTimeEpoch": 1795693202000,
            "requestId": request_id,
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": None,
                "cognitoIdentityId": None,
                "caller": None,
                "sourceIp": _SOURCE_IP,
                "principalOrgId": None,
                "accessKey": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": user_arn,
                "userAgent": user_agent,
                "user": None,
            },
            "domainName": host,
            "apiId": api_id,
        },
        "body": body,
        "isBase64Encoded": base64_encoded,
    }


def signed_event(
    raw_body: bytes, *, signing_key: str = TEST_SIGNING_KEY, header: str = SIGNATURE_HEADER, **options: Any
) -> dict[str, Any]:
    """A webhook event whose `header` carries the body's signature (`options` as for rest_proxy_event)."""
    return rest_proxy_event(raw_body, headers={header: sign(raw_body, signing_key)}, **options)


def build_events() -> dict[str, dict[str, Any]]:
    """File name -> event. The three customer events enqueue exactly the messages of
    events/sqs_customer_changes_batch.json."""
    jane = {"customer_id": 8053901, "first_name": "Jane", "last_name": "Roe", "email": "jane.roe@example.com"}
    return {
        "webhook_customer_created.json": signed_event(
            webhook_body("customer_created", "evt_5b2aca473b6325b3b4d22ed1", JOHN_DOE),
            request_id="8e0f5a52-1d1c-4c55-9a2e-000000000001",
        ),
        "webhook_customer_updated.json": signed_event(
            webhook_body(
                "customer_updated",
                "evt_5b2aca473b6325b3b4d22ed2",
                jane,
                created_at="2026-11-25T11:40:02.1204000Z",
            ),
            request_id="8e0f5a52-1d1c-4c55-9a2e-000000000002",
        ),
        "webhook_customer_deleted.json": signed_event(
            webhook_body(
                "customer_deleted",
                "evt_5b2aca473b6325b3b4d22ed3",
                {"customer_id": 8053902},
                created_at="2026-11-25T11:40:03.9981000Z",
            ),
            request_id="8e0f5a52-1d1c-4c55-9a2e-000000000003",
        ),
        "webhook_payment_ignored.json": signed_event(
            webhook_body(
                "payment_created",
                "evt_5b2aca473b6325b3b4d22ed4",
                {"payment_id": 7391842, "customer_id": 8053900, "amount": 25.0, "status": "Authorized"},
                created_at="2026-11-25T11:40:04.0000001Z",
            ),
            request_id="8e0f5a52-1d1c-4c55-9a2e-000000000004",
        ),
        # A well-formed customer event signed with some other key: IngestFunction must answer 401.
        "webhook_bad_signature.json": signed_event(
            webhook_body(
                "customer_updated",
                "evt_5b2aca473b6325b3b4d22ed5",
                jane,
                created_at="2026-11-25T11:40:05.5000000Z",
            ),
            signing_key="not-the-key-of-merchant-1225",
            request_id="8e0f5a52-1d1c-4c55-9a2e-000000000005",
        ),
    }


def render(event: Mapping[str, Any]) -> str:
    return json.dumps(event, indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="only compare the committed events")
    args = parser.parse_args(argv)
    stale = []
    for name, event in build_events().items():
        path = EVENTS_DIR / name
        text = render(event)
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    if stale:
        print(f"stale: {', '.join(stale)}; run: python -m events.generate", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
