"""The customer rules the real API enforces on save (reference/paysimple-api.md). A save that breaks one is
answered 400 with every broken field in `Meta.Errors.ErrorMessages`, as PaySimple does."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

TEXT_FIELDS = (
    "FirstName",
    "LastName",
    "MiddleName",
    "Company",
    "CustomerAccount",
    "Email",
    "AltEmail",
    "Phone",
    "AltPhone",
    "MobilePhone",
    "Fax",
    "Website",
    "Notes",
)
ADDRESS_FIELDS = ("BillingAddress", "ShippingAddress")
ADDRESS_TEXT_FIELDS = ("StreetAddress1", "StreetAddress2", "City", "StateCode", "ZipCode", "Country")
REQUIRED_FIELDS = ("FirstName", "LastName")
MAX_LENGTHS = {
    "FirstName": 100,
    "LastName": 100,
    "Company": 50,
    "CustomerAccount": 28,
    "Email": 100,
    "AltEmail": 100,
    "Website": 100,
    "Notes": 2048,
}
PHONE_FIELDS = ("Phone", "AltPhone", "MobilePhone", "Fax")
EMAIL_FIELDS = ("Email", "AltEmail")

_TEN_DIGITS = re.compile(r"[0-9]{10}")
_TWO_LETTERS = re.compile(r"[A-Za-z]{2}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")

FieldError = dict[str, str]


def validate_customer(customer: Mapping[str, Any]) -> list[FieldError]:
    errors: list[FieldError] = []
    for field in TEXT_FIELDS:
        errors.extend(_text_field_errors(field, customer.get(field)))
    for field in ADDRESS_FIELDS:
        errors.extend(_address_errors(field, customer.get(field)))
    same = customer.get("ShippingSameAsBilling")
    if same is not None and not isinstance(same, bool):
        errors.append(_error("ShippingSameAsBilling", "must be true or false"))
    return errors


def _text_field_errors(field: str, value: Any) -> list[FieldError]:
    if value is not None and not isinstance(value, str):
        return [_error(field, "must be a string")]
    if not value or not value.strip():
        return [_error(field, f"{field} is required")] if field in REQUIRED_FIELDS else []
    if field in MAX_LENGTHS and len(value) > MAX_LENGTHS[field]:
        return [_error(field, f"{field} cannot exceed {MAX_LENGTHS[field]} characters")]
    if field in PHONE_FIELDS and not _TEN_DIGITS.fullmatch(value):
        return [_error(field, f"{field} must be 10 digits with no punctuation")]
    if field in EMAIL_FIELDS and not _EMAIL.fullmatch(value):
        return [_error(field, f"{field} is not a valid email address")]
    return []


def _address_errors(field: str, address: Any) -> list[FieldError]:
    if address is None:
        return []
    if not isinstance(address, Mapping):
        return [_error(field, "must be an object")]
    errors: list[FieldError] = []
    for part in ADDRESS_TEXT_FIELDS:
        value = address.get(part)
        if value is not None and not isinstance(value, str):
            errors.append(_error(f"{field}.{part}", "must be a string"))
    for part in ("StateCode", "Country"):
        value = address.get(part)
        if isinstance(value, str) and value and not _TWO_LETTERS.fullmatch(value):
            errors.append(_error(f"{field}.{part}", f"{part} must be a 2-letter code"))
    return errors


def _error(field: str, message: str) -> FieldError:
    return {"Field": field, "Message": message}
