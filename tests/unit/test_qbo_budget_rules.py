"""The per-realm QBO request budget's arithmetic (domain/qbo_budget.py): requests spaced so that no window
QBO counts over ever holds more than QBO allows, for the sync and for interactive calls, close to QBO's
full rate, with interactive calls first."""

from __future__ import annotations

import random
from collections import deque

import pytest

from customer_sync.domain.qbo_budget import BudgetPriority, BudgetRules


class Realm:
    """One realm's `tat` under the rules, and the times of the requests it allowed."""

    def __init__(self, rules: BudgetRules) -> None:
        self.rules = rules
        self.tat: float | None = None
        self.sent: list[float] = []

    def ask(self, now: float, priority: BudgetPriority = "sync") -> bool:
        if self.tat is not None and self.tat > self.rules.latest_allowed_tat(now, priority):
            return False
        self.tat = self.rules.next_tat(self.tat, now)
        self.sent.append(now)
        return True


def most_in_any_window(times: list[float], window: float) -> int:
    """The largest number of `times` within any half-open window of this length (QBO's sliding count)."""
    inside: deque[float] = deque()
    most = 0
    for at in sorted(times):
        inside.append(at)
        while inside[0] <= at - window:
            inside.popleft()
        most = max(most, len(inside))
    return most


def test_qbos_own_limits_give_495_requests_a_minute_within_both_windows():
    # Given QBO's limits: 500 a minute and 10 a second per company
    rules = BudgetRules.for_limits(500, 10)
    # Then the sustained rate is within 2 % of 500 a minute
    assert rules.requests_per_minute == pytest.approx(495, abs=0.5)
    # And no window can hold more than QBO allows, even for interactive calls, which may come earliest
    assert rules.window_capacity(60, "interactive") <= 500
    assert rules.window_capacity(1, "interactive") <= 10


@pytest.mark.parametrize(("per_minute", "per_second"), [(500, 10), (30, 10), (12, 10), (60, 5), (1, 1)])
def test_requesters_asking_all_the_time_never_exceed_either_window(per_minute: int, per_second: int):
    # Given the rules for these limits, and sync and interactive callers asking at random moments, every
    # two milliseconds or so (callers that wait book their turn instead: tests/integration/test_qbo_budget.py)
    rules = BudgetRules.for_limits(per_minute, per_second)
    realm = Realm(rules)
    rng = random.Random(per_minute * 1000 + per_second)
    now = 0.0
    # When they keep asking for ten minutes
    while now < 600:
        now += rng.expovariate(500)
        realm.ask(now, "interactive" if rng.random() < 0.1 else "sync")
    # Then no minute and no second ever held more than the limits, even with arrivals up to 0.2 s late
    arrivals = [at + rng.uniform(0, 0.199) for at in realm.sent]
    assert most_in_any_window(arrivals, 60) <= per_minute
    assert most_in_any_window(arrivals, 1) <= per_second
    # And the callers got close to the rate the rules allow
    assert len(realm.sent) >= 0.97 * 600 / rules.interval


def test_an_interactive_call_goes_first_while_the_sync_keeps_the_company_busy():
    # Given the sync asking every millisecond, so it draws every request the budget allows
    rules = BudgetRules.for_limits(500, 10)
    realm = Realm(rules)
    now = 0.0
    while now < 5:
        realm.ask(now)
        now += 0.001
    # When an admin's request arrives just after the sync's last draw
    last = realm.sent[-1]
    assert realm.tat is not None
    admin_wait = rules.retry_after(realm.tat, last, "interactive")
    sync_wait = rules.retry_after(realm.tat, last, "sync")
    # Then the sync could not draw again yet, while the admin waits less, at most an interval
    assert sync_wait > 0
    assert admin_wait <= rules.interval + 1e-6 and admin_wait < sync_wait


def test_a_request_after_a_long_idle_spell_is_allowed_at_once_and_earns_no_burst():
    # Given a realm idle for an hour after a request
    rules = BudgetRules.for_limits(500, 10)
    realm = Realm(rules)
    realm.ask(0.0)
    # When twelve requests arrive at the same moment an hour later
    granted = [realm.ask(3600.0) for _ in range(12)]
    # Then one goes through at once and the rest wait their turn (the idle hour is not saved up)
    assert granted[0] and not any(granted[1:])


def test_limits_below_one_request_are_refused():
    with pytest.raises(ValueError):
        BudgetRules.for_limits(0, 10)
