"""A broken QBO connection, as operators see it: recorded once per break with its first reason and time,
and counted once in the QboConnectionBroken metric (whose alarm notifies on-call), however many changes
meet it before the merchant reconnects."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from customer_sync.adapters.clock import SystemClock
from customer_sync.adapters.dynamodb_connection import DynamoDbConnectionState
from customer_sync.observability import metrics
from functions.sync.app import lambda_handler as sync_handler
from tests.fakes.merchant_clients import SettableClock
from tests.support.admin_api import Merchants
from tests.support.sqs_events import QueueEventSource
from tests.support.sync_stack import CapturedOutput, SyncStack

NO_FAILURES: dict[str, list[dict[str, str]]] = {"batchItemFailures": []}
MERCHANT = "1225"


@pytest.fixture
def emitted(capsys) -> Iterator[Callable[[], dict[str, float]]]:
    """The metrics emitted from now on outside any handler (a handler would flush them itself); whatever
    earlier tests left unflushed is dropped first."""
    metrics.clear_metrics()
    output = CapturedOutput(capsys)

    def counts() -> dict[str, float]:
        metrics.flush_metrics()
        return output.metric_counts()

    yield counts
    metrics.clear_metrics()


def test_a_break_is_recorded_and_counted_once_and_a_reconnect_ends_it(local_stack, emitted):
    # Given a merchant's connection state, and a clock
    clock = SettableClock(datetime(2026, 1, 1, tzinfo=UTC))
    state = DynamoDbConnectionState(str(local_stack.resolver.refs["SettingsTable"]), clock=clock)

    # When the connection is found broken, and found broken again a minute later
    state.mark_broken(MERCHANT, "invalid_grant")
    clock.advance(minutes=1)
    state.mark_broken(MERCHANT, "invalid_grant, again")

    # Then it is one break: the first reason and time are kept, and the metric was emitted once
    assert emitted() == {"QboConnectionBroken": 1.0}
    current = state.current(MERCHANT)
    assert current is not None
    assert (current.status, current.reason, current.at) == (
        "broken",
        "invalid_grant",
        datetime(2026, 1, 1, tzinfo=UTC),
    )

    # When the merchant reconnects, and a day later the connection breaks again
    state.mark_connected(MERCHANT, "9130350000000001")
    clock.advance(days=1)
    state.mark_broken(MERCHANT, "invalid_grant")

    # Then that is a new break, counted again
    assert emitted() == {"QboConnectionBroken": 2.0}
    current = state.current(MERCHANT)
    assert current is not None
    assert (current.status, current.at) == ("broken", datetime(2026, 1, 2, 0, 1, tzinfo=UTC))


def test_changes_meeting_a_revoked_connection_are_parked_and_it_alarms_once(
    sync_stack: SyncStack, captured_output: CapturedOutput
):
    # Given a merchant whose refresh token QBO revoked, and three customers saved since
    sync_stack.qbo.expire_access_tokens(sync_stack.realm_id)
    sync_stack.qbo.revoke_refresh_tokens(sync_stack.realm_id)
    customers = [sync_stack.save_customer(FirstName=name, LastName="Lee") for name in ("Ann", "Bo", "Cy")]
    captured_output.clear()

    # When their changes arrive in three invocations
    for customer_id in customers:
        assert (
            sync_stack.deliver(sync_stack.message(customer_id, event_type="customer_created")) == NO_FAILURES
        )

    # Then each change is parked, and the break is counted once
    assert len(sync_stack.failures()) == 3
    counts = captured_output.metric_counts()
    assert counts["QboConnectionBroken"] == 1.0
    assert counts["SyncParked"] == 3.0


def test_a_company_name_is_kept_only_for_the_company_still_connected_and_survives_a_break(local_stack):
    # Given a merchant connected to company A, whose name was read
    state = DynamoDbConnectionState(
        str(local_stack.resolver.refs["SettingsTable"]), clock=SettableClock(datetime(2026, 1, 1, tzinfo=UTC))
    )
    state.mark_connected(MERCHANT, "111")
    state.record_company_name(MERCHANT, "111", "Alpha Books")

    # When the connection breaks, the name stays with it
    state.mark_broken(MERCHANT, "invalid_grant")
    current = state.current(MERCHANT)
    assert current is not None and (current.realm_id, current.company_name) == ("111", "Alpha Books")

    # When company B is connected, A's name is forgotten, and a late write of A's name is ignored
    state.mark_connected(MERCHANT, "222")
    state.record_company_name(MERCHANT, "111", "Alpha Books")
    current = state.current(MERCHANT)
    assert current is not None and (current.realm_id, current.company_name) == ("222", None)

    # And B's own name is kept
    state.record_company_name(MERCHANT, "222", "Beta Books")
    current = state.current(MERCHANT)
    assert current is not None and current.company_name == "Beta Books"


def test_changes_a_revoked_connection_parked_are_applied_once_the_merchant_reconnects(
    sync_stack: SyncStack,
):
    # Given two new customers whose changes were parked because QBO revoked the connection
    sync_stack.qbo.expire_access_tokens(sync_stack.realm_id)
    sync_stack.qbo.revoke_refresh_tokens(sync_stack.realm_id)
    customers = [sync_stack.save_customer(FirstName=name, LastName="Reyes") for name in ("Ana", "Ben")]
    for customer_id in customers:
        assert (
            sync_stack.deliver(sync_stack.message(customer_id, event_type="customer_created")) == NO_FAILURES
        )
    assert len(sync_stack.failures()) == 2

    # When the merchant reconnects QuickBooks (the connect callback), and the sync takes what is queued
    Merchants(sync_stack.qbo, sync_stack.paysimple).connect(sync_stack.merchant_id, sync_stack.realm_id)
    source = QueueEventSource(sync_stack.env["CHANGES_QUEUE_URL"], sync_handler)
    while source.poll() is not None:
        pass

    # Then both are created in QBO with no admin redrive, and nothing is parked any more
    assert sorted(c["DisplayName"] for c in sync_stack.qbo_customers()) == ["Ana Reyes", "Ben Reyes"]
    assert [sync_stack.link(customer_id).status for customer_id in customers] == ["linked", "linked"]
    assert sync_stack.failures() == []
    connection = DynamoDbConnectionState(sync_stack.env["SETTINGS_TABLE_NAME"], clock=SystemClock()).current(
        sync_stack.merchant_id
    )
    assert connection is not None and connection.status == "connected"


def test_a_qbo_401_with_fault_120_marks_the_connection_broken_once(
    sync_stack: SyncStack, captured_output: CapturedOutput
):
    # Given QBO answers that the user who connected lost access (401, fault code 120)
    sync_stack.qbo.inject_fault(realm_id=sync_stack.realm_id, status=401, code="120", count=10)
    customers = [sync_stack.save_customer(FirstName=name, LastName="Ortiz") for name in ("Cal", "Dee")]
    captured_output.clear()

    # When two changes meet it
    for customer_id in customers:
        assert (
            sync_stack.deliver(sync_stack.message(customer_id, event_type="customer_created")) == NO_FAILURES
        )

    # Then both are parked, and the connection is recorded broken (counted once)
    assert [failure.reason for failure in sync_stack.failures()] == ["qbo_connection_broken"] * 2
    connection = DynamoDbConnectionState(sync_stack.env["SETTINGS_TABLE_NAME"], clock=SystemClock()).current(
        sync_stack.merchant_id
    )
    assert connection is not None and connection.status == "broken"
    assert "fault 120" in (connection.reason or "")
    assert captured_output.metric_counts()["QboConnectionBroken"] == 1.0
