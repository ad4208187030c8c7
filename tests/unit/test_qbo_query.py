"""QBO query conditions are escaped the way QBO parses them (reference/qbo-api.md, "Query")."""

from __future__ import annotations

import pytest

from customer_sync.domain.qbo_query import customer_equals, escape_query_value, is_in, like, quoted


@pytest.mark.parametrize(
    ("value", "escaped"),
    [
        ("Ann", "Ann"),
        ("O'Brien", "O\\'Brien"),
        ("D\u2019Angelo", "D\\'Angelo"),  # curly apostrophe straightened, then escaped
        ("\u2018Quoted\u2019", "\\'Quoted\\'"),
        ("Back\\slash", "Back\\\\slash"),
        ("\\'", "\\\\\\'"),  # a backslash before a quote: both escaped, in that order
    ],
)
def test_values_are_escaped_for_a_quoted_qbo_literal(value, escaped):
    assert escape_query_value(value) == escaped


def test_conditions_are_joined_with_and_and_literals_typed():
    # Given names with quotes and a boolean
    # When a condition is built
    condition = customer_equals(GivenName="Ann", FamilyName="O'Neil", Active=True)

    # Then strings are quoted and escaped, booleans bare, and conditions joined by AND
    assert condition == "GivenName = 'Ann' AND FamilyName = 'O\\'Neil' AND Active = true"


def test_in_and_like_conditions():
    assert is_in("Active", [True, False]) == "Active IN (true, false)"
    assert like("DisplayName", "Ann%") == "DisplayName LIKE 'Ann%'"
    assert quoted(5) == "5"


def test_unfilterable_fields_are_refused():
    # Phones cannot be filtered in QBO: building such a query is a bug caught before any call
    with pytest.raises(ValueError, match="PrimaryPhone"):
        customer_equals(PrimaryPhone="555")
