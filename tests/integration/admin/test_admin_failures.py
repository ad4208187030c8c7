"""AdminFunction: a merchant's failures — changes parked after a permanent error and changes that arrived in
the DLQ (recorded by DeadLetterFunction) — listed with their reasons from the failures table alone, and
redriven to CustomerChangesQueue (moto SQS FIFO queues, the real handlers)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from customer_sync.adapters.dynamodb_history import DynamoDbFailuresRepository, DynamoDbHistoryRepository
from customer_sync.adapters.sqs import queue_body
from customer_sync.models.history import HistoryEntry, ParkedFailure
from customer_sync.models.messages import CustomerChangeMessage
from functions.dead_letters.app import lambda_handler as dead_letter_handler
from tests.support.admin_api import call, stored_state
from tests.support.lambda_context import LambdaContextStub
from tests.support.sqs_events import QueueEventSource, sqs_event, sqs_record

MERCHANT = "1225"
OTHER_MERCHANT = "1226"
OCCURRED = datetime(2026, 11, 25, 11, 40, 1, tzinfo=UTC)


def change(event_id: str, customer_id: str = "8053900", merchant_id: str = MERCHANT, attempt: int = 0):
    return CustomerChangeMessage(
        merchant_id=merchant_id,
        customer_id=customer_id,
        event_type="customer_updated",
        event_id=event_id,
        occurred_at=OCCURRED,
        redrive_attempt=attempt,
    )


def park(env, message: CustomerChangeMessage, reason: str = "QBO error 6000: business rule") -> None:
    DynamoDbFailuresRepository(env["HISTORY_TABLE_NAME"]).park(
        ParkedFailure(
            merchant_id=message.merchant_id,
            paysimple_customer_id=message.customer_id,
            event_id=message.event_id,
            message=message,
            reason=reason,
            code="6000",
            parked_at=OCCURRED,
        )
    )


def arrive_in_dlq(env, message: CustomerChangeMessage) -> None:
    """A change whose retries ran out, as SQS moves it to the DLQ (same body, group and deduplication id)."""
    boto3.client("sqs").send_message(
        QueueUrl=env["CHANGES_DLQ_URL"],
        MessageBody=queue_body(message),
        MessageGroupId=message.message_group_id,
        MessageDeduplicationId=message.deduplication_id,
    )


def dead_letter(env, message: CustomerChangeMessage) -> None:
    """... and DeadLetterFunction records it as its merchant's failure."""
    arrive_in_dlq(env, message)
    assert QueueEventSource(env["CHANGES_DLQ_URL"], dead_letter_handler).poll() == {"batchItemFailures": []}


def queued(url: str) -> list[Any]:
    """Every message on a queue with its attributes (received, so they are invisible afterwards)."""
    sqs = boto3.client("sqs")
    messages: list[Any] = []
    while batch := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60, MessageSystemAttributeNames=["All"]
    ).get("Messages", []):
        messages.extend(batch)
    return messages


@pytest.fixture
def merchant(merchants):
    merchants.onboard(MERCHANT)
    merchants.onboard(OTHER_MERCHANT)


def test_failures_lists_parked_changes_and_dead_letters_of_the_merchant_with_reasons(admin_env, merchant):
    # Given a parked change, a dead-lettered one whose last error the sync recorded, and another merchant's
    park(admin_env, change("evt_parked"))
    DynamoDbHistoryRepository(admin_env["HISTORY_TABLE_NAME"]).append(
        HistoryEntry(
            merchant_id=MERCHANT,
            paysimple_customer_id="8053901",
            event_id="evt_dead",
            event_type="customer_updated",
            occurred_at=OCCURRED,
            recorded_at=OCCURRED,
            action="failed",
            error="QBO unavailable (HTTP 503)",
        )
    )
    dead_letter(admin_env, change("evt_dead", customer_id="8053901"))
    dead_letter(admin_env, change("evt_other", merchant_id=OTHER_MERCHANT))

    # When the merchant's failures are listed
    response = call("GET", f"/admin/merchants/{MERCHANT}/failures")

    # Then its parked change and its dead letter, each with its reason; not the other merchant's
    assert response.status == 200
    body = response.json
    assert [(item["event_id"], item["reason"]) for item in body["parked"]] == [
        ("evt_parked", "QBO error 6000: business rule")
    ]
    assert [
        (item["event_id"], item["paysimple_customer_id"], item["reason"]) for item in body["dead_letter"]
    ] == [("evt_dead", "8053901", "QBO unavailable (HTTP 503)")]
    assert body["dead_letter"][0]["receive_count"] >= 1
    # and the DLQ itself is empty: DeadLetterFunction took both
    assert queued(admin_env["CHANGES_DLQ_URL"]) == []


def test_listing_failures_receives_nothing_from_the_dlq(admin_env, merchant):
    # Given a change that has just arrived in the DLQ, not yet taken by DeadLetterFunction
    arrive_in_dlq(admin_env, change("evt_1"))

    # When the failures are listed, twice
    call("GET", f"/admin/merchants/{MERCHANT}/failures")
    call("GET", f"/admin/merchants/{MERCHANT}/failures")

    # Then the DLQ message was never received: its first receive is the consumer's
    [message] = queued(admin_env["CHANGES_DLQ_URL"])
    assert message["Attributes"]["ApproximateReceiveCount"] == "1"


def test_the_same_dlq_message_delivered_twice_is_one_failure(admin_env, merchant):
    # Given a change in the DLQ whose delivery to DeadLetterFunction is repeated (the consumer died after
    # recording it, before SQS deleted it)
    arrive_in_dlq(admin_env, change("evt_1"))
    [message] = boto3.client("sqs").receive_message(
        QueueUrl=admin_env["CHANGES_DLQ_URL"], MessageSystemAttributeNames=["All"], VisibilityTimeout=0
    )["Messages"]
    record = sqs_record(change("evt_1"), message_id=message["MessageId"], receive_count=1000)

    # When it is handled twice
    for _ in range(2):
        assert dead_letter_handler(sqs_event([record]), LambdaContextStub()) == {"batchItemFailures": []}

    # Then it is one failure, recorded once
    body = call("GET", f"/admin/merchants/{MERCHANT}/failures").json
    assert [(item["event_id"], item["receive_count"]) for item in body["dead_letter"]] == [("evt_1", 1000)]
    stored = DynamoDbFailuresRepository(admin_env["HISTORY_TABLE_NAME"]).list_failures(MERCHANT).items
    assert [failure.attempts for failure in stored] == [1]


def test_a_dead_letter_without_a_recorded_error_says_its_retries_ran_out(admin_env, merchant):
    dead_letter(admin_env, change("evt_1"))

    body = call("GET", f"/admin/merchants/{MERCHANT}/failures").json

    assert "retries exhausted" in body["dead_letter"][0]["reason"]


def test_redriving_chosen_events_resends_them_with_the_next_attempt_number(admin_env, merchant):
    # Given a parked change and a dead letter (a second redrive of it), plus one not chosen
    park(admin_env, change("evt_parked"))
    dead_letter(admin_env, change("evt_dead", customer_id="8053901", attempt=1))
    park(admin_env, change("evt_later", customer_id="8053902"))

    # When the admin redrives the first two
    response = call(
        "POST",
        f"/admin/merchants/{MERCHANT}/failures/redrive",
        body={"event_ids": ["evt_parked", "evt_dead"]},
    )

    # Then both are on the changes queue again, with new deduplication ids; both stay listed, waiting for
    # the attempt sent (the sync removes each once it is applied)
    assert response.status == 200, response.text
    assert sorted(
        (item["event_id"], item["source"], item["redrive_attempt"]) for item in response.json["redriven"]
    ) == [
        ("evt_dead", "dead_letter", 2),
        ("evt_parked", "parked", 1),
    ]
    resent = {json.loads(m["Body"])["event_id"]: m for m in queued(admin_env["CHANGES_QUEUE_URL"])}
    assert set(resent) == {"evt_parked", "evt_dead"}
    assert resent["evt_parked"]["Attributes"]["MessageDeduplicationId"] == "evt_parked#redrive-1"
    assert resent["evt_parked"]["Attributes"]["MessageGroupId"] == f"{MERCHANT}:8053900"
    assert json.loads(resent["evt_dead"]["Body"])["redrive_attempt"] == 2
    remaining = call("GET", f"/admin/merchants/{MERCHANT}/failures").json
    assert [(item["event_id"], item["redrive_attempt"]) for item in remaining["parked"]] == [
        ("evt_parked", 1),
        ("evt_later", 0),
    ]
    assert [(item["event_id"], item["redrive_attempt"]) for item in remaining["dead_letter"]] == [
        ("evt_dead", 2)
    ]
    # and the customer's history notes the retry
    entries = DynamoDbHistoryRepository(admin_env["HISTORY_TABLE_NAME"]).list_for_customer(
        MERCHANT, "8053900"
    )
    assert [(entry.event_id, entry.action) for entry in entries.items] == [
        ("evt_parked#redrive-1", "retried")
    ]


def test_redriving_all_resends_every_failure_of_the_merchant_and_no_other(admin_env, merchant):
    # Given failures of two merchants
    park(admin_env, change("evt_a"))
    dead_letter(admin_env, change("evt_b"))
    dead_letter(admin_env, change("evt_other", merchant_id=OTHER_MERCHANT))

    # When everything of the merchant is redriven (no event ids)
    response = call("POST", f"/admin/merchants/{MERCHANT}/failures/redrive", body={})

    # Then its two are resent; the other merchant's dead letter is not
    assert sorted(item["event_id"] for item in response.json["redriven"]) == ["evt_a", "evt_b"]
    assert sorted(json.loads(m["Body"])["event_id"] for m in queued(admin_env["CHANGES_QUEUE_URL"])) == [
        "evt_a",
        "evt_b",
    ]
    other = call("GET", f"/admin/merchants/{OTHER_MERCHANT}/failures").json
    assert [(item["event_id"], item["redrive_attempt"]) for item in other["dead_letter"]] == [
        ("evt_other", 0)
    ]


def test_redriving_an_unknown_event_reports_it_and_writes_nothing(admin_env, merchant):
    park(admin_env, change("evt_a"))
    before = stored_state()

    response = call("POST", f"/admin/merchants/{MERCHANT}/failures/redrive", body={"event_ids": ["evt_nope"]})

    assert response.status == 200
    assert response.json == {"redriven": [], "not_found": ["evt_nope"], "failed": []}
    assert stored_state() == before


def test_a_failed_send_leaves_the_failure_where_it_was(use_function_env, admin_env, merchant):
    # Given a parked change and a dead letter, and a changes queue that cannot be reached
    park(admin_env, change("evt_parked"))
    dead_letter(admin_env, change("evt_dead"))
    use_function_env(
        "AdminFunction",
        **{
            **admin_env,
            "CHANGES_QUEUE_URL": admin_env["CHANGES_QUEUE_URL"].replace("CustomerChangesQueue", "Gone"),
        },
    )

    # When both are redriven
    response = call("POST", f"/admin/merchants/{MERCHANT}/failures/redrive", body={})

    # Then both are reported as failed, and both are still listed
    assert response.status == 200
    assert sorted(item["event_id"] for item in response.json["failed"]) == ["evt_dead", "evt_parked"]
    remaining = call("GET", f"/admin/merchants/{MERCHANT}/failures").json
    assert [item["event_id"] for item in remaining["parked"]] == ["evt_parked"]
    assert [item["event_id"] for item in remaining["dead_letter"]] == ["evt_dead"]


@pytest.mark.parametrize(
    "body", [{"event_ids": []}, {"event_ids": "evt_a"}, {"event_ids": [""]}, {"all": True}]
)
def test_a_malformed_redrive_request_is_422_and_writes_nothing(admin_env, merchant, body):
    park(admin_env, change("evt_a"))
    before = stored_state()

    response = call("POST", f"/admin/merchants/{MERCHANT}/failures/redrive", body=body)

    assert response.status == 422
    assert stored_state() == before
