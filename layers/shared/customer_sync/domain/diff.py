"""What a payload would change: against the snapshot we last pushed, or against a fresh QBO read.

Only the fields in the payload are compared, and inside objects only the parts we send: QBO adds `Id`,
`Lat`, `Long` to addresses (and may drop Lat/Long later) and may rewrite `Country` ("US" → "USA"), none of
which is a change of ours.
"""

from collections.abc import Mapping
from typing import Any, Final

from customer_sync.domain.mapping import is_empty_value
from customer_sync.models.history import FieldChange

# ISO 3166 alpha-3 and common spellings → alpha-2, for the countries merchants are likely to have.
_COUNTRY_ALIASES: Final[Mapping[str, str]] = {
    "USA": "US",
    "UNITED STATES": "US",
    "UNITED STATES OF AMERICA": "US",
    "CAN": "CA",
    "CANADA": "CA",
    "MEX": "MX",
    "MEXICO": "MX",
    "GBR": "GB",
    "UK": "GB",
    "UNITED KINGDOM": "GB",
    "GREAT BRITAIN": "GB",
    "AUS": "AU",
    "AUSTRALIA": "AU",
    "NZL": "NZ",
    "NEW ZEALAND": "NZ",
    "IRL": "IE",
    "IRELAND": "IE",
    "DEU": "DE",
    "GERMANY": "DE",
    "FRA": "FR",
    "FRANCE": "FR",
    "ESP": "ES",
    "SPAIN": "ES",
    "ITA": "IT",
    "ITALY": "IT",
    "NLD": "NL",
    "NETHERLANDS": "NL",
    "PRI": "PR",
    "PUERTO RICO": "PR",
    "IND": "IN",
    "INDIA": "IN",
    "PHL": "PH",
    "PHILIPPINES": "PH",
    "JPN": "JP",
    "JAPAN": "JP",
    "CHN": "CN",
    "CHINA": "CN",
    "BRA": "BR",
    "BRAZIL": "BR",
    "ZAF": "ZA",
    "SOUTH AFRICA": "ZA",
}


def canonical_country(country: str | None) -> str:
    """ "usa", "U.S.A.", "United States" and "US" all become "US"; unknown values are upper-cased."""
    cleaned = " ".join((country or "").replace(".", "").upper().split())
    return _COUNTRY_ALIASES.get(cleaned, cleaned)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _same_part(part: str, before: Any, after: Any) -> bool:
    if part == "Country":
        return canonical_country(_text(before)) == canonical_country(_text(after))
    return _text(before) == _text(after)


def same_value(before: Any, after: Any) -> bool:
    """Equal as far as QBO is concerned; a missing value equals an empty one."""
    if isinstance(after, Mapping):
        current = before if isinstance(before, Mapping) else {}
        return all(_same_part(part, current.get(part), value) for part, value in after.items())
    if is_empty_value(after) and is_empty_value(before):
        return True
    return bool(before == after)


def before_as_sent(before: Any, after: Any) -> Any:
    """The old value in the payload's shape, so history shows "before → after" without QBO's extras."""
    if isinstance(after, Mapping) and isinstance(before, Mapping):
        return {part: before[part] for part in after if part in before}
    return before


def diff_payload(
    previous_snapshot: Mapping[str, Any] | None, payload: Mapping[str, Any]
) -> dict[str, FieldChange]:
    """The payload fields that differ from the snapshot we last pushed (None: nothing pushed yet).

    A missing value equals an empty one, so an empty value only counts as a change when the snapshot held a
    value for it: we clear what we wrote, never what the merchant keeps in QBO in a field we have not
    written yet.
    """
    snapshot = previous_snapshot or {}
    changes: dict[str, FieldChange] = {}
    for field, after in payload.items():
        before = snapshot.get(field)
        if not same_value(before, after):
            changes[field] = FieldChange(before=before_as_sent(before, after), after=after)
    return changes


def changed_fields_from_qbo(
    qbo_customer: Mapping[str, Any], payload: Mapping[str, Any]
) -> dict[str, FieldChange]:
    """The payload fields that differ from a fresh read of the QBO customer (after a 5010 Stale Object).

    Pass only the fields the update meant to change (the keys of `diff_payload`'s result): QBO may hold
    values in fields we never wrote, and an empty payload value compared with those would clear them.
    """
    changes: dict[str, FieldChange] = {}
    for field, after in payload.items():
        before = qbo_customer.get(field)
        if not same_value(before, after):
            changes[field] = FieldChange(before=before_as_sent(before, after), after=after)
    return changes
