"""Listing and redriving failures: a parked entry stays, waiting for the attempt sent (the sync removes it
once that attempt is applied), a dead letter is only removed after its re-send succeeded, each re-send
carries the next attempt number, and other merchants' dead letters are left alone."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest

from customer_sync.adapters.sqs import queue_body
from customer_sync.domain.admin.failures import Failures
from customer_sync.errors import InvalidRequest
from customer_sync.models.history import ParkedFailure
from customer_sync.models.messages import CustomerChangeMessage
from customer_sync.ports import DeadLetterMessage
from tests.fakes.merchant_clients import SettableClock
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


class FakeScan:
    def __init__(self, messages: list[DeadLetterMessage]) -> None:
        self._messages = messages
        self.deleted: list[str] = []

    @property
    def messages(self) -> Sequence[DeadLetterMessage]:
        return list(self._messages)

    @property
    def complete(self) -> bool:
        return True

    def delete(self, message: DeadLetterMessage) -> None:
        self.deleted.append(message.message_id)
        self._messages.remove(message)


class FakeDeadLetters:
    def __init__(self, *bodies: str) -> None:
        self.messages = [
            DeadLetterMessage(message_id=f"m{n}", body=body, receive_count=5, sent_at=NOW, receipt=f"r{n}")
            for n, body in enumerate(bodies)
        ]
        self.scans = 0

    @contextmanager
    def scan(self, *, limit: int) -> Iterator[FakeScan]:
        self.scans += 1
        yield FakeScan(self.messages)


class FakePublisher:
    def __init__(self) -> None:
        self.sent: list[CustomerChangeMessage] = []
        self.failing: set[str] = set()

    def publish(self, message: CustomerChangeMessage) -> None:
        if message.event_id in self.failing:
            raise ConnectionError("queue unreachable")
        self.sent.append(message)


def admin(dead_letters: FakeDeadLetters, publisher: FakePublisher, failures: InMemoryFailuresRepository):
    return Failures(
        failures=failures,
        history=InMemoryHistoryRepository(),
        dead_letters=dead_letters,
        publisher=publisher,
        clock=SettableClock(NOW),
    )


def parked(message: CustomerChangeMessage) -> ParkedFailure:
    return ParkedFailure(
        merchant_id=message.merchant_id,
        paysimple_customer_id=message.customer_id,
        event_id=message.event_id,
        message=message,
        reason="QBO error 6000",
        parked_at=NOW,
    )


def test_a_redrive_resends_with_the_next_attempt_and_the_parked_entry_waits_for_it():
    # Given a parked change (redriven twice already) and a dead letter
    failures = InMemoryFailuresRepository()
    failures.park(parked(change("evt_1", attempt=2)))
    dead = FakeDeadLetters(queue_body(change("evt_2")))
    publisher = FakePublisher()

    # When both are redriven
    result = admin(dead, publisher, failures).redrive("1225", None)

    # Then both are sent with the next attempt; the parked entry stays, waiting for attempt 3
    assert [(m.event_id, m.redrive_attempt, m.deduplication_id) for m in publisher.sent] == [
        ("evt_1", 3, "evt_1#redrive-3"),
        ("evt_2", 1, "evt_2#redrive-1"),
    ]
    assert [(f.event_id, f.message.redrive_attempt) for f in failures.list_failures("1225").items] == [
        ("evt_1", 3)
    ]
    assert dead.messages == []
    assert [change.event_id for change in result.redriven] == ["evt_1", "evt_2"]


def test_a_failed_send_keeps_the_failure_and_is_reported():
    failures = InMemoryFailuresRepository()
    failures.park(parked(change("evt_1")))
    dead = FakeDeadLetters(queue_body(change("evt_2")))
    publisher = FakePublisher()
    publisher.failing = {"evt_1", "evt_2"}

    result = admin(dead, publisher, failures).redrive("1225", None)

    assert [(failure.event_id, failure.source) for failure in result.failed] == [
        ("evt_1", "parked"),
        ("evt_2", "dead_letter"),
    ]
    assert [(f.event_id, f.message.redrive_attempt) for f in failures.list_failures("1225").items] == [
        ("evt_1", 0)
    ]
    assert len(dead.messages) == 1
    assert result.redriven == []


def test_other_merchants_and_unreadable_dead_letters_are_left_alone():
    dead = FakeDeadLetters(queue_body(change("evt_other", merchant_id="9999")), "not a change message")
    publisher = FakePublisher()

    result = admin(dead, publisher, InMemoryFailuresRepository()).redrive("1225", None)

    assert publisher.sent == []
    assert len(dead.messages) == 2
    assert result.redriven == []


def test_only_the_chosen_events_are_redriven_and_unknown_ones_reported():
    failures = InMemoryFailuresRepository()
    failures.park(parked(change("evt_1")))
    failures.park(parked(change("evt_2")))
    publisher = FakePublisher()

    result = admin(FakeDeadLetters(), publisher, failures).redrive("1225", ["evt_2", "evt_9"])

    assert [message.event_id for message in publisher.sent] == ["evt_2"]
    assert result.not_found == ["evt_9"]
    assert [(f.event_id, f.message.redrive_attempt) for f in failures.list_failures("1225").items] == [
        ("evt_1", 0),
        ("evt_2", 1),
    ]


def test_listing_shows_the_merchants_dead_letters_with_the_retries_reason():
    dead = FakeDeadLetters(queue_body(change("evt_1")), queue_body(change("evt_other", merchant_id="9999")))

    listing = admin(dead, FakePublisher(), InMemoryFailuresRepository()).list_failures(
        "1225", cursor=None, limit=50
    )

    assert [(item.event_id, item.receive_count) for item in listing.dead_letter] == [("evt_1", 5)]
    assert "retries exhausted" in listing.dead_letter[0].reason
    assert len(dead.messages) == 2


def test_a_foreign_cursor_is_refused_naming_the_field():
    failures_admin = admin(FakeDeadLetters(), FakePublisher(), InMemoryFailuresRepository())

    with pytest.raises(InvalidRequest) as refused:
        failures_admin.list_failures("1225", cursor="bm9wZQ", limit=50)
    assert refused.value.field == "query.cursor"
