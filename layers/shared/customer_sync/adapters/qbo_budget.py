"""QboBudgetTable: the per-realm QBO request budget (domain/qbo_budget.py) as one item per realm,
`pk = REALM#<realm id>`, `tat` = the realm's theoretical arrival time (epoch seconds). Implements
ports.QboRequestBudget.

A draw is one conditional UpdateItem, with no read first. Which of two updates it is depends on where `tat`
stands, which only DynamoDB knows, so the adapter guesses from the last value it saw for the realm:

- busy (`now <= tat <= now + tolerance`): `SET tat = tat + interval`. Concurrent draws add up without
  conflicting, so a company kept busy by several invocations costs one call per request;
- idle (`tat < now`, or no item): `SET tat = now + interval`.

A wrong guess fails its condition, and DynamoDB returns the item as it is
(ReturnValuesOnConditionCheckFailure), which settles it: either the budget is empty (`tat` beyond the
tolerance: refused, no second call), or the other update is sent. Contention can make that miss too; after
three tries the draw is refused with a short wait.

A refusal is remembered until the realm's turn comes (`retry_after`): until then every record of that
company is refused at once, without calling DynamoDB or QBO, so a throttled merchant's backlog costs the
pollers almost nothing and other merchants' changes go through. Interactive draws (the admin API) may wait
for their turn, up to `max_wait_seconds`; the sync never waits: its records go back to the queue.
"""

from __future__ import annotations

import threading
import time
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
# After a draw lost to contention three times, try again this soon.
_CONTENTION_RETRY_SECONDS = 0.05


def realm_pk(realm_id: str) -> str:
    return f"REALM#{realm_id}"


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
    ) -> None:
        self._table = DynamoDbTable(table_name, client=client)
        self.rules = rules
        self._priority: BudgetPriority = priority
        self._pause_seconds = pause_seconds
        self._clock = clock
        self._sleep = sleep
        self._max_wait_seconds = max_wait_seconds
        self._lock = threading.Lock()
        self._last_tat: dict[str, float] = {}  # realm → the last `tat` seen
        self._refused_until: dict[str, float] = {}  # realm → no draw before this (epoch seconds)

    # -- ports.QboRequestBudget ------------------------------------------------------------------------

    def take(self, realm_id: str) -> None:
        waited = 0.0
        while True:
            try:
                self._draw(realm_id)
                return
            except QboBudgetExhausted as refused:
                wait = refused.retry_after or 0.0
                if waited + wait > self._max_wait_seconds:
                    raise
                self._sleep(wait)
                waited += wait

    def check(self, realm_id: str) -> None:
        now = self._clock()
        with self._lock:
            refused_until = self._refused_until.get(realm_id, 0.0)
        if now < refused_until:
            raise QboBudgetExhausted(retry_after=refused_until - now)

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

    # -- the draw ------------------------------------------------------------------------------------------

    def _draw(self, realm_id: str) -> None:
        self.check(realm_id)
        now = self._clock()
        with self._lock:
            last_tat = self._last_tat.get(realm_id)
        busy = last_tat is not None and last_tat >= now
        for _ in range(_DRAW_TRIES):
            outcome = self._update(realm_id, now, busy=busy)
            if isinstance(outcome, float):
                with self._lock:
                    self._last_tat[realm_id] = outcome
                return
            tat = outcome.get("tat")
            if tat is not None and tat > self.rules.latest_allowed_tat(now, self._priority):
                wait = self.rules.retry_after(tat, now, self._priority)
                with self._lock:
                    self._last_tat[realm_id] = tat
                    self._refused_until[realm_id] = now + wait
                raise QboBudgetExhausted(retry_after=wait)
            busy = tat is not None and tat >= now
        raise QboBudgetExhausted(retry_after=_CONTENTION_RETRY_SECONDS)

    def _update(self, realm_id: str, now: float, *, busy: bool) -> float | dict[str, Any]:
        """The new `tat` when the draw was granted, else the item as it stands ({} when there is none)."""
        request: dict[str, Any] = {
            "TableName": self._table.name,
            "Key": string_key(pk=realm_pk(realm_id)),
            "ReturnValues": "UPDATED_NEW",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        if busy:
            request["UpdateExpression"] = "SET tat = tat + :interval"
            request["ConditionExpression"] = "tat BETWEEN :now AND :latest"
            values = {
                ":interval": self.rules.interval,
                ":now": now,
                ":latest": self.rules.latest_allowed_tat(now, self._priority),
            }
        else:
            request["UpdateExpression"] = "SET tat = :next"
            request["ConditionExpression"] = "attribute_not_exists(tat) OR tat < :now"
            values = {":now": now, ":next": self.rules.next_tat(None, now)}
        request["ExpressionAttributeValues"] = to_item(values)
        try:
            response = self._table.client.update_item(**request)
        except ClientError as error:
            if not is_condition_failure(error):
                raise
            # ReturnValuesOnConditionCheckFailure puts the item beside the error (botocore's types omit it).
            answer: Any = error.response
            return from_item(answer.get("Item") or {})
        return float(from_item(response["Attributes"])["tat"])
