"""A record starts only while the invocation has time left for one record's worst case
(domain/sync/record_deadline.py)."""

from __future__ import annotations

import pytest

from customer_sync.domain.sync.record_deadline import RecordDeadline
from customer_sync.errors import RecordDeferred


class LambdaClock:
    """The context's remaining time, moved on by the test."""

    def __init__(self, remaining_millis: int) -> None:
        self.remaining = remaining_millis

    def __call__(self) -> int:
        return self.remaining


def test_a_record_starts_while_the_margin_is_left():
    # Given a 90 s invocation and a 45 s margin
    clock = LambdaClock(90_000)
    deadline = RecordDeadline.for_invocation(clock, margin_seconds=45)
    # When exactly the margin is left, then the record may start
    clock.remaining = 45_000
    deadline.check_time_for_a_record()


def test_a_record_is_deferred_when_less_than_the_margin_is_left():
    # Given a 90 s invocation and a 45 s margin
    clock = LambdaClock(90_000)
    deadline = RecordDeadline.for_invocation(clock, margin_seconds=45)
    # When a slow record leaves 44.999 s
    clock.remaining = 44_999
    # Then the next one is not started, and the reason names both times
    with pytest.raises(RecordDeferred, match=r"44999 ms left .* may need 45000 ms"):
        deadline.check_time_for_a_record()


def test_a_margin_longer_than_half_the_invocation_is_capped_so_the_first_record_always_starts():
    # Given a margin as long as the whole invocation (a misconfiguration that would defer every record)
    clock = LambdaClock(60_000)
    deadline = RecordDeadline.for_invocation(clock, margin_seconds=60)
    # Then the margin is half the invocation's time, and the first record starts
    assert deadline.margin_millis == 30_000
    deadline.check_time_for_a_record()
