"""Listing and redriving failures, from the failures table only: parked changes and changes recorded from
the DLQ are listed apart; a redrive sends each with the next attempt number, and its entry stays, waiting
for that attempt (the sync removes it once the attempt is applied); a failed send leaves it as it was."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from customer_sync.domain.admin.failures import Failures
from customer_sync.errors import InvalidRequest
from customer_sync.models.history import DeadLetterArrival, ParkedFailure
from customer_sync.models.messages import CustomerChangeMessage
from tests.fakes.merchant_clients import SettableClock
from tests.fakes.qbo_side import RecordingChangePublisher
from tests.fakes.repositories import InMemoryFailuresRepository, InMemoryHistoryRepository

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def change(event_id: str, merchant_id: str = "1225", attempt: int = 0) -> CustomerChangeMessage:
    return CustomerChangeMessage(
        merchant_id=merchant_id,
        customer_id="8053900",
        event_type="customer_updated",
        event_id=event_id,
        occurred_at=NOW,
        redrive_attempt=attempt,
    )


class FailingPublisher(RecordingChangePublisher):
    def publish(self, message: CustomerChangeMessage) -> None:
        raise ConnectionError("queue unreachable")


def admin(
    failures: InMemoryFailuresRepository, publisher: RecordingChangePublisher | None = None
) -> Failures:
    return Failures(
        failures=failures,
        history=InMemoryHistoryRepository(),
        publisher=publisher or RecordingChangePublisher(),
        clock=SettableClock(NOW),
    )


def failure(message: CustomerChangeMessage, *, dead_lettered: bool = False) -> ParkedFailure:
    return ParkedFailure(
        merchant_id=message.merchant_id,
        paysimple_customer_id=message.customer_id,
        event_id=message.event_id,
        message=message,
        reason="retries exhausted" if dead_lettered else "QBO error 6000",
        parked_at=NOW,
        dead_letter=DeadLetterArrival(message_id="m-1", receive_count=1000, arrived_at=NOW)
        if dead_lettered
        else None,
    )


def stored(*failures: ParkedFailure) -> InMemoryFailuresRepository:
    repository = InMemoryFailuresRepository()
    for each in failures:
        repository.park(each)
    return repository


def test_a_redrive_resends_with_the_next_attempt_and_each_entry_waits_for_it():
    # Given a parked change (redriven twice already) and a dead-lettered one
    failures = stored(failure(change("evt_1", attempt=2)), failure(change("evt_2"), dead_lettered=True))
    publisher = RecordingChangePublisher()

    # When both are redriven
    result = admin(failures, publisher).redrive("1225", None)

    # Then both are sent with the next attempt, and both entries stay, waiting for that attempt
    assert [(m.event_id, m.redrive_attempt, m.deduplication_id) for m in publisher.changes] == [
        ("evt_1", 3, "evt_1#redrive-3"),
        ("evt_2", 1, "evt_2#redrive-1"),
    ]
    assert [(f.event_id, f.message.redrive_attempt) for f in failures.list_failures("1225").items] == [
        ("evt_1", 3),
        ("evt_2", 1),
    ]
    assert [(view.event_id, view.source) for view in result.redriven] == [
        ("evt_1", "parked"),
        ("evt_2", "dead_letter"),
    ]


def test_a_failed_send_keeps_the_failure_as_it_was_and_is_reported():
    failures = stored(failure(change("evt_1")), failure(change("evt_2"), dead_lettered=True))

    result = admin(failures, FailingPublisher()).redrive("1225", None)

    assert [(item.event_id, item.source) for item in result.failed] == [
        ("evt_1", "parked"),
        ("evt_2", "dead_letter"),
    ]
    assert [(f.event_id, f.message.redrive_attempt) for f in failures.list_failures("1225").items] == [
        ("evt_1", 0),
        ("evt_2", 0),
    ]
    assert result.redriven == []


def test_another_merchants_failures_are_neither_listed_nor_redriven():
    failures = stored(failure(change("evt_other", merchant_id="9999"), dead_lettered=True))
    publisher = RecordingChangePublisher()

    result = admin(failures, publisher).redrive("1225", None)
    listing = admin(failures).list_failures("1225", cursor=None, limit=50)

    assert publisher.changes == [] and result.redriven == []
    assert listing.parked == [] and listing.dead_letter == []


def test_only_the_chosen_events_are_redriven_and_unknown_ones_reported():
    failures = stored(failure(change("evt_1")), failure(change("evt_2")))
    publisher = RecordingChangePublisher()

    result = admin(failures, publisher).redrive("1225", ["evt_2", "evt_9"])

    assert [message.event_id for message in publisher.changes] == ["evt_2"]
    assert result.not_found == ["evt_9"]
    assert [(f.event_id, f.message.redrive_attempt) for f in failures.list_failures("1225").items] == [
        ("evt_1", 0),
        ("evt_2", 1),
    ]


def test_listing_shows_parked_and_dead_lettered_changes_apart():
    failures = stored(failure(change("evt_1")), failure(change("evt_2"), dead_lettered=True))

    listing = admin(failures).list_failures("1225", cursor=None, limit=50)

    assert [item.event_id for item in listing.parked] == ["evt_1"]
    assert [(item.event_id, item.receive_count, item.message_id) for item in listing.dead_letter] == [
        ("evt_2", 1000, "m-1")
    ]
    assert "retries exhausted" in listing.dead_letter[0].reason


def test_a_cursor_not_handed_out_is_invalid_request():
    with pytest.raises(InvalidRequest):
        admin(InMemoryFailuresRepository()).list_failures("1225", cursor="bogus", limit=50)
