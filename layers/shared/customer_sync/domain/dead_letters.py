"""What arrives in CustomerChangesQueue's DLQ becomes a failure the admin sees (DeadLetterFunction).

SQS moves a change to the DLQ after MaxReceiveCount deliveries (more than a day of transient failures), and
the sync sends there a message that is not a change at all. The DLQ consumer records each change as a
failure of its merchant (FailuresRepository, the same list as parked changes), with the last error the sync
recorded for it, so the admin API lists failures from that table alone, without receiving from the DLQ,
and redrives from there (domain.redrive). A message is recorded once: a second delivery of the same DLQ
message (the consumer died after recording it) changes nothing. A message that is not a change has no
merchant to show it to: it is logged by id and counted for operators, never stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from customer_sync.models.history import DeadLetterArrival, ParkedFailure
from customer_sync.models.messages import CustomerChangeMessage, change_from_body
from customer_sync.ports import Clock, FailuresRepository, HistoryRepository

DEAD_LETTER_CODE = "dead_letter"
DEAD_LETTER_REASON = "retries exhausted: moved to the dead-letter queue after repeated transient failures"
# History entries searched for the error that sent a dead-lettered change there.
_HISTORY_LOOKBACK = 20

DeadLetterOutcome = Literal["recorded", "already_recorded"]


@dataclass(frozen=True)
class DeadLetter:
    """One message received from the DLQ."""

    message_id: str
    body: str
    receive_count: int


class DeadLetterIntake:
    def __init__(self, *, failures: FailuresRepository, history: HistoryRepository, clock: Clock) -> None:
        self._failures = failures
        self._history = history
        self._clock = clock

    def take(self, letter: DeadLetter) -> tuple[DeadLetterOutcome, CustomerChangeMessage]:
        """Record the change as its merchant's failure; raises UnreadableMessage for one that is not a
        change."""
        change = change_from_body(letter.body)
        earlier = self._failures.get_failure(change.merchant_id, change.customer_id, change.event_id)
        if (
            earlier is not None
            and earlier.dead_letter is not None
            and (earlier.dead_letter.message_id == letter.message_id)
        ):
            return "already_recorded", change
        now = self._clock.now()
        self._failures.park(
            ParkedFailure(
                merchant_id=change.merchant_id,
                paysimple_customer_id=change.customer_id,
                event_id=change.event_id,
                message=change,
                reason=self._last_error(change),
                code=DEAD_LETTER_CODE,
                parked_at=now,
                attempts=earlier.attempts + 1 if earlier is not None else 1,
                dead_letter=DeadLetterArrival(
                    message_id=letter.message_id, receive_count=letter.receive_count, arrived_at=now
                ),
            )
        )
        return "recorded", change

    def _last_error(self, change: CustomerChangeMessage) -> str:
        """The last error the sync recorded for this change (already scrubbed), if it recorded one."""
        entries = self._history.list_for_customer(
            change.merchant_id, change.customer_id, limit=_HISTORY_LOOKBACK
        ).items
        for entry in entries:
            if entry.event_id in (change.event_id, change.deduplication_id) and entry.error:
                return entry.error
        return DEAD_LETTER_REASON
