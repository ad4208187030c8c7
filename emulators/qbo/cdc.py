"""Change data capture: `GET /v3/company/<realm>/cdc?entities=Customer&changedSince=<ISO 8601>`
(reference/qbo-api.md "Webhooks", "Change Data Capture").

- `changedSince` may look back at most 30 days; an older (or missing, or unreadable) one is refused.
- The answer holds full objects, inactive ones included, and merged-away ones as
  `{"domain": "QBO", "status": "Deleted", "Id": .., "MetaData": {"LastUpdatedTime": ..}}`.
- At most `max_objects` (1000) objects in one answer, whatever changed: the oldest changes first, the rest
  left out without a word. A client must poll windows short enough, and resume from what it saw.

Shape: `{"CDCResponse": [{"QueryResponse": [{"Customer": [...], "startPosition": 1, "maxResults": n,
"totalCount": n}]}], "time": ..}`, one QueryResponse per entity asked for, without the entity's key when
nothing of that type changed.
"""

from __future__ import annotations

from datetime import datetime

from emulators.qbo import faults
from emulators.qbo.entities import SPECS_BY_NAME, JsonObject
from emulators.qbo.store import EmulatorState

MAX_LOOKBACK_SECONDS = 30 * 24 * 3600
MAX_OBJECTS = 1000


def changed_since_epoch(text: str | None, now: float) -> float:
    """`changedSince` as epoch seconds, or the fault QBO answers for it."""
    if not text:
        raise faults.required_missing("changedSince", "changedSince")
    try:
        moment = datetime.fromisoformat(text.replace(" ", "+"))  # a `+` sent unencoded arrives as a space
    except ValueError:
        raise faults.unsupported_property("changedSince is not an ISO 8601 time", "changedSince") from None
    if moment.tzinfo is None:
        raise faults.unsupported_property("changedSince needs a time zone offset", "changedSince")
    since = moment.timestamp()
    if since < now - MAX_LOOKBACK_SECONDS:
        raise faults.business_rule("changedSince must be within the last 30 days")
    return since


def entity_names(text: str | None) -> list[str]:
    names = [name.strip() for name in (text or "").split(",") if name.strip()]
    if not names:
        raise faults.required_missing("entities", "entities")
    canonical = {name.lower(): name for name in SPECS_BY_NAME}
    unknown = [name for name in names if name.lower() not in canonical]
    if unknown:
        raise faults.unsupported_property(f"CDC does not support entities: {', '.join(unknown)}", "entities")
    return [canonical[name.lower()] for name in names]


def cdc_response(
    state: EmulatorState, realm_id: str, names: list[str], since: float, *, max_objects: int = MAX_OBJECTS
) -> list[JsonObject]:
    """The `CDCResponse` list: what changed, the oldest changes first, at most `max_objects` in all."""
    left = max_objects
    responses: list[JsonObject] = []
    for name in names:
        changed = state.changes_since(realm_id, name, since)[: max(left, 0)]
        left -= len(changed)
        response: JsonObject = {"startPosition": 1, "maxResults": len(changed), "totalCount": len(changed)}
        if changed:
            response[name] = changed
        responses.append(response)
    return [{"QueryResponse": responses}]
