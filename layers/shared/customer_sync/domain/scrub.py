"""Find card and bank numbers in free text and replace them with a plain marker.

Merchants paste card and account numbers into Notes and other free text. Nothing that looks like one may be
stored, logged, queued or sent to QBO, so detection errs towards redacting:

- card numbers: 13-19 digits passing the Luhn check, written plain or in groups split by whitespace (spaces,
  tabs, line breaks, no-break spaces, of any length), colons or a dash;
- ABA routing numbers: 9 contiguous digits with a valid ABA prefix and checksum;
- account numbers: any run of 6 or more digits (groups allowed) on the same line as, and close to, a bank
  word such as "acct", "routing", "IBAN", "bank", "checking", "savings";
- IBANs: country code, check digits and 11-30 characters that pass the mod-97 check (or follow the word
  "IBAN").

A phone number right next to a bank word ("bank phone 303 555 1234") is redacted too: it is indistinguishable
from a 10-digit account number. Ordinary phone numbers, zip codes and short numbers elsewhere are kept.
A ZipCode field is never checked for routing/account numbers: a 9-digit ZIP+4 is not a bank number there.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

if TYPE_CHECKING:
    # Types only: every function's logging uses this module, and only the sync builds PaySimple customers.
    from customer_sync.models.paysimple import PaySimpleCustomer

REDACTION_MARKER = "[redacted]"

CARD_MIN_DIGITS = 13
CARD_MAX_DIGITS = 19
ACCOUNT_MIN_DIGITS = 6
ROUTING_DIGITS = 9

# Digit groups joined by a gap (whitespace of any kind and length, or colons: tabs and line breaks come with
# numbers copied from spreadsheets and forms, and the name normalization turns tabs, line breaks and ':'
# into single spaces), or by one dash with optional gaps around it ("4111 - 1111"). Unicode digits count
# too (`\d`), so full-width card numbers are caught as well.
_DASH = "-\u2010\u2011\u2012\u2013\u2014\u2212"
_GAP = r"[\s:]"
_SEPARATOR = rf"(?:{_GAP}*[{_DASH}]{_GAP}*|{_GAP}+)"
_DIGIT_RUN = re.compile(rf"(?<!\d)\d+(?:{_SEPARATOR}\d+)*(?!\d)")
_DIGIT_GROUP = re.compile(r"\d+")
_CARD_MIN_FIRST_GROUP = 4
_CARD_MIN_GROUP = 3

_BANK_WORD = re.compile(
    r"\b(?:acct|accts|acc|account|accounts|a/c|routing|rtn|aba|iban|bank|banking|checking|chequing|"
    r"savings|ach)\b",
    re.IGNORECASE,
)
_IBAN_WORD = re.compile(r"\biban\b", re.IGNORECASE)
# How far (characters, same line) a number may sit from the bank word that marks it as an account number.
_BANK_WORD_BEFORE_WINDOW = 40
_BANK_WORD_AFTER_WINDOW = 20

# IBAN as printed: uppercase country code, 2 check digits, then groups of 4 with optional single spaces.
_IBAN_SHAPE = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b")
IBAN_MIN_LENGTH = 15
IBAN_MAX_LENGTH = 34

# First two digits of a valid ABA routing number: Federal Reserve districts, thrifts, electronic, travellers.
_ABA_PREFIXES = frozenset([*range(0, 13), *range(21, 33), *range(61, 73), 80])


@dataclass(frozen=True)
class ScrubResult:
    text: str
    redactions: int


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def aba_routing_valid(digits: str) -> bool:
    if len(digits) != ROUTING_DIGITS or int(digits[:2]) not in _ABA_PREFIXES:
        return False
    d = [int(char) for char in digits]
    checksum = 3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + (d[2] + d[5] + d[8])
    return checksum % 10 == 0


def iban_checksum_valid(iban: str) -> bool:
    compact = iban.replace(" ", "").upper()
    if not IBAN_MIN_LENGTH <= len(compact) <= IBAN_MAX_LENGTH:
        return False
    rearranged = compact[4:] + compact[:4]
    # Letters count as 10..35; int(char, 36) does exactly that for 0-9 and A-Z.
    numeric = "".join(str(int(char, 36)) for char in rearranged)
    return int(numeric) % 97 == 1


Span = tuple[int, int]


def _groups(run: re.Match[str]) -> list[Span]:
    """Absolute spans of the digit groups inside one digit run."""
    return [(run.start() + g.start(), run.start() + g.end()) for g in _DIGIT_GROUP.finditer(run.group())]


def _card_spans(text: str, run: re.Match[str]) -> Iterator[Span]:
    """Leftmost-longest group-aligned stretches of a run that form a Luhn-valid 13-19 digit number.

    Searching inside the run keeps a phone number written just before a card number out of the redaction.
    Printed cards are grouped 4-4-4-4(-3), 4-6-5 or 4-6-4, so a stretch starts with a group of 4+ digits and
    has no group under 3 digits: "303 555 1234 80202" (a phone and a zip) is never read as a card.
    """
    groups = _groups(run)
    start_index = 0
    while start_index < len(groups):
        found_end_index = None
        digit_count = 0
        candidates: list[int] = []
        for end_index in range(start_index, len(groups)):
            group_length = groups[end_index][1] - groups[end_index][0]
            if group_length < _CARD_MIN_GROUP or (
                end_index == start_index and group_length < _CARD_MIN_FIRST_GROUP
            ):
                break
            digit_count += group_length
            if digit_count > CARD_MAX_DIGITS:
                break
            if digit_count >= CARD_MIN_DIGITS:
                candidates.append(end_index)
        for end_index in reversed(candidates):
            span_digits = "".join(text[s:e] for s, e in groups[start_index : end_index + 1])
            if luhn_valid(span_digits):
                found_end_index = end_index
                break
        if found_end_index is None:
            start_index += 1
            continue
        yield groups[start_index][0], groups[found_end_index][1]
        start_index = found_end_index + 1


def _routing_spans(text: str, run: re.Match[str]) -> Iterator[Span]:
    for start, end in _groups(run):
        if end - start == ROUTING_DIGITS and aba_routing_valid(text[start:end]):
            yield start, end


def _near_bank_word(text: str, start: int, end: int, word: re.Pattern[str] = _BANK_WORD) -> bool:
    line_start = text.rfind("\n", 0, start) + 1
    line_end_at = text.find("\n", end)
    line_end = len(text) if line_end_at == -1 else line_end_at
    before = text[max(line_start, start - _BANK_WORD_BEFORE_WINDOW) : start]
    after = text[end : min(line_end, end + _BANK_WORD_AFTER_WINDOW)]
    return word.search(before) is not None or word.search(after) is not None


def _account_spans(text: str, run: re.Match[str]) -> Iterator[Span]:
    digit_count = sum(char.isdigit() for char in run.group())
    if digit_count >= ACCOUNT_MIN_DIGITS and _near_bank_word(text, run.start(), run.end()):
        yield run.start(), run.end()


def _iban_spans(text: str) -> Iterator[Span]:
    for match in _IBAN_SHAPE.finditer(text):
        length = len(match.group().replace(" ", ""))
        if not IBAN_MIN_LENGTH <= length <= IBAN_MAX_LENGTH:
            continue
        if iban_checksum_valid(match.group()) or _near_bank_word(
            text, match.start(), match.end(), _IBAN_WORD
        ):
            yield match.start(), match.end()


def _merge(spans: list[Span]) -> list[Span]:
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _scrub(text: str, *, bank_numbers: bool) -> ScrubResult:
    spans: list[Span] = []
    for run in _DIGIT_RUN.finditer(text):
        spans.extend(_card_spans(text, run))
        if bank_numbers:
            spans.extend(_routing_spans(text, run))
            spans.extend(_account_spans(text, run))
    spans.extend(_iban_spans(text))
    if not spans:
        return ScrubResult(text, 0)
    merged = _merge(spans)
    pieces: list[str] = []
    cursor = 0
    for start, end in merged:
        pieces.append(text[cursor:start])
        pieces.append(REDACTION_MARKER)
        cursor = end
    pieces.append(text[cursor:])
    return ScrubResult("".join(pieces), len(merged))


def scrub_payment_data(text: str) -> ScrubResult:
    """Replace every card, routing, account number and IBAN in free text with REDACTION_MARKER."""
    return _scrub(text, bank_numbers=True)


def scrub_postal_code(text: str) -> ScrubResult:
    """Cards and IBANs only: a 9-digit ZIP+4 must survive even when it passes the ABA checksum."""
    return _scrub(text, bank_numbers=False)


def redact_for_log(value: str) -> str:
    """The text a log line may carry: same detection as the customer scrub."""
    return scrub_payment_data(value).text


_POSTAL_CODE_FIELDS = frozenset({"ZipCode"})
_Model = TypeVar("_Model", bound=BaseModel)


def _scrub_model(model: _Model) -> tuple[_Model, int]:
    """Scrub every string field (and nested model: a PaySimple address) of a frozen PaySimple model."""
    updates: dict[str, object] = {}
    redactions = 0
    for field_name in type(model).model_fields:
        value = getattr(model, field_name)
        if isinstance(value, str):
            scrubbed = (
                scrub_postal_code(value) if field_name in _POSTAL_CODE_FIELDS else scrub_payment_data(value)
            )
            if scrubbed.redactions:
                updates[field_name] = scrubbed.text
                redactions += scrubbed.redactions
        elif isinstance(value, BaseModel):
            address, address_redactions = _scrub_model(value)
            if address_redactions:
                updates[field_name] = address
                redactions += address_redactions
    if not updates:
        return model, 0
    return model.model_copy(update=updates), redactions


def scrub_customer(customer: PaySimpleCustomer) -> tuple[PaySimpleCustomer, int]:
    """A copy of the customer with payment data removed from every string field, and how many were cut."""
    return _scrub_model(customer)


# QBO keys whose values are identifiers and versions, never free text: a long numeric id must never become
# a marker, or the record could no longer be addressed.
_QBO_IDENTITY_KEYS = frozenset({"Id", "SyncToken", "bId", "value"})
_QBO_POSTAL_CODE_KEYS = frozenset({"PostalCode"})


def scrub_qbo_json(value: Any, *, key: str | None = None) -> Any:
    """A copy of a QBO answer (or any part of it) with card and bank numbers cut from every free-text string.

    Whatever QBO holds may have been typed there by hand. Ids, SyncTokens and reference values are kept as
    they are; a PostalCode is checked as a postal code (a ZIP+4 is no routing number)."""
    if isinstance(value, str):
        if key in _QBO_IDENTITY_KEYS:
            return value
        return (scrub_postal_code(value) if key in _QBO_POSTAL_CODE_KEYS else scrub_payment_data(value)).text
    if isinstance(value, Mapping):
        return {str(name): scrub_qbo_json(inner, key=str(name)) for name, inner in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_qbo_json(inner, key=key) for inner in value]
    return value
