"""SyncFunction under faults, end to end (real handler, moto, emulators over HTTP): QBO throttling, outages
and timeouts, the retry settings, an invocation running out of time, a Lambda dying between the QBO create
and the link write, duplicate and out-of-order deliveries, a dead refresh token, a permanent validation
error inside a batch, and a poison message reaching the DLQ."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from moto.dynamodb.models import DynamoDBBackend

from customer_sync import composition
from customer_sync.adapters.merchant_clients import QboRetryPolicy
from customer_sync.composition.sync import sync_components
from customer_sync.config import SecretNames
from functions.sync.app import lambda_handler
from tests.support import sync_stack as stack_support
from tests.support.lambda_context import LambdaContextStub, RunningLambdaContextStub
from tests.support.onboarding import write_qbo_connection
from tests.support.sqs_events import QueueEventSource, sqs_record
from tests.support.sync_stack import CapturedOutput, SyncStack

ANN = {"FirstName": "Ann", "LastName": "Lee", "Email": "ann@example.com", "Phone": "3035550101"}
NO_FAILURES: dict[str, list[dict[str, str]]] = {"batchItemFailures": []}


def failures_of(*records: dict[str, Any]) -> dict[str, list[dict[str, str]]]:
    return {"batchItemFailures": [{"itemIdentifier": record["messageId"]} for record in records]}


def linked_customer(stack: SyncStack, **fields: str) -> tuple[int, str]:
    customer_id = stack.save_customer(**fields)
    assert stack.sync(customer_id, event_type="customer_created") == NO_FAILURES
    qbo_id = stack.link(customer_id).qbo_customer_id
    assert qbo_id is not None
    stack.clear_qbo_calls()
    return customer_id, qbo_id


def configure_sync(monkeypatch: pytest.MonkeyPatch, **variables: str) -> None:
    """Set SyncFunction environment variables; the next invocation is a cold start that reads them."""
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    composition.reset()


# -- QBO throttling, outages, timeouts ---------------------------------------------------------------------


def test_a_throttled_update_is_retried_and_lands(sync_stack: SyncStack):
    # Given a linked customer, and QBO throttling the next update (429, XML body)
    customer_id, qbo_id = linked_customer(sync_stack, **ANN)
    sync_stack.qbo.inject_fault(realm_id=sync_stack.realm_id, operation="update", status=429)
    # When the customer's phone changes
    sync_stack.save_customer(Id=customer_id, **{**ANN, "Phone": "3035550199"})
    response = sync_stack.sync(customer_id)
    # Then the update was repeated after the throttle and QBO holds the new phone
    assert response == NO_FAILURES
    assert [(c["operation"], c["status"]) for c in sync_stack.qbo_calls()] == [
        ("update", 429),
        ("update", 200),
    ]
    assert sync_stack.qbo_customer(qbo_id)["PrimaryPhone"] == {"FreeFormNumber": "3035550199"}


def test_a_qbo_outage_fails_the_record_and_the_redelivery_ends_right(sync_stack: SyncStack):
    # Given a linked customer, and QBO answering 503 to every attempt of this invocation
    customer_id, qbo_id = linked_customer(sync_stack, **ANN)
    sync_stack.qbo.inject_fault(
        realm_id=sync_stack.realm_id, operation="update", status=503, count=stack_support.QBO_MAX_ATTEMPTS
    )
    sync_stack.save_customer(Id=customer_id, **{**ANN, "Phone": "3035550199"})
    record = sqs_record(sync_stack.message(customer_id))
    # When the change is delivered alone, then the invocation fails (Powertools raises when every record of
    # a batch failed) and SQS will deliver it again
    with pytest.raises(BatchProcessingError):
        sync_stack.deliver(record)
    assert sync_stack.qbo_customer(qbo_id)["PrimaryPhone"] == {"FreeFormNumber": "3035550101"}
    # And SQS's redelivery of the same message ends with the right QBO state
    assert sync_stack.deliver(record) == NO_FAILURES
    assert sync_stack.qbo_customer(qbo_id)["PrimaryPhone"] == {"FreeFormNumber": "3035550199"}
    assert sync_stack.actions(customer_id)[-2:] == ["retried", "updated"]


def test_a_create_that_times_out_is_repeated_without_a_second_customer(sync_stack: SyncStack):
    # Given QBO takes longer than our timeout to answer the create
    customer_id = sync_stack.save_customer(**ANN)
    latency_ms = int(stack_support.HTTP_TIMEOUT_SECONDS * 1000) + 500
    sync_stack.qbo.inject_fault(
        realm_id=sync_stack.realm_id, operation="create", status=500, latency_ms=latency_ms
    )
    # When the customer is synced
    assert sync_stack.sync(customer_id, event_type="customer_created") == NO_FAILURES
    # Then the create was repeated (same requestid) and there is exactly one customer, linked, as mapped
    [created] = sync_stack.qbo_customers()
    assert sync_stack.link(customer_id).qbo_customer_id == created["Id"]
    assert (created["DisplayName"], created["PrimaryPhone"]) == ("Ann Lee", {"FreeFormNumber": "3035550101"})


# -- retry settings ----------------------------------------------------------------------------------------


def test_a_qbo_call_is_tried_as_often_as_qbo_max_attempts_says(sync_stack: SyncStack, monkeypatch):
    # Given SyncFunction configured for two attempts per QBO call, and QBO answering 503 twice
    configure_sync(monkeypatch, QBO_MAX_ATTEMPTS="2")
    customer_id, qbo_id = linked_customer(sync_stack, **ANN)
    sync_stack.qbo.inject_fault(realm_id=sync_stack.realm_id, operation="update", status=503, count=2)
    sync_stack.save_customer(Id=customer_id, **{**ANN, "Phone": "3035550199"})
    # When the change is delivered, then the record fails after exactly two attempts
    with pytest.raises(BatchProcessingError):
        sync_stack.sync(customer_id)
    assert [(c["operation"], c["status"]) for c in sync_stack.qbo_calls()] == [("update", 503)] * 2
    assert sync_stack.qbo_customer(qbo_id)["PrimaryPhone"] == {"FreeFormNumber": "3035550101"}


def test_the_sync_components_take_their_qbo_retries_from_the_settings(sync_stack: SyncStack, monkeypatch):
    # Given QBO retry settings in SyncFunction's environment
    configure_sync(monkeypatch, QBO_MAX_ATTEMPTS="4", QBO_THROTTLE_WAIT_SECONDS="2.5")
    # When the function's object graph is built
    components = sync_components()
    # Then every QBO client it makes retries that way
    assert components.clients.retry_policy == QboRetryPolicy(max_attempts=4, throttle_wait_seconds=2.5)


# -- an invocation running out of time -------------------------------------------------------------------


def test_a_record_without_time_left_for_its_worst_case_goes_back_to_sqs_untouched(
    sync_stack: SyncStack, monkeypatch, captured_output: CapturedOutput
):
    # Given records may need 1.75 s at worst, and QBO times out on every call (two attempts each)
    configure_sync(monkeypatch, RECORD_MARGIN_SECONDS="1.75", QBO_MAX_ATTEMPTS="2")
    enabled_at = sync_stack.merchant.settings.enabled_at
    assert enabled_at is not None
    early = sync_stack.save_customer(FirstName="Eve", LastName="Early")
    assert sync_stack.sync(early, at=enabled_at - timedelta(minutes=1)) == NO_FAILURES  # warm start
    timeout_ms = int(stack_support.HTTP_TIMEOUT_SECONDS * 1000) + 500
    sync_stack.qbo.inject_fault(
        realm_id=sync_stack.realm_id, operation="query", status=500, latency_ms=timeout_ms, count=2
    )
    ann, bea = sync_stack.save_customer(**ANN), sync_stack.save_customer(FirstName="Bea", LastName="Bell")
    bea_message = sync_stack.message(bea, event_type="customer_created")
    records = {
        "early": sqs_record(sync_stack.message(early, at=enabled_at - timedelta(minutes=1))),
        "ann": sqs_record(sync_stack.message(ann, event_type="customer_created")),
        "bea": sqs_record(bea_message),
    }
    captured_output.clear()
    # When they arrive in an invocation of 3.5 s: Ann's record takes two QBO timeouts (over 2 s)
    response = sync_stack.deliver(*records.values(), context=RunningLambdaContextStub(remaining_millis=3500))
    # Then Ann's record failed, and Bea's was handed back without being started
    assert response == failures_of(records["ann"], records["bea"])
    assert sync_stack.actions(ann) == ["retried"] and sync_stack.actions(bea) == []
    # (QBO logs Ann's second, timed-out query only once it has answered it, so only Bea's absence is read)
    assert not [call for call in sync_stack.qbo_calls() if "Bea" in json.dumps(call["query"])]
    bea_lines = [
        line["message"]
        for line in captured_output.log_lines()
        if line["correlation_id"] == bea_message.event_id
    ]
    assert bea_lines == ["change deferred to the next delivery"]
    metrics = captured_output.metric_counts()
    assert (metrics["SyncDeferred"], metrics["SyncRetried"]) == (1, 2)
    # And once QBO is back (the outage was those two calls), SQS's redelivery of Bea's change creates her
    assert sync_stack.deliver(records["bea"]) == NO_FAILURES
    assert sync_stack.link(bea).status == "linked"


# -- crash between the QBO create and the link write -------------------------------------------------------


class LambdaDied(BaseException):
    """Not an Exception: nothing in the handler catches it, as nothing survives a killed Lambda."""


def _stores_a_created_link(item: dict[str, Any]) -> bool:
    stored = item.get("Put", {}).get("Item", {})
    return bool(stored.get("status") == {"S": "linked"} and stored.get("reason") == {"S": "created"})


@pytest.fixture
def die_before_the_first_created_link_is_written(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The first DynamoDB transaction storing a link to a just-created QBO customer kills the Lambda."""
    original = DynamoDBBackend.transact_write_items
    armed = [True]

    def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> Any:
        if armed[0] and any(_stores_a_created_link(item) for item in transact_items):
            armed[0] = False
            raise LambdaDied()
        return original(self, transact_items)

    monkeypatch.setattr(DynamoDBBackend, "transact_write_items", transact_write_items)
    yield
    assert not armed[0], "the crash was never triggered"


# The dead invocation flushes no metrics; Powertools warns about that.
@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_a_crash_between_the_qbo_create_and_the_link_write_leaves_one_customer(
    sync_stack: SyncStack, die_before_the_first_created_link_is_written: None
):
    # Given a Lambda that dies after QBO created the customer, before the link is stored
    customer_id = sync_stack.save_customer(**ANN)
    record = sqs_record(sync_stack.message(customer_id, event_type="customer_created"))
    # (The first record of an invocation always starts, however little time is left.)
    with pytest.raises(LambdaDied):
        sync_stack.deliver(record, context=LambdaContextStub(remaining_millis=1))
    assert len(sync_stack.qbo_customers()) == 1
    # When SQS delivers the message again (after the dead invocation's time ran out)
    assert sync_stack.deliver(record) == NO_FAILURES
    # Then QBO replayed the original create: still exactly one customer, and it is the linked one
    [customer] = sync_stack.qbo_customers()
    creates = [call for call in sync_stack.qbo_calls() if call["operation"] == "create"]
    assert [call["replayed"] for call in creates] == [False, True]
    assert creates[0]["requestid"] == creates[1]["requestid"]
    link = sync_stack.link(customer_id)
    assert (link.status, link.reason, link.qbo_customer_id) == ("linked", "created", customer["Id"])


# -- duplicates and order ------------------------------------------------------------------------------------


def test_the_same_event_delivered_twice_is_synced_once(sync_stack: SyncStack, log_text):
    # Given a change that was synced
    customer_id = sync_stack.save_customer(**ANN)
    message = sync_stack.message(customer_id, event_type="customer_created")
    assert sync_stack.deliver(message) == NO_FAILURES
    sync_stack.clear_qbo_calls()
    # When the same event arrives again (a new SQS message: PaySimple delivered it twice)
    assert sync_stack.deliver(message) == NO_FAILURES
    # Then nothing happens a second time: no QBO call, one customer, one history entry
    assert sync_stack.qbo_calls() == []
    assert len(sync_stack.qbo_customers()) == 1
    assert sync_stack.actions(customer_id) == ["created"]
    assert '"SyncDuplicate"' in log_text()


def test_events_delivered_out_of_order_end_in_the_newest_state(sync_stack: SyncStack):
    # Given a linked customer saved twice in PaySimple: phone B at t1, then phone C at t2
    customer_id, qbo_id = linked_customer(sync_stack, **ANN)
    t1 = datetime.now(UTC)
    sync_stack.save_customer(Id=customer_id, **{**ANN, "Phone": "3035550111"})
    older = sync_stack.message(customer_id, at=t1)
    sync_stack.save_customer(Id=customer_id, **{**ANN, "Phone": "3035550122"})
    newer = sync_stack.message(customer_id, at=t1 + timedelta(seconds=1))
    # When the newer event is delivered before the older one
    assert sync_stack.deliver(newer) == NO_FAILURES
    assert sync_stack.deliver(older) == NO_FAILURES
    # Then QBO holds the newest state, and the late, older event changed nothing
    assert sync_stack.qbo_customer(qbo_id)["PrimaryPhone"] == {"FreeFormNumber": "3035550122"}
    assert sync_stack.actions(customer_id)[-2:] == ["updated", "skipped"]
    assert [c["operation"] for c in sync_stack.qbo_calls()] == ["update"]


# -- a dead refresh token ---------------------------------------------------------------------------------


def test_invalid_grant_parks_the_change_without_losing_it(sync_stack: SyncStack):
    # Given the merchant's QBO tokens are dead: the access token expired and the refresh token was revoked
    customer_id = sync_stack.save_customer(**ANN)
    sync_stack.qbo.expire_access_tokens(sync_stack.realm_id)
    sync_stack.qbo.revoke_refresh_tokens(sync_stack.realm_id)
    message = sync_stack.message(customer_id, event_type="customer_created")
    # When the change is delivered
    assert sync_stack.deliver(message) == NO_FAILURES
    # Then it is parked with the reason and the whole message, and nothing reached QBO
    [failure] = sync_stack.failures()
    assert (failure.reason, failure.code, failure.message) == (
        "qbo_connection_broken",
        "invalid_grant",
        message,
    )
    assert sync_stack.qbo_customers() == []
    # When the merchant reconnects QuickBooks and the admin redrives the change
    names = SecretNames(secret_prefix=sync_stack.env["SECRET_PREFIX"])
    write_qbo_connection(names, sync_stack.merchant_id, sync_stack.qbo.create_realm(sync_stack.realm_id))
    assert sync_stack.deliver(message.model_copy(update={"redrive_attempt": 1})) == NO_FAILURES
    # Then the customer is created and the failure is gone
    assert len(sync_stack.qbo_customers()) == 1
    assert sync_stack.link(customer_id).status == "linked"
    assert sync_stack.failures() == []


# -- one batch, several customers ---------------------------------------------------------------------------


def test_a_permanent_error_is_parked_and_a_failing_customer_holds_back_only_its_own_changes(
    sync_stack: SyncStack,
):
    # Given two linked customers (A, C), a new customer B whose create QBO rejects (2050), and a customer D
    # whose PaySimple record cannot be fetched right now
    a, a_qbo = linked_customer(sync_stack, **ANN)
    c, c_qbo = linked_customer(sync_stack, FirstName="Cy", LastName="Ode", Phone="3035550102")
    b = sync_stack.save_customer(FirstName="Bea", LastName="Bell")
    d = sync_stack.save_customer(FirstName="Dee", LastName="Dunn")
    for customer_id, fields in ((a, ANN), (c, {"FirstName": "Cy", "LastName": "Ode"})):
        sync_stack.save_customer(Id=customer_id, **{**fields, "Phone": "3035550199"})
    sync_stack.qbo.inject_fault(realm_id=sync_stack.realm_id, operation="create", status=400, code="2050")
    sync_stack.paysimple.inject_fault(status=503, customer_id=d, count=5)
    records = {
        "a": sqs_record(sync_stack.message(a)),
        "b": sqs_record(sync_stack.message(b, event_type="customer_created")),
        "d1": sqs_record(sync_stack.message(d, event_type="customer_created")),
        "c": sqs_record(sync_stack.message(c)),
        "d2": sqs_record(sync_stack.message(d)),
    }
    # When they arrive in one batch
    response = sync_stack.deliver(*records.values())
    # Then only D's records go back to SQS (the later one unprocessed, to keep D's order)
    assert response == failures_of(records["d1"], records["d2"])
    # And B is parked with its reason, while A and C were updated
    [parked] = sync_stack.failures()
    assert (parked.paysimple_customer_id, parked.reason, parked.code) == (
        str(b),
        "qbo_validation_error",
        "2050",
    )
    for qbo_id in (a_qbo, c_qbo):
        assert sync_stack.qbo_customer(qbo_id)["PrimaryPhone"] == {"FreeFormNumber": "3035550199"}
    assert sync_stack.actions(d) == ["retried"]


def test_an_unreadable_message_ends_in_the_dlq_after_max_receive_count(sync_stack: SyncStack):
    # Given the real queue (no visibility wait) holding a poison message and a good change
    sqs = boto3.client("sqs")
    queue_url, dlq_url = sync_stack.env["CHANGES_QUEUE_URL"], sync_stack.env["CHANGES_DLQ_URL"]
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"VisibilityTimeout": "0"})
    redrive = json.loads(
        sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["RedrivePolicy"])["Attributes"][
            "RedrivePolicy"
        ]
    )
    source = QueueEventSource(queue_url, lambda_handler)
    source.send('{"not": "a change"}', group_id="poison")
    good = sync_stack.save_customer(**ANN)
    source.send(sync_stack.message(good, event_type="customer_created"))
    # When the event source keeps polling
    invocations = 0
    while source.poll() is not None:
        invocations += 1
        assert invocations <= 2 * int(redrive["maxReceiveCount"]), "the poison message never left the queue"
    # Then the poison message is in the DLQ after maxReceiveCount deliveries, and the good change synced once
    dead = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10).get("Messages", [])
    assert [message["Body"] for message in dead] == ['{"not": "a change"}']
    assert invocations == int(redrive["maxReceiveCount"])
    assert len(sync_stack.qbo_customers()) == 1 and sync_stack.actions(good) == ["created"]
