"""The security tests run the real handlers (moto for AWS) against the PaySimple emulator and a QBO emulator
that records every request as sent (tests/support/recording_qbo.py)."""

from __future__ import annotations

import pytest

from tests.support.recording_qbo import RecordingQboEmulator, recording_qbo_emulator
from tests.support.sync_stack import captured_output, paysimple_emulator, sync_stack

__all__ = ["captured_output", "paysimple_emulator", "recording_qbo_emulator", "sync_stack"]


@pytest.fixture(scope="module")
def qbo_emulator(recording_qbo_emulator: RecordingQboEmulator) -> RecordingQboEmulator:
    """The QBO emulator sync_stack runs against: the recording one."""
    return recording_qbo_emulator
