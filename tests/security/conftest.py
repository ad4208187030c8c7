"""The security tests run the real handlers (moto for AWS) against the PaySimple emulator and a QBO emulator
that records every request as sent (tests/support/recording_qbo.py). sync_stack, captured_output and
paysimple_emulator come from tests/support (registered in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.recording_qbo import RecordingQboEmulator


@pytest.fixture(scope="module")
def qbo_emulator() -> Iterator[RecordingQboEmulator]:
    """What sync_stack runs against here: a QBO emulator recording each request as sent, once per module."""
    with RecordingQboEmulator() as running:
        yield running
