"""Values read back from QBO, made fit to store: in our payload's shape, and scrubbed.

Anything QBO holds may have been typed there by hand, card numbers included, so every value we keep from a
QBO answer (history "before" values, snapshots of what a create returned, candidates shown to the admin)
goes through the same scrub as PaySimple data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from customer_sync.domain.matching import QboCandidate
from customer_sync.domain.scrub import scrub_payment_data, scrub_qbo_json
from customer_sync.models.history import FieldChange
from customer_sync.models.links import LinkCandidate


def scrub_value(value: Any) -> Any:
    """A copy of a JSON-like value with card and bank numbers cut from every string in it; an address's
    PostalCode is checked as a postal code, as the PaySimple ZipCode it came from was (else a ZIP+4 that
    passes the ABA checksum would differ from what we sent, and be written again on every save)."""
    return scrub_qbo_json(value)


def scrub_changes(changes: Mapping[str, FieldChange]) -> dict[str, FieldChange]:
    return {
        field: FieldChange(before=scrub_value(change.before), after=scrub_value(change.after))
        for field, change in changes.items()
    }


def in_payload_shape(qbo_customer: Mapping[str, Any], payload: Mapping[str, Any]) -> dict[str, Any]:
    """What QBO holds for each payload field, shaped like the payload (only the parts we send; a missing
    value as an empty one) and scrubbed: the snapshot to diff our next save against."""
    shaped: dict[str, Any] = {}
    for field, sent in payload.items():
        held = qbo_customer.get(field)
        if isinstance(sent, Mapping):
            parts = held if isinstance(held, Mapping) else {}
            shaped[field] = {part: _text(parts.get(part)) for part in sent}
        else:
            shaped[field] = _text(held)
    return {field: scrub_value(value) for field, value in shaped.items()}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def for_admin(candidates: Iterable[QboCandidate]) -> list[LinkCandidate]:
    """Candidates as the unlinked list shows them, scrubbed, in id order."""
    ordered = sorted(candidates, key=lambda c: (len(c.id), c.id))
    return [
        LinkCandidate(
            qbo_customer_id=candidate.id,
            display_name=scrub_payment_data(candidate.display_name).text,
            email=scrub_payment_data(candidate.email).text if candidate.email else None,
            active=candidate.active,
        )
        for candidate in ordered
    ]
