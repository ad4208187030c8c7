"""Card and bank numbers never leave PaySimple free text; phones, zips and short numbers stay intact."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings, strategies as st

from customer_sync.domain.scrub import (
    REDACTION_MARKER,
    aba_routing_valid,
    iban_checksum_valid,
    luhn_valid,
    redact_for_log,
    scrub_customer,
    scrub_payment_data,
)
from customer_sync.models.paysimple import PaySimpleAddress, PaySimpleCustomer

R = REDACTION_MARKER
FULL_WIDTH_DIGITS = {ord("0") + n: 0xFF10 + n for n in range(10)}

CARDS_ARE_REDACTED = [
    # (what, text, expected text)
    ("Visa 16, plain", "4111111111111111", R),
    ("Visa 16, spaces", "Card 4111 1111 1111 1111 exp 12/27", f"Card {R} exp 12/27"),
    ("Visa 16, dashes", "4111-1111-1111-1111", R),
    ("Visa 16, spaced dashes", "4012 - 8888 - 8888 - 1881", R),
    ("Visa 13", "old card 4222222222222", f"old card {R}"),
    ("Mastercard 5-series", "MC 5555 5555 5555 4444.", f"MC {R}."),
    ("Mastercard 2-series", "2223-0031-2200-3222", R),
    ("Amex 15, 4-6-5", "amex 3782 822463 10005", f"amex {R}"),
    ("Amex 15, plain", "371449635398431", R),
    ("Diners 14, 4-6-4", "3056 930902 5904", R),
    ("Diners 14, plain", "30569309025904", R),
    ("Discover", "6011111111111117", R),
    ("JCB", "3530-1113-3330-0000", R),
    ("19 digits, plain", "6221260000000000001", R),
    ("19 digits, 4-4-4-4-3", "5018 0000 0000 0000 007", R),
    ("glued to punctuation", "card#4111111111111111;", f"card#{R};"),
    ("glued to letters", "cc4111111111111111x", f"cc{R}x"),
    ("full-width digits", "4111111111111111".translate(FULL_WIDTH_DIGITS), R),
    ("two cards", "4111111111111111 or 5555555555554444", f"{R} or {R}"),
    ("phone written just before a card", "Call 303 555 1234 4111 1111 1111 1111", f"Call 303 555 1234 {R}"),
    # Pasted from spreadsheets and forms; the name normalization also turns tabs, line breaks and ':' into
    # single spaces, which would make these the plain grouped form on their way to QBO.
    ("tabs between the groups", "Ann\t4111\t1111\t1111\t1111", f"Ann\t{R}"),
    ("double spaces between the groups", "Visa 4242  4242  4242  4242", f"Visa {R}"),
    ("colons between the groups", "Lee 5500:0055:5555:5559", f"Lee {R}"),
    ("a line break inside the number", "card 4111 1111\n1111 1111 ok", f"card {R} ok"),
    ("no-break spaces", "6011\u00a01111\u00a01111\u00a01117", R),
    ("spaced dash and a tab", "3530 -\t1113-3330-0000", R),
]


@pytest.mark.parametrize(
    ("what", "text", "expected"), CARDS_ARE_REDACTED, ids=[c[0] for c in CARDS_ARE_REDACTED]
)
def test_card_numbers_are_replaced_by_a_plain_marker(what: str, text: str, expected: str) -> None:
    # Given free text holding a Luhn-valid card number in some common format
    # When it is scrubbed
    result = scrub_payment_data(text)
    # Then the whole number is replaced by the marker and no digit of it is kept
    assert result.text == expected
    assert result.redactions == expected.count(R)


BANK_NUMBERS_ARE_REDACTED = [
    ("routing and account in notes", "Routing 021000021, acct 000123456789", f"Routing {R}, acct {R}"),
    ("ABA label", "ABA: 026009593", f"ABA: {R}"),
    ("bare routing number (valid ABA checksum)", "wire to 121000358 please", f"wire to {R} please"),
    ("account number with #", "Checking account #: 12345678", f"Checking account #: {R}"),
    ("grouped account number", "savings 1234-5678-90", f"savings {R}"),
    ("account number before the bank word", "12345678 (checking)", f"{R} (checking)"),
    ("a/c abbreviation", "a/c 99887766", f"a/c {R}"),
    ("IBAN grouped, valid checksum", "pay DE89 3704 0044 0532 0130 00 now", f"pay {R} now"),
    ("IBAN compact, valid checksum", "GB82WEST12345698765432", R),
    ("IBAN with letters in the account part", "FR14 2004 1010 0505 0001 3M02 606", R),
    ("IBAN after the word IBAN, bad checksum", "IBAN: GB00 WEST 1234 5698 7654 32", f"IBAN: {R}"),
    # Indistinguishable from a 10-digit account number, so it goes: we err towards never leaking.
    ("phone right next to a bank word", "Bank phone 3035551234", f"Bank phone {R}"),
]


@pytest.mark.parametrize(
    ("what", "text", "expected"), BANK_NUMBERS_ARE_REDACTED, ids=[c[0] for c in BANK_NUMBERS_ARE_REDACTED]
)
def test_routing_account_and_iban_numbers_are_replaced(what: str, text: str, expected: str) -> None:
    # Given free text with a bank number
    # When it is scrubbed
    result = scrub_payment_data(text)
    # Then the number is gone
    assert result.text == expected
    assert result.redactions == expected.count(R)


LEFT_ALONE = [
    ("card number failing Luhn", "4111 1111 1111 1112"),
    ("Amex failing Luhn", "378282246310006"),
    ("10-digit phone, plain", "3035551234"),
    ("phone with dashes", "Call 303-555-1234 after 5"),
    ("phone with brackets", "(303) 555-1234"),
    ("international phone", "+1 303 555 1234"),
    ("phone then zip that together pass Luhn", "303 555 1234 80201"),
    ("zip", "Denver CO 80202"),
    ("zip+4", "80202-1234"),
    ("9 digits failing the ABA checksum", "ref 123456789"),
    ("short numbers", "Order 12345, invoice 2024-00017, table 7"),
    ("amount", "$1,234,567.89 owed"),
    ("date and time", "2024-01-15 10:30"),
    ("12 digits, below card length", "ticket 123456789015"),
    ("word merely containing 'bank'", "bankruptcy case 1234567"),
    ("bank word on the line above the number", "Bank: Chase\nPhone 3035551234"),
    ("IBAN-shaped text with a bad checksum and no IBAN word", "GB00WEST12345698765432"),
    ("ordinary words", "PO12 Main Street"),
    ("empty", ""),
]


@pytest.mark.parametrize(("what", "text"), LEFT_ALONE, ids=[c[0] for c in LEFT_ALONE])
def test_ordinary_numbers_are_left_untouched(what: str, text: str) -> None:
    # Given text with numbers that are not payment data
    # When it is scrubbed
    result = scrub_payment_data(text)
    # Then nothing changes
    assert result.text == text
    assert result.redactions == 0


def test_multiline_notes_lose_only_the_payment_data() -> None:
    # Given notes a merchant typed over several lines
    notes = (
        "Prefers email.\n"
        "Card on file: 4111 1111 1111 1111\n"
        "Routing 021000021 acct 000123456789 at First Bank\n"
        "Call 303-555-1234, ship to 80202-1234."
    )
    # When they are scrubbed
    result = scrub_payment_data(notes)
    # Then every line survives and only the three numbers are cut
    assert result.text == (
        "Prefers email.\n"
        f"Card on file: {R}\n"
        f"Routing {R} acct {R} at First Bank\n"
        "Call 303-555-1234, ship to 80202-1234."
    )
    assert result.redactions == 3


def test_redact_for_log_uses_the_same_detection() -> None:
    # Given a log message carrying a card and a phone
    message = "failed for 4111-1111-1111-1111 (phone 3035551234)"
    # When it is redacted for logging
    # Then the card is gone and the phone stays
    assert redact_for_log(message) == f"failed for {R} (phone 3035551234)"


CARD = "4111 1111 1111 1111"
CARD_DIGITS = CARD.replace(" ", "")


def _customer_with_a_card_in_every_text_field() -> PaySimpleCustomer:
    address = PaySimpleAddress(
        StreetAddress1=f"1 Main St {CARD}",
        StreetAddress2=CARD,
        City=CARD,
        StateCode=CARD,
        ZipCode=CARD,
        Country=CARD,
    )
    return PaySimpleCustomer(
        Id=7,
        FirstName=f"Ann {CARD}",
        LastName=CARD,
        MiddleName=CARD,
        Company=CARD,
        CustomerAccount=CARD,
        Email=f"{CARD_DIGITS}@example.com",
        AltEmail=CARD,
        Phone=CARD,
        AltPhone=CARD,
        MobilePhone=CARD,
        Fax=CARD,
        Website=f"https://example.com/{CARD_DIGITS}",
        Notes=f"card {CARD}",
        BillingAddress=address,
        ShippingAddress=address,
    )


def test_every_text_field_of_a_customer_is_scrubbed() -> None:
    # Given a customer with a card number in every string field, addresses included
    customer = _customer_with_a_card_in_every_text_field()
    # When the customer is scrubbed
    scrubbed, redactions = scrub_customer(customer)
    # Then no field keeps the card, and each field counted one redaction
    dumped = scrubbed.model_dump_json()
    assert CARD not in dumped
    assert CARD_DIGITS not in dumped
    assert redactions == 13 + 2 * 6  # 13 text fields, 6 parts per address
    assert scrubbed.FirstName == f"Ann {R}"
    assert scrubbed.Email == f"{R}@example.com"
    assert scrubbed.BillingAddress is not None
    assert scrubbed.BillingAddress.StreetAddress1 == f"1 Main St {R}"
    assert scrubbed.Id == customer.Id


def test_a_customer_without_payment_data_comes_back_unchanged() -> None:
    # Given an ordinary customer, with phones and a ZIP+4 written as 9 digits that passes the ABA checksum
    customer = PaySimpleCustomer(
        Id=8,
        FirstName="Ann",
        LastName="O'Brien",
        Phone="3035551234",
        MobilePhone="7205550000",
        Notes="Gate code 4482",
        BillingAddress=PaySimpleAddress(StreetAddress1="5 Elm St", City="New York", ZipCode="100010026"),
    )
    assert aba_routing_valid("100010026")
    # When it is scrubbed
    scrubbed, redactions = scrub_customer(customer)
    # Then nothing is cut: a ZipCode is never read as a routing number
    assert redactions == 0
    assert scrubbed == customer


def test_the_same_nine_digits_in_notes_are_treated_as_a_routing_number() -> None:
    # Given the ABA-valid 9 digits in free text rather than in a ZipCode field
    # When scrubbed
    # Then they are redacted: in free text they may be a routing number
    assert scrub_payment_data("ship 100010026").text == f"ship {R}"


@pytest.mark.parametrize(
    ("check", "value", "expected"),
    [
        (luhn_valid, "4111111111111111", True),
        (luhn_valid, "4111111111111112", False),
        (aba_routing_valid, "021000021", True),
        (aba_routing_valid, "021000022", False),
        (aba_routing_valid, "501000004", False),  # checksum fine, but 50 is no ABA prefix
        (iban_checksum_valid, "GB82 WEST 1234 5698 7654 32", True),
        (iban_checksum_valid, "GB83 WEST 1234 5698 7654 32", False),
    ],
)
def test_checksums(check: Callable[[str], bool], value: str, expected: bool) -> None:
    # Given a known-good or known-bad number, When checked, Then the checksum says so
    assert check(value) is expected


def _luhn_complete(first_digits: str) -> str:
    for check_digit in "0123456789":
        if luhn_valid(first_digits + check_digit):
            return first_digits + check_digit
    raise AssertionError("unreachable: one check digit always fits")


_WORDS = st.text(alphabet="abcdefghij klmnop.,;\n", max_size=30)


@settings(max_examples=200, deadline=None)
@given(
    body=st.text(alphabet="0123456789", min_size=15, max_size=15),
    separator=st.sampled_from(["", " ", "-", " - ", "\t", "  ", ":", "\n", "\u00a0", " \t "]),
    before=_WORDS,
    after=_WORDS,
)
def test_any_luhn_valid_16_digit_card_in_any_text_is_removed(
    body: str, separator: str, before: str, after: str
) -> None:
    # Given a Luhn-valid card, grouped 4-4-4-4 with some separator, inside arbitrary words
    card = _luhn_complete(body)
    written = separator.join(card[i : i + 4] for i in range(0, 16, 4))
    # When the text is scrubbed
    result = scrub_payment_data(f"{before} {written} {after}")
    # Then the card's digits are gone and the words around it are kept
    assert card not in result.text.replace(" ", "").replace("-", "")
    assert result.text == f"{before} {R} {after}"


@settings(max_examples=200, deadline=None)
@given(
    digits=st.text(alphabet="0123456789", min_size=10, max_size=10),
    style=st.sampled_from(["{}{}{}", "{}-{}-{}", "({}) {}-{}", "{} {} {}", "{}.{}.{}"]),
)
def test_any_phone_number_without_a_bank_word_is_kept(digits: str, style: str) -> None:
    # Given a 10-digit phone number in a common style, with no bank word near it
    phone = style.format(digits[:3], digits[3:6], digits[6:])
    text = f"call {phone} after 5"
    # When scrubbed
    # Then it is untouched
    assert scrub_payment_data(text).text == text
