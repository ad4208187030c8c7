"""Secrets and tokens never leave Secrets Manager: not in a log line (ours or any library's, at any level),
an admin answer, a table or a queue.

One merchant goes the whole way through the real handlers: onboarding (PaySimple credentials), the QBO
connect flow (authorize URL, consent at the emulator, callback exchanging the code), status, a signed
webhook, a sync whose access token has expired (401, one refresh that rotates both tokens), failures. Every
secret value that ever existed on the way is then searched for.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from customer_sync import composition
from customer_sync.domain.webhook_signature import SIGNATURE_HEADER, sign_body
from customer_sync.models.messages import CustomerChangeMessage
from functions.ingest.app import lambda_handler as ingest_handler
from tests.support.admin_api import Merchants, admin_event, call, paysimple_credentials
from tests.support.lambda_context import LambdaContextStub
from tests.support.recording_qbo import RecordingQboEmulator
from tests.support.sync_stack import CapturedOutput, SyncStack

MERCHANT = "770077"
SECRET_FIELDS = ("api_key", "webhook_signing_key", "client_secret", "access_token", "refresh_token", "key")


def secret_values(prefix: str) -> set[str]:
    """Every secret field's value now stored under the deployment's prefix."""
    client = boto3.client("secretsmanager")
    values: set[str] = set()
    for entry in client.list_secrets()["SecretList"]:
        if not entry["Name"].startswith(prefix):
            continue
        stored = json.loads(client.get_secret_value(SecretId=entry["Name"])["SecretString"])
        values |= {str(stored[field]) for field in SECRET_FIELDS if stored.get(field)}
    return values


def everything_stored(env: dict[str, str]) -> str:
    dynamodb = boto3.client("dynamodb")
    items = {table: dynamodb.scan(TableName=table)["Items"] for table in dynamodb.list_tables()["TableNames"]}
    sqs = boto3.client("sqs")
    bodies = [
        message["Body"]
        for url in (env["CHANGES_QUEUE_URL"], env["CHANGES_DLQ_URL"])
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get(
            "Messages", []
        )
    ]
    return json.dumps(items, default=str) + "\n".join(bodies)


@pytest.fixture
def every_log(caplog: pytest.LogCaptureFixture, captured_output: CapturedOutput):
    """Powertools' log lines and printed metrics, and every other logger down to DEBUG (as if a function's
    log level were turned all the way up)."""
    caplog.set_level(logging.DEBUG)

    def text() -> str:
        return captured_output.text() + "\n" + caplog.text

    return text


def test_no_secret_or_token_is_logged_answered_or_stored_anywhere(
    sync_stack: SyncStack,
    qbo_emulator: RecordingQboEmulator,
    every_log,
    monkeypatch: pytest.MonkeyPatch,
):
    # Given the admin API pointed at the QBO emulator's consent page
    monkeypatch.setenv("QBO_AUTHORIZE_URL", qbo_emulator.authorize_url)
    composition.reset()
    prefix = sync_stack.env["SECRET_PREFIX"]
    seen: set[str] = set(secret_values(prefix))
    answers: dict[str, str] = {}

    def admin(label: str, method: str, path: str, **options: Any) -> dict[str, Any]:
        response = call(method, path, **options)
        assert response.status < 300, f"{label}: {response.status} {response.text}"
        answers[label] = response.text
        seen.update(secret_values(prefix))
        return dict(response.json) if response.text.startswith("{") else {}

    merchants = Merchants(sync_stack.qbo, sync_stack.paysimple)
    credentials = paysimple_credentials(MERCHANT)
    sync_stack.paysimple.add_merchant(MERCHANT, **credentials)
    realm = str(sync_stack.qbo.create_realm()["realm_id"])
    sync_stack.qbo.set_consent_realm(realm)

    # When a merchant is onboarded, connects QuickBooks and enables sync
    admin("onboard", "PUT", f"/admin/merchants/{MERCHANT}", body={"paysimple": credentials})
    callback = merchants.authorize(MERCHANT)
    seen.add(callback["code"])
    admin("callback", "GET", "/oauth/qbo/callback", query=callback)
    admin("enable", "PUT", f"/admin/merchants/{MERCHANT}/settings", body={"sync_enabled": True})
    admin("status", "GET", f"/admin/merchants/{MERCHANT}/status")
    # ... PaySimple sends a signed webhook for a new customer
    saved = sync_stack.paysimple.save_customer(
        MERCHANT, {"FirstName": "Ann", "LastName": "Lee"}, send_webhook=False
    )
    customer_id = int(saved["customer"]["Id"])
    body = json.dumps(
        {
            "event_type": "customer_created",
            "event_id": "evt_secrets_1",
            "merchant_id": int(MERCHANT),
            "created_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "data": {"customer_id": customer_id},
        }
    )
    signed = admin_event(
        "POST",
        "/webhooks/paysimple",
        raw_body=body,
        headers={SIGNATURE_HEADER: sign_body(body.encode(), credentials["webhook_signing_key"])},
    )
    accepted = ingest_handler(signed, LambdaContextStub("IngestFunction"))
    answers["ingest"] = json.dumps(accepted)
    assert accepted["statusCode"] == 202
    # ... and the change is synced after QBO expired the access token (one refresh rotates both tokens)
    sync_stack.qbo.expire_access_tokens(realm)
    change = CustomerChangeMessage(
        merchant_id=MERCHANT,
        customer_id=str(customer_id),
        event_type="customer_created",
        event_id="evt_secrets_1",
        occurred_at=datetime.now(UTC),
    )
    assert sync_stack.deliver(change) == {"batchItemFailures": []}
    seen.update(secret_values(prefix))
    admin("status after refresh", "GET", f"/admin/merchants/{MERCHANT}/status")
    admin("failures", "GET", f"/admin/merchants/{MERCHANT}/failures")
    admin("connect again", "GET", f"/admin/merchants/{MERCHANT}/qbo/connect")

    # Then the flow really used fresh tokens (the search below covers the rotated ones too)
    token_calls = [r for r in qbo_emulator.requests if r.path.endswith("/tokens/bearer")]
    assert len(token_calls) == 2, "one code exchange and one refresh"
    assert len({value for value in seen if value}) >= 9
    # and no secret value is in a log line, an answer, a table or a queue
    places = {"logs": every_log(), "tables and queues": everything_stored(sync_stack.env), **answers}
    found = {
        place: sorted(f"{value[:4]}…" for value in seen if value and value in text)
        for place, text in places.items()
    }
    assert {place: values for place, values in found.items() if values} == {}
    # and no API request to QBO carries one in its query string or body (tokens go in the header only)
    in_api_requests = [
        request.path
        for request in qbo_emulator.requests
        if request.path.startswith("/v3/") and any(value in request.text() for value in seen if value)
    ]
    assert in_api_requests == []
