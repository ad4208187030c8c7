"""The QBO and PaySimple emulators as tests run them: on 127.0.0.1 at an ephemeral port, once per module.

The QBO emulator enforces QBO's rate limits by default (10 requests/s and 500 a minute per realm), as QBO
does. Tests that are not about throttling turn them off: on a fast machine a burst of their calls would
otherwise meet a 429, which changes the QBO calls they count and fails a client that does not retry.
Throttling is tested with injected 429s (the client, token and sync tests) and with the limits on
(tests/emulators/test_qbo_emulator.py).

tests/conftest.py registers this module as a plugin, so qbo_emulator and paysimple_emulator reach every test;
a directory's conftest may override qbo_emulator (tests/security records every request).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from emulators.paysimple.server import PaySimpleEmulator
from emulators.qbo.server import QboEmulator
from tests.support.onboarding import QBO_EMULATOR_CLIENT_ID, QBO_EMULATOR_CLIENT_SECRET, QBO_REDIRECT_URI

# QboEmulator options that turn QBO's per-second limit off and lift the per-minute one far above what any
# test sends (also for subclasses: `super().__init__(**UNTHROTTLED, ...)`).
UNTHROTTLED: dict[str, Any] = {"rate_limit_per_second": None, "rate_limit_per_minute": 1_000_000}


class OffsetClock:
    """Real time plus an offset a test moves forward (QBO's times are whole seconds: a test that needs a
    person's edit to come after the app's write moves the emulator's clock on instead of sleeping)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


# The functions' QBO request budget to go with it (environment variables): far above anything a test sends.
# Tests of the budget itself set their own limits; the pause after a 429 is short so a test that meets one
# moves on quickly.
UNLIMITED_QBO_BUDGET: dict[str, str] = {
    "QBO_BUDGET_PER_MINUTE": "1000000",
    "QBO_BUDGET_PER_SECOND": "100000",
    "QBO_THROTTLE_PAUSE_SECONDS": "1",
}


def unthrottled_qbo_emulator(**options: Any) -> QboEmulator:
    """A QBO emulator (not started yet) without QBO's rate limits."""
    return QboEmulator(**UNTHROTTLED, **options)


def emulator_urls(qbo: QboEmulator, paysimple: PaySimpleEmulator) -> dict[str, str]:
    """The environment that points a function at the emulators instead of the real services (with the QBO
    request budget lifted, as the emulator's limits are)."""
    return {
        "QBO_API_BASE_URL": qbo.base_url,
        "QBO_TOKEN_URL": qbo.token_url,
        "QBO_AUTHORIZE_URL": qbo.authorize_url,
        "QBO_REVOKE_URL": qbo.revoke_url,
        "PAYSIMPLE_API_BASE_URL": paysimple.base_url,
        **UNLIMITED_QBO_BUDGET,
    }


@pytest.fixture(scope="module")
def qbo_emulator() -> Iterator[QboEmulator]:
    """Its OAuth client is the QBO app that tests.support.onboarding writes, redirect URI included."""
    with unthrottled_qbo_emulator(
        client_id=QBO_EMULATOR_CLIENT_ID,
        client_secret=QBO_EMULATOR_CLIENT_SECRET,
        redirect_uris=(QBO_REDIRECT_URI,),
    ) as running:
        yield running


@pytest.fixture(scope="module")
def paysimple_emulator() -> Iterator[PaySimpleEmulator]:
    with PaySimpleEmulator() as running:
        yield running
