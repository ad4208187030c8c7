"""The subset of QBO's query language customer-sync may use, parsed as strictly as QBO parses it.

    SELECT * | COUNT(*) FROM Customer|Vendor|Employee
      [WHERE cond AND cond ...] [ORDERBY field [ASC|DESC], ...] [STARTPOSITION n] [MAXRESULTS m]

cond is `field op value` (op: = < > <= >=), `field IN (v, ...)` or `field LIKE 'a%'`. No OR, no
parentheses around conditions, no projections. Inside quotes only \\' and \\\\ are valid escapes. Any parse
problem is a 4000 fault.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from emulators.qbo import faults
from emulators.qbo.entities import EntitySpec, JsonObject, spec_for_query_entity
from emulators.qbo.timestamps import COMPANY_ZONE

DEFAULT_MAX_RESULTS = 100
MAX_RESULTS_LIMIT = 1000  # unconfirmed upper bound; larger asks are rejected so the client stays under it
_CURLY_QUOTES = "\u2018\u2019"  # the reference reports these break QBO queries
_SYMBOLS = ("<=", ">=", "=", "<", ">", "(", ")", ",", "*")
_WORD = re.compile(r"[A-Za-z0-9_.\-]+")


@dataclass(frozen=True)
class Token:
    kind: str  # "word", "string", "symbol"
    text: str

    def is_keyword(self, keyword: str) -> bool:
        return self.kind == "word" and self.text.upper() == keyword


@dataclass(frozen=True)
class Condition:
    field: str
    operator: str  # "=", "<", ">", "<=", ">=", "IN", "LIKE"
    values: tuple[Token, ...]


@dataclass(frozen=True)
class Ordering:
    field: str
    descending: bool


@dataclass
class Query:
    spec: EntitySpec
    count_only: bool
    conditions: list[Condition] = field(default_factory=list)
    orderings: list[Ordering] = field(default_factory=list)
    start_position: int = 1
    max_results: int = DEFAULT_MAX_RESULTS


def tokenize(statement: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(statement):
        char = statement[position]
        if char.isspace():
            position += 1
        elif char == "'":
            text, position = _read_string(statement, position + 1)
            tokens.append(Token("string", text))
        elif char in _CURLY_QUOTES:
            raise faults.query_parse_error(f"Encountered invalid character at position {position}")
        else:
            symbol = next((s for s in _SYMBOLS if statement.startswith(s, position)), None)
            if symbol is not None:
                tokens.append(Token("symbol", symbol))
                position += len(symbol)
                continue
            match = _WORD.match(statement, position)
            if match is None:
                raise faults.query_parse_error(f"Encountered invalid character at position {position}")
            tokens.append(Token("word", match.group()))
            position = match.end()
    return tokens


def _read_string(statement: str, position: int) -> tuple[str, int]:
    chars: list[str] = []
    while position < len(statement):
        char = statement[position]
        if char == "'":
            return "".join(chars), position + 1
        if char in _CURLY_QUOTES:
            raise faults.query_parse_error(f"Encountered invalid character at position {position}")
        if char == "\\":
            escaped = statement[position + 1 : position + 2]
            if escaped not in ("'", "\\"):
                raise faults.query_parse_error(f"Invalid escape sequence at position {position}")
            chars.append(escaped)
            position += 2
            continue
        chars.append(char)
        position += 1
    raise faults.query_parse_error("Unterminated string literal")


class _Parser:
    def __init__(
        self,
        tokens: list[Token],
        accept_email_address_subfield: bool,
        max_results_limit: int = MAX_RESULTS_LIMIT,
        cap_max_results: bool = False,
    ) -> None:
        self._tokens = tokens
        self._index = 0
        self._accept_email_address_subfield = accept_email_address_subfield
        self._max_results_limit = max_results_limit
        self._cap_max_results = cap_max_results

    def parse(self) -> Query:
        self._expect_keyword("SELECT")
        count_only = self._select_list()
        self._expect_keyword("FROM")
        entity = self._next("entity name")
        spec = spec_for_query_entity(entity.text) if entity.kind == "word" else None
        if spec is None:
            raise faults.query_parse_error(f"Unsupported entity: {entity.text}")
        query = Query(spec=spec, count_only=count_only)
        if self._accept_keyword("WHERE"):
            query.conditions.append(self._condition(spec))
            while self._accept_keyword("AND"):
                query.conditions.append(self._condition(spec))
        if self._accept_keyword("ORDERBY") or (self._accept_keyword("ORDER") and self._expect_keyword("BY")):
            query.orderings.append(self._ordering(spec))
            while self._accept_symbol(","):
                query.orderings.append(self._ordering(spec))
        self._paging(query)
        if self._index < len(self._tokens):
            raise faults.query_parse_error(f"Unexpected token: {self._tokens[self._index].text}")
        return query

    def _select_list(self) -> bool:
        if self._accept_symbol("*"):
            return False
        if self._accept_keyword("COUNT"):
            for symbol in ("(", "*", ")"):
                self._expect_symbol(symbol)
            return True
        raise faults.query_parse_error("Only SELECT * and SELECT COUNT(*) are supported")

    def _condition(self, spec: EntitySpec) -> Condition:
        name = self._field(spec)
        token = self._next("operator")
        if token.kind == "symbol" and token.text in ("=", "<", ">", "<=", ">="):
            return Condition(name, token.text, (self._value(),))
        if token.is_keyword("IN"):
            self._expect_symbol("(")
            values = [self._value()]
            while self._accept_symbol(","):
                values.append(self._value())
            self._expect_symbol(")")
            return Condition(name, "IN", tuple(values))
        if token.is_keyword("LIKE"):
            value = self._next("pattern")
            if value.kind != "string":
                raise faults.query_parse_error("LIKE needs a quoted pattern")
            return Condition(name, "LIKE", (value,))
        raise faults.query_parse_error(f"Unsupported operator: {token.text}")

    def _ordering(self, spec: EntitySpec) -> Ordering:
        name = self._field(spec)
        if self._accept_keyword("DESC"):
            return Ordering(name, True)
        self._accept_keyword("ASC")
        return Ordering(name, False)

    def _paging(self, query: Query) -> None:
        seen: set[str] = set()
        while self._index < len(self._tokens):
            keyword = self._tokens[self._index].text.upper()
            if keyword not in ("STARTPOSITION", "MAXRESULTS") or keyword in seen:
                return
            seen.add(keyword)
            self._index += 1
            number = self._integer()
            if keyword == "STARTPOSITION":
                if number < 1:
                    raise faults.query_parse_error("STARTPOSITION must be 1 or more")
                query.start_position = number
            else:
                limit = self._max_results_limit
                if number > limit and self._cap_max_results:
                    number = limit  # the other possible outcome: QBO quietly returns fewer than asked
                if not 1 <= number <= limit:
                    raise faults.query_parse_error(f"MAXRESULTS must be between 1 and {limit}")
                query.max_results = number

    def _field(self, spec: EntitySpec) -> str:
        token = self._next("field name")
        canonical = {name.lower(): name for name in spec.filterable}
        name = canonical.get(token.text.lower()) if token.kind == "word" else None
        if (
            name is None
            and self._accept_email_address_subfield
            and token.text.lower() == "primaryemailaddr.address"
            and "PrimaryEmailAddr" in spec.filterable
        ):
            name = "PrimaryEmailAddr"
        if name is None:
            raise faults.query_parse_error(
                f"Property {token.text} not found or not queryable for {spec.name}"
            )
        return name

    def _value(self) -> Token:
        token = self._next("value")
        if token.kind == "symbol":
            raise faults.query_parse_error(f"Unexpected token: {token.text}")
        if token.kind == "word" and token.text.upper() in ("AND", "OR"):
            raise faults.query_parse_error(f"Unexpected token: {token.text}")
        return token

    def _integer(self) -> int:
        token = self._next("number")
        if token.kind != "word" or not token.text.isdigit():
            raise faults.query_parse_error(f"Expected a number, found {token.text}")
        return int(token.text)

    def _next(self, what: str) -> Token:
        if self._index >= len(self._tokens):
            raise faults.query_parse_error(f"Unexpected end of query, expected {what}")
        token = self._tokens[self._index]
        self._index += 1
        return token

    def _accept_keyword(self, keyword: str) -> bool:
        if self._index < len(self._tokens) and self._tokens[self._index].is_keyword(keyword):
            self._index += 1
            return True
        return False

    def _expect_keyword(self, keyword: str) -> bool:
        if not self._accept_keyword(keyword):
            found = self._tokens[self._index].text if self._index < len(self._tokens) else "end of query"
            raise faults.query_parse_error(f"Expected {keyword}, found {found}")
        return True

    def _accept_symbol(self, symbol: str) -> bool:
        if self._index < len(self._tokens):
            token = self._tokens[self._index]
            if token.kind == "symbol" and token.text == symbol:
                self._index += 1
                return True
        return False

    def _expect_symbol(self, symbol: str) -> None:
        if not self._accept_symbol(symbol):
            raise faults.query_parse_error(f"Expected {symbol}")


def parse(
    statement: str,
    *,
    accept_email_address_subfield: bool = False,
    max_results_limit: int = MAX_RESULTS_LIMIT,
    cap_max_results: bool = False,
) -> Query:
    """Parse a statement or raise the 4000 fault QBO would answer.

    Whether QBO refuses a MAXRESULTS above its limit or quietly cuts it (and where the limit is) is
    unconfirmed: `cap_max_results` and `max_results_limit` choose the outcome.
    """
    parser = _Parser(tokenize(statement), accept_email_address_subfield, max_results_limit, cap_max_results)
    return parser.parse()


# --- evaluation ------------------------------------------------------------------------------------------

Comparable = Any  # str, Decimal, bool or datetime, by field


def _field_kind(name: str) -> str:
    if name in ("Id", "Balance"):
        return "number"
    if name == "Active":
        return "bool"
    if name.startswith("MetaData."):
        return "time"
    return "text"


def _entity_value(entity: JsonObject, name: str) -> Any:
    if name == "PrimaryEmailAddr":
        email = entity.get("PrimaryEmailAddr")
        return email.get("Address") if isinstance(email, dict) else None
    value: Any = entity
    for part in name.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _coerce(kind: str, raw: Any, case_sensitive: bool) -> Comparable:
    """Turn a stored or queried value into something comparable; None when it cannot be."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        text = "true" if raw else "false"
    else:
        text = raw if isinstance(raw, str) else str(raw)
    try:
        if kind == "number":
            return Decimal(text)
        if kind == "bool":
            return {"true": True, "false": False}[text.lower()]
        if kind == "time":
            moment = datetime.fromisoformat(text)
            return moment if moment.tzinfo else moment.replace(tzinfo=COMPANY_ZONE)
    except (InvalidOperation, KeyError, ValueError):
        return None
    return text if case_sensitive else text.casefold()


def _matcher(condition: Condition, case_sensitive: bool) -> Callable[[JsonObject], bool]:
    kind = _field_kind(condition.field)
    if condition.operator == "LIKE":
        if kind != "text":
            raise faults.query_parse_error(f"LIKE is not supported on {condition.field}")
        pattern = ".*".join(re.escape(piece) for piece in condition.values[0].text.split("%"))
        regex = re.compile(pattern, 0 if case_sensitive else re.IGNORECASE | re.DOTALL)
        return lambda entity: (
            isinstance(value := _entity_value(entity, condition.field), str) and bool(regex.fullmatch(value))
        )
    wanted = []
    for token in condition.values:
        if kind in ("text", "time") and token.kind != "string":
            raise faults.query_parse_error(f"{condition.field} values must be quoted")
        value = _coerce(kind, token.text, case_sensitive)
        if value is None:
            raise faults.query_parse_error(f"Invalid value {token.text} for {condition.field}")
        wanted.append(value)
    compare: dict[str, Callable[[Any, Any], bool]] = {
        "=": lambda a, b: a == b,
        "<": lambda a, b: a < b,
        ">": lambda a, b: a > b,
        "<=": lambda a, b: a <= b,
        ">=": lambda a, b: a >= b,
    }

    def matches(entity: JsonObject) -> bool:
        actual = _coerce(kind, _entity_value(entity, condition.field), case_sensitive)
        if actual is None:
            return False
        if condition.operator == "IN":
            return actual in wanted
        return compare[condition.operator](actual, wanted[0])

    return matches


def run(query: Query, entities: list[JsonObject], *, case_sensitive: bool) -> JsonObject:
    """The `QueryResponse` object for the query over one realm's entities of its type."""
    matchers = [_matcher(condition, case_sensitive) for condition in query.conditions]
    if not any(condition.field == "Active" for condition in query.conditions):
        matchers.append(lambda entity: entity.get("Active") is True)  # only active ones by default
    selected = [entity for entity in entities if all(match(entity) for match in matchers)]
    if query.count_only:
        return {"totalCount": len(selected)}
    selected.sort(key=lambda entity: int(entity["Id"]))
    for ordering in reversed(query.orderings):
        kind = _field_kind(ordering.field)
        present = [e for e in selected if _coerce(kind, _entity_value(e, ordering.field), False) is not None]
        absent = [e for e in selected if _coerce(kind, _entity_value(e, ordering.field), False) is None]
        present.sort(
            key=lambda e: _coerce(kind, _entity_value(e, ordering.field), False), reverse=ordering.descending
        )
        selected = present + absent
    page = selected[query.start_position - 1 : query.start_position - 1 + query.max_results]
    if not page:
        return {}
    return {query.spec.name: page, "startPosition": query.start_position, "maxResults": len(page)}
