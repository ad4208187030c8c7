"""Drift: mapped QBO fields a person changed after our last write, and what the next PaySimple save does
with them (DESIGN.md "QBO webhooks and change data capture").

- Detecting: QBO's current record is compared, field by field, with the snapshot of what we last wrote
  (only the parts we send; QBO's own additions are no change). A field that differs is drift: the field,
  what we wrote, what QBO holds now. Nothing is read for this: the QBO webhook's read of the changed
  customer, or the CDC sweep's object, is compared.
- Overwriting: PaySimple is the source of record, so the next PaySimple save of an enabled field writes
  PaySimple's value over the QBO edit, whether or not PaySimple's value changed, and the history says it
  overwrote a QBO edit. Two exceptions: QBO already holds PaySimple's value (nothing to write), and an
  empty PaySimple value where we never wrote one (the person filled in a field PaySimple has nothing for:
  we never clear what we did not write; that drift stays shown).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from customer_sync.domain.diff import before_as_sent, diff_payload, same_value
from customer_sync.domain.mapping import is_empty_value
from customer_sync.domain.qbo_values import in_payload_shape
from customer_sync.models.history import FieldChange
from customer_sync.models.links import DriftedField

# QBO's Active flag rides in the snapshot when we deactivated a customer; a person's (in)activation is a
# flag of its own (CustomerLink.qbo_flag), never drift.
_NOT_DRIFT = frozenset({"Active"})


def detect_drift(
    snapshot: Mapping[str, Any],
    qbo_customer: Mapping[str, Any],
    *,
    earlier: list[DriftedField],
    now: datetime,
) -> list[DriftedField]:
    """The snapshot's fields QBO now holds otherwise (scrubbed). A field already drifted to the same value
    keeps when it was first seen."""
    held = in_payload_shape(qbo_customer, {k: v for k, v in snapshot.items() if k not in _NOT_DRIFT})
    seen = {entry.field: entry for entry in earlier}
    drift: list[DriftedField] = []
    for field, theirs in held.items():
        ours = snapshot[field]
        if same_value(theirs, ours):
            continue
        previous = seen.get(field)
        detected_at = previous.detected_at if previous is not None and previous.theirs == theirs else now
        drift.append(DriftedField(field=field, ours=ours, theirs=theirs, detected_at=detected_at))
    return drift


@dataclass(frozen=True)
class SaveOverDrift:
    """What a PaySimple save changes in QBO, given the drift: every change (before = what QBO holds), the
    drifted fields it overwrites, and the drift that stays."""

    changes: dict[str, FieldChange]
    overwritten: tuple[str, ...]
    kept: tuple[DriftedField, ...]


def changes_over_drift(
    snapshot: Mapping[str, Any], drift: list[DriftedField], payload: Mapping[str, Any]
) -> SaveOverDrift:
    """The changes a save makes: PaySimple's changes since our last write (diff against the snapshot), and
    PaySimple's value over each drifted field (see the module docstring for the two exceptions)."""
    changes = diff_payload(snapshot, payload)
    overwritten: list[str] = []
    kept: list[DriftedField] = []
    for entry in drift:
        if entry.field not in payload:
            continue  # no longer mapped: not ours to write, nor to show
        after = payload[entry.field]
        if same_value(entry.theirs, after):
            changes.pop(entry.field, None)  # QBO already holds PaySimple's value
            continue
        if entry.field not in changes and is_empty_value(after) and is_empty_value(snapshot.get(entry.field)):
            kept.append(entry)
            continue
        changes[entry.field] = FieldChange(before=before_as_sent(entry.theirs, after), after=after)
        overwritten.append(entry.field)
    return SaveOverDrift(changes=changes, overwritten=tuple(overwritten), kept=tuple(kept))
