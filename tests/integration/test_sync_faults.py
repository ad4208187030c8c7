"""SyncFunction under faults, end to end (real handler, moto, emulators over HTTP): QBO throttling, outages
and timeouts handed back to SQS with a short, growing wait, the company's QBO budget used up, the settings,
an invocation running out of time, a Lambda dying between the QBO create and the link write, duplicate and
out-of-order deliveries, a dead refresh token, a permanent validation error inside a batch, and a poison
message going to the DLQ."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch import process_partial_response
from moto.dynamodb.models import DynamoDBBackend

from customer_sync import composition
from customer_sync.adapters.merchant_clients import QboRetryPolicy
from customer_sync.composition.sync import sync_components
from customer_sync.config.shared import SecretNames
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


# -- QBO throttling, outages, timeouts: the change goes back to SQS with a short wait ---------------------


def queue_source(stack: SyncStack) -> QueueEventSource:
    """The real changes queue (moto) behind Lambda's event source, as SQS delivers from it."""
    return QueueEventSource(stack.env["CHANGES_QUEUE_URL"], lambda_handler)


def receive_counts(stack: SyncStack) -> list[int]:
    """ApproximateReceiveCount of each message visible in the changes queue now (they stay in the queue)."""
    sqs = boto3.client("sqs")
    queue_url = stack.env["CHANGES_QUEUE_URL"]
    visible = sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"], VisibilityTimeout=0
    ).get("Messages", [])
    return [int(message["Attributes"]["ApproximateReceiveCount"]) for message in visible]


def test_a_429_hands_the_change_back_for_the_pause_qbo_asks_for_and_the_redelivery_lands(
    sync_stack: SyncStack, monkeypatch, captured_output: CapturedOutput
):
    # Given a linked customer, QBO throttling the next update (429, XML body), and a 2 s pause after a 429
    configure_sync(monkeypatch, QBO_THROTTLE_PAUSE_SECONDS="2")
    customer_id, qbo_id = linked_customer(sync_stack, **ANN)
    sync_stack.qbo.inject_fault(realm_id=sync_stack.realm_id, operation="update", status=429)
    sync_stack.save_customer(Id=customer_id, **{**ANN, "Phone": "3035550199"})
    source = queue_source(sync_stack)
    source.send(sync_stack.message(customer_id))
    # When SQS delivers the change
    response = source.poll()
    # Then the update was tried once (no second try inside the Lambda) and the change went back to SQS
    assert response is not None and len(response["batchItemFailures"]) == 1
    assert [(c["operation"], c["status"]) for c in sync_stack.qbo_calls()] == [("update", 429)]
    assert captured_output.metric_counts()["SyncThrottled"] == 1
    # And it stays out of sight for the pause, not for the queue's 540 s
    assert source.poll() is None
    time.sleep(2.1)
    # When SQS delivers it again, it lands
    assert source.poll() == NO_FAILURES
    assert sync_stack.qbo_customer(qbo_id)["PrimaryPhone"] == {"FreeFormNumber": "3035550199"}


def test_a_qbo_outage_hands_the_change_back_for_a_second_and_the_redelivery_ends_right(
    sync_stack: SyncStack,
):
    # Given a linked customer, and QBO answering 503 to the next update
    customer_id, qbo_id = linked_customer(sync_stack, **ANN)
    sync_stack.qbo.inject_fault(realm_id=sync_stack.realm_id, operation="update", status=503)
    sync_stack.save_customer(Id=customer_id, **{**ANN, "Phone": "3035550199"})
    source = queue_source(sync_stack)
    source.send(sync_stack.message(customer_id))
    # When SQS delivers it: the invocation does not fail, it reports the record and hands it back
    response = source.poll()
    assert response is not None and len(response["batchItemFailures"]) == 1
    assert [(c["operation"], c["status"]) for c in sync_stack.qbo_calls()] == [("update", 503)]
    assert sync_stack.qbo_customer(qbo_id)["PrimaryPhone"] == {"FreeFormNumber": "3035550101"}
    # And a first failure waits about a second (RETRY_DELAY_FIRST_SECONDS), then SQS's redelivery lands
    assert source.poll() is None
    time.sleep(1.1)
    assert source.poll() == NO_FAILURES
    assert sync_stack.qbo_customer(qbo_id)["PrimaryPhone"] == {"FreeFormNumber": "3035550199"}
    assert sync_stack.actions(customer_id)[-2:] == ["retried", "updated"]


def test_each_redelivery_of_a_failing_change_waits_longer(sync_stack: SyncStack, monkeypatch):
    # Given first waits of 1 s, and PaySimple down for the customer
    configure_sync(monkeypatch, RETRY_DELAY_FIRST_SECONDS="1", RETRY_DELAY_MAX_SECONDS="110")
    customer_id = sync_stack.save_customer(**ANN)
    sync_stack.paysimple.inject_fault(status=503, customer_id=customer_id, count=10)
    source = queue_source(sync_stack)
    source.send(sync_stack.message(customer_id, event_type="customer_created"))
    waits = []
    # When SQS delivers it three times
    for _ in range(3):
        started = time.monotonic()
        while source.poll() is None:
            time.sleep(0.1)
        waits.append(time.monotonic() - started)
    # Then each delivery came later than the one before: about 0, 1 and 2 seconds after the last failure
    assert waits[1] >= 0.7 and waits[2] >= 1.5 and waits[2] > waits[1]
    assert receive_counts(sync_stack) == [] or receive_counts(sync_stack)[0] >= 3
    assert sync_stack.actions(customer_id) == ["retried"]  # noted once, not once per delivery


def test_changes_whose_company_has_no_qbo_budget_left_go_back_together_to_their_place_in_line(
    sync_stack: SyncStack, monkeypatch, captured_output: CapturedOutput
):
    # Given a company allowed 1 QBO request a minute, and two new customers of it arriving together
    configure_sync(monkeypatch, QBO_BUDGET_PER_MINUTE="1", QBO_BUDGET_PER_SECOND="1")
    ann = sync_stack.save_customer(**ANN)
    bea = sync_stack.save_customer(FirstName="Bea", LastName="Bell")
    source = queue_source(sync_stack)
    source.send(sync_stack.message(ann, event_type="customer_created"))
    source.send(sync_stack.message(bea, event_type="customer_created"))
    # When they are delivered
    response = source.poll()
    # Then the one request went to the name query covering both, and both changes went back to SQS
    assert response is not None and len(response["batchItemFailures"]) == 2
    assert [c["operation"] for c in sync_stack.qbo_calls()] == ["query"]
    assert captured_output.metric_counts()["SyncBudgetWait"] == 2
    # And both keep their create intent, so their redelivery needs no second query
    assert [sync_stack.link(c).reason for c in (ann, bea)] == ["creating", "creating"]
    assert sync_stack.actions(ann) == [] and sync_stack.actions(bea) == []
    # And they wait out of sight for their turn in the company's line (a minute away), not for a second
    time.sleep(1.5)
    assert source.poll() is None
    [budget] = boto3.client("dynamodb").scan(TableName=sync_stack.env["QBO_BUDGET_TABLE_NAME"])["Items"]
    assert float(budget["line"]["N"]) > time.time() + 30


def test_a_change_redelivered_while_its_company_is_served_by_other_invocations_takes_its_place_in_line(
    sync_stack: SyncStack, monkeypatch
):
    # Given a company whose budget has a request again in half a second, every one of its waiter leases
    # held by other invocations, and a line of changes that reaches 30 s ahead
    configure_sync(monkeypatch, QBO_BUDGET_PER_MINUTE="60", QBO_BUDGET_PER_SECOND="10")
    rules = sync_components().settings.budget_rules()
    table = sync_stack.env["QBO_BUDGET_TABLE_NAME"]
    dynamodb = boto3.client("dynamodb")
    now = time.time()
    dynamodb.put_item(
        TableName=table,
        Item={
            "pk": {"S": f"REALM#{sync_stack.realm_id}"},
            "tat": {"N": str(now + rules.sync_tolerance + 0.5)},
            "line": {"N": str(now + 30)},
        },
    )
    for slot in range(sync_components().settings.qbo_budget_waiters):
        dynamodb.put_item(
            TableName=table,
            Item={
                "pk": {"S": f"REALM#{sync_stack.realm_id}#WAITER#{slot}"},
                "owner": {"S": "another invocation"},
                "expires_at": {"N": str(now + 60)},
            },
        )
    # And a new customer's change, delivered for the second time
    customer_id = sync_stack.save_customer(**ANN)
    source = queue_source(sync_stack)
    source.send(sync_stack.message(customer_id, event_type="customer_created"))
    boto3.client("sqs").receive_message(QueueUrl=source.queue_url, VisibilityTimeout=0)
    # When it is delivered
    response = source.poll()
    # Then it went back without calling QBO, and stays out of sight for its place in the line, not
    # back in a moment ahead of other merchants' changes
    assert response is not None and len(response["batchItemFailures"]) == 1
    assert sync_stack.qbo_calls() == []
    time.sleep(3)
    assert source.poll() is None


def test_a_change_needing_three_qbo_calls_in_a_row_finishes_within_qbos_own_budget(
    sync_stack: SyncStack, monkeypatch
):
    # Given QBO's own budget (two requests at once, then one every 0.12 s), and a vendor holding the name a
    # new customer would be created under: a create, a 6240 check and a retry with the suffix, in a row
    configure_sync(monkeypatch, QBO_BUDGET_PER_MINUTE="500", QBO_BUDGET_PER_SECOND="10")
    sync_stack.qbo.seed_vendor(sync_stack.realm_id, "Ann Lee")
    customer_id = sync_stack.save_customer(**ANN)
    # When the change is delivered
    response = sync_stack.sync(customer_id, event_type="customer_created")
    # Then its calls waited their turn instead of sending the change back (where its first call would meet
    # the same wall every time): created under the suffix in one delivery
    assert response == NO_FAILURES
    assert sync_stack.qbo_operations() == ["query", "create", "query", "create"]
    assert sync_stack.link(customer_id).status == "linked"


def test_an_invocation_that_fails_after_waiting_for_its_company_gives_the_waiter_lease_back(
    sync_stack: SyncStack, monkeypatch
):
    # Given a change whose QBO calls wait their turn (so its invocation takes the company's waiter lease),
    # and an invocation that fails as a whole once its records are done
    configure_sync(monkeypatch, QBO_BUDGET_PER_MINUTE="500", QBO_BUDGET_PER_SECOND="10")
    sync_stack.qbo.seed_vendor(sync_stack.realm_id, "Ann Lee")
    customer_id = sync_stack.save_customer(**ANN)

    def process_then_fail(**kwargs: Any) -> Any:
        process_partial_response(**kwargs)
        raise RuntimeError("the invocation fails after its records")

    monkeypatch.setattr("functions.sync.app.process_partial_response", process_then_fail)
    # When the change is delivered
    with pytest.raises(RuntimeError):
        sync_stack.sync(customer_id, event_type="customer_created")
    # Then the change waited its turn, and no waiter lease is left to hold the company's other changes
    assert sync_stack.qbo_operations() == ["query", "create", "query", "create"]
    budget_items = boto3.client("dynamodb").scan(TableName=sync_stack.env["QBO_BUDGET_TABLE_NAME"])["Items"]
    assert [item["pk"]["S"] for item in budget_items] == [f"REALM#{sync_stack.realm_id}"]


def test_a_create_that_times_out_is_repeated_on_redelivery_without_a_second_customer(sync_stack: SyncStack):
    # Given QBO takes longer than our timeout to answer the create
    customer_id = sync_stack.save_customer(**ANN)
    latency_ms = int(stack_support.HTTP_TIMEOUT_SECONDS * 1000) + 500
    sync_stack.qbo.inject_fault(
        realm_id=sync_stack.realm_id, operation="create", status=500, latency_ms=latency_ms
    )
    record = sqs_record(sync_stack.message(customer_id, event_type="customer_created"))
    # When the customer is synced, the timed-out create goes back to SQS; when SQS delivers it again
    assert sync_stack.deliver(record) == failures_of(record)
    assert sync_stack.deliver(record) == NO_FAILURES
    # Then the create was repeated (same requestid) and there is exactly one customer, linked, as mapped
    [created] = sync_stack.qbo_customers()
    assert sync_stack.link(customer_id).qbo_customer_id == created["Id"]
    assert (created["DisplayName"], created["PrimaryPhone"]) == ("Ann Lee", {"FreeFormNumber": "3035550101"})


# -- settings -----------------------------------------------------------------------------------------------


def test_the_sync_components_make_each_qbo_call_once_and_wait_as_the_settings_say(
    sync_stack: SyncStack, monkeypatch
):
    # Given retry and budget settings in SyncFunction's environment
    configure_sync(
        monkeypatch,
        RETRY_DELAY_FIRST_SECONDS="3",
        RETRY_DELAY_MAX_SECONDS="60",
        QBO_BUDGET_PER_MINUTE="120",
        QBO_BUDGET_PER_SECOND="5",
    )
    # When the function's object graph is built
    components = sync_components()
    # Then every QBO client it makes tries a call once (waiting a second at most for its turn in the
    # company's budget), and the budget and waits follow the settings
    assert components.clients.retry_policy == QboRetryPolicy(max_attempts=1, budget_patience_seconds=1.0)
    assert components.settings.budget_rules().requests_per_minute < 120
    assert (components.settings.retry_delay_first_seconds, components.settings.retry_delay_max_seconds) == (
        3,
        60,
    )


# -- an invocation running out of time -------------------------------------------------------------------


def test_a_record_without_time_left_for_its_worst_case_goes_back_to_sqs_untouched(
    sync_stack: SyncStack, monkeypatch, captured_output: CapturedOutput
):
    # Given records may need 1.75 s at worst, and QBO answering each call after 0.9 s
    configure_sync(monkeypatch, RECORD_MARGIN_SECONDS="1.75", HTTP_TIMEOUT_SECONDS="5")
    enabled_at = sync_stack.merchant.settings.enabled_at
    assert enabled_at is not None
    early = sync_stack.save_customer(FirstName="Eve", LastName="Early")
    assert sync_stack.sync(early, at=enabled_at - timedelta(minutes=1)) == NO_FAILURES  # warm start
    bea, _ = linked_customer(sync_stack, FirstName="Bea", LastName="Bell")
    sync_stack.save_customer(Id=bea, FirstName="Bea", LastName="Bell", Phone="3035550199")
    ann = sync_stack.save_customer(**ANN)
    bea_message = sync_stack.message(bea)
    records = {
        "early": sqs_record(sync_stack.message(early, at=enabled_at - timedelta(minutes=1))),
        "ann": sqs_record(sync_stack.message(ann, event_type="customer_created")),
        "bea": sqs_record(bea_message),
    }
    captured_output.clear()
    sync_stack.qbo.set_latency(900)
    # When they arrive in an invocation of 3.5 s: Ann's record takes two slow QBO calls (query, create)
    try:
        response = sync_stack.deliver(
            *records.values(), context=RunningLambdaContextStub(remaining_millis=3500)
        )
    finally:
        sync_stack.qbo.set_latency(0)
    # Then Ann was created, and Bea's change was handed back without being started
    assert response == failures_of(records["bea"])
    assert sync_stack.actions(ann) == ["created"] and sync_stack.actions(bea) == ["created"]
    assert [call["operation"] for call in sync_stack.qbo_calls()] == ["query", "create"]
    bea_lines = [
        line["message"]
        for line in captured_output.log_lines()
        if line.get("correlation_id") == bea_message.event_id
    ]
    assert bea_lines == ["change deferred to the next delivery"]
    metrics = captured_output.metric_counts()
    assert (metrics["SyncDeferred"], metrics["SyncRetried"]) == (1, 1)
    # And SQS's redelivery of Bea's change updates her
    assert sync_stack.deliver(records["bea"]) == NO_FAILURES
    assert sync_stack.actions(bea) == ["created", "updated"]


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


def test_an_unreadable_message_goes_straight_to_the_dlq_and_the_good_change_syncs(sync_stack: SyncStack):
    # Given the real queue holding a poison message and a good change
    sqs = boto3.client("sqs")
    dlq_url = sync_stack.env["CHANGES_DLQ_URL"]
    source = queue_source(sync_stack)
    source.send('{"not": "a change"}', group_id="poison")
    good = sync_stack.save_customer(**ANN)
    source.send(sync_stack.message(good, event_type="customer_created"))
    # When the event source polls once
    assert source.poll() == NO_FAILURES
    # Then the poison message, which can never be synced, is in the DLQ at once (not after a day of
    # retries), and the good change synced
    dead = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10).get("Messages", [])
    assert [message["Body"] for message in dead] == ['{"not": "a change"}']
    assert source.poll() is None
    assert len(sync_stack.qbo_customers()) == 1 and sync_stack.actions(good) == ["created"]
