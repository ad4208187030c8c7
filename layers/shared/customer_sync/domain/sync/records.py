"""What a sync run leaves behind (values already scrubbed): its history entry, a parked failure, and the
Completion that stores all of it at once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from customer_sync.domain.sync.outcomes import SyncAction, SyncOutcome
from customer_sync.domain.sync.run import SyncRun
from customer_sync.models.history import FieldChange, HistoryAction, HistoryEntry, ParkedFailure
from customer_sync.models.links import CustomerLink, NameClaim, NameClaimRelease
from customer_sync.models.messages import CustomerChangeMessage

# A change is identified by its merchant, event and redrive attempt (an admin redrive is a new attempt).
ChangeKey = tuple[str, str, int]
CustomerKey = tuple[str, str]


def change_key(message: CustomerChangeMessage) -> ChangeKey:
    return (message.merchant_id, message.event_id, message.redrive_attempt)


def customer_key(message: CustomerChangeMessage) -> CustomerKey:
    return (message.merchant_id, message.customer_id)


@dataclass(frozen=True)
class LinkWrite:
    """A customer's link record as it should be stored, if it is still at `expected_version` (0: new)."""

    link: CustomerLink
    expected_version: int
    # Linked by name: written only while no other customer's create of that name is under way.
    name_check: NameClaim | None = None


@dataclass(frozen=True)
class Completion:
    """Everything a change leaves behind once it is done, stored together in one round trip
    (ports.SyncJournal): the outcome (what a redelivery of the same change is answered with), the history
    entry, the final link write, the merchant's last successful sync, a parked failure or the end of one,
    and the end of the customer's name claim once its create is no longer under way."""

    message: CustomerChangeMessage
    outcome: SyncOutcome
    history: HistoryEntry
    link: LinkWrite | None = None
    successful_sync_at: datetime | None = None
    parked: ParkedFailure | None = None
    resolves_parked_failure: bool = False
    releases_name: NameClaimRelease | None = None


@dataclass(frozen=True)
class JournalPrefetch:
    """What a batch reads once, up front (ports.SyncJournal.prefetch): each customer's link (None: no
    record) and the outcome of each change already done."""

    links: dict[CustomerKey, CustomerLink | None] = field(default_factory=dict)
    outcomes: dict[ChangeKey, SyncOutcome] = field(default_factory=dict)


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
