"""What an update would change: against our last pushed snapshot, and against a fresh QBO read."""

from __future__ import annotations

from typing import Any

import pytest

from customer_sync.domain.diff import canonical_country, changed_fields_from_qbo, diff_payload
from customer_sync.models.history import FieldChange

ADDRESS = {
    "Line1": "1 Main St",
    "Line2": "",
    "City": "Denver",
    "CountrySubDivisionCode": "CO",
    "PostalCode": "80202",
    "Country": "US",
}
EMPTY_ADDRESS = dict.fromkeys(ADDRESS, "")

PAYLOAD: dict[str, Any] = {
    "GivenName": "Ann",
    "FamilyName": "Lee",
    "PrimaryEmailAddr": {"Address": "ann@a.com"},
    "PrimaryPhone": {"FreeFormNumber": "3035551234"},
    "BillAddr": ADDRESS,
}


def change(before: object, after: object) -> FieldChange:
    return FieldChange(before=before, after=after)


def with_changes(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**base, **changes}


DIFF_CASES = [
    # (what, previous snapshot, payload, expected changed fields)
    ("identical to the snapshot: nothing to send", PAYLOAD, PAYLOAD, {}),
    ("one name changed", PAYLOAD, with_changes(PAYLOAD, FamilyName="Lee-Smith"),
     {"FamilyName": change("Lee", "Lee-Smith")}),
    ("email changed", PAYLOAD, with_changes(PAYLOAD, PrimaryEmailAddr={"Address": "ann@b.com"}),
     {"PrimaryEmailAddr": change({"Address": "ann@a.com"}, {"Address": "ann@b.com"})}),
    ("address line changed", PAYLOAD, with_changes(PAYLOAD, BillAddr={**ADDRESS, "Line1": "2 Main St"}),
     {"BillAddr": change(ADDRESS, {**ADDRESS, "Line1": "2 Main St"})}),
    ("country US vs USA is the same country",
     with_changes(PAYLOAD, BillAddr={**ADDRESS, "Country": "USA"}), PAYLOAD, {}),
    ("country changed for real", PAYLOAD, with_changes(PAYLOAD, BillAddr={**ADDRESS, "Country": "CA"}),
     {"BillAddr": change(ADDRESS, {**ADDRESS, "Country": "CA"})}),
    ("QBO's Id/Lat/Long in the snapshot are ignored",
     with_changes(PAYLOAD, BillAddr={**ADDRESS, "Id": "77", "Lat": "39.7", "Long": "-104.9"}), PAYLOAD, {}),
    ("field cleared in PaySimple after we pushed a value", PAYLOAD,
     with_changes(PAYLOAD, PrimaryPhone={"FreeFormNumber": ""}),
     {"PrimaryPhone": change({"FreeFormNumber": "3035551234"}, {"FreeFormNumber": ""})}),
    ("address cleared after we pushed one", PAYLOAD, with_changes(PAYLOAD, BillAddr=EMPTY_ADDRESS),
     {"BillAddr": change(ADDRESS, EMPTY_ADDRESS)}),
    ("newly enabled field, empty in PaySimple: nothing of ours to clear", PAYLOAD,
     with_changes(PAYLOAD, Notes="", ShipAddr=EMPTY_ADDRESS), {}),
    ("newly enabled field with a value", PAYLOAD, with_changes(PAYLOAD, Notes="VIP"),
     {"Notes": change(None, "VIP")}),
    ("field disabled since the last push is not compared", with_changes(PAYLOAD, Notes="old"), PAYLOAD, {}),
    ("no snapshot yet: every value counts, empties do not",
     None, with_changes(PAYLOAD, CompanyName="", PrimaryPhone={"FreeFormNumber": ""}),
     {"GivenName": change(None, "Ann"), "FamilyName": change(None, "Lee"),
      "PrimaryEmailAddr": change(None, {"Address": "ann@a.com"}),
      "BillAddr": change(None, ADDRESS)}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("what", "snapshot", "payload", "expected"), DIFF_CASES, ids=[c[0] for c in DIFF_CASES]
)
def test_diff_against_the_last_pushed_snapshot(
    what: str, snapshot: dict[str, Any] | None, payload: dict[str, Any], expected: dict[str, FieldChange]
) -> None:
    # Given the snapshot we pushed last time and the payload built now
    # When they are compared
    # Then exactly the listed fields changed, shown before → after in the payload's shape
    assert diff_payload(snapshot, payload) == expected


QBO_READ: dict[str, Any] = {
    "Id": "67",
    "SyncToken": "5",
    "DisplayName": "Ann Lee",
    "GivenName": "Ann",
    "FamilyName": "Lee",
    "PrimaryEmailAddr": {"Address": "ann@a.com"},
    "BillAddr": {**ADDRESS, "Id": "12", "Country": "USA", "Lat": "39.7", "Long": "-104.9"},
    "Balance": 0,
    "MetaData": {"CreateTime": "2026-01-01T10:00:00-07:00"},
}


def test_after_a_stale_object_error_only_fields_still_different_in_qbo_are_sent() -> None:
    # Given a fresh read after 5010, where someone else already set the new family name
    fresh = with_changes(QBO_READ, FamilyName="Lee-Smith")
    intended = {"FamilyName": "Lee-Smith", "PrimaryEmailAddr": {"Address": "ann@b.com"}}
    # When the intended changes are re-diffed against QBO
    changes = changed_fields_from_qbo(fresh, intended)
    # Then only the email is still to be sent
    assert changes == {"PrimaryEmailAddr": change({"Address": "ann@a.com"}, {"Address": "ann@b.com"})}


def test_qbo_extras_and_country_normalization_are_not_changes_against_a_qbo_read() -> None:
    # Given QBO's read with Id/Lat/Long and "USA" in the address, and our payload
    # When compared
    # Then nothing differs
    assert changed_fields_from_qbo(QBO_READ, {"BillAddr": ADDRESS, "GivenName": "Ann"}) == {}


def test_a_clear_is_a_change_against_qbo_and_a_missing_field_equals_an_empty_one() -> None:
    # Given a QBO customer with a phone but no notes
    fresh = with_changes(QBO_READ, PrimaryPhone={"FreeFormNumber": "3035551234"})
    # When we intend to clear the phone and the notes
    changes = changed_fields_from_qbo(fresh, {"PrimaryPhone": {"FreeFormNumber": ""}, "Notes": ""})
    # Then the phone must still be cleared and the (absent) notes need nothing
    assert changes == {"PrimaryPhone": change({"FreeFormNumber": "3035551234"}, {"FreeFormNumber": ""})}


def test_before_is_shown_without_qbo_only_address_parts() -> None:
    # Given QBO's address with extras and a new first line
    new_address = {**ADDRESS, "Line1": "2 Main St"}
    # When diffed
    change = changed_fields_from_qbo(QBO_READ, {"BillAddr": new_address})["BillAddr"]
    # Then "before" has only the parts we send
    assert change.before == {**ADDRESS, "Country": "USA"}
    assert change.after == new_address


@pytest.mark.parametrize(
    ("country", "canonical"),
    [
        ("US", "US"),
        ("us", "US"),
        ("USA", "US"),
        ("U.S.A.", "US"),
        ("United States", "US"),
        ("united  states of america", "US"),
        ("CAN", "CA"),
        ("GBR", "GB"),
        ("Narnia", "NARNIA"),
        (None, ""),
    ],
)
def test_country_spellings_are_compared_through_iso_alpha_2(country: str | None, canonical: str) -> None:
    # Given a country as PaySimple or QBO writes it, When canonicalised, Then equal countries compare equal
    assert canonical_country(country) == canonical
