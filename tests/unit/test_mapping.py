"""Field mapping: the catalog, the rules a saved mapping must keep, and the QBO payload it produces."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from customer_sync.domain.mapping import (
    FIELD_CATALOG,
    BuiltPayload,
    SkippedValue,
    build_qbo_payload,
    default_mapping,
    field_catalog,
    require_valid_mapping,
    validate_mapping,
    without_empty_values,
)
from customer_sync.domain.scrub import REDACTION_MARKER, scrub_customer
from customer_sync.errors import InvalidMapping
from customer_sync.models.history import Truncation
from customer_sync.models.mapping import FieldMapping, MappingRow
from customer_sync.models.paysimple import PaySimpleAddress, PaySimpleCustomer

EMPTY_ADDRESS = {
    "Line1": "",
    "Line2": "",
    "City": "",
    "CountrySubDivisionCode": "",
    "PostalCode": "",
    "Country": "",
}


def rows(*overrides: tuple[str, str, bool]) -> list[MappingRow]:
    """The default mapping with some rows replaced: (paysimple_field, qbo_field, enabled)."""
    by_field = {row.paysimple_field: row for row in default_mapping().rows}
    for paysimple_field, qbo_field, enabled in overrides:
        by_field[paysimple_field] = MappingRow(
            paysimple_field=paysimple_field, qbo_field=qbo_field, enabled=enabled
        )
    return list(by_field.values())


def all_enabled() -> list[MappingRow]:
    # CustomerAccount shares its default target with Notes, so it goes to CompanyName and Company stays off.
    return [
        MappingRow(
            paysimple_field=entry.paysimple_field,
            qbo_field="CompanyName"
            if entry.paysimple_field == "CustomerAccount"
            else entry.default_qbo_field,
            enabled=entry.paysimple_field != "Company",
        )
        for entry in field_catalog()
    ]


BILLING = PaySimpleAddress(
    StreetAddress1="1 Main St",
    StreetAddress2="Suite 2",
    City="Denver",
    StateCode="CO",
    ZipCode="80202",
    Country="US",
)
SHIPPING = PaySimpleAddress(
    StreetAddress1="9 Dock Rd", City="Boulder", StateCode="CO", ZipCode="80301", Country="US"
)


def full_customer(**changes: object) -> PaySimpleCustomer:
    values: dict[str, object] = {
        "Id": 42,
        "FirstName": "Sean",
        "LastName": "O'Brien",
        "MiddleName": "Patrick",
        "Company": "Acme",
        "CustomerAccount": "A-100",
        "Email": "sean@example.com",
        "AltEmail": "alt@example.com",
        "Phone": "3035551234",
        "AltPhone": "3035550000",
        "MobilePhone": "7205551111",
        "Fax": "3035552222",
        "Website": "https://acme.example",
        "Notes": "Prefers mornings",
        "BillingAddress": BILLING,
        "ShippingAddress": SHIPPING,
    }
    values.update(changes)
    return PaySimpleCustomer.model_validate(values)


def test_catalog_lists_every_paysimple_field_with_its_allowed_targets() -> None:
    # Given the catalog, When read, Then it holds the DESIGN's fields and targets, names required
    assert {entry.paysimple_field: entry.qbo_fields for entry in field_catalog()} == {
        "FirstName": ("GivenName",),
        "LastName": ("FamilyName",),
        "MiddleName": ("MiddleName",),
        "Company": ("CompanyName",),
        "Email": ("PrimaryEmailAddr",),
        "Phone": ("PrimaryPhone",),
        "AltPhone": ("AlternatePhone",),
        "MobilePhone": ("Mobile",),
        "Fax": ("Fax",),
        "Website": ("WebAddr",),
        "Notes": ("Notes",),
        "BillingAddress": ("BillAddr",),
        "ShippingAddress": ("ShipAddr",),
        "CustomerAccount": ("Notes", "CompanyName"),
    }
    assert {name for name, entry in FIELD_CATALOG.items() if entry.required} == {"FirstName", "LastName"}


def test_default_mapping_enables_names_company_email_phone_and_billing_address_only() -> None:
    # Given no saved mapping, When the default is taken
    mapping = default_mapping()
    # Then it is version 0, valid, has a row for every catalog field and enables only the basics
    assert mapping.version == 0
    assert validate_mapping(mapping.rows) == []
    assert [row.paysimple_field for row in mapping.rows] == list(FIELD_CATALOG)
    assert {row.paysimple_field for row in mapping.rows if row.enabled} == {
        "FirstName",
        "LastName",
        "Company",
        "Email",
        "Phone",
        "BillingAddress",
    }


def row(paysimple_field: str, qbo_field: str, enabled: bool) -> MappingRow:
    return MappingRow(paysimple_field=paysimple_field, qbo_field=qbo_field, enabled=enabled)


VALIDATION_CASES = [
    # (what, rows, expected problems)
    ("default mapping", rows(), []),
    ("everything enabled, account into CompanyName", all_enabled(), []),
    ("only the two names", [row("FirstName", "GivenName", True), row("LastName", "FamilyName", True)], []),
    ("first name disabled", rows(("FirstName", "GivenName", False)),
     ["FirstName is required and must stay enabled"]),
    ("last name missing", [r for r in rows() if r.paysimple_field != "LastName"], ["LastName is required"]),
    ("target outside the catalog", rows(("Phone", "Mobile", True)),
     ["Phone cannot map to 'Mobile' (allowed: PrimaryPhone)"]),
    ("name into another field", rows(("FirstName", "FamilyName", True)),
     ["FirstName cannot map to 'FamilyName' (allowed: GivenName)",
      "QBO field FamilyName has more than one source: FirstName, LastName"]),
    ("two enabled sources for Notes", rows(("Notes", "Notes", True), ("CustomerAccount", "Notes", True)),
     ["QBO field Notes has more than one source: Notes, CustomerAccount"]),
    ("same target but one disabled is fine",
     rows(("Notes", "Notes", True), ("CustomerAccount", "Notes", False)), []),
    ("two enabled sources for CompanyName", rows(("CustomerAccount", "CompanyName", True)),
     ["QBO field CompanyName has more than one source: Company, CustomerAccount"]),
    ("unknown PaySimple field", [*rows(), row("CardNumber", "Notes", False)],
     ["unknown PaySimple field 'CardNumber'"]),
    ("AltEmail is not in the catalog", [*rows(), row("AltEmail", "Notes", True)],
     ["unknown PaySimple field 'AltEmail'"]),
    ("duplicate row", [*rows(), row("Phone", "PrimaryPhone", False)],
     ["PaySimple field 'Phone' appears more than once"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("what", "mapping_rows", "problems"), VALIDATION_CASES, ids=[c[0] for c in VALIDATION_CASES]
)
def test_mapping_rules(what: str, mapping_rows: list[MappingRow], problems: list[str]) -> None:
    # Given mapping rows a merchant wants to save
    # When they are validated
    # Then every broken rule is named, and a valid mapping has none
    assert validate_mapping(mapping_rows) == problems


def test_an_invalid_mapping_raises_with_all_its_reasons() -> None:
    # Given a mapping breaking two rules
    bad = rows(("FirstName", "GivenName", False), ("Phone", "Fax", True))
    # When it is required to be valid
    with pytest.raises(InvalidMapping) as raised:
        require_valid_mapping(bad)
    # Then both reasons are carried
    assert raised.value.reasons == (
        "FirstName is required and must stay enabled",
        "Phone cannot map to 'Fax' (allowed: PrimaryPhone)",
    )


def test_mapping_models_refuse_unknown_keys_and_naive_timestamps() -> None:
    # Given payloads an API client might send, When parsed, Then extra keys and naive datetimes are refused
    with pytest.raises(ValidationError):
        MappingRow.model_validate(
            {"paysimple_field": "Phone", "qbo_field": "PrimaryPhone", "enabled": True, "x": 1}
        )
    with pytest.raises(ValidationError):
        FieldMapping(version=1, effective_at=datetime(2026, 1, 1), rows=())
    saved = FieldMapping(version=3, effective_at=datetime(2026, 1, 1, tzinfo=UTC), rows=tuple(rows()))
    assert saved.row_for("Email") == MappingRow(
        paysimple_field="Email", qbo_field="PrimaryEmailAddr", enabled=True
    )


def test_default_mapping_payload_holds_only_the_enabled_fields_in_qbo_shapes() -> None:
    # Given a full customer and the default mapping
    # When the payload is built
    built = build_qbo_payload(full_customer(), default_mapping())
    # Then names, company, email, phone and billing address are there, in QBO's shapes, nothing else
    assert built == BuiltPayload(
        fields={
            "GivenName": "Sean",
            "FamilyName": "O'Brien",
            "CompanyName": "Acme",
            "PrimaryEmailAddr": {"Address": "sean@example.com"},
            "PrimaryPhone": {"FreeFormNumber": "3035551234"},
            "BillAddr": {
                "Line1": "1 Main St",
                "Line2": "Suite 2",
                "City": "Denver",
                "CountrySubDivisionCode": "CO",
                "PostalCode": "80202",
                "Country": "US",
            },
        }
    )


def test_every_catalog_field_lands_in_its_qbo_field() -> None:
    # Given every field enabled (account number into CompanyName)
    # When the payload is built
    fields = build_qbo_payload(full_customer(), all_enabled()).fields
    # Then each PaySimple value is in its QBO field
    assert fields == {
        "GivenName": "Sean",
        "FamilyName": "O'Brien",
        "MiddleName": "Patrick",
        "CompanyName": "A-100",
        "PrimaryEmailAddr": {"Address": "sean@example.com"},
        "PrimaryPhone": {"FreeFormNumber": "3035551234"},
        "AlternatePhone": {"FreeFormNumber": "3035550000"},
        "Mobile": {"FreeFormNumber": "7205551111"},
        "Fax": {"FreeFormNumber": "3035552222"},
        "WebAddr": {"URI": "https://acme.example"},
        "Notes": "Prefers mornings",
        "BillAddr": {
            "Line1": "1 Main St",
            "Line2": "Suite 2",
            "City": "Denver",
            "CountrySubDivisionCode": "CO",
            "PostalCode": "80202",
            "Country": "US",
        },
        "ShipAddr": {
            "Line1": "9 Dock Rd",
            "Line2": "",
            "City": "Boulder",
            "CountrySubDivisionCode": "CO",
            "PostalCode": "80301",
            "Country": "US",
        },
    }


def test_customer_account_can_go_to_notes_when_notes_is_off() -> None:
    # Given CustomerAccount mapped into Notes
    mapping = rows(("CustomerAccount", "Notes", True))
    # When built, Then the merchant's reference is in Notes
    assert build_qbo_payload(full_customer(), mapping).fields["Notes"] == "A-100"


def test_names_are_always_sent_qbo_safe() -> None:
    # Given names with a colon, tab, newline and a curly apostrophe, and a mapping with only the names
    customer = full_customer(FirstName=" Mary:Ann\t", LastName="O\u2019Brien\nJr")
    names_only = [r for r in rows() if r.paysimple_field in ("FirstName", "LastName")]
    # When built
    # Then only the names are sent, cleaned the way QBO accepts them
    assert build_qbo_payload(customer, names_only).fields == {
        "GivenName": "Mary Ann",
        "FamilyName": "O'Brien Jr",
    }


def test_shipping_same_as_billing_sends_the_billing_address_as_ship_addr() -> None:
    # Given a customer whose shipping is "same as billing" (and a stale shipping address on record)
    customer = full_customer(ShippingSameAsBilling=True)
    # When built with ShippingAddress enabled
    fields = build_qbo_payload(customer, rows(("ShippingAddress", "ShipAddr", True))).fields
    # Then ShipAddr is the billing address
    assert fields["ShipAddr"] == fields["BillAddr"]


TRUNCATIONS = [
    # (what, customer change, mapping overrides, QBO field path, original length, limit)
    ("first name", {"FirstName": "A" * 150}, (), "GivenName", 150, 100),
    ("last name", {"LastName": "B" * 101}, (), "FamilyName", 101, 100),
    ("company", {"Company": "C" * 120}, (), "CompanyName", 120, 100),
    ("notes", {"Notes": "n" * 2048}, (("Notes", "Notes", True),), "Notes", 2048, 2000),
    ("phone", {"Phone": "1" * 25}, (), "PrimaryPhone", 25, 21),
    ("website", {"Website": "w" * 1001}, (("Website", "WebAddr", True),), "WebAddr", 1001, 1000),
    ("address line", {"BillingAddress": PaySimpleAddress(StreetAddress1="L" * 600)}, (),
     "BillAddr.Line1", 600, 500),
    ("city", {"BillingAddress": PaySimpleAddress(City="c" * 300)}, (), "BillAddr.City", 300, 255),
    ("postal code", {"BillingAddress": PaySimpleAddress(ZipCode="9" * 31)}, (),
     "BillAddr.PostalCode", 31, 30),
    ("shipping line", {"ShippingAddress": PaySimpleAddress(StreetAddress2="S" * 501)},
     (("ShippingAddress", "ShipAddr", True),), "ShipAddr.Line2", 501, 500),
]  # fmt: skip


@pytest.mark.parametrize(
    ("what", "change", "overrides", "field", "original_length", "limit"),
    TRUNCATIONS,
    ids=[t[0] for t in TRUNCATIONS],
)
def test_values_are_cut_to_qbo_limits_and_every_cut_is_reported(
    what: str,
    change: dict[str, object],
    overrides: tuple[tuple[str, str, bool], ...],
    field: str,
    original_length: int,
    limit: int,
) -> None:
    # Given a value longer than QBO allows for its field
    customer = full_customer(**change)
    # When the payload is built
    built = build_qbo_payload(customer, rows(*overrides))
    # Then the value is cut to the limit and the cut is reported, never silent
    assert built.truncations == (Truncation(field=field, original_length=original_length, limit=limit),)
    top, _, part = field.partition(".")
    value = built.fields[top]
    if isinstance(value, dict):
        value = value[part] if part else next(iter(value.values()))
    assert len(value) == limit


@pytest.mark.parametrize(
    ("email", "reason"),
    [
        ("not-an-email", "not an email address QBO accepts"),
        ("ann@localhost", "not an email address QBO accepts"),
        ("ann lee@x.com", "not an email address QBO accepts"),
        ("@example.com", "not an email address QBO accepts"),
        ("a" * 95 + "@x.com", "longer than 100 characters"),
    ],
)
def test_an_email_qbo_would_reject_is_left_out_and_noted(email: str, reason: str) -> None:
    # Given an email QBO refuses (which would fail the whole update)
    # When the payload is built
    built = build_qbo_payload(full_customer(Email=email), default_mapping())
    # Then the email is not sent, the reason is noted, and the rest still goes
    assert "PrimaryEmailAddr" not in built.fields
    assert built.skipped_invalid == (SkippedValue("PrimaryEmailAddr", reason),)
    assert built.fields["GivenName"] == "Sean"


def test_cleared_paysimple_fields_become_clearing_values() -> None:
    # Given a customer with the optional fields empty or blank, and every field enabled
    customer = PaySimpleCustomer(Id=1, FirstName="Ann", LastName="Lee", Email="", Phone="  ", Notes=None)
    # When the payload is built
    fields = build_qbo_payload(customer, all_enabled()).fields
    # Then each enabled field carries an empty value that clears it in a sparse update
    assert fields == {
        "GivenName": "Ann",
        "FamilyName": "Lee",
        "MiddleName": "",
        "CompanyName": "",
        "PrimaryEmailAddr": {"Address": ""},
        "PrimaryPhone": {"FreeFormNumber": ""},
        "AlternatePhone": {"FreeFormNumber": ""},
        "Mobile": {"FreeFormNumber": ""},
        "Fax": {"FreeFormNumber": ""},
        "WebAddr": {"URI": ""},
        "Notes": "",
        "BillAddr": EMPTY_ADDRESS,
        "ShipAddr": EMPTY_ADDRESS,
    }
    # And a create leaves all of them out
    assert without_empty_values(fields) == {"GivenName": "Ann", "FamilyName": "Lee"}


def test_a_create_keeps_only_the_address_parts_that_have_a_value() -> None:
    # Given a billing address with only some parts
    customer = full_customer(BillingAddress=PaySimpleAddress(City="Denver", ZipCode="80202"))
    # When the create body is derived
    body = without_empty_values(build_qbo_payload(customer, default_mapping()).fields)
    # Then the empty parts are not sent
    assert body["BillAddr"] == {"City": "Denver", "PostalCode": "80202"}


def test_a_payload_built_from_a_scrubbed_customer_carries_no_payment_data() -> None:
    # Given a customer with card and bank numbers pasted into fields that are mapped
    card = "4111 1111 1111 1111"
    customer = full_customer(
        Company=f"Acme {card}",
        Notes=f"card {card}, routing 021000021 acct 000123456789",
        BillingAddress=PaySimpleAddress(StreetAddress1=f"1 Main {card}", City="Denver"),
        CustomerAccount="4012888888881881",
    )
    scrubbed, redactions = scrub_customer(customer)
    # When the payload is built with every field enabled
    built = build_qbo_payload(scrubbed, all_enabled())
    # Then no number survives in anything we would send
    sent = json.dumps(built.fields)
    assert redactions == 6
    for number in (card, card.replace(" ", ""), "4012888888881881", "021000021", "000123456789"):
        assert number not in sent
    assert (
        built.fields["Notes"]
        == f"card {REDACTION_MARKER}, routing {REDACTION_MARKER} acct {REDACTION_MARKER}"
    )


def test_an_invalid_mapping_builds_no_payload() -> None:
    # Given a stored mapping that breaks the rules, When a payload is built, Then it is refused
    with pytest.raises(InvalidMapping):
        build_qbo_payload(full_customer(), rows(("LastName", "FamilyName", False)))
