"""SettingsTable: merchant profile and settings, versioned field mappings, the QBO connect flow's state.

Items:
- `MERCHANT#<m>` / `PROFILE`: `merchant_id`, `created_at` — the merchant is onboarded;
- `MERCHANT#<m>` / `SETTINGS`: MerchantSettings plus `version` (optimistic concurrency);
- `MERCHANT#<m>` / `MAPPING#<version:010d>`: `version`, `effective_at`, `rows`;
- `MERCHANT#<m>` / `LAST_SYNC`: `at`, moved forward by the admin's repository and set with each synced
  change by the sync's journal (adapters/dynamodb_sync_journal.py);
- `OAUTHSTATE#<nonce>` / `OAUTHSTATE`: OAuthState plus `ttl` (epoch seconds) so DynamoDB expires it.
(`MERCHANT#<m>` / `CONNECTION` belongs to adapters/dynamodb_connection.py; `LOCK#...` to adapters/locks.py.)
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from customer_sync.adapters.dynamodb import (
    DynamoDbTable,
    from_item,
    is_condition_failure,
    merchant_pk,
    move_time_forward,
    query_all,
    string_key,
    to_item,
)
from customer_sync.adapters.dynamodb_realms import (
    MERCHANT_REALM_SK,
    NAMES_SK_PREFIX,
    name_variants_from_items,
)
from customer_sync.domain.mapping import default_mapping, mapping_in_effect
from customer_sync.errors import ConcurrentModification
from customer_sync.models.common import iso_utc
from customer_sync.models.mapping import FieldMapping, MappingRow
from customer_sync.models.settings import MerchantSettings, MerchantSyncConfig, OAuthState, SettingsChanges

PROFILE_SK = "PROFILE"
SETTINGS_SK = "SETTINGS"
LAST_SYNC_SK = "LAST_SYNC"
MAPPING_SK_PREFIX = "MAPPING#"
OAUTH_STATE_SK = "OAUTHSTATE"
# Read-modify-write attempts before a conflict is reported to the caller.
_WRITE_ATTEMPTS = 5

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def mapping_sk(version: int) -> str:
    return f"{MAPPING_SK_PREFIX}{version:010d}"


def oauth_state_pk(nonce: str) -> str:
    return f"OAUTHSTATE#{nonce}"


class DynamoDbSettingsRepository:
    def __init__(self, table_name: str, *, client: DynamoDBClient | None = None) -> None:
        self._table = DynamoDbTable(table_name, client=client)

    def _get(self, merchant_id: str, sk: str) -> dict[str, Any] | None:
        item = self._table.client.get_item(
            TableName=self._table.name,
            Key=string_key(pk=merchant_pk(merchant_id), sk=sk),
            ConsistentRead=True,
        ).get("Item")
        return from_item(item) if item else None

    def merchant_exists(self, merchant_id: str) -> bool:
        return self._get(merchant_id, PROFILE_SK) is not None

    def onboarded_merchants(self) -> list[str]:
        """Every onboarded merchant (implements ports.MerchantList): a scan of the profile items, for the
        daily keep-alive; the table holds a few items per merchant."""
        merchants: list[str] = []
        request: dict[str, Any] = {
            "TableName": self._table.name,
            "FilterExpression": "sk = :profile",
            "ExpressionAttributeValues": to_item({":profile": PROFILE_SK}),
            "ConsistentRead": True,
        }
        while True:
            response = self._table.client.scan(**request)
            merchants += [str(from_item(item)["merchant_id"]) for item in response.get("Items", [])]
            if "LastEvaluatedKey" not in response:
                return sorted(merchants)
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def ensure_merchant(self, merchant_id: str, *, now: datetime) -> bool:
        item = {"pk": merchant_pk(merchant_id), "sk": PROFILE_SK, "merchant_id": merchant_id}
        try:
            self._table.client.put_item(
                TableName=self._table.name,
                Item=to_item({**item, "created_at": iso_utc(now)}),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise
        return True

    def get_settings(self, merchant_id: str) -> MerchantSettings:
        return self._read_settings(merchant_id)[0]

    def _read_settings(self, merchant_id: str) -> tuple[MerchantSettings, int]:
        item = self._get(merchant_id, SETTINGS_SK)
        if item is None:
            return MerchantSettings(), 0
        return _settings_from_values(item), int(item["version"])

    def update_settings(
        self, merchant_id: str, changes: SettingsChanges, *, now: datetime
    ) -> MerchantSettings:
        for _ in range(_WRITE_ATTEMPTS):
            current, version = self._read_settings(merchant_id)
            updated = current.with_changes(changes, now=now)
            item = {
                **updated.model_dump(mode="json"),
                "pk": merchant_pk(merchant_id),
                "sk": SETTINGS_SK,
                "version": version + 1,
            }
            condition: dict[str, Any] = (
                {"ConditionExpression": "attribute_not_exists(pk)"}
                if version == 0
                else {
                    "ConditionExpression": "#version = :version",
                    "ExpressionAttributeNames": {"#version": "version"},
                    "ExpressionAttributeValues": to_item({":version": version}),
                }
            )
            try:
                self._table.client.put_item(TableName=self._table.name, Item=to_item(item), **condition)
            except ClientError as error:
                if is_condition_failure(error):
                    continue  # someone saved in between: apply the change to their version
                raise
            return updated
        raise ConcurrentModification(f"settings of merchant {merchant_id}")

    def record_successful_sync(self, merchant_id: str, at: datetime) -> None:
        move_time_forward(self._table, string_key(pk=merchant_pk(merchant_id), sk=LAST_SYNC_SK), "at", at)

    def last_successful_sync(self, merchant_id: str) -> datetime | None:
        item = self._get(merchant_id, LAST_SYNC_SK)
        return datetime.fromisoformat(item["at"]) if item else None


class DynamoDbMappingRepository:
    def __init__(self, table_name: str, *, client: DynamoDBClient | None = None) -> None:
        self._table = DynamoDbTable(table_name, client=client)

    def _newest_first(self, merchant_id: str, *, limit: int | None = None) -> Iterator[FieldMapping]:
        """Stored versions, newest first, page by page."""
        request: dict[str, Any] = {
            "TableName": self._table.name,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": to_item(
                {":pk": merchant_pk(merchant_id), ":prefix": MAPPING_SK_PREFIX}
            ),
            "ScanIndexForward": False,
            "ConsistentRead": True,
        }
        if limit is not None:
            request["Limit"] = limit
        while True:
            response = self._table.client.query(**request)
            for item in response.get("Items", []):
                yield _mapping_from_item(from_item(item))
            if "LastEvaluatedKey" not in response:
                return
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def current_mapping(self, merchant_id: str) -> FieldMapping:
        return next(iter(self._newest_first(merchant_id, limit=1)), None) or default_mapping()

    def mapping_in_effect_at(self, merchant_id: str, at: datetime) -> FieldMapping:
        return mapping_in_effect(self._newest_first(merchant_id), at)

    def save_mapping(self, merchant_id: str, rows: Sequence[MappingRow], *, now: datetime) -> FieldMapping:
        for _ in range(_WRITE_ATTEMPTS):
            version = self.current_mapping(merchant_id).version + 1
            mapping = FieldMapping(version=version, effective_at=now, rows=tuple(rows))
            item = {
                "pk": merchant_pk(merchant_id),
                "sk": mapping_sk(version),
                "version": version,
                "effective_at": iso_utc(now),
                "rows": [row.model_dump(mode="json") for row in mapping.rows],
            }
            try:
                self._table.client.put_item(
                    TableName=self._table.name,
                    Item=to_item(item),
                    ConditionExpression="attribute_not_exists(pk)",
                )
            except ClientError as error:
                if is_condition_failure(error):
                    continue  # a concurrent save took this number: ours becomes the next one
                raise
            return mapping
        raise ConcurrentModification(f"field mapping of merchant {merchant_id}")


class DynamoDbSyncConfigs:
    """ports.SyncConfigSource: a merchant's settings, mapping versions and name variants in one Query. In
    the merchant's partition the sort keys `MAPPING#...` < `NAMES#...` < `PROFILE` < `QBO_REALM` <
    `SETTINGS` sit next to each other, so one key range reads them all (and the profile, a few bytes) and
    nothing else. `QBO_REALM` is the company the merchant is connected to: the sync works in no other, and
    only that company's name variants count."""

    def __init__(self, table_name: str, *, client: DynamoDBClient | None = None) -> None:
        self._table = DynamoDbTable(table_name, client=client)

    def sync_config(self, merchant_id: str) -> MerchantSyncConfig:
        request: dict[str, Any] = {
            "TableName": self._table.name,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :first AND :last",
            "ExpressionAttributeValues": to_item(
                {":pk": merchant_pk(merchant_id), ":first": MAPPING_SK_PREFIX, ":last": SETTINGS_SK}
            ),
            "ScanIndexForward": False,
            "ConsistentRead": True,
        }
        settings = MerchantSettings()
        mappings: list[FieldMapping] = []
        names: list[dict[str, Any]] = []
        realm_id: str | None = None
        for values in map(from_item, query_all(self._table.client, request)):
            sk = str(values["sk"])
            if sk == SETTINGS_SK:
                settings = _settings_from_values(values)
            elif sk == MERCHANT_REALM_SK:
                realm_id = str(values["realm_id"])
            elif sk.startswith(MAPPING_SK_PREFIX):
                mappings.append(_mapping_from_item(values))
            elif sk.startswith(NAMES_SK_PREFIX):
                names.append(values)
        variants = None if realm_id is None else name_variants_from_items(names, realm_id)
        return MerchantSyncConfig(
            settings=settings, mappings=tuple(mappings), realm_id=realm_id, name_variants=variants
        )


class DynamoDbOAuthStateRepository:
    def __init__(self, table_name: str, *, client: DynamoDBClient | None = None) -> None:
        self._table = DynamoDbTable(table_name, client=client)

    def save_oauth_state(self, state: OAuthState) -> None:
        item = {
            **state.model_dump(mode="json"),
            "pk": oauth_state_pk(state.nonce),
            "sk": OAUTH_STATE_SK,
            "ttl": math.ceil(state.expires_at.timestamp()),
        }
        try:
            self._table.client.put_item(
                TableName=self._table.name, Item=to_item(item), ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as error:
            if is_condition_failure(error):
                raise ConcurrentModification("OAuth state (nonce reused)") from error
            raise

    def consume_oauth_state(self, nonce: str, *, now: datetime) -> OAuthState | None:
        # One conditional delete: of two concurrent callbacks with the same state, exactly one gets it.
        # TTL deletion lags by hours, so expiry is checked here too.
        try:
            response = self._table.client.delete_item(
                TableName=self._table.name,
                Key=string_key(pk=oauth_state_pk(nonce), sk=OAUTH_STATE_SK),
                ConditionExpression="attribute_exists(pk) AND expires_at > :now",
                ExpressionAttributeValues=to_item({":now": iso_utc(now)}),
                ReturnValues="ALL_OLD",
            )
        except ClientError as error:
            if is_condition_failure(error):
                return None
            raise
        values = from_item(response.get("Attributes", {}))
        return OAuthState.model_validate(
            {name: values[name] for name in OAuthState.model_fields if name in values}
        )


def _settings_from_values(values: dict[str, Any]) -> MerchantSettings:
    return MerchantSettings.model_validate(
        {name: value for name, value in values.items() if name in MerchantSettings.model_fields}
    )


def _mapping_from_item(values: dict[str, Any]) -> FieldMapping:
    return FieldMapping.model_validate(
        {"version": values["version"], "effective_at": values["effective_at"], "rows": values["rows"]}
    )
