"""Following QBO: the QBO emulator runs on a clock the tests move forward (tests/support/qbo_side.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from emulators.qbo.server import QboEmulator
from tests.support.emulators import OffsetClock, unthrottled_qbo_emulator
from tests.support.onboarding import QBO_EMULATOR_CLIENT_ID, QBO_EMULATOR_CLIENT_SECRET
from tests.support.qbo_side import just_connected_qbo_side, qbo_side  # noqa: F401 - the fixtures


@pytest.fixture(scope="module")
def qbo_clock() -> OffsetClock:
    return OffsetClock()


@pytest.fixture(scope="module")
def qbo_emulator(qbo_clock: OffsetClock) -> Iterator[QboEmulator]:
    with unthrottled_qbo_emulator(
        client_id=QBO_EMULATOR_CLIENT_ID, client_secret=QBO_EMULATOR_CLIENT_SECRET, clock=qbo_clock
    ) as running:
        yield running
