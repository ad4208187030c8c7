"""QBO companies in the settings table: which merchants are connected to which company, and where the CDC
sweep of each company stopped.

Items:
- `QBO_REALMS` / `REALM#<realm>#MERCHANT#<m>`: `realm_id`, `merchant_id` — one partition holds every
  connection, so the daily jobs list them with one query, and a webhook's company finds its merchants with
  a `begins_with` on the same partition. Written when a merchant connects (adapters/dynamodb_connection.py)
  and by the keep-alive for connections made before this directory existed;
- `MERCHANT#<m>` / `QBO_REALM`: `realm_id` — the merchant's own entry, so a reconnect to another company
  removes the old one;
- `REALM#<realm>` / `CDC`: `checkpoint` (ISO UTC), only ever moved forward;
- `MERCHANT#<m>` / `NAMES#<realm>#CUSTOMER#<id>`: `customer` (JSON), one name variant of the merchant's
  company (domain.name_variants), and `MERCHANT#<m>` / `NAMES#<realm>#BUILT`: `built_at`. In the merchant's
  partition, between its mappings and its settings, so the sync's one settings query
  (adapters/dynamodb_settings.py DynamoDbSyncConfigs) reads them too: the variants cost the sync no call.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from customer_sync.adapters.dynamodb import (
    DynamoDbTable,
    from_item,
    merchant_pk,
    move_time_forward,
    query_all,
    string_key,
    to_item,
)
from customer_sync.models.common import iso_utc
from customer_sync.models.settings import NameVariants
from customer_sync.ports import RealmConnection

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

DIRECTORY_PK = "QBO_REALMS"
MERCHANT_REALM_SK = "QBO_REALM"
CDC_SK = "CDC"
# Between MAPPING# and PROFILE, so DynamoDbSyncConfigs's one query of the merchant's settings reads them.
NAMES_SK_PREFIX = "NAMES#"
NAMES_BUILT_SK = "BUILT"
_NAME_VARIANT_PREFIX = "CUSTOMER#"
_BATCH_WRITE_LIMIT = 25


def _directory_sk(realm_id: str, merchant_id: str) -> str:
    return f"REALM#{realm_id}#MERCHANT#{merchant_id}"


class DynamoDbRealmDirectory:
    """Implements ports.RealmDirectory."""

    def __init__(self, table_name: str, *, client: DynamoDBClient | None = None) -> None:
        self._table = DynamoDbTable(table_name, client=client)

    def register(self, merchant_id: str, realm_id: str) -> None:
        old_realm = self.realm_of(merchant_id)
        if old_realm == realm_id:
            return
        own_key = string_key(pk=merchant_pk(merchant_id), sk=MERCHANT_REALM_SK)
        items: list[Any] = [
            {"Put": {"TableName": self._table.name, "Item": {**own_key, **to_item({"realm_id": realm_id})}}},
            {
                "Put": {
                    "TableName": self._table.name,
                    "Item": to_item(
                        {
                            "pk": DIRECTORY_PK,
                            "sk": _directory_sk(realm_id, merchant_id),
                            "realm_id": realm_id,
                            "merchant_id": merchant_id,
                        }
                    ),
                }
            },
        ]
        if old_realm is not None:
            items.append(self._delete_entry(old_realm, merchant_id))
        self._table.client.transact_write_items(TransactItems=items)

    def unregister(self, merchant_id: str) -> None:
        realm_id = self.realm_of(merchant_id)
        if realm_id is None:
            return
        own_key = string_key(pk=merchant_pk(merchant_id), sk=MERCHANT_REALM_SK)
        self._table.client.transact_write_items(
            TransactItems=[
                {"Delete": {"TableName": self._table.name, "Key": own_key}},
                self._delete_entry(realm_id, merchant_id),
            ]
        )

    def realm_of(self, merchant_id: str) -> str | None:
        own_key = string_key(pk=merchant_pk(merchant_id), sk=MERCHANT_REALM_SK)
        stored = self._table.client.get_item(TableName=self._table.name, Key=own_key, ConsistentRead=True)
        return str(from_item(stored["Item"])["realm_id"]) if "Item" in stored else None

    def _delete_entry(self, realm_id: str, merchant_id: str) -> Any:
        key = string_key(pk=DIRECTORY_PK, sk=_directory_sk(realm_id, merchant_id))
        return {"Delete": {"TableName": self._table.name, "Key": key}}

    def merchants_for_realm(self, realm_id: str) -> list[str]:
        return [connection.merchant_id for connection in self._query(f"REALM#{realm_id}#MERCHANT#")]

    def connections(self) -> list[RealmConnection]:
        return self._query("REALM#")

    def _query(self, prefix: str) -> list[RealmConnection]:
        request: dict[str, Any] = {
            "TableName": self._table.name,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": to_item({":pk": DIRECTORY_PK, ":prefix": prefix}),
            "ConsistentRead": True,
        }
        return [
            RealmConnection(str(values["realm_id"]), str(values["merchant_id"]))
            for values in map(from_item, query_all(self._table.client, request))
        ]


class DynamoDbCdcCheckpoints:
    """Implements ports.CdcCheckpoints."""

    def __init__(self, table_name: str, *, client: DynamoDBClient | None = None) -> None:
        self._table = DynamoDbTable(table_name, client=client)

    def _key(self, realm_id: str) -> dict[str, Any]:
        return string_key(pk=f"REALM#{realm_id}", sk=CDC_SK)

    def checkpoint(self, realm_id: str) -> datetime | None:
        item = self._table.client.get_item(
            TableName=self._table.name, Key=self._key(realm_id), ConsistentRead=True
        ).get("Item")
        return datetime.fromisoformat(str(from_item(item)["checkpoint"])) if item else None

    def save_checkpoint(self, realm_id: str, at: datetime) -> None:
        move_time_forward(self._table, self._key(realm_id), "checkpoint", at)


def _names_prefix(realm_id: str | None = None) -> str:
    return NAMES_SK_PREFIX if realm_id is None else f"{NAMES_SK_PREFIX}{realm_id}#"


def _variant_sk(realm_id: str, qbo_customer_id: str) -> str:
    return f"{_names_prefix(realm_id)}{_NAME_VARIANT_PREFIX}{qbo_customer_id}"


def _built_sk(realm_id: str) -> str:
    return f"{_names_prefix(realm_id)}{NAMES_BUILT_SK}"


def name_variants_from_items(items: Iterable[Mapping[str, Any]], realm_id: str) -> NameVariants | None:
    """The company's variants among a merchant's items (plain values), or None when never built. Shared
    with DynamoDbSyncConfigs, which reads them with the settings."""
    built_at: datetime | None = None
    customers: list[dict[str, Any]] = []
    for values in items:
        sk = str(values["sk"])
        if sk == _built_sk(realm_id):
            built_at = datetime.fromisoformat(str(values["built_at"]))
        elif sk.startswith(_names_prefix(realm_id)):
            customers.append(json.loads(str(values["customer"])))
    if built_at is None:
        return None
    return NameVariants(realm_id=realm_id, customers=tuple(customers), built_at=built_at)


class DynamoDbNameVariants:
    """Implements ports.NameVariantsRepository in the merchant's partition, where the sync's settings
    query (DynamoDbSyncConfigs) reads them too."""

    def __init__(self, table_name: str, *, client: DynamoDBClient | None = None) -> None:
        self._table = DynamoDbTable(table_name, client=client)

    def _names(self, merchant_id: str, realm_id: str | None = None, *, only_keys: bool = False) -> Any:
        request: dict[str, Any] = {
            "TableName": self._table.name,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": to_item(
                {":pk": merchant_pk(merchant_id), ":prefix": _names_prefix(realm_id)}
            ),
            "ConsistentRead": True,
        }
        if only_keys:
            request["ProjectionExpression"] = "sk"
        return map(from_item, query_all(self._table.client, request))

    def load(self, merchant_id: str, realm_id: str) -> NameVariants | None:
        return name_variants_from_items(self._names(merchant_id, realm_id), realm_id)

    def is_built(self, merchant_id: str, realm_id: str) -> bool:
        key = string_key(pk=merchant_pk(merchant_id), sk=_built_sk(realm_id))
        return "Item" in self._table.client.get_item(TableName=self._table.name, Key=key)

    def _item(self, merchant_id: str, realm_id: str, customer: Mapping[str, Any]) -> dict[str, Any]:
        return to_item(
            {
                "pk": merchant_pk(merchant_id),
                "sk": _variant_sk(realm_id, str(customer["Id"])),
                "customer": json.dumps(customer, sort_keys=True, separators=(",", ":")),
            }
        )

    def put(self, merchant_id: str, realm_id: str, customer: Mapping[str, Any]) -> None:
        self._table.client.put_item(
            TableName=self._table.name, Item=self._item(merchant_id, realm_id, customer)
        )

    def drop(self, merchant_id: str, realm_id: str, qbo_customer_id: str) -> None:
        key = string_key(pk=merchant_pk(merchant_id), sk=_variant_sk(realm_id, qbo_customer_id))
        self._table.client.delete_item(TableName=self._table.name, Key=key)

    def replace(
        self, merchant_id: str, realm_id: str, customers: Sequence[Mapping[str, Any]], *, built_at: datetime
    ) -> None:
        pk = merchant_pk(merchant_id)
        keep = {_variant_sk(realm_id, str(customer["Id"])) for customer in customers}
        # Everything kept under NAMES#: this company's stale variants and any other company's (a reconnect).
        stale = [
            sk
            for sk in (str(values["sk"]) for values in self._names(merchant_id, only_keys=True))
            if sk not in keep
        ]
        writes: list[Any] = [{"DeleteRequest": {"Key": string_key(pk=pk, sk=sk)}} for sk in stale]
        writes += [
            {"PutRequest": {"Item": self._item(merchant_id, realm_id, customer)}} for customer in customers
        ]
        for start in range(0, len(writes), _BATCH_WRITE_LIMIT):
            self._batch_write(writes[start : start + _BATCH_WRITE_LIMIT])
        # Last: until the variants are all there, the sync goes on looking names up one by one.
        self._table.client.put_item(
            TableName=self._table.name,
            Item=to_item({"pk": pk, "sk": _built_sk(realm_id), "built_at": iso_utc(built_at)}),
        )

    def _batch_write(self, writes: list[Any]) -> None:
        pending: dict[str, Any] = {self._table.name: writes}
        for attempt in range(8):
            response = self._table.client.batch_write_item(RequestItems=pending)
            pending = response.get("UnprocessedItems") or {}
            if not pending:
                return
            time.sleep(0.05 * 2**attempt)  # DynamoDB throttled part of the batch: a moment, then the rest
        raise RuntimeError("DynamoDB left name variants unwritten after 8 attempts")
