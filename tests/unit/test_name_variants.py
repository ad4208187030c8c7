"""Which QBO customers are kept as name variants (domain/name_variants.py), read as a table: the ones a
person typed so that the sync's exact name query (`GivenName IN (..) AND FamilyName IN (..)`, case-
insensitive in QBO) cannot find them, and nothing that can never be a candidate."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from customer_sync.domain.name_variants import is_name_variant, variant_record, variants_named
from customer_sync.models.settings import NameVariants

SEAN = {"Id": "7", "GivenName": "Sean", "FamilyName": "O'Brien", "Active": True}

CASES: list[tuple[str, dict[str, Any], bool]] = [
    ("curly quote", {"FamilyName": "O\u2019Brien"}, True),
    ("straight quote", {}, False),
    ("trailing space", {"FamilyName": "O'Brien "}, True),
    ("leading space in the first name", {"GivenName": " Sean"}, True),
    ("double space inside a name", {"GivenName": "Mary  Ann"}, True),
    ("a tab typed into a name", {"GivenName": "Sean\t"}, True),
    (
        "case typed differently (QBO's query ignores case)",
        {"GivenName": "SEAN", "FamilyName": "o'brien"},
        False,
    ),
    ("no names at all", {"GivenName": None, "FamilyName": None}, False),
    ("a job", {"FamilyName": "O\u2019Brien", "Job": True, "ParentRef": {"value": "3"}}, False),
    ("a project", {"FamilyName": "O\u2019Brien", "IsProject": True, "ParentRef": {"value": "3"}}, False),
    ("a sub-customer with no Job flag", {"FamilyName": "O\u2019Brien", "ParentRef": {"value": "3"}}, False),
    ("inactive", {"FamilyName": "O\u2019Brien", "Active": False}, False),
]


@pytest.mark.parametrize(("what", "typed", "variant"), CASES, ids=[case[0] for case in CASES])
def test_which_customers_are_kept_as_name_variants(what: str, typed: dict[str, Any], variant: bool) -> None:
    assert is_name_variant({**SEAN, **typed}) is variant


def test_a_cdc_tombstone_is_no_variant() -> None:
    assert is_name_variant({"status": "Deleted", "Id": "7"}) is False


def test_variants_are_found_by_both_names_normalized_and_case_folded() -> None:
    curly = {**SEAN, "FamilyName": "O\u2019Brien"}
    spaced = {**SEAN, "Id": "8", "GivenName": "SEAN  "}
    other = {**SEAN, "Id": "9", "GivenName": "Shaun ", "FamilyName": "O\u2019Brien"}
    variants = NameVariants(
        realm_id="r1", customers=(curly, spaced, other), built_at=datetime(2026, 11, 25, tzinfo=UTC)
    )
    assert [c["Id"] for c in variants_named(variants, "Sean", "O'Brien")] == ["7", "8"]
    assert [c["Id"] for c in variants_named(variants, "sean", "o\u2019brien ")] == ["7", "8"]
    assert variants_named(variants, "Sean", "Brien") == []


def test_what_is_kept_of_a_variant_has_no_card_number_typed_into_its_notes() -> None:
    kept = variant_record(
        {**SEAN, "FamilyName": "O\u2019Brien", "Notes": "card 4111 1111 1111 1111", "Id": "7"}
    )
    assert "4111" not in kept["Notes"]
    assert (kept["Id"], kept["FamilyName"]) == ("7", "O\u2019Brien")
