"""The field catalog, the mapping rules, and the QBO payload a (scrubbed) PaySimple customer becomes.

Empty values. PaySimple is the source of record, so a field a merchant clears in PaySimple is cleared in QBO
when that field is enabled. The payload therefore always carries every enabled field, an empty value
included: "" for text, `{"Address": ""}` / `{"FreeFormNumber": ""}` / `{"URI": ""}` for wrapped values, and
an address with every part "". A sparse update sends exactly those values, which clears them in QBO.
Two places keep this from wiping data we never wrote:
- a create sends `without_empty_values(payload)`;
- `diff.diff_payload` only reports an empty value as a change when the snapshot we pushed before held a
  value, so enabling a field never clears what the merchant keeps in QBO.

Display names are not part of the payload: the sync service sets DisplayName on create only
(`matching.display_name_for` / `collision_display_name`), because renaming it later could collide (6240).
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from customer_sync.domain.names import qbo_safe_name
from customer_sync.errors import InvalidMapping
from customer_sync.models.history import Truncation
from customer_sync.models.mapping import CatalogEntry, FieldMapping, MappingRow
from customer_sync.models.paysimple import PaySimpleAddress, PaySimpleCustomer

PayloadValue = str | dict[str, str]


def _entry(
    paysimple_field: str, *qbo_fields: str, required: bool = False, enabled_by_default: bool = False
) -> CatalogEntry:
    return CatalogEntry(
        paysimple_field=paysimple_field,
        qbo_fields=qbo_fields,
        required=required,
        enabled_by_default=enabled_by_default or required,
    )


FIELD_CATALOG: Final[Mapping[str, CatalogEntry]] = {
    entry.paysimple_field: entry
    for entry in (
        _entry("FirstName", "GivenName", required=True),
        _entry("LastName", "FamilyName", required=True),
        _entry("MiddleName", "MiddleName"),
        _entry("Company", "CompanyName", enabled_by_default=True),
        _entry("Email", "PrimaryEmailAddr", enabled_by_default=True),
        _entry("Phone", "PrimaryPhone", enabled_by_default=True),
        _entry("AltPhone", "AlternatePhone"),
        _entry("MobilePhone", "Mobile"),
        _entry("Fax", "Fax"),
        _entry("Website", "WebAddr"),
        _entry("Notes", "Notes"),
        _entry("BillingAddress", "BillAddr", enabled_by_default=True),
        _entry("ShippingAddress", "ShipAddr"),
        # The merchant's own reference: free text, so only free-text QBO fields may take it.
        _entry("CustomerAccount", "Notes", "CompanyName"),
    )
}

# QBO limits (reference/qbo-api.md). Phones use 21, the safe value, not the documented 30.
NAME_LIMIT: Final = 100
NAME_TARGETS: Final = frozenset({"GivenName", "FamilyName", "MiddleName"})
TEXT_LIMITS: Final[Mapping[str, int]] = {"CompanyName": 100, "Notes": 2000}
EMAIL_TARGET: Final = "PrimaryEmailAddr"
EMAIL_LIMIT: Final = 100
PHONE_TARGETS: Final = frozenset({"PrimaryPhone", "AlternatePhone", "Mobile", "Fax"})
PHONE_LIMIT: Final = 21
WEB_TARGET: Final = "WebAddr"
WEB_LIMIT: Final = 1000
ADDRESS_TARGETS: Final = frozenset({"BillAddr", "ShipAddr"})
# CountrySubDivisionCode and Country are not in our reference; 255 is Intuit's documented string maximum.
ADDRESS_PART_LIMITS: Final[Mapping[str, int]] = {
    "Line1": 500,
    "Line2": 500,
    "City": 255,
    "CountrySubDivisionCode": 255,
    "PostalCode": 30,
    "Country": 255,
}
_ADDRESS_SOURCES: Final[Mapping[str, str]] = {
    "Line1": "StreetAddress1",
    "Line2": "StreetAddress2",
    "City": "City",
    "CountrySubDivisionCode": "StateCode",
    "PostalCode": "ZipCode",
    "Country": "Country",
}
ADDRESS_PARTS: Final = tuple(ADDRESS_PART_LIMITS)

DEFAULT_MAPPING_EFFECTIVE_AT: Final = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class SkippedValue:
    """A value left out because QBO would reject it (the whole update would fail with it)."""

    field: str
    reason: str


@dataclass(frozen=True)
class BuiltPayload:
    fields: dict[str, PayloadValue]
    truncations: tuple[Truncation, ...] = ()
    skipped_invalid: tuple[SkippedValue, ...] = ()


def field_catalog() -> list[CatalogEntry]:
    return list(FIELD_CATALOG.values())


def default_mapping() -> FieldMapping:
    """What a merchant has before saving a mapping: names, company, email, phone and billing address."""
    return FieldMapping(
        version=0,
        effective_at=DEFAULT_MAPPING_EFFECTIVE_AT,
        rows=tuple(
            MappingRow(
                paysimple_field=entry.paysimple_field,
                qbo_field=entry.default_qbo_field,
                enabled=entry.enabled_by_default,
            )
            for entry in FIELD_CATALOG.values()
        ),
    )


def mapping_in_effect(saved_newest_first: Iterable[FieldMapping], at: datetime) -> FieldMapping:
    """The newest saved version with effective_at <= at; the default mapping if there is none."""
    for mapping in saved_newest_first:
        if mapping.effective_at <= at:
            return mapping
    return default_mapping()


def validate_mapping(rows: Sequence[MappingRow]) -> list[str]:
    """Every rule a mapping breaks, as readable sentences; empty when it is valid.

    Rows may leave out catalog fields (they are off), except the required names. Only enabled rows compete
    for a QBO field: a disabled row sends nothing.
    """
    problems: list[str] = []
    seen: set[str] = set()
    sources_by_target: dict[str, list[str]] = {}
    for row in rows:
        entry = FIELD_CATALOG.get(row.paysimple_field)
        if entry is None:
            problems.append(f"unknown PaySimple field {row.paysimple_field!r}")
            continue
        if row.paysimple_field in seen:
            problems.append(f"PaySimple field {row.paysimple_field!r} appears more than once")
            continue
        seen.add(row.paysimple_field)
        if row.qbo_field not in entry.qbo_fields:
            allowed = ", ".join(entry.qbo_fields)
            problems.append(f"{row.paysimple_field} cannot map to {row.qbo_field!r} (allowed: {allowed})")
        if entry.required and not row.enabled:
            problems.append(f"{row.paysimple_field} is required and must stay enabled")
        if row.enabled:
            sources_by_target.setdefault(row.qbo_field, []).append(row.paysimple_field)
    for entry in FIELD_CATALOG.values():
        if entry.required and entry.paysimple_field not in seen:
            problems.append(f"{entry.paysimple_field} is required")
    for target, sources in sources_by_target.items():
        if len(sources) > 1:
            problems.append(f"QBO field {target} has more than one source: {', '.join(sources)}")
    return problems


def require_valid_mapping(rows: Sequence[MappingRow]) -> None:
    problems = validate_mapping(rows)
    if problems:
        raise InvalidMapping(problems)


def is_empty_value(value: object) -> bool:
    """None, blank text, or an object whose every part is blank: nothing to send on a create."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, Mapping):
        return all(is_empty_value(part) for part in value.values())
    return False


def without_empty_values(fields: Mapping[str, PayloadValue]) -> dict[str, PayloadValue]:
    """The body of a create: blank fields and blank address parts left out."""
    kept: dict[str, PayloadValue] = {}
    for name, value in fields.items():
        if is_empty_value(value):
            continue
        if isinstance(value, dict):
            kept[name] = {part: text for part, text in value.items() if not is_empty_value(text)}
        else:
            kept[name] = value
    return kept


class _PayloadBuilder:
    def __init__(self) -> None:
        self.fields: dict[str, PayloadValue] = {}
        self.truncations: list[Truncation] = []
        self.skipped: list[SkippedValue] = []

    def fit(self, field: str, text: str, limit: int) -> str:
        if len(text) <= limit:
            return text
        self.truncations.append(Truncation(field=field, original_length=len(text), limit=limit))
        return text[:limit]

    def add(self, target: str, value: str | PaySimpleAddress | None) -> None:
        if target in ADDRESS_TARGETS:
            address = value if isinstance(value, PaySimpleAddress) else None
            self.fields[target] = self._address(target, address)
            return
        text = value.strip() if isinstance(value, str) else ""
        if target in NAME_TARGETS:
            # Cutting may leave a trailing space; QBO names are sent trimmed.
            self.fields[target] = self.fit(target, qbo_safe_name(text), NAME_LIMIT).rstrip()
        elif target in TEXT_LIMITS:
            self.fields[target] = self.fit(target, text, TEXT_LIMITS[target])
        elif target == EMAIL_TARGET:
            self._email(text)
        elif target in PHONE_TARGETS:
            self.fields[target] = {"FreeFormNumber": self.fit(target, text, PHONE_LIMIT)}
        elif target == WEB_TARGET:
            self.fields[target] = {"URI": self.fit(target, text, WEB_LIMIT)}
        else:
            raise InvalidMapping([f"no QBO shape known for {target!r}"])

    def _email(self, text: str) -> None:
        # A cut address is a wrong address, and QBO rejects the whole update over a bad one (2210): leave
        # it out and say so instead.
        if len(text) > EMAIL_LIMIT:
            self.skipped.append(SkippedValue(EMAIL_TARGET, f"longer than {EMAIL_LIMIT} characters"))
        elif text and not _plausible_email(text):
            self.skipped.append(SkippedValue(EMAIL_TARGET, "not an email address QBO accepts"))
        else:
            self.fields[EMAIL_TARGET] = {"Address": text}

    def _address(self, target: str, address: PaySimpleAddress | None) -> dict[str, str]:
        parts: dict[str, str] = {}
        for part, limit in ADDRESS_PART_LIMITS.items():
            raw = getattr(address, _ADDRESS_SOURCES[part]) if address is not None else None
            text = raw.strip() if isinstance(raw, str) else ""
            parts[part] = self.fit(f"{target}.{part}", text, limit)
        return parts


def _plausible_email(text: str) -> bool:
    """QBO wants an '@' and a '.'; we also refuse whitespace and a missing local part or domain dot."""
    local, at, domain = text.rpartition("@")
    return bool(at and local and "." in domain.strip(".") and not any(c.isspace() for c in text))


def _source_value(customer: PaySimpleCustomer, paysimple_field: str) -> str | PaySimpleAddress | None:
    if paysimple_field == "ShippingAddress" and customer.ShippingSameAsBilling:
        return customer.BillingAddress
    value = getattr(customer, paysimple_field)
    if value is None or isinstance(value, str | PaySimpleAddress):
        return value
    raise InvalidMapping([f"PaySimple field {paysimple_field!r} is not text or an address"])


def build_qbo_payload(
    customer: PaySimpleCustomer, mapping: FieldMapping | Sequence[MappingRow]
) -> BuiltPayload:
    """The QBO Customer fields for the enabled rows (names always), fitted to QBO's limits.

    `customer` must already be scrubbed (`scrub.scrub_customer`). Raises InvalidMapping for a mapping that
    breaks the rules.
    """
    rows = mapping.rows if isinstance(mapping, FieldMapping) else tuple(mapping)
    require_valid_mapping(rows)
    builder = _PayloadBuilder()
    for row in rows:
        if row.enabled:
            builder.add(row.qbo_field, _source_value(customer, row.paysimple_field))
    return BuiltPayload(
        fields=builder.fields,
        truncations=tuple(builder.truncations),
        skipped_invalid=tuple(builder.skipped),
    )
