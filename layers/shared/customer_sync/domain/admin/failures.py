"""Failures of one merchant — changes parked after a permanent error and changes whose retries ran out
(recorded from the DLQ by DeadLetterFunction, domain.dead_letters) — and redriving them.

Both lists are read from the failures table only: listing has no side effects (nothing is received from
the DLQ, so no receive count rises and no customer's later changes are held back).

A redrive re-sends the change to CustomerChangesQueue with `redrive_attempt + 1` (domain.redrive). Its
entry stays listed, with the attempt it waits for, until the sync applies that attempt; a failed send
leaves it as it was.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from customer_sync.domain.redrive import all_parked, resend_parked
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
from customer_sync.ports import ChangePublisher, Clock, FailuresRepository, HistoryRepository


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


class Failures:
    def __init__(
        self,
        *,
        failures: FailuresRepository,
        history: HistoryRepository,
        publisher: ChangePublisher,
        clock: Clock,
    ) -> None:
        self._failures = failures
        self._history = history
        self._publisher = publisher
        self._clock = clock

    def list_failures(self, merchant_id: str, *, cursor: str | None, limit: int) -> FailuresResponse:
        try:
            page = self._failures.list_failures(merchant_id, cursor=cursor, limit=limit)
        except InvalidCursor:
            raise InvalidRequest("query.cursor", ["not a cursor this list handed out"]) from None
        return FailuresResponse(
            parked=[_parked_view(failure) for failure in page.items if failure.dead_letter is None],
            parked_next_cursor=page.next_cursor,
            dead_letter=[
                _dead_letter_view(failure) for failure in page.items if failure.dead_letter is not None
            ],
        )

    def redrive(self, merchant_id: str, event_ids: list[str] | None) -> RedriveResponse:
        wanted = set(event_ids) if event_ids is not None else None
        sent: list[tuple[RedrivenChange, CustomerChangeMessage]] = []
        failed: list[RedriveFailure] = []
        for failure in list(all_parked(self._failures, merchant_id)):
            if wanted is not None and failure.event_id not in wanted:
                continue
            origin: Literal["parked", "dead_letter"] = (
                "dead_letter" if failure.dead_letter is not None else "parked"
            )
            try:
                again = resend_parked(failure, failures=self._failures, publisher=self._publisher)
            except Exception as error:  # any send failure: the failure stays where it is, reported per event
                logger.warning(
                    "redrive send failed",
                    extra={"event_id": failure.event_id, "error": type(error).__name__},
                )
                failed.append(
                    RedriveFailure(
                        event_id=failure.event_id,
                        source=origin,
                        error=f"send failed ({type(error).__name__})",
                    )
                )
                continue
            if again is None:
                continue  # resolved by the sync since it was listed
            view = RedrivenChange(
                event_id=failure.event_id,
                paysimple_customer_id=failure.paysimple_customer_id,
                source=origin,
                redrive_attempt=again.redrive_attempt,
            )
            sent.append((view, again))
        for view, message_sent in sent:
            self._record_retry(merchant_id, view, message_sent)
        seen = {view.event_id for view, _ in sent} | {failure.event_id for failure in failed}
        return RedriveResponse(
            redriven=[view for view, _ in sent],
            not_found=sorted((wanted or set()) - seen),
            failed=failed,
        )

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


def _dead_letter_view(failure: ParkedFailure) -> DeadLetterView:
    arrival = failure.dead_letter
    assert arrival is not None
    return DeadLetterView(
        message_id=arrival.message_id,
        event_id=failure.event_id,
        paysimple_customer_id=failure.paysimple_customer_id,
        event_type=failure.message.event_type,
        occurred_at=_utc(failure.message.occurred_at),
        redrive_attempt=failure.message.redrive_attempt,
        receive_count=arrival.receive_count,
        sent_at=arrival.arrived_at,
        reason=failure.reason,
    )
