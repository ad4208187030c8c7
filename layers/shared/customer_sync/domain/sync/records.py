"""The history entries and parked failures a sync run leaves behind (values already scrubbed)."""

from __future__ import annotations

from collections.abc import Mapping

from customer_sync.domain.sync.outcomes import SyncAction
from customer_sync.domain.sync.run import SyncRun
from customer_sync.models.history import FieldChange, HistoryAction, HistoryEntry, ParkedFailure

# Truncations are noted when a write carried the cut values.
_WRITES: frozenset[SyncAction] = frozenset({"created", "updated", "linked"})


def history_entry(
    run: SyncRun,
    action: SyncAction | HistoryAction,
    *,
    qbo_customer_id: str | None = None,
    changes: Mapping[str, FieldChange] | None = None,
    detail: str | None = None,
    error: str | None = None,
) -> HistoryEntry:
    message = run.message
    wrote = action in _WRITES and bool(changes)
    return HistoryEntry(
        merchant_id=message.merchant_id,
        paysimple_customer_id=message.customer_id,
        event_id=message.event_id,
        event_type=message.event_type,
        occurred_at=run.occurred_at,
        recorded_at=run.now,
        action=action,
        qbo_customer_id=qbo_customer_id,
        changes=dict(changes or {}),
        truncations=list(run.truncations) if wrote else [],
        qbo_calls=run.qbo_calls,
        detail=detail,
        error=error,
    )


def parked_failure(
    run: SyncRun, *, reason: str, code: str | None, earlier: ParkedFailure | None
) -> ParkedFailure:
    message = run.message
    return ParkedFailure(
        merchant_id=message.merchant_id,
        paysimple_customer_id=message.customer_id,
        event_id=message.event_id,
        message=message,
        reason=reason,
        code=code,
        parked_at=run.now,
        attempts=earlier.attempts + 1 if earlier is not None else 1,
    )
