"""The sync's bookkeeping around each change in as few DynamoDB round trips as is safe (ports.SyncJournal).

- **Prefetch**, once per batch: one BatchGetItem reads the link of every customer in the batch (LinksTable)
  and the outcome of every change already done (IdempotencyTable).
- **Complete**, once per change: one TransactWriteItems stores everything the change leaves behind. The
  final link write (with its QBO claim and email entry, conditional on the version read), the history entry,
  the merchant's last successful sync, a parked failure (or the removal of one a redrive resolved), the
  release of the customer's name claim once its create is no longer under way, and the
  change's outcome (IdempotencyTable, `id = sync#<merchant>#<event>#<redrive attempt>`), which is what a
  redelivery of the same change is answered with instead of being synced again.

The outcome is written on condition that none is stored yet for the change (or only an expired one), so a
change is completed at most once, and its history entry with it. A change that fails before completing
leaves no outcome, so SQS's redelivery runs it again, exactly as Powertools' idempotency utility would
have; what it no longer does is write an "in progress" record first and the result in a second round trip.
Nothing needs the in-progress marker: the FIFO queue never hands the same customer's changes (its message
group) to two invocations at once, and the links' version conditions catch anything else.

Outcomes expire after OUTCOME_DAYS (the table's TTL attribute `expiration`), long enough to cover
PaySimple's 72 hours of webhook retries, so a late duplicate is still recognised.

The merchant's last successful sync is set to the change's time without a condition (a condition that
failed would cancel the whole transaction): two invocations finishing within the same moment may leave it
a few milliseconds short of the very latest.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from customer_sync.adapters.dynamodb import DynamoDbTable, batch_get, merchant_pk, string_key, to_item
from customer_sync.adapters.dynamodb_history import entry_item, failure_item, failure_sk, failures_pk
from customer_sync.adapters.dynamodb_links import (
    DynamoDbLinksRepository,
    LinkTransaction,
    link_key,
    name_claim_release,
    name_unclaimed_check,
)
from customer_sync.adapters.dynamodb_settings import LAST_SYNC_SK
from customer_sync.domain.sync.outcomes import SyncOutcome
from customer_sync.domain.sync.records import (
    ChangeKey,
    Completion,
    JournalPrefetch,
    change_key,
    customer_key,
)
from customer_sync.models.common import iso_utc
from customer_sync.models.links import CustomerLink
from customer_sync.models.messages import CustomerChangeMessage

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

OUTCOME_DAYS = 4
# DynamoDB reads at most 100 keys in one BatchGetItem: a batch of 10 changes needs 20.
_MAX_KEYS = 100


def outcome_id(key: ChangeKey) -> str:
    merchant_id, event_id, redrive_attempt = key
    return f"sync#{merchant_id}#{event_id}#{redrive_attempt}"


class DynamoDbSyncJournal:
    def __init__(
        self,
        *,
        links: DynamoDbLinksRepository,
        history_table_name: str,
        settings_table_name: str,
        idempotency_table_name: str,
        epoch_clock: Callable[[], float],
        client: DynamoDBClient | None = None,
    ) -> None:
        self._links = links
        self._client = client
        self._history = DynamoDbTable(history_table_name, client=client)
        self._settings = DynamoDbTable(settings_table_name, client=client)
        self._outcomes = DynamoDbTable(idempotency_table_name, client=client)
        self._epoch_clock = epoch_clock

    def prefetch(self, changes: Sequence[CustomerChangeMessage]) -> JournalPrefetch:
        customers = list(dict.fromkeys(customer_key(change) for change in changes))
        done = list(dict.fromkeys(change_key(change) for change in changes))
        if not customers:
            return JournalPrefetch()
        if len(customers) + len(done) > _MAX_KEYS:
            raise ValueError(f"a batch reads at most {_MAX_KEYS} keys at once")
        links_table, outcomes_table = self._links.table_name, self._outcomes.name
        found = batch_get(
            self._outcomes.client,
            {
                links_table: [link_key(*customer) for customer in customers],
                outcomes_table: [string_key(id=outcome_id(key)) for key in done],
            },
        )
        prefetch = JournalPrefetch(links=dict.fromkeys(customers))
        for item in found[links_table]:
            link = self._links.link_of_item(item)
            prefetch.links[(link.merchant_id, link.paysimple_customer_id)] = link
        for customer in customers:
            if prefetch.links[customer] is None:
                self._links.remember(*customer, None)
        now = self._epoch_clock()
        by_id = {outcome_id(key): key for key in done}
        for item in found[outcomes_table]:
            expiration = float(item.get("expiration", {}).get("N", "0"))
            if expiration > now:
                outcome = SyncOutcome.model_validate_json(item["outcome"]["S"])
                prefetch.outcomes[by_id[item["id"]["S"]]] = outcome
        return prefetch

    def complete(self, completion: Completion) -> CustomerLink | None:
        written = completion.link
        transaction = (
            self._links.link_transaction(written.link, expected_version=written.expected_version)
            if written is not None
            else LinkTransaction()
        )
        if written is not None and written.name_check is not None:
            transaction.add(name_unclaimed_check(written.name_check, self._links.table_name), name_claim=True)
        message = completion.message
        history = to_item(entry_item(completion.history))
        transaction.add({"Put": {"TableName": self._history.name, "Item": history}})
        if completion.successful_sync_at is not None:
            last_sync = {
                "pk": merchant_pk(message.merchant_id),
                "sk": LAST_SYNC_SK,
                "at": iso_utc(completion.successful_sync_at),
            }
            transaction.add({"Put": {"TableName": self._settings.name, "Item": to_item(last_sync)}})
        if completion.releases_name is not None:
            transaction.add(name_claim_release(completion.releases_name, self._links.table_name))
        if completion.parked is not None:
            transaction.add(
                {"Put": {"TableName": self._history.name, "Item": to_item(failure_item(completion.parked))}}
            )
        elif completion.resolves_parked_failure:
            failure_key = string_key(
                pk=failures_pk(message.merchant_id), sk=failure_sk(message.customer_id, message.event_id)
            )
            transaction.add({"Delete": {"TableName": self._history.name, "Key": failure_key}})
        now = self._epoch_clock()
        outcome = {
            "id": outcome_id(change_key(message)),
            "outcome": completion.outcome.model_dump_json(),
            "expiration": math.ceil(now + OUTCOME_DAYS * 24 * 3600),
        }
        transaction.add(
            {
                "Put": {
                    "TableName": self._outcomes.name,
                    "Item": to_item(outcome),
                    "ConditionExpression": "attribute_not_exists(id) OR expiration < :now",
                    "ExpressionAttributeValues": to_item({":now": math.floor(now)}),
                }
            }
        )
        self._links.commit(transaction)
        return transaction.stored
