"""HistoryTable: what happened to each customer, and the changes parked after a permanent failure.

Items:
- entry    pk `MERCHANT#<m>#PS#<ps id>`, sk `<recorded_at, ISO UTC µs>#<event_id>#<action>`: a HistoryEntry;
- recorded pk `MERCHANT#<m>#PS#<ps id>#RECORDED`, sk `<event_id>#<action>`: written with the entry in one
  transaction, so a redelivered event (new recorded_at, same event and action) is recorded only once. (The
  sync's final entry of a change needs no guard: the journal writes it together with the change's outcome,
  adapters/dynamodb_sync_journal.py, so a change done once is recorded once.);
- failure  pk `MERCHANT#<m>#FAILURES`, sk `PS#<ps id>#<event_id>`: a ParkedFailure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from customer_sync.adapters.dynamodb import (
    DynamoDbTable,
    cancellation_reasons,
    decode_cursor,
    from_item,
    is_condition_failure,
    query_page,
    string_key,
    to_item,
)
from customer_sync.models.common import Page, iso_utc
from customer_sync.models.history import HistoryEntry, ParkedFailure

_KEY_NAMES = ("pk", "sk")

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def customer_history_pk(merchant_id: str, paysimple_customer_id: str) -> str:
    return f"MERCHANT#{merchant_id}#PS#{paysimple_customer_id}"


def history_sk(entry: HistoryEntry) -> str:
    return f"{iso_utc(entry.recorded_at)}#{entry.event_id}#{entry.action}"


def recorded_pk(merchant_id: str, paysimple_customer_id: str) -> str:
    return f"{customer_history_pk(merchant_id, paysimple_customer_id)}#RECORDED"


def entry_item(entry: HistoryEntry) -> dict[str, Any]:
    """A history entry as stored (plain values)."""
    return {
        **entry.model_dump(mode="json"),
        "pk": customer_history_pk(entry.merchant_id, entry.paysimple_customer_id),
        "sk": history_sk(entry),
    }


def failure_item(failure: ParkedFailure) -> dict[str, Any]:
    """A parked failure as stored (plain values)."""
    return {
        **failure.model_dump(mode="json"),
        "pk": failures_pk(failure.merchant_id),
        "sk": failure_sk(failure.paysimple_customer_id, failure.event_id),
    }


def failures_pk(merchant_id: str) -> str:
    return f"MERCHANT#{merchant_id}#FAILURES"


def failure_sk(paysimple_customer_id: str, event_id: str) -> str:
    return f"PS#{paysimple_customer_id}#{event_id}"


class DynamoDbHistoryRepository:
    def __init__(self, table_name: str, *, client: DynamoDBClient | None = None) -> None:
        self._table = DynamoDbTable(table_name, client=client)

    def append(self, entry: HistoryEntry) -> bool:
        merchant_id, customer_id = entry.merchant_id, entry.paysimple_customer_id
        guard = {
            "pk": recorded_pk(merchant_id, customer_id),
            "sk": f"{entry.event_id}#{entry.action}",
            "history_sk": history_sk(entry),
        }
        item = entry_item(entry)
        try:
            self._table.client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table.name,
                            "Item": to_item(guard),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._table.name,
                            "Item": to_item(item),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            )
        except ClientError as error:
            reasons = cancellation_reasons(error)
            if any(reason.get("Code") == "ConditionalCheckFailed" for reason in reasons):
                return False
            raise
        return True

    def list_for_customer(
        self, merchant_id: str, paysimple_customer_id: str, *, limit: int = 50, cursor: str | None = None
    ) -> Page[HistoryEntry]:
        pk = customer_history_pk(merchant_id, paysimple_customer_id)
        request: dict[str, Any] = {
            "TableName": self._table.name,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": to_item({":pk": pk}),
            "ScanIndexForward": False,
            "ConsistentRead": True,
        }
        if cursor is not None:
            request["ExclusiveStartKey"] = decode_cursor(cursor, key_names=_KEY_NAMES, fixed={"pk": pk})
        items, next_cursor = query_page(self._table.client, request, limit=limit, key_names=_KEY_NAMES)
        return Page(items=[_entry_from_item(item) for item in items], next_cursor=next_cursor)


class DynamoDbFailuresRepository:
    def __init__(self, table_name: str, *, client: DynamoDBClient | None = None) -> None:
        self._table = DynamoDbTable(table_name, client=client)

    def _key(self, merchant_id: str, paysimple_customer_id: str, event_id: str) -> dict[str, Any]:
        return string_key(pk=failures_pk(merchant_id), sk=failure_sk(paysimple_customer_id, event_id))

    def park(self, failure: ParkedFailure) -> None:
        self._table.client.put_item(TableName=self._table.name, Item=to_item(failure_item(failure)))

    def get_failure(
        self, merchant_id: str, paysimple_customer_id: str, event_id: str
    ) -> ParkedFailure | None:
        item = self._table.client.get_item(
            TableName=self._table.name,
            Key=self._key(merchant_id, paysimple_customer_id, event_id),
            ConsistentRead=True,
        ).get("Item")
        return _failure_from_item(item) if item else None

    def remove_failure(self, merchant_id: str, paysimple_customer_id: str, event_id: str) -> bool:
        response = self._table.client.delete_item(
            TableName=self._table.name,
            Key=self._key(merchant_id, paysimple_customer_id, event_id),
            ReturnValues="ALL_OLD",
        )
        return bool(response.get("Attributes"))

    def replace_failure(self, failure: ParkedFailure) -> bool:
        try:
            self._table.client.put_item(
                TableName=self._table.name,
                Item=to_item(failure_item(failure)),
                ConditionExpression="attribute_exists(pk)",
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise
        return True

    def list_failures(
        self, merchant_id: str, *, cursor: str | None = None, limit: int = 50
    ) -> Page[ParkedFailure]:
        pk = failures_pk(merchant_id)
        request: dict[str, Any] = {
            "TableName": self._table.name,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": to_item({":pk": pk}),
            "ConsistentRead": True,
        }
        if cursor is not None:
            request["ExclusiveStartKey"] = decode_cursor(cursor, key_names=_KEY_NAMES, fixed={"pk": pk})
        items, next_cursor = query_page(self._table.client, request, limit=limit, key_names=_KEY_NAMES)
        return Page(items=[_failure_from_item(item) for item in items], next_cursor=next_cursor)


def _entry_from_item(item: dict[str, Any]) -> HistoryEntry:
    values = from_item(item)
    return HistoryEntry.model_validate(
        {name: values[name] for name in HistoryEntry.model_fields if name in values}
    )


def _failure_from_item(item: dict[str, Any]) -> ParkedFailure:
    values = from_item(item)
    return ParkedFailure.model_validate(
        {name: values[name] for name in ParkedFailure.model_fields if name in values}
    )
