"""A broken QBO connection, as operators see it: recorded once per break with its first reason and time,
and counted once in the QboConnectionBroken metric (whose alarm notifies on-call), however many changes
meet it before the merchant reconnects."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from customer_sync.adapters.dynamodb_connection import DynamoDbConnectionState
from customer_sync.observability import metrics
from tests.fakes.merchant_clients import SettableClock
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
