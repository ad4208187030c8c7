"""The one logger redacts card and bank numbers from every log line, whatever part of the line holds them."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from customer_sync.observability import logger, redact_log_value

CARD = "4111 1111 1111 1111"


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    previous = handler.setStream(stream)
    # Handler tests leave Lambda context keys (a stub account id full of digits) on the shared logger.
    logger.clear_state()
    yield stream
    handler.setStream(previous)


class Unprintable:
    def __str__(self) -> str:
        return f"object holding {CARD}"


def test_a_card_number_is_redacted_wherever_a_log_line_carries_it(log_stream: io.StringIO):
    # Given a line with a card number in the message, an extra key, a nested value, an object and an int
    logger.append_keys(appended=f"note {CARD}")
    try:
        logger.warning(
            f"saw {CARD}",
            extra={
                "notes": f"card {CARD}",
                "nested": {"list": [f"acct 12345678 {CARD}"]},
                "obj": Unprintable(),
                "number": 4111111111111111,
            },
        )
    finally:
        logger.remove_keys(["appended"])
    # When the line is written
    line = json.loads(log_stream.getvalue().strip().splitlines()[-1])
    text = json.dumps(line)
    # Then no digits of it are left, and the rest of the line is intact
    assert "4111" not in text and "12345678" not in text
    assert line["message"] == "saw [redacted]" and line["level"] == "WARNING"
    assert line["number"] == "[redacted]"


def test_an_exception_text_is_redacted(log_stream: io.StringIO):
    # Given an exception whose message holds a card number
    try:
        raise ValueError(f"bad value {CARD}")
    except ValueError:
        logger.exception("failed")
    # Then neither the exception nor the stack trace carry it
    assert "4111 1111" not in log_stream.getvalue()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("order 12345", "order 12345"),
        (20261125, 20261125),
        (True, True),
        (1.5, 1.5),
        (None, None),
        ({"zip": "80202", "ids": ["8053900", 42]}, {"zip": "80202", "ids": ["8053900", 42]}),
    ],
)
def test_ordinary_values_are_left_alone(value: object, expected: object):
    assert redact_log_value(value) == expected


# Real shapes: PaySimple's random hex holds a 15-digit Luhn-valid run, or a valid ABA routing number.
EVENT_IDS_WITH_NUMBER_LIKE_RUNS = ["evt_e17c137532306498732cde81", "evt_16d113386271f7759b9d379a"]


@pytest.mark.parametrize("event_id", EVENT_IDS_WITH_NUMBER_LIKE_RUNS)
def test_a_paysimple_event_id_stays_findable_in_the_logs(log_stream: io.StringIO, event_id: str):
    # Given a change whose PaySimple event id happens to hold a digit run the scrub would take for a number
    assert redact_log_value(f"id {event_id}") != f"id {event_id}"
    # When a line is logged under it, and names it (also as a redriven change's deduplication id)
    logger.set_correlation_id(event_id)
    try:
        logger.info("change applied", extra={"event_id": event_id, "dedup": f"{event_id}#redrive-2"})
    finally:
        logger.set_correlation_id(None)
    line = json.loads(log_stream.getvalue().strip().splitlines()[-1])
    # Then the line carries it whole, so an operator finds the change's lines by its id
    assert (line["correlation_id"], line["event_id"], line["dedup"]) == (
        event_id,
        event_id,
        f"{event_id}#redrive-2",
    )


@pytest.mark.parametrize(
    "value",
    [
        f"evt_{CARD.replace(' ', '')}abcdefab x",  # more than an event id
        f"evt_e17c137532306498732cde81 {CARD}",
        f"{CARD.replace(' ', '')}",
        "evt_E17C137532306498732CDE81",  # not PaySimple's lower-case hex
        "evt_e17c137532306498732cde8",  # 23 hex digits
    ],
)
def test_only_a_value_of_exactly_an_event_ids_shape_escapes_the_scrub(value: str):
    assert redact_log_value(value) != value


@pytest.mark.parametrize("library", ["botocore", "boto3", "urllib3"])
def test_libraries_that_dump_request_bodies_never_log_them_even_at_debug(library: str):
    # Given the root logger turned all the way up (as Lambda's ApplicationLogLevel=DEBUG would)
    root = logging.getLogger()
    previous = root.level
    root.setLevel(logging.DEBUG)
    try:
        # When a library that logs whole requests and responses at DEBUG (secret values, table items, QBO
        # query URLs) asks whether to log one
        wants_debug = logging.getLogger(f"{library}.endpoint").isEnabledFor(logging.DEBUG)
    finally:
        root.setLevel(previous)
    # Then it does not: the application pins those libraries at INFO
    assert not wants_debug
