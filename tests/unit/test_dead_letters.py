"""DLQ arrivals become failures of their merchant (domain.dead_letters): with the last error the sync
recorded, once per DLQ message, and never for a message that is not a change."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from customer_sync.adapters.sqs import queue_body
from customer_sync.domain.dead_letters import DEAD_LETTER_REASON, DeadLetter, DeadLetterIntake
from customer_sync.errors import UnreadableMessage
from customer_sync.models.history import HistoryEntry
from customer_sync.models.messages import CustomerChangeMessage
from tests.fakes.merchant_clients import SettableClock
from tests.fakes.repositories import InMemoryFailuresRepository, InMemoryHistoryRepository

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
CHANGE = CustomerChangeMessage(
    merchant_id="1225",
    customer_id="8053900",
    event_type="customer_updated",
    event_id="evt_1",
    occurred_at=NOW,
)


@pytest.fixture
def intake_parts() -> tuple[DeadLetterIntake, InMemoryFailuresRepository, InMemoryHistoryRepository]:
    failures, history = InMemoryFailuresRepository(), InMemoryHistoryRepository()
    return DeadLetterIntake(failures=failures, history=history, clock=SettableClock(NOW)), failures, history


def letter(message_id: str = "m-1", body: str | None = None) -> DeadLetter:
    return DeadLetter(message_id=message_id, body=body or queue_body(CHANGE), receive_count=1000)


def test_an_arrival_becomes_a_failure_of_its_merchant_with_the_last_error_the_sync_recorded(intake_parts):
    # Given the sync's last error for the change
    intake, failures, history = intake_parts
    history.append(
        HistoryEntry(
            merchant_id="1225",
            paysimple_customer_id="8053900",
            event_id="evt_1",
            event_type="customer_updated",
            occurred_at=NOW,
            recorded_at=NOW,
            action="retried",
            error="QboTransientError: QBO error - (HTTP 503)",
        )
    )
    # When the change arrives in the DLQ
    outcome, change = intake.take(letter())
    # Then it is the merchant's failure, from the DLQ, with that error
    assert (outcome, change) == ("recorded", CHANGE)
    [failure] = failures.list_failures("1225").items
    assert failure.reason == "QboTransientError: QBO error - (HTTP 503)"
    assert failure.dead_letter is not None
    assert (failure.dead_letter.message_id, failure.dead_letter.receive_count) == ("m-1", 1000)
    assert failure.message == CHANGE


def test_an_arrival_without_a_recorded_error_says_its_retries_ran_out(intake_parts):
    intake, failures, _ = intake_parts
    intake.take(letter())
    assert failures.list_failures("1225").items[0].reason == DEAD_LETTER_REASON


def test_the_same_dlq_message_delivered_twice_is_recorded_once(intake_parts):
    intake, failures, _ = intake_parts
    assert intake.take(letter())[0] == "recorded"
    assert intake.take(letter())[0] == "already_recorded"
    assert [f.attempts for f in failures.list_failures("1225").items] == [1]


def test_the_same_change_dead_lettered_again_after_a_redrive_counts_another_attempt(intake_parts):
    intake, failures, _ = intake_parts
    intake.take(letter("m-1"))
    intake.take(letter("m-2", body=queue_body(CHANGE.model_copy(update={"redrive_attempt": 1}))))
    [failure] = failures.list_failures("1225").items
    assert (failure.attempts, failure.message.redrive_attempt) == (2, 1)


@pytest.mark.parametrize("body", ["not json", '{"merchant_id": "1225"}', "4111 1111 1111 1111"])
def test_a_message_that_is_not_a_change_is_refused_and_nothing_stored(intake_parts, body):
    intake, failures, _ = intake_parts
    with pytest.raises(UnreadableMessage) as refused:
        intake.take(letter(body=body))
    assert "4111" not in str(refused.value)
    assert failures.list_failures("1225").items == []
