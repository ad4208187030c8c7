"""QboBudgetTable: the per-realm QBO request budget (domain/qbo_budget.py) as one item per realm,
`pk = REALM#<realm id>`, `tat` = the realm's theoretical arrival time and `line` = the end of its waiting
line (epoch seconds, domain/qbo_budget.py). Implements ports.QboRequestBudget.

A draw is one conditional UpdateItem, with no read first. Which of two updates it is depends on where `tat`
stands, which only DynamoDB knows, so the adapter guesses from the last value it saw for the realm:

- busy (`now <= tat <= now + tolerance + ahead`): `SET tat = tat + interval`. Concurrent draws add up
  without conflicting, so a company kept busy by several invocations costs one call per request;
- idle (`tat < now`, or no item): `SET tat = now + interval`.

A wrong guess fails its condition, and DynamoDB returns the item as it is
(ReturnValuesOnConditionCheckFailure), which settles it: either the budget is empty (`tat` beyond the
tolerance: refused, no second call), or the other update is sent. Contention can make that miss too; after
three tries the draw is refused with a short wait. An invocation that had to book its turn guesses busy for
a while after (CONTENDED_MEMORY_SECONDS): the other waiters move `tat` on meanwhile.

A request that may wait books its turn (`ahead`, domain/qbo_budget.py): the draw is granted while `tat` is
at most `reservation` beyond the tolerance, and the caller sleeps until the turn it got. So the invocations
waiting for one company take turns with one UpdateItem each, instead of all waking at the same moment to be
refused but one, and each request leaves when its turn says, not a DynamoDB round trip after the moment
the draw was decided (which grows with load and could bunch requests past QBO's per-second limit).

A refusal is remembered until the realm's turn comes (`retry_after`): until then every record of that company
is refused at once, without calling DynamoDB or QBO, so a throttled merchant's backlog costs the pollers
almost nothing and other merchants' changes go through. Interactive draws (the admin API) may wait for
their turn, up to `max_wait_seconds`. The sync waits only within work it has started (its later QBO calls,
`may_wait_seconds`), and only `waiters` invocations at a time per company: waiting takes one of the company's
waiter leases (items `REALM#<realm id>#WAITER#<n>`, a conditional put each, released when the invocation is
done, or expired WAITER_LEASE_SECONDS after it was last renewed if it died). A few, because one invocation
works through its changes one QBO call after another, slower than a company's budget; only a few, so that the
other pollers stay free for other merchants: the sync's other invocations are refused at once, and a change of
that company they meet takes its place in the company's line (`served_elsewhere`), and once they know, the
next ones are sent back without any work. Sent back to come again in a moment instead, such changes would be
in the queue again and again ahead of other merchants' changes (a FIFO queue keeps a change handed back at its
place). The functions that follow QBO wait within their patience without a lease: they are few, on queues of
their own, and a lease they held would tell the sync that its own invocations serve the company. A change that
has not started goes back to the queue, and `wait_in_line` says for how long (one UpdateItem per group of
changes sent back together, the same two guesses as a draw). A change that never waits costs no lease: only a
throttled company's changes pay for it, once per batch.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from customer_sync.adapters.dynamodb import (
    DynamoDbTable,
    from_item,
    is_condition_failure,
    string_key,
    to_item,
)
from customer_sync.domain.qbo_budget import BudgetPriority, BudgetRules
from customer_sync.errors import QboBudgetExhausted

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_DRAW_TRIES = 3
# A waiter lease runs this long from when it was taken or last renewed; its holder renews it when it waits
# in the second half. Longer than a record's work between two waits, so a live holder keeps it; short, so a
# holder that died (a crash, a timeout) holds its company's other changes up only briefly.
WAITER_LEASE_SECONDS = 20.0
# A change that would wait while every waiter lease of its company is held comes back no sooner than this
# (it takes its place in the company's line, which is usually later).
SERVED_ELSEWHERE_RETRY_SECONDS = 2.0
# For this long the next changes of that company are sent back to its line without any work (no PaySimple
# fetch, no lease asked for): about one batch of the invocations waiting for it (ten QBO calls in a row),
# which take their leases again themselves when the company still has changes. Shorter, a backlog's
# changes cost each poller a batch's fetches again and again before other merchants' changes get a turn.
SERVED_ELSEWHERE_MEMORY_SECONDS = 5.0
# After booking a turn ahead, the next draw for that company guesses it busy (`tat` ahead of the clock) for
# this long after the turn: the other waiters keep moving `tat` on, which this invocation does not see.
CONTENDED_MEMORY_SECONDS = 1.0
# After a draw lost to contention three times, try again this soon.
_CONTENTION_RETRY_SECONDS = 0.05


def realm_pk(realm_id: str) -> str:
    return f"REALM#{realm_id}"


def waiter_pk(realm_id: str, slot: int) -> str:
    return f"REALM#{realm_id}#WAITER#{slot}"


class DynamoDbQboBudget:
    def __init__(
        self,
        table_name: str,
        rules: BudgetRules,
        *,
        priority: BudgetPriority,
        pause_seconds: float,
        client: DynamoDBClient | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        max_wait_seconds: float = 0.0,
        waiters: int | None = None,
    ) -> None:
        self._table = DynamoDbTable(table_name, client=client)
        self.rules = rules
        self._priority: BudgetPriority = priority
        self._pause_seconds = pause_seconds
        self._clock = clock
        self._sleep = sleep
        self._max_wait_seconds = max_wait_seconds
        self._waiters = waiters  # None: waits within its patience without a lease
        self._lock = threading.Lock()
        self._last_tat: dict[str, float] = {}  # realm → the last `tat` seen
        self._contended_until: dict[str, float] = {}  # realm → guess it busy until then (a turn was booked)
        self._last_line: dict[str, float] = {}  # realm → the last end of its waiting line seen
        self._owner = uuid.uuid4().hex
        self._waiting_for: dict[str, tuple[int, float]] = {}  # realm → (slot, expiry) of the lease held
        self._served_elsewhere_until: dict[str, float] = {}  # realm → another invocation waits for it
        self._refused_until: dict[str, float] = {}  # realm → no draw before this (epoch seconds)

    # -- ports.QboRequestBudget ------------------------------------------------------------------------

    def take(self, realm_id: str, *, may_wait_seconds: float = 0.0) -> None:
        waited = 0.0
        while True:
            ahead = self._may_book_ahead(realm_id, max(may_wait_seconds, self._max_wait_seconds) - waited)
            try:
                turn_in = self._draw(realm_id, ahead=ahead)
            except QboBudgetExhausted as refused:
                wait = refused.retry_after or 0.0
                if waited + wait <= self._max_wait_seconds:
                    pass  # interactive: a person is waiting, and such calls are few
                elif refused.served_elsewhere or waited + wait > may_wait_seconds:
                    raise
                elif self._waiters is not None and not self._may_wait_for(realm_id, self._waiters):
                    with self._lock:
                        self._served_elsewhere_until[realm_id] = (
                            self._clock() + SERVED_ELSEWHERE_MEMORY_SECONDS
                        )
                    raise QboBudgetExhausted(
                        retry_after=SERVED_ELSEWHERE_RETRY_SECONDS, realm_id=realm_id, served_elsewhere=True
                    ) from None
                elif not ahead and self._may_book_ahead(realm_id, may_wait_seconds - waited):
                    continue  # the lease just taken: book the turn rather than wait to draw it
                self._sleep(wait)
                waited += wait
                continue
            if turn_in > 0:
                self._sleep(turn_in)  # the turn booked (nothing else to do meanwhile: the next call needs it)
            return

    def _may_book_ahead(self, realm_id: str, patience: float) -> float:
        """How far beyond its tolerance this request may book its turn: not at all without patience, nor for
        a sync invocation that is not one of the company's waiters (its lease renewed here when due)."""
        if patience <= 0:
            return 0.0
        if (
            self._priority == "sync"
            and self._waiters is not None
            and (realm_id not in self._waiting_for or not self._may_wait_for(realm_id, self._waiters))
        ):
            return 0.0
        return min(patience, self.rules.reservation(self._priority))

    def release(self) -> None:
        for realm_id, (slot, _) in sorted(self._waiting_for.items()):
            try:
                self._table.client.delete_item(
                    TableName=self._table.name,
                    Key=string_key(pk=waiter_pk(realm_id, slot)),
                    ConditionExpression="#owner = :me",
                    ExpressionAttributeNames={"#owner": "owner"},
                    ExpressionAttributeValues=to_item({":me": self._owner}),
                )
            except ClientError as error:
                if not is_condition_failure(error):
                    raise  # (taken over after expiring: nothing to release)
        self._waiting_for.clear()

    def _may_wait_for(self, realm_id: str, waiters: int) -> bool:
        """Whether this invocation holds, or now takes, one of the company's `waiters` leases (the one it
        holds renewed in its second half; a lease that expired meanwhile may have been taken by another).
        One conditional put per slot tried, the slot held first."""
        now = self._clock()
        held = self._waiting_for.get(realm_id)
        if held is not None and now < held[1] - WAITER_LEASE_SECONDS / 2:
            return True
        slots = list(range(waiters))
        if held is not None:
            slots.remove(held[0])
            slots.insert(0, held[0])
        for slot in slots:
            try:
                self._table.client.put_item(
                    TableName=self._table.name,
                    Item=to_item(
                        {
                            "pk": waiter_pk(realm_id, slot),
                            "owner": self._owner,
                            "expires_at": now + WAITER_LEASE_SECONDS,
                        }
                    ),
                    ConditionExpression="attribute_not_exists(pk) OR expires_at < :now OR #owner = :me",
                    ExpressionAttributeNames={"#owner": "owner"},
                    ExpressionAttributeValues=to_item({":now": now, ":me": self._owner}),
                )
            except ClientError as error:
                if is_condition_failure(error):
                    continue
                raise
            self._waiting_for[realm_id] = (slot, now + WAITER_LEASE_SECONDS)
            return True
        self._waiting_for.pop(realm_id, None)
        return False

    def check(self, realm_id: str, *, may_wait_seconds: float = 0.0) -> None:
        now = self._clock()
        with self._lock:
            refused_until = self._refused_until.get(realm_id, 0.0)
            elsewhere_until = self._served_elsewhere_until.get(realm_id, 0.0)
        if may_wait_seconds and realm_id not in self._waiting_for and now < elsewhere_until:
            raise QboBudgetExhausted(
                retry_after=elsewhere_until - now, realm_id=realm_id, served_elsewhere=True
            )
        if refused_until - now > may_wait_seconds:
            raise QboBudgetExhausted(retry_after=refused_until - now, realm_id=realm_id)

    def pause(self, realm_id: str, at_least_seconds: float | None = None) -> float:
        seconds = max(self._pause_seconds, at_least_seconds or 0.0)
        until = self._clock() + seconds
        try:
            self._table.client.update_item(
                TableName=self._table.name,
                Key=string_key(pk=realm_pk(realm_id)),
                UpdateExpression="SET tat = :until",
                ConditionExpression="attribute_not_exists(tat) OR tat < :until",
                ExpressionAttributeValues=to_item({":until": until}),
            )
        except ClientError as error:
            if not is_condition_failure(error):
                raise  # already paused at least that long otherwise
        with self._lock:
            self._last_tat[realm_id] = max(until, self._last_tat.get(realm_id, until))
            self._refused_until[realm_id] = until - self.rules.tolerance(self._priority)
        return seconds

    def wait_in_line(self, realm_id: str, changes: int) -> float:
        now = self._clock()
        with self._lock:
            next_request = max(now, self._last_tat.get(realm_id, now) - self.rules.tolerance(self._priority))
            last_line = self._last_line.get(realm_id)
        length = self.rules.line_length(changes)
        busy = last_line is not None and last_line >= next_request
        for _ in range(2):
            outcome = self._join_line(realm_id, next_request, length, busy=busy)
            if isinstance(outcome, float):
                with self._lock:
                    self._last_line[realm_id] = outcome
                return max(0.0, outcome - length - now)
            line = outcome.get("line")
            busy = line is not None and line >= next_request
        # Contention on the line twice: come back when the budget has served what it knows of.
        return max(0.0, next_request - now) + length

    def _join_line(self, realm_id: str, start: float, length: float, *, busy: bool) -> float | dict[str, Any]:
        """The line's new end, or the item as it stands when the guess (busy or idle line) was wrong."""
        if busy:
            return self._guarded_set(
                realm_id,
                "line",
                update="SET line = line + :length",
                condition="line >= :start",
                values={":length": length, ":start": start},
            )
        return self._guarded_set(
            realm_id,
            "line",
            update="SET line = :end",
            condition="attribute_not_exists(line) OR line < :start",
            values={":start": start, ":end": start + length},
        )

    # -- the draw ------------------------------------------------------------------------------------------

    def _draw(self, realm_id: str, *, ahead: float = 0.0) -> float:
        """One request's turn, booked up to `ahead` seconds beyond the tolerance: the seconds until it comes
        (0: now); raises QboBudgetExhausted when the budget has none that soon."""
        now = self._clock()
        with self._lock:
            last_tat = self._last_tat.get(realm_id)
            refused_until = self._refused_until.get(realm_id, 0.0)
            contended = now < self._contended_until.get(realm_id, 0.0)
        if refused_until - ahead > now:
            raise QboBudgetExhausted(retry_after=refused_until - ahead - now, realm_id=realm_id)
        busy = contended or (last_tat is not None and last_tat >= now)
        for _ in range(_DRAW_TRIES):
            outcome = self._update(realm_id, now, busy=busy, ahead=ahead)
            if isinstance(outcome, float):
                turn_in = max(0.0, self.rules.turn_starts(outcome, self._priority) - self._clock())
                with self._lock:
                    self._last_tat[realm_id] = outcome
                    if turn_in > 0:  # others keep the company busy: its `tat` will be ahead next time too
                        self._contended_until[realm_id] = now + turn_in + CONTENDED_MEMORY_SECONDS
                return turn_in
            tat = outcome.get("tat")
            if tat is not None and tat > self.rules.latest_allowed_tat(now, self._priority, ahead=ahead):
                wait = self.rules.retry_after(tat, now, self._priority, ahead=ahead)
                with self._lock:
                    self._last_tat[realm_id] = tat
                    self._refused_until[realm_id] = now + wait + ahead
                raise QboBudgetExhausted(retry_after=wait, realm_id=realm_id)
            busy = tat is not None and tat >= now
        raise QboBudgetExhausted(retry_after=_CONTENTION_RETRY_SECONDS, realm_id=realm_id)

    def _update(self, realm_id: str, now: float, *, busy: bool, ahead: float) -> float | dict[str, Any]:
        """The new `tat` when the draw was granted, else the item as it stands ({} when there is none)."""
        if busy:
            return self._guarded_set(
                realm_id,
                "tat",
                update="SET tat = tat + :interval",
                condition="tat BETWEEN :now AND :latest",
                values={
                    ":interval": self.rules.interval,
                    ":now": now,
                    ":latest": self.rules.latest_allowed_tat(now, self._priority, ahead=ahead),
                },
            )
        return self._guarded_set(
            realm_id,
            "tat",
            update="SET tat = :next",
            condition="attribute_not_exists(tat) OR tat < :now",
            values={":now": now, ":next": self.rules.next_tat(None, now)},
        )

    def _guarded_set(
        self, realm_id: str, attribute: str, *, update: str, condition: str, values: dict[str, float]
    ) -> float | dict[str, Any]:
        """One conditional UpdateItem of the realm's item: the attribute's new value, or the item as it
        stands ({} when there is none) when the condition failed."""
        try:
            response = self._table.client.update_item(
                TableName=self._table.name,
                Key=string_key(pk=realm_pk(realm_id)),
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeValues=to_item(values),
                ReturnValues="UPDATED_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if not is_condition_failure(error):
                raise
            # ReturnValuesOnConditionCheckFailure puts the item beside the error (botocore's types omit it).
            answer: Any = error.response
            return from_item(answer.get("Item") or {})
        return float(from_item(response["Attributes"])[attribute])
