"""Name normalization shared by matching (what we compare) and mapping (what we send to QBO).

QBO name fields must not contain ':', tab or newline, and a curly apostrophe has broken QBO queries. We send
the same canonical form we later query by, so a customer we created is found again by our own queries.

Normalizing joins text (gaps collapse to one space, and "First Last" joins two fields), which can assemble a
card or account number out of parts the scrub saw apart. So the canonical form is scrubbed once more: no
name we send, query by or store carries payment data, whatever it was put together from.
"""

import re
import unicodedata

from customer_sync.domain.scrub import scrub_payment_data

# Typographic quotes merchants paste from word processors, mapped to their ASCII forms.
_QUOTE_TRANSLATION = str.maketrans(
    {
        "\u2018": "'",  # left single quotation mark
        "\u2019": "'",  # right single quotation mark (the usual curly apostrophe)
        "\u201a": "'",  # single low-9 quotation mark
        "\u201b": "'",  # single high-reversed-9 quotation mark
        "\u2032": "'",  # prime
        "\u02bc": "'",  # modifier letter apostrophe
        "\uff07": "'",  # fullwidth apostrophe
        "\u201c": '"',  # left double quotation mark
        "\u201d": '"',  # right double quotation mark
        "\u201e": '"',  # double low-9 quotation mark
        "\u201f": '"',  # double high-reversed-9 quotation mark
        "\u2033": '"',  # double prime
        "\uff02": '"',  # fullwidth quotation mark
    }
)

# ':' is forbidden in QBO names; it and every kind of line break or tab become a word gap.
_FORBIDDEN_IN_QBO_NAMES = re.compile(r"[:\t\n\r\v\f\u0085\u2028\u2029]")


def straighten_quotes(text: str) -> str:
    """Curly and other typographic quotes → ' and "."""
    return text.translate(_QUOTE_TRANSLATION)


def normalize_name(text: str) -> str:
    """The canonical form of a name: NFC, straight quotes, no ':'/tab/newline, trimmed, single spaces, no
    card or bank number.

    Case is kept; use `name_key` to compare.
    """
    composed = unicodedata.normalize("NFC", text)
    without_forbidden = _FORBIDDEN_IN_QBO_NAMES.sub(" ", straighten_quotes(composed))
    # str.split() with no argument splits on any Unicode whitespace run and drops the ends.
    return scrub_payment_data(" ".join(without_forbidden.split())).text


def name_key(text: str | None) -> str:
    """The form two names are compared in: normalized and case-folded. None compares like ""."""
    return normalize_name(text or "").casefold()


def qbo_safe_name(text: str) -> str:
    """The value we send to a QBO name field (GivenName, FamilyName, MiddleName, DisplayName).

    Identical to `normalize_name` on purpose: the name we write must be the name our query looks for.
    """
    return normalize_name(text)


def email_key(email: str | None) -> str:
    """The form two email addresses are compared in: trimmed and case-folded. None compares like ""."""
    return (email or "").strip().casefold()
