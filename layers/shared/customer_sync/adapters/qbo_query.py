"""Building QBO query conditions safely (reference/qbo-api.md, "Query").

Inside a quoted value QBO escapes `'` as `\\'` and `\\` as `\\\\`; a bad escape is a 4000 parse error,
and a curly apostrophe has broken queries, so typographic quotes are straightened first (the same way
names are normalised before we write them). The escaping itself is domain/matching.py's.
"""

from __future__ import annotations

from collections.abc import Iterable

from customer_sync.domain.matching import escape_query_value

__all__ = [
    "FILTERABLE_CUSTOMER_FIELDS",
    "INCLUDE_INACTIVE",
    "all_of",
    "customer_equals",
    "equals",
    "escape_query_value",
    "is_in",
    "like",
    "quoted",
]

# The Customer fields QBO can filter on (phones, addresses, notes, Title and Suffix cannot be).
FILTERABLE_CUSTOMER_FIELDS = frozenset(
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
)

INCLUDE_INACTIVE = "Active IN (true, false)"


def quoted(value: str | bool | int) -> str:
    """A query literal: booleans and numbers bare, strings quoted and escaped."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return f"'{escape_query_value(value)}'"


def _checked_field(field: str) -> str:
    if field not in FILTERABLE_CUSTOMER_FIELDS:
        raise ValueError(f"QBO cannot filter Customer by {field!r}")
    return field


def equals(field: str, value: str | bool | int) -> str:
    return f"{_checked_field(field)} = {quoted(value)}"


def is_in(field: str, values: Iterable[str | bool | int]) -> str:
    literals = [quoted(value) for value in values]
    if not literals:
        raise ValueError("an IN condition needs at least one value")
    return f"{_checked_field(field)} IN ({', '.join(literals)})"


def like(field: str, pattern: str) -> str:
    """`pattern` may use `%` as its wildcard (QBO's only one); it is escaped like any other value."""
    return f"{_checked_field(field)} LIKE {quoted(pattern)}"


def all_of(*conditions: str) -> str:
    """QBO has AND only (no OR): join the non-empty conditions."""
    return " AND ".join(condition for condition in conditions if condition)


def customer_equals(**values: str | bool | int) -> str:
    """`customer_equals(GivenName="Ann", FamilyName="O'Neil")`
    → `GivenName = 'Ann' AND FamilyName = 'O\\'Neil'`."""
    return all_of(*(equals(field, value) for field, value in values.items()))
