"""The QBO queries the domain needs, built safely (reference/qbo-api.md, "Query"). Pure text: the QBO
client (adapters/qbo_client.py) sends them.

Inside a quoted value QBO escapes `'` as `\\'` and `\\` as `\\\\`; a bad escape is a 4000 parse error,
and a curly apostrophe has broken queries, so typographic quotes are straightened first (the same way
names are normalized before we write them).
"""

from __future__ import annotations

from collections.abc import Iterable

from customer_sync.domain.names import normalize_name, straighten_quotes

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


def escape_query_value(value: str) -> str:
    """A value for a single-quoted QBO query literal: curly quotes straightened, then \\ and ' escaped."""
    straight = straighten_quotes(value)
    return straight.replace("\\", "\\\\").replace("'", "\\'")


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


def select_customers(where: str) -> str:
    """A Customer query. QBO returns only active customers unless `where` holds INCLUDE_INACTIVE."""
    # QBO's query language, not SQL: every value in `where` was escaped by the builders above.
    return f"SELECT * FROM Customer WHERE {where}"  # noqa: S608


def build_customer_query(first: str, last: str) -> str:
    """The name query of the matching rules: active customers with these first and last names."""
    return select_customers(customer_equals(GivenName=normalize_name(first), FamilyName=normalize_name(last)))


def build_display_name_query(display_name: str, include_inactive: bool = True) -> str:
    """Who holds a DisplayName, inactive customers included by default (the 6240 check)."""
    return select_customers(
        all_of(equals("DisplayName", display_name), INCLUDE_INACTIVE if include_inactive else "")
    )
