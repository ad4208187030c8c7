"""Customer, Vendor and Employee objects: which fields are writable, their limits, create and update rules.

Pure functions: the store supplies ids, times and the DisplayName uniqueness check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from emulators.qbo import faults

JsonObject = dict[str, Any]

NAME_PARTS = ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")
# Names QBO prints on cheques and lists: no ':' (it separates sub-customers), tab or newline.
NAME_FIELDS = ("DisplayName", *NAME_PARTS, "PrintOnCheckName")
STRING_LIMITS = {
    "DisplayName": 500,
    "Title": 16,
    "Suffix": 16,
    "GivenName": 100,
    "MiddleName": 100,
    "FamilyName": 100,
    "CompanyName": 100,
    "PrintOnCheckName": 110,
    "Notes": 2000,
}
EMAIL_LIMIT = 100
# Intuit's reference says 30, but 21 is what is safe (reference/qbo-api.md): the emulator enforces the
# stricter one unless told otherwise, so a client sending 22..30 characters is caught here, not in production.
PHONE_LIMIT = 21
DOCUMENTED_PHONE_LIMIT = 30
WEB_ADDRESS_LIMIT = 1000
ADDRESS_LIMITS = {
    "Line1": 500,
    "Line2": 500,
    "Line3": 500,
    "Line4": 500,
    "Line5": 500,
    "City": 255,
    "CountrySubDivisionCode": 255,
    "PostalCode": 30,
    "Country": 255,
}
# QBO may return Country normalized to a 3-letter code; the client must never diff on it.
_COUNTRY_CODES = {
    "us": "USA",
    "u.s.": "USA",
    "usa": "USA",
    "u.s.a.": "USA",
    "united states": "USA",
    "united states of america": "USA",
    "ca": "CAN",
    "canada": "CAN",
    "gb": "GBR",
    "uk": "GBR",
    "united kingdom": "GBR",
    "au": "AUS",
    "australia": "AUS",
}


@dataclass(frozen=True)
class EntitySpec:
    name: str  # JSON key and query entity, e.g. "Customer"
    path: str  # URL segment, e.g. "customer"
    writable: tuple[str, ...]
    phones: tuple[str, ...]
    addresses: tuple[str, ...]
    filterable: frozenset[str]
    read_only_defaults: Callable[[], JsonObject]


def _customer_defaults() -> JsonObject:
    return {
        "Taxable": False,
        "Job": False,
        "BillWithParent": False,
        "Balance": 0,
        "BalanceWithJobs": 0,
        "CurrencyRef": {"value": "USD", "name": "United States Dollar"},
        "PreferredDeliveryMethod": "Print",
        "IsProject": False,
        "domain": "QBO",
        "sparse": False,
    }


def _vendor_defaults() -> JsonObject:
    return {
        "Vendor1099": False,
        "Balance": 0,
        "CurrencyRef": {"value": "USD", "name": "United States Dollar"},
        "domain": "QBO",
        "sparse": False,
    }


def _employee_defaults() -> JsonObject:
    return {"BillableTime": False, "domain": "QBO", "sparse": False}


_COMMON_NAMES = (
    "Title",
    "GivenName",
    "MiddleName",
    "FamilyName",
    "Suffix",
    "DisplayName",
    "PrintOnCheckName",
)

CUSTOMER = EntitySpec(
    name="Customer",
    path="customer",
    writable=(
        *_COMMON_NAMES,
        "CompanyName",
        "PrimaryEmailAddr",
        "PrimaryPhone",
        "AlternatePhone",
        "Mobile",
        "Fax",
        "WebAddr",
        "Notes",
        "BillAddr",
        "ShipAddr",
        "Active",
        # A job or sub-customer: `Job` true and `ParentRef` its parent customer (the store checks the parent).
        "Job",
        "ParentRef",
        "BillWithParent",
    ),
    phones=("PrimaryPhone", "AlternatePhone", "Mobile", "Fax"),
    addresses=("BillAddr", "ShipAddr"),
    filterable=frozenset(
        {
            "Id",
            "DisplayName",
            "GivenName",
            "MiddleName",
            "FamilyName",
            "CompanyName",
            "PrimaryEmailAddr",
            "Active",
            "PrintOnCheckName",
            "Balance",
            "FullyQualifiedName",
            "MetaData.LastUpdatedTime",
        }
    ),
    read_only_defaults=_customer_defaults,
)
VENDOR = EntitySpec(
    name="Vendor",
    path="vendor",
    writable=(
        *_COMMON_NAMES,
        "CompanyName",
        "PrimaryEmailAddr",
        "PrimaryPhone",
        "Mobile",
        "Fax",
        "WebAddr",
        "BillAddr",
        "Active",
    ),
    phones=("PrimaryPhone", "Mobile", "Fax"),
    addresses=("BillAddr",),
    filterable=frozenset(
        {
            "Id",
            "DisplayName",
            "GivenName",
            "MiddleName",
            "FamilyName",
            "CompanyName",
            "PrimaryEmailAddr",
            "Active",
            "PrintOnCheckName",
            "Balance",
            "MetaData.LastUpdatedTime",
        }
    ),
    read_only_defaults=_vendor_defaults,
)
EMPLOYEE = EntitySpec(
    name="Employee",
    path="employee",
    writable=(*_COMMON_NAMES, "PrimaryEmailAddr", "PrimaryPhone", "Mobile", "PrimaryAddr", "Active"),
    phones=("PrimaryPhone", "Mobile"),
    addresses=("PrimaryAddr",),
    filterable=frozenset(
        {
            "Id",
            "DisplayName",
            "GivenName",
            "MiddleName",
            "FamilyName",
            "PrimaryEmailAddr",
            "Active",
            "PrintOnCheckName",
            "MetaData.LastUpdatedTime",
        }
    ),
    read_only_defaults=_employee_defaults,
)
SPECS_BY_PATH = {spec.path: spec for spec in (CUSTOMER, VENDOR, EMPLOYEE)}
SPECS_BY_NAME = {spec.name: spec for spec in (CUSTOMER, VENDOR, EMPLOYEE)}


def spec_for_query_entity(name: str) -> EntitySpec | None:
    return SPECS_BY_PATH.get(name.lower())


@dataclass(frozen=True)
class Stamp:
    """What the store supplies to a create or update."""

    now: str  # MetaData time
    next_address_id: Callable[[], str]


def build_new(
    spec: EntitySpec,
    payload: JsonObject,
    entity_id: str,
    stamp: Stamp,
    *,
    phone_number_limit: int = PHONE_LIMIT,
) -> JsonObject:
    """The object a create makes (uniqueness is the store's job)."""
    fields = {key: value for key, value in _writable(spec, payload).items() if value is not None}
    if not _present(fields.get("DisplayName")):
        fields.pop("DisplayName", None)
        derived = _derived_display_name(fields)
        if derived is None:
            raise faults.required_missing(
                "DisplayName or one of Title, GivenName, MiddleName, FamilyName, Suffix", "DisplayName"
            )
        fields["DisplayName"] = derived
    fields.setdefault("Active", True)
    _validate(spec, fields, phone_number_limit)
    return _assemble(
        spec, spec.read_only_defaults(), fields, {}, entity_id, "0", {"CreateTime": stamp.now}, stamp
    )


def build_update(
    spec: EntitySpec,
    current: JsonObject,
    payload: JsonObject,
    stamp: Stamp,
    *,
    phone_number_limit: int = PHONE_LIMIT,
) -> JsonObject:
    """The object an update makes: full (omitted writable fields become null) or sparse."""
    if "SyncToken" not in payload or payload["SyncToken"] is None:
        raise faults.required_missing("SyncToken", "SyncToken")
    if str(payload["SyncToken"]) != current["SyncToken"]:
        raise faults.stale_object()
    sent = _writable(spec, payload)
    if payload.get("sparse") is True:
        merged = {key: current[key] for key in spec.writable if key in current}
        merged.update(sent)
    else:
        merged = dict(sent)
        merged.setdefault("Active", True)
    fields = {key: value for key, value in merged.items() if value is not None}
    # DisplayName and PrintOnCheckName cannot be removed: blank or missing keeps the current value.
    for sticky in ("DisplayName", "PrintOnCheckName"):
        if not _present(fields.get(sticky)):
            fields[sticky] = current[sticky]
    _validate(spec, fields, phone_number_limit)
    read_only = {key: value for key, value in current.items() if key not in spec.writable}
    next_token = str(int(current["SyncToken"]) + 1)
    metadata = {"CreateTime": current["MetaData"]["CreateTime"]}
    return _assemble(spec, read_only, fields, current, current["Id"], next_token, metadata, stamp)


def _assemble(
    spec: EntitySpec,
    base: JsonObject,
    fields: JsonObject,
    current: JsonObject,
    entity_id: str,
    sync_token: str,
    metadata: JsonObject,
    stamp: Stamp,
) -> JsonObject:
    entity = {key: value for key, value in base.items() if key not in spec.writable}
    entity.update(fields)
    if not _present(fields.get("PrintOnCheckName")):  # defaults from DisplayName
        fields["PrintOnCheckName"] = fields["DisplayName"][: STRING_LIMITS["PrintOnCheckName"]]
    entity["PrintOnCheckName"] = fields["PrintOnCheckName"]
    entity["FullyQualifiedName"] = fields["DisplayName"]
    for address_field in spec.addresses:
        if address_field in fields:
            entity[address_field] = _stored_address(fields[address_field], current.get(address_field), stamp)
    entity["Id"] = entity_id
    entity["SyncToken"] = sync_token
    entity["MetaData"] = {**metadata, "LastUpdatedTime": stamp.now}
    return entity


def _writable(spec: EntitySpec, payload: JsonObject) -> JsonObject:
    # Read-only and unknown properties are ignored, as QBO ignores read-only ones echoed back.
    return {key: payload[key] for key in spec.writable if key in payload}


def _present(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


def _derived_display_name(fields: JsonObject) -> str | None:
    parts = [fields[part].strip() for part in NAME_PARTS if _present(fields.get(part))]
    return " ".join(parts) if parts else None


def _stored_address(address: JsonObject, current: JsonObject | None, stamp: Stamp) -> JsonObject:
    stored = {key: value for key, value in address.items() if key in ADDRESS_LIMITS and value is not None}
    country = stored.get("Country")
    if isinstance(country, str):
        stored["Country"] = _COUNTRY_CODES.get(country.strip().lower(), country)
    stored["Id"] = current["Id"] if current and "Id" in current else stamp.next_address_id()
    stored["Lat"] = "INVALID"
    stored["Long"] = "INVALID"
    return stored


def _validate(spec: EntitySpec, fields: JsonObject, phone_number_limit: int) -> None:
    for field, value in fields.items():
        if field in STRING_LIMITS:
            _check_string(field, value, STRING_LIMITS[field])
    for field in NAME_FIELDS:
        value = fields.get(field)
        if isinstance(value, str) and any(char in value for char in ":\t\n\r"):
            raise faults.invalid_name_characters(field)
    for flag in ("Active", "Job", "BillWithParent"):
        if flag in fields and not isinstance(fields[flag], bool):
            raise faults.unsupported_property(f"{flag} must be a boolean", flag)
    if "ParentRef" in fields:
        parent = fields["ParentRef"]
        if not isinstance(parent, dict) or not isinstance(parent.get("value"), str) or not parent["value"]:
            raise faults.unsupported_property("ParentRef must be an object with a value", "ParentRef")
    if "PrimaryEmailAddr" in fields:
        _check_email(fields["PrimaryEmailAddr"])
    for field in spec.phones:
        if field in fields:
            number = _member(fields[field], field, "FreeFormNumber")
            _check_string(f"{field}.FreeFormNumber", number, phone_number_limit)
    if "WebAddr" in fields:
        _check_string("WebAddr.URI", _member(fields["WebAddr"], "WebAddr", "URI"), WEB_ADDRESS_LIMIT)
    for field in spec.addresses:
        if field in fields:
            address = fields[field]
            if not isinstance(address, dict):
                raise faults.unsupported_property(f"{field} must be an object", field)
            for part, limit in ADDRESS_LIMITS.items():
                if address.get(part) is not None:
                    _check_string(f"{field}.{part}", address[part], limit)


def _member(value: Any, field: str, member: str) -> Any:
    if not isinstance(value, dict):
        raise faults.unsupported_property(f"{field} must be an object", field)
    return value.get(member)


def _check_string(field: str, value: Any, limit: int) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        raise faults.unsupported_property(f"{field} must be a string", field)
    if len(value) > limit:
        raise faults.bad_length(field, limit, len(value))


def _check_email(value: Any) -> None:
    address = _member(value, "PrimaryEmailAddr", "Address")
    if address is None or address == "":
        return
    _check_string("PrimaryEmailAddr.Address", address, EMAIL_LIMIT)
    if "@" not in address or "." not in address:
        raise faults.bad_email("PrimaryEmailAddr.Address")
