"""Card and bank numbers planted where merchants paste them, and a finder that spots any of them again in
whatever the system stored, sent, queued, logged or answered.

Two sets, so a test can tell where a number came from:
- PAYSIMPLE_PLANTED go into PaySimple customers' free-text fields. They must never leave PaySimple: not into
  QBO, our tables, queues, secrets, logs or admin answers.
- QBO_PLANTED go into QBO customers (Notes, DisplayName, CompanyName, email) as a merchant may have typed
  them there. QBO holds them already, but our system must not copy them anywhere: not into our tables,
  logs or admin answers, and not back into a QBO request.

Each number is written the way people paste them: grouped by spaces, dashes, tabs, colons, double spaces
or no-break spaces, or plain. `leaked(text)` finds a number whatever separators (up to three characters of
whitespace, dashes, colons, or their JSON escapes) sit between its digits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from customer_sync.domain.scrub import aba_routing_valid, luhn_valid


@dataclass(frozen=True)
class PlantedNumber:
    label: str
    digits: str

    def written(self, separator: str, groups: tuple[int, ...]) -> str:
        """The number split into `groups` digit counts joined by `separator`."""
        parts: list[str] = []
        start = 0
        for size in groups:
            parts.append(self.digits[start : start + size])
            start += size
        if start != len(self.digits):
            raise ValueError(f"groups {groups} do not cover {self.label}")
        return separator.join(parts)


# -- PaySimple side ------------------------------------------------------------------------------------------

PS_VISA = PlantedNumber("PaySimple Visa", "4111111111111111")
PS_MASTERCARD = PlantedNumber("PaySimple Mastercard", "5500005555555559")
PS_AMEX = PlantedNumber("PaySimple Amex", "378282246310005")
PS_DISCOVER = PlantedNumber("PaySimple Discover", "6011111111111117")
PS_JCB = PlantedNumber("PaySimple JCB", "3530111333300000")
PS_VISA_2 = PlantedNumber("PaySimple Visa 4242", "4242424242424242")
PS_ROUTING = PlantedNumber("PaySimple routing number", "021000021")
PS_ACCOUNT = PlantedNumber("PaySimple account number", "123456789012")
PAYSIMPLE_PLANTED = (PS_VISA, PS_MASTERCARD, PS_AMEX, PS_DISCOVER, PS_JCB, PS_VISA_2, PS_ROUTING, PS_ACCOUNT)

FOUR_BY_FOUR = (4, 4, 4, 4)
AMEX_GROUPS = (4, 6, 5)
# The routing and account pair as the brief to merchants' staff puts it.
PS_BANK_PAIR = f"routing {PS_ROUTING.digits} account {PS_ACCOUNT.digits}"


def planted_paysimple_customer(first_name: str, last_name: str, **overrides: Any) -> dict[str, Any]:
    """A PaySimple customer (emulator save format) with planted numbers in every free-text field.

    Names stay as given (so the customer can be matched by name); pass `FirstName`/`LastName` overrides to
    plant there too. Phones are left plain: PaySimple only takes 10 digits there."""
    customer: dict[str, Any] = {
        "FirstName": first_name,
        "LastName": last_name,
        "MiddleName": PS_AMEX.written(" ", AMEX_GROUPS),
        "Company": f"Co {PS_MASTERCARD.written('-', FOUR_BY_FOUR)}",
        "CustomerAccount": f"acct {PS_ACCOUNT.digits}",
        "Email": f"{PS_VISA.digits}@example.com",
        "AltEmail": f"{PS_DISCOVER.digits}@example.com",
        "Phone": "3035550100",
        "AltPhone": "3035550101",
        "MobilePhone": "3035550102",
        "Fax": "3035550103",
        "Website": f"https://example.com/{PS_VISA.written('-', FOUR_BY_FOUR)}",
        "Notes": (
            f"Visa {PS_VISA_2.written('  ', FOUR_BY_FOUR)}\n"
            f"{PS_BANK_PAIR}\n"
            f"Amex {PS_AMEX.written(' ', AMEX_GROUPS)}, JCB {PS_JCB.written(':', FOUR_BY_FOUR)}"
        ),
        "BillingAddress": {
            "StreetAddress1": f"1 Main St {PS_DISCOVER.written(chr(0xA0), FOUR_BY_FOUR)}",
            "StreetAddress2": PS_BANK_PAIR,
            "City": f"Denver {PS_VISA.written(' ', FOUR_BY_FOUR)}",
            "StateCode": "CO",
            "ZipCode": "80202",
            "Country": "US",
        },
        "ShippingAddress": {
            "StreetAddress1": f"2 Side St {PS_JCB.written(chr(9), FOUR_BY_FOUR)}",
            "StreetAddress2": f"card {PS_MASTERCARD.digits}",
            "City": "Boulder",
            "StateCode": "CO",
            "ZipCode": "80301",
            "Country": "US",
        },
    }
    return {**customer, **overrides}


def planted_in_names(first_name: str, last_name: str) -> dict[str, str]:
    """Names with a card number in each, grouped by a tab and by colons (QBO name fields forbid both, so the
    name normalization turns them into spaces)."""
    return {
        "FirstName": f"{first_name}\t{PS_VISA.written(chr(9), FOUR_BY_FOUR)}",
        "LastName": f"{last_name} {PS_MASTERCARD.written(':', FOUR_BY_FOUR)}",
    }


# -- QBO side ------------------------------------------------------------------------------------------------

QBO_VISA = PlantedNumber("QBO Visa", "4012888888881881")
QBO_MASTERCARD = PlantedNumber("QBO Mastercard", "5105105105105100")
QBO_AMEX = PlantedNumber("QBO Amex", "371449635398431")
QBO_DISCOVER = PlantedNumber("QBO Discover", "6011000990139424")
QBO_ROUTING = PlantedNumber("QBO routing number", "011000015")
QBO_ACCOUNT = PlantedNumber("QBO account number", "987654321098")
QBO_PLANTED = (QBO_VISA, QBO_MASTERCARD, QBO_AMEX, QBO_DISCOVER, QBO_ROUTING, QBO_ACCOUNT)
QBO_BANK_PAIR = f"routing {QBO_ROUTING.digits} account {QBO_ACCOUNT.digits}"


def planted_qbo_customer(
    given_name: str, family_name: str, *, tag: str = "", **overrides: Any
) -> dict[str, Any]:
    """QBO Customer fields (emulator seed format) with planted numbers in DisplayName, CompanyName, Notes,
    the email and the billing address. `tag` keeps DisplayNames unique when one name is seeded twice."""
    display_name = f"{given_name} {family_name} {tag}{QBO_VISA.written(' ', FOUR_BY_FOUR)}".strip()
    customer: dict[str, Any] = {
        "DisplayName": display_name,
        "GivenName": given_name,
        "FamilyName": family_name,
        "CompanyName": f"Co {QBO_MASTERCARD.written('-', FOUR_BY_FOUR)}",
        "Notes": f"card {QBO_AMEX.digits}; {QBO_BANK_PAIR}",
        "PrimaryEmailAddr": {"Address": f"{QBO_DISCOVER.digits}@example.com"},
        "BillAddr": {"Line1": f"9 QBO Way {QBO_VISA.written('-', FOUR_BY_FOUR)}", "City": "Austin"},
    }
    return {**customer, **overrides}


# -- finding them --------------------------------------------------------------------------------------------

# Between two digits of a planted number: up to 3 separators, raw or as a JSON escape.
_SEPARATOR = r"(?:[\s\-:\u00a0\u2010-\u2015]|\\[tnr]|\\u00a0|\\u2028){0,3}"


def _pattern(number: PlantedNumber) -> re.Pattern[str]:
    return re.compile(r"(?<!\d)" + _SEPARATOR.join(number.digits) + r"(?!\d)")


_PATTERNS = {number: _pattern(number) for number in (*PAYSIMPLE_PLANTED, *QBO_PLANTED)}


# The planted account number is also moto's AWS account id, which ARNs and queue URLs carry: those are not
# a leak, so they are blanked out before searching.
_AWS_ACCOUNT_ID_PLACES = re.compile(r"(arn:aws[\w-]*:[\w-]*:[\w-]*:|amazonaws\.com/)\d{12}\b")


def leaked(text: str, numbers: Iterable[PlantedNumber] = (*PAYSIMPLE_PLANTED, *QBO_PLANTED)) -> list[str]:
    """The labels of the planted numbers `text` holds, in any grouping."""
    searched = _AWS_ACCOUNT_ID_PLACES.sub(r"\1<account>", text)
    return [number.label for number in numbers if _PATTERNS[number].search(searched)]


def leaks_by_place(
    places: Mapping[str, str], numbers: Iterable[PlantedNumber] = (*PAYSIMPLE_PLANTED, *QBO_PLANTED)
) -> dict[str, list[str]]:
    """For each place (name → its text) that holds planted numbers, which ones; {} when none leaked."""
    wanted = tuple(numbers)
    found = {place: leaked(text, wanted) for place, text in places.items()}
    return {place: labels for place, labels in found.items() if labels}


def _check_planted_numbers_are_payment_data() -> None:
    """The finder is only meaningful if every planted number is one the scrub must catch."""
    for number in (*PAYSIMPLE_PLANTED, *QBO_PLANTED):
        if "routing" in number.label:
            valid = aba_routing_valid(number.digits)
        elif "account" in number.label:
            valid = len(number.digits) >= 6
        else:
            valid = luhn_valid(number.digits) and 13 <= len(number.digits) <= 19
        if not valid:
            raise ValueError(f"{number.label} is not a number the scrub must catch")


_check_planted_numbers_are_payment_data()
