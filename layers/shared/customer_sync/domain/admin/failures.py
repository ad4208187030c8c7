"""Failures of one merchant — changes parked after a permanent error and messages whose retries ran out (the
DLQ) — and redriving them.

A redrive re-sends the change to CustomerChangesQueue with `redrive_attempt + 1` (domain.redrive). A
parked entry stays listed, with the attempt it waits for, until the sync applies that attempt; a failed send
leaves it as it was. A DLQ message is deleted only after the send succeeded.

The DLQ is shared by every merchant and SQS cannot filter it, so it is scanned (received and held briefly,
then made visible again, see adapters/sqs_dead_letters.py) and filtered by the message's merchant id.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import ValidationError

from customer_sync.domain.redrive import all_parked, next_attempt, resend_parked
from customer_sync.errors import InvalidCursor, InvalidRequest
from customer_sync.models.admin import (
    DeadLetterView,
    FailuresResponse,
    ParkedFailureView,
    RedriveFailure,
    RedrivenChange,
    RedriveResponse,
)
from customer_sync.models.history import HistoryEntry, ParkedFailure
from customer_sync.models.messages import CustomerChangeMessage
from customer_sync.observability import logger
from customer_sync.ports import (
    ChangePublisher,
    Clock,
    DeadLetterMessage,
    DeadLetterQueue,
    FailuresRepository,
    HistoryRepository,
)

DEFAULT_DLQ_SCAN_LIMIT = 500
# History entries searched for the error that sent a dead-lettered change there.
_HISTORY_LOOKBACK = 20
DEAD_LETTER_REASON = "retries exhausted: moved to the dead-letter queue after repeated transient failures"


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def parse_dead_letter(message: DeadLetterMessage) -> CustomerChangeMessage | None:
    try:
        return CustomerChangeMessage.model_validate_json(message.body)
    except ValidationError:
        # Only our own messages reach this DLQ; one we cannot read is left alone (and logged by id only).
        logger.warning(
            "unreadable message in the dead-letter queue", extra={"message_id": message.message_id}
        )
        return None


class Failures:
    def __init__(
        self,
        *,
        failures: FailuresRepository,
        history: HistoryRepository,
        dead_letters: DeadLetterQueue,
        publisher: ChangePublisher,
        clock: Clock,
        dlq_scan_limit: int = DEFAULT_DLQ_SCAN_LIMIT,
    ) -> None:
        self._failures = failures
        self._history = history
        self._dead_letters = dead_letters
        self._publisher = publisher
        self._clock = clock
        self._dlq_scan_limit = dlq_scan_limit

    def list_failures(self, merchant_id: str, *, cursor: str | None, limit: int) -> FailuresResponse:
        try:
            parked = self._failures.list_failures(merchant_id, cursor=cursor, limit=limit)
        except InvalidCursor:
            raise InvalidRequest("query.cursor", ["not a cursor this list handed out"]) from None
        with self._dead_letters.scan(limit=self._dlq_scan_limit) as scan:
            dead = [
                (message, change)
                for message in scan.messages
                if (change := parse_dead_letter(message)) is not None and change.merchant_id == merchant_id
            ]
            complete = scan.complete
        return FailuresResponse(
            parked=[_parked_view(failure) for failure in parked.items],
            parked_next_cursor=parked.next_cursor,
            dead_letter=[
                DeadLetterView(
                    message_id=message.message_id,
                    event_id=change.event_id,
                    paysimple_customer_id=change.customer_id,
                    event_type=change.event_type,
                    occurred_at=_utc(change.occurred_at),
                    redrive_attempt=change.redrive_attempt,
                    receive_count=message.receive_count,
                    sent_at=message.sent_at,
                    reason=self._dead_letter_reason(change),
                )
                for message, change in dead
            ],
            dead_letter_scan_complete=complete,
        )

    def redrive(self, merchant_id: str, event_ids: list[str] | None) -> RedriveResponse:
        wanted = set(event_ids) if event_ids is not None else None
        sent: list[tuple[RedrivenChange, CustomerChangeMessage]] = []
        failed: list[RedriveFailure] = []
        for failure in list(all_parked(self._failures, merchant_id)):
            if wanted is None or failure.event_id in wanted:
                outcome = self._send_again(failure.message, "parked", parked=failure)
                if isinstance(outcome, RedriveFailure):
                    failed.append(outcome)
                elif outcome is not None:
                    sent.append(outcome)
        with self._dead_letters.scan(limit=self._dlq_scan_limit) as scan:
            for message in scan.messages:
                change = parse_dead_letter(message)
                if change is None or change.merchant_id != merchant_id:
                    continue
                if wanted is not None and change.event_id not in wanted:
                    continue
                outcome = self._send_again(change, "dead_letter")
                if isinstance(outcome, RedriveFailure):
                    failed.append(outcome)
                elif outcome is not None:
                    scan.delete(message)
                    sent.append(outcome)
        for view, message_sent in sent:
            self._record_retry(merchant_id, view, message_sent)
        seen = {view.event_id for view, _ in sent} | {failure.event_id for failure in failed}
        return RedriveResponse(
            redriven=[view for view, _ in sent],
            not_found=sorted((wanted or set()) - seen),
            failed=failed,
        )

    # -- helpers -----------------------------------------------------------------------------------------

    def _send_again(
        self,
        message: CustomerChangeMessage,
        origin: Literal["parked", "dead_letter"],
        *,
        parked: ParkedFailure | None = None,
    ) -> tuple[RedrivenChange, CustomerChangeMessage] | RedriveFailure | None:
        """None: the parked change was resolved by the sync since it was listed."""
        again = next_attempt(message)
        try:
            if parked is not None:
                if resend_parked(parked, failures=self._failures, publisher=self._publisher) is None:
                    return None
            else:
                self._publisher.publish(again)
        except Exception as error:  # any send failure: the failure stays where it is, reported per event
            logger.warning(
                "redrive send failed",
                extra={"event_id": message.event_id, "error": type(error).__name__},
            )
            return RedriveFailure(
                event_id=message.event_id, source=origin, error=f"send failed ({type(error).__name__})"
            )
        view = RedrivenChange(
            event_id=message.event_id,
            paysimple_customer_id=message.customer_id,
            source=origin,
            redrive_attempt=again.redrive_attempt,
        )
        return view, again

    def _record_retry(self, merchant_id: str, view: RedrivenChange, message: CustomerChangeMessage) -> None:
        now = self._clock.now()
        self._history.append(
            HistoryEntry(
                merchant_id=merchant_id,
                paysimple_customer_id=message.customer_id,
                # One entry per redrive attempt: (event id, action) is unique in the history.
                event_id=message.deduplication_id,
                event_type=message.event_type,
                occurred_at=_utc(message.occurred_at),
                recorded_at=now,
                action="retried",
                detail=f"redriven by an admin from the {view.source.replace('_', '-')} list",
            )
        )

    def _dead_letter_reason(self, change: CustomerChangeMessage) -> str:
        """The last error the sync recorded for this event, if it recorded one."""
        entries = self._history.list_for_customer(
            change.merchant_id, change.customer_id, limit=_HISTORY_LOOKBACK
        ).items
        for entry in entries:
            if entry.event_id in (change.event_id, change.deduplication_id) and entry.error:
                return entry.error
        return DEAD_LETTER_REASON


def _parked_view(failure: ParkedFailure) -> ParkedFailureView:
    return ParkedFailureView(
        event_id=failure.event_id,
        paysimple_customer_id=failure.paysimple_customer_id,
        event_type=failure.message.event_type,
        occurred_at=_utc(failure.message.occurred_at),
        reason=failure.reason,
        code=failure.code,
        parked_at=failure.parked_at,
        attempts=failure.attempts,
        redrive_attempt=failure.message.redrive_attempt,
    )
