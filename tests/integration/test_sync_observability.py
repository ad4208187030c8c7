"""What SyncFunction tells operators, end to end (real handler, moto, emulators over HTTP): one metric per
outcome, and log lines that carry the event id of the record they were written for."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from customer_sync.models.messages import CustomerChangeMessage
from tests.support.sqs_events import sqs_record
from tests.support.sync_stack import CapturedOutput, SyncStack

NO_FAILURES: dict[str, list[dict[str, str]]] = {"batchItemFailures": []}


@dataclass(frozen=True)
class OutcomeBatch:
    """One SQS batch holding one change per outcome, in this order, and what the handler answered."""

    messages: dict[str, CustomerChangeMessage]
    records: dict[str, dict[str, Any]]
    response: dict[str, Any]


def linked(stack: SyncStack, first: str, last: str) -> int:
    customer_id = stack.save_customer(FirstName=first, LastName=last, Phone="3035550101")
    assert stack.sync(customer_id, event_type="customer_created") == NO_FAILURES
    return customer_id


@pytest.fixture
def outcome_batch(sync_stack: SyncStack, captured_output: CapturedOutput) -> OutcomeBatch:
    """Delivers one batch in which each record meets a different outcome; the output is captured from the
    batch on."""
    stack = sync_stack
    enabled_at = stack.merchant.settings.enabled_at
    assert enabled_at is not None
    # Customers already linked: one whose phone changes, one saved without a change, one deleted
    updated, unchanged, deleted = (
        linked(stack, "Uma", "Up"),
        linked(stack, "Ned", "Same"),
        linked(stack, "Del", "Gone"),
    )
    stack.save_customer(Id=updated, FirstName="Uma", LastName="Up", Phone="3035550199")
    stack.paysimple.delete_customer(stack.merchant_id, deleted, send_webhook=False)
    # A QBO namesake to link to, and two to be ambiguous between
    stack.seed_qbo_customer(GivenName="Cy", FamilyName="Ode", DisplayName="Cy Ode")
    stack.seed_qbo_customer(GivenName="Dee", FamilyName="Dunn", DisplayName="Dee Dunn 1")
    stack.seed_qbo_customer(GivenName="Dee", FamilyName="Dunn", DisplayName="Dee Dunn 2")
    customers = {
        "parked": stack.save_customer(FirstName="Bea", LastName="Bell"),  # its create is rejected (2050)
        "created": stack.save_customer(FirstName="Ann", LastName="Lee"),
        "linked": stack.save_customer(FirstName="Cy", LastName="Ode"),
        "updated": updated,
        "unchanged": unchanged,
        "skipped": stack.save_customer(FirstName="Eve", LastName="Early"),  # saved before sync was on
        "unlinked": stack.save_customer(FirstName="Dee", LastName="Dunn"),
        "retried": stack.save_customer(FirstName="Rex", LastName="Try"),  # PaySimple answers 503
        "deleted": deleted,
    }
    stack.qbo.inject_fault(realm_id=stack.realm_id, operation="create", status=400, code="2050")
    stack.paysimple.inject_fault(status=503, customer_id=customers["retried"], count=5)
    messages = {
        outcome: stack.message(
            customer_id,
            at=enabled_at - timedelta(minutes=1) if outcome == "skipped" else None,
            event_type="customer_deleted" if outcome == "deleted" else "customer_updated",
        )
        for outcome, customer_id in customers.items()
    }
    records = {outcome: sqs_record(message) for outcome, message in messages.items()}
    captured_output.clear()
    response = stack.deliver(*records.values())
    return OutcomeBatch(messages=messages, records=records, response=response)


def test_every_outcome_of_a_batch_emits_its_metric_once(
    sync_stack: SyncStack, outcome_batch: OutcomeBatch, captured_output: CapturedOutput
):
    # Given one batch with a change per outcome (delivered by the fixture)
    # Then only the retried record went back to SQS
    assert outcome_batch.response == {
        "batchItemFailures": [{"itemIdentifier": outcome_batch.records["retried"]["messageId"]}]
    }
    # And each outcome was recorded as such, and counted exactly once under its own metric
    for outcome, message in outcome_batch.messages.items():
        assert sync_stack.actions(int(message.customer_id))[-1] == outcome, outcome
    assert captured_output.metric_counts() == {
        "SyncParked": 1,
        "SyncCreated": 1,
        "SyncLinked": 1,
        "SyncUpdated": 1,
        "SyncUnchanged": 1,
        "SyncSkipped": 1,
        "SyncUnlinked": 1,
        "SyncRetried": 1,
        "SyncDeleted": 1,
    }


def test_every_log_line_written_during_a_record_carries_that_records_event_id(
    outcome_batch: OutcomeBatch, captured_output: CapturedOutput
):
    # Given one batch with a change per outcome (delivered by the fixture), and the JSON lines it logged
    # (The batch's closing lines, about handing records back to SQS, belong to no record.)
    lines = [line for line in captured_output.log_lines() if "correlation_id" in line]
    event_ids = [message.event_id for message in outcome_batch.messages.values()]
    # Then every line is written under the event id of a record of the batch, and the records' own runs of
    # lines come in the batch's order (the batch's name lookup fetches the PaySimple records of later new
    # customers early; those lines carry the later record's event id)
    assert {line["correlation_id"] for line in lines} == set(event_ids)
    outcome_lines = [line["correlation_id"] for line in lines if line["message"].startswith("change ")]
    assert [event_id for event_id, _ in itertools.groupby(outcome_lines)] == event_ids
    # And a line that names a customer (the outcome, the PaySimple fetch) names that record's customer
    customer_of = {message.event_id: message.customer_id for message in outcome_batch.messages.values()}
    naming = [line for line in lines if "customer_id" in line]
    assert len(naming) >= len(customer_of)
    for line in naming:
        assert line["customer_id"] == customer_of[line["correlation_id"]], line
