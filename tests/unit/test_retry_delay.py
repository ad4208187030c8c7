"""How long a change waits before SQS delivers it again (domain/sync/retry_delay.py)."""

from __future__ import annotations

import random

from customer_sync.domain.sync.retry_delay import RetryDelays


def test_the_wait_doubles_with_each_delivery_up_to_the_cap():
    # Given waits of 1 s at first and 110 s at most, without jitter's low end (the nominal values)
    delays = RetryDelays(first_seconds=1, max_seconds=110)
    # Then deliveries 1.. wait 1, 2, 4 ... seconds, and never more than 110
    assert [delays.nominal(delivery) for delivery in range(1, 10)] == [1, 2, 4, 8, 16, 32, 64, 110, 110]
    assert delays.nominal(1000) == 110


def test_each_wait_is_a_whole_second_count_between_80_and_100_percent_of_its_nominal_length():
    # Given many draws of the wait after the tenth delivery (the cap)
    delays = RetryDelays(first_seconds=1, max_seconds=110, rng=random.Random(7))
    waits = [delays.after(10) for _ in range(500)]
    # Then they spread over 88..110 s, in whole seconds, so changes that failed together come back apart
    assert min(waits) >= 88 and max(waits) <= 110
    assert len(set(waits)) > 10
    assert all(isinstance(wait, int) for wait in waits)


def test_the_wait_is_at_least_what_the_failure_asked_for():
    # Given a first delivery (about a second) that met a 60 s pause after QBO's 429
    delays = RetryDelays(first_seconds=1, max_seconds=110)
    # Then the change waits the pause, rounded up
    assert delays.after(1, at_least=60.2) == 61


def test_a_day_long_outage_fits_in_the_queues_max_receive_count():
    # Given the default waits, and QBO down for 24 hours
    delays = RetryDelays(rng=random.Random(11))
    elapsed, deliveries = 0.0, 0
    # When a change is delivered and fails until the day is over
    while elapsed < 24 * 3600:
        deliveries += 1
        elapsed += delays.after(deliveries)
    # Then it was delivered fewer times than template.yaml's MaxReceiveCount (1000) allows
    assert deliveries < 1000
