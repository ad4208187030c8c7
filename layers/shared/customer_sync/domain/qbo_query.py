"""The QBO queries the domain needs, built safely (reference/qbo-api.md, "Query"). Pure text: the QBO
client (adapters/qbo_client.py) sends them.

Inside a quoted value QBO escapes `'` as `\\'` and `\\` as `\\\\`; a bad escape is a 4000 parse error,
and a curly apostrophe has broken queries, so typographic quotes are straightened first (the same way
names are normalized before we write them).

Finding a name as people typed it into QBO. QBO compares exactly (`=`, `IN`), and people type
"O\\u2019Brien" (curly), "Mary  Ann" (two spaces), "Smith " (trailing space) or "SMITH". Reading the
whole customer list per change would find them, but reads are metered. So a name is looked up by its
**stable fragment**: the longest run of letters and digits in it, which every such variant contains,
with `LIKE '%<fragment>%'` (QBO's only wildcard is `%`; the fragment holds no quote, so a curly quote in
QBO cannot break the query). What comes back is a superset, re-checked on our side by comparing both
names normalized (domain.matching): a handful of near-namesakes per query, never the books. Case: QBO's
LIKE is taken to compare case-insensitively like its `=` (unconfirmed; the emulator can be made
case-sensitive, and then an all-caps "SMITH" is not found for "Smith").
"""

from __future__ import annotations

import re
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


# A run of letters or digits (any script); everything else (spaces, quotes, hyphens, dots) separates runs.
_FRAGMENT = re.compile(r"[^\W_]+")


def name_fragment(name: str) -> str | None:
    """The longest run of letters and digits in the normalized name (the first of equally long ones), or
    None when it has none: "O\\u2019Brien" (curly) → "Brien", "Mary  Ann" → "Mary", " Lee " → "Lee"."""
    runs = _FRAGMENT.findall(normalize_name(name))
    return max(runs, key=len) if runs else None


def name_condition(field: str, name: str) -> str:
    """`field LIKE '%<fragment>%'`, or `field = '<name>'` for a name without letters or digits."""
    fragment = name_fragment(name)
    if fragment is None:
        return equals(field, normalize_name(name))
    return like(field, f"%{fragment}%")


def candidate_conditions(first: str, last: str) -> str:
    """The WHERE of the matching rules' name lookup (active customers by default)."""
    return all_of(name_condition("GivenName", first), name_condition("FamilyName", last))


def build_customer_query(first: str, last: str) -> str:
    """The name query of the matching rules: active customers whose first and last names contain the
    names' stable fragments (a superset of the namesakes; domain.matching keeps the real ones)."""
    return select_customers(candidate_conditions(first, last))


def build_display_name_query(display_name: str, include_inactive: bool = True) -> str:
    """Who holds a DisplayName, inactive customers included by default (the 6240 check)."""
    return select_customers(
        all_of(equals("DisplayName", display_name), INCLUDE_INACTIVE if include_inactive else "")
    )
