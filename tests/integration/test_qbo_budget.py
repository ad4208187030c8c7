"""The per-realm QBO request budget in DynamoDB (adapters/qbo_budget.py, moto with template.yaml's table):
what the rules allow and no more, shared by every invocation, a refusal remembered so a throttled company
costs nothing more, the pause after a 429, interactive calls waiting their turn, one DynamoDB call a draw."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from customer_sync.adapters.qbo_budget import (
    SERVED_ELSEWHERE_MEMORY_SECONDS,
    WAITER_LEASE_SECONDS,
    DynamoDbQboBudget,
)
from customer_sync.domain.qbo_budget import RESERVED_TURNS, BudgetPriority, BudgetRules
from customer_sync.errors import QboBudgetExhausted
from local.bootstrap import LocalStack
from tests.support.aws_calls import counting_aws_calls

REALM = "9130350000000042"
OTHER_REALM = "9130350000000043"
# 60 a minute: one request every 1.02 s, the sync allowed half an interval early, interactive calls one.
RULES = BudgetRules.for_limits(60, 10)
# QBO's own limits: 500 a minute, 10 a second.
QBO_RULES = BudgetRules.for_limits()


class Clock:
    """Epoch seconds the test moves by hand; `sleep` moves it too."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def new_budget(local_stack: LocalStack, clock: Clock) -> Callable[..., DynamoDbQboBudget]:
    """A budget as one invocation holds it (each call: another Lambda container)."""
    table = local_stack.function_environment("SyncFunction")["QBO_BUDGET_TABLE_NAME"]

    def build(
        priority: BudgetPriority = "sync",
        max_wait_seconds: float = 0.0,
        waiters: int | None = 1,
        rules: BudgetRules = RULES,
        sleep: Callable[[float], None] | None = None,
    ) -> DynamoDbQboBudget:
        return DynamoDbQboBudget(
            table,
            rules,
            priority=priority,
            pause_seconds=60,
            clock=clock,
            sleep=sleep or clock.sleep,
            max_wait_seconds=max_wait_seconds,
            waiters=waiters,
        )

    return build


def granted(budget: DynamoDbQboBudget, realm_id: str = REALM) -> bool:
    try:
        budget.take(realm_id)
    except QboBudgetExhausted:
        return False
    return True


def waits_its_turn(budget: DynamoDbQboBudget) -> None:
    """Uses what the company's budget has now, then waits for the next turn (a sync waiter's way)."""
    while granted(budget):
        pass
    budget.take(REALM, may_wait_seconds=2.0)


def told_served_elsewhere(budget: DynamoDbQboBudget) -> bool:
    """Whether a draw willing to wait is refused because other invocations wait for the company."""
    try:
        budget.take(REALM, may_wait_seconds=2.0)
    except QboBudgetExhausted as refused:
        return refused.served_elsewhere
    return False


def test_a_realm_gets_what_the_rules_allow_then_a_refusal_that_says_when_to_come_back(new_budget, clock):
    # Given one invocation's budget
    budget = new_budget()
    # When it asks for two requests at once
    first = granted(budget)
    with pytest.raises(QboBudgetExhausted) as refused:
        budget.take(REALM)
    # Then the first went through, and the second must wait until half an interval before its turn
    assert first
    assert refused.value.retry_after == pytest.approx(RULES.interval - RULES.sync_tolerance, abs=1e-5)
    assert refused.value.realm_id == REALM and not refused.value.served_elsewhere
    # And after that wait it is granted
    clock.now += refused.value.retry_after
    assert granted(budget)


def test_every_invocation_draws_on_the_same_realm_budget_and_other_realms_keep_theirs(new_budget, clock):
    # Given two invocations (two Lambda containers) working for the same company
    one, two = new_budget(), new_budget()
    # When both keep asking for a minute, a request every 100 ms each
    grants = 0
    for _ in range(600):
        grants += granted(one) + granted(two)
        clock.now += 0.1
    # Then together they got what one budget allows, and another company is untouched
    assert grants == pytest.approx(60 / RULES.interval, abs=2)
    assert grants <= RULES.window_capacity(60, "sync")
    assert granted(one, OTHER_REALM)


def test_a_refused_realm_is_refused_again_without_a_dynamodb_call_until_its_turn(new_budget, clock):
    # Given a realm whose budget this invocation found empty
    budget = new_budget()
    while granted(budget):
        pass
    # When the next records of that company ask before its turn
    with counting_aws_calls() as calls:
        refusals = [granted(budget) for _ in range(5)]
    # Then they are refused at once, without asking DynamoDB
    assert refusals == [False] * 5
    assert calls.of("dynamodb") == 0
    with pytest.raises(QboBudgetExhausted):
        budget.check(REALM)


def test_a_draw_costs_one_dynamodb_call_whether_the_realm_was_idle_or_busy(new_budget, clock):
    # Given an invocation drawing after a long idle spell, then keeping the realm busy
    budget = new_budget()
    with counting_aws_calls() as calls:
        draws = 0
        for _ in range(20):
            draws += granted(budget)
            clock.now += RULES.interval * 1.01
    # Then every draw was one UpdateItem
    assert draws == 20
    assert calls.operations("dynamodb") == {"UpdateItem": 20}


def test_a_pause_after_a_429_holds_every_invocation_off_the_realm(new_budget, clock):
    # Given QBO answered 429 to one invocation, which pauses the company (60 s)
    one, two = new_budget(), new_budget()
    assert granted(one)
    paused = one.pause(REALM)
    # When another invocation asks 58 s later, and again after the pause
    clock.now += 58
    during = granted(two)
    clock.now += 3
    after = granted(two)
    # Then it was refused during the pause and granted after it
    assert (paused, during, after) == (60, False, True)


def test_an_admin_request_goes_where_the_sync_may_not_and_waits_briefly_for_its_turn(new_budget, clock):
    # Given the sync having used what a company allows now, and an admin's budget that may wait 2 s
    sync, admin = new_budget(), new_budget("interactive", max_wait_seconds=2.0)
    while granted(sync):
        pass
    # When the admin asks twice
    admin.take(REALM)
    started = clock.now
    admin.take(REALM)
    # Then the first went at once (the interactive reserve), the second waited for its turn, and the sync
    # is refused at once meanwhile
    assert 0 < clock.now - started <= RULES.interval + 1e-6
    with pytest.raises(QboBudgetExhausted):
        sync.take(REALM)


def test_a_sync_draw_may_wait_a_moment_for_its_turn(new_budget, clock):
    # Given the sync having used the burst of a company
    budget = new_budget()
    while granted(budget):
        pass
    started = clock.now
    # When a sync request asks, willing to wait two seconds for its turn
    budget.take(REALM, may_wait_seconds=2.0)
    # Then it waited for its turn (one interval at most) and got it; one not willing to wait would not
    assert 0 < clock.now - started <= RULES.interval + 1e-6
    with pytest.raises(QboBudgetExhausted):
        budget.take(REALM)


def test_only_one_invocation_at_a_time_waits_for_a_company_the_others_are_sent_back_at_once(
    new_budget, clock
):
    # Given two invocations of the sync working on the same company, its budget used for now
    one, two = new_budget(), new_budget()
    assert granted(one)
    # When both would wait for their turn
    one.take(REALM, may_wait_seconds=2.0)
    with pytest.raises(QboBudgetExhausted) as refused:
        two.take(REALM, may_wait_seconds=2.0)
    # Then the first waits and is served; the second is told another invocation serves the company, to
    # come back a moment later
    assert refused.value.served_elsewhere and refused.value.retry_after == 2.0
    # And once the first is done, the second may wait in turn
    one.release()
    two.take(REALM, may_wait_seconds=2.0)


def test_as_many_invocations_as_the_company_has_waiter_leases_wait_for_it_the_next_is_sent_back(
    new_budget, clock
):
    # Given three invocations of the sync working on a company with two waiter leases, its budget used
    one, two, three = (new_budget(waiters=2) for _ in range(3))
    assert granted(one)
    # When all three would wait for their turn
    one.take(REALM, may_wait_seconds=2.0)
    two.take(REALM, may_wait_seconds=2.0)
    third_sent_back = told_served_elsewhere(three)
    # Then two waited and were served, and the third is told the company is served elsewhere
    assert third_sent_back
    # And once one of them is done, the third may wait in its place, and the one done may not
    two.release()
    clock.now += SERVED_ELSEWHERE_MEMORY_SECONDS  # past the third's memory of being sent back
    waits_its_turn(three)
    assert told_served_elsewhere(two)


def test_a_waiter_lease_whose_holder_died_is_free_again_soon_and_a_live_holder_keeps_its_own(
    new_budget, clock
):
    # Given an invocation that took the company's waiter lease, and then died
    dead, live, other = new_budget(), new_budget(), new_budget()
    assert granted(dead)
    dead.take(REALM, may_wait_seconds=2.0)
    # When another would wait within the lease's time, then after it
    sent_back_at_first = told_served_elsewhere(live)
    clock.now += WAITER_LEASE_SECONDS
    waits_its_turn(live)
    # Then it was sent back at first, and may wait once the dead holder's lease ran out
    assert sent_back_at_first
    # And a holder that keeps waiting keeps the lease past its first term (renewed), others sent back
    for _ in range(3):
        clock.now += WAITER_LEASE_SECONDS / 2
        waits_its_turn(live)
        assert told_served_elsewhere(other)


def test_a_budget_without_the_waiter_lease_waits_within_its_patience_and_leaves_the_lease_to_the_sync(
    new_budget, clock
):
    # Given the budget of a function that follows QBO (no waiter lease), and the company's budget used
    follower, sync = new_budget(waiters=None), new_budget()
    assert granted(follower)
    # When the follower waits for its turn, and is never released
    started = clock.now
    follower.take(REALM, may_wait_seconds=2.0)
    # Then it waited and was served, and the sync may still wait for the company
    assert 0 < clock.now - started <= RULES.interval + 1e-6
    sync.take(REALM, may_wait_seconds=2.0)


def test_changes_sent_back_take_their_place_in_the_companys_line_one_group_after_another(new_budget, clock):
    # Given a company whose budget is used for now
    one, two = new_budget(), new_budget()
    assert granted(one)
    # When two invocations send back ten changes each, one after the other
    first = one.wait_in_line(REALM, 10)
    second = two.wait_in_line(REALM, 10)
    # Then the first group comes back when the budget is free, the second when it has served the first
    assert first == pytest.approx(RULES.interval - RULES.sync_tolerance, abs=1e-3)
    assert second == pytest.approx(first + RULES.line_length(10), abs=1e-3)


@pytest.fixture
def booking_budget(new_budget) -> Callable[..., tuple[DynamoDbQboBudget, list[float]]]:
    """A budget at QBO's limits whose sleeps are noted, not slept: invocations that wait at the same time."""

    def build(
        priority: BudgetPriority = "sync", waiters: int | None = 4, max_wait_seconds: float = 0.0
    ) -> tuple[DynamoDbQboBudget, list[float]]:
        sleeps: list[float] = []
        budget = new_budget(priority, max_wait_seconds, waiters, rules=QBO_RULES, sleep=sleeps.append)
        return budget, sleeps

    return build


def test_invocations_waiting_for_a_company_book_one_turn_each_with_one_dynamodb_call(booking_budget, clock):
    # Given a busy company, and four sync invocations that each already waited for it (holding its four
    # waiter leases), now at the last turn they booked
    waiters = [booking_budget() for _ in range(RESERVED_TURNS)]
    while granted(waiters[0][0]):
        pass
    for budget, _ in waiters:
        budget.take(REALM, may_wait_seconds=1.0)
    clock.now += max(sum(sleeps) for _, sleeps in waiters)
    for _, sleeps in waiters:
        sleeps.clear()
    # When all four ask for their next request at the same moment
    with counting_aws_calls() as calls:
        for budget, _ in waiters:
            budget.take(REALM, may_wait_seconds=1.0)
    # Then each booked the next free turn with one UpdateItem and sleeps until it, one interval after the
    # other: none woke only to be refused
    assert calls.operations("dynamodb") == {"UpdateItem": RESERVED_TURNS}
    turns = [sum(sleeps) for _, sleeps in waiters]
    assert turns == pytest.approx([QBO_RULES.interval * n for n in range(1, RESERVED_TURNS + 1)], abs=1e-3)


def test_the_syncs_booked_turns_never_keep_an_admin_request_out(booking_budget, clock):
    # Given a busy company, and the sync's invocations booking every turn they may ahead
    waiters = [booking_budget() for _ in range(RESERVED_TURNS + 1)]
    while granted(waiters[0][0]):
        pass
    booked = sum(not told_served_elsewhere(budget) for budget, _ in waiters)
    admin, admin_sleeps = booking_budget("interactive", waiters=None, max_wait_seconds=2.0)
    # When an admin's type-ahead asks
    admin.take(REALM)
    # Then it booked the turn after theirs, within its patience, and the sync may not go before it
    assert booked == RESERVED_TURNS
    assert 0 < sum(admin_sleeps) <= (RESERVED_TURNS + 1) * QBO_RULES.interval + 1e-6
    with pytest.raises(QboBudgetExhausted):
        waiters[0][0].take(REALM)
