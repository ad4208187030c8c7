"""QBO connection health in the settings table: `{pk: "MERCHANT#<id>", sk: "CONNECTION", status, reason, at,
realm_id}`, and who connected QBO and when (`connected_by`, `connected_at`) and the company's name
(`company_name`, read from QBO at connect), written by the admin API. A connect (`mark_connected`) forgets the
name, so a name on the item is always that of `realm_id`.

Updates only touch these attributes, so anything else kept on the item (e.g. by the admin API) survives. A
reconnect (`mark_connected`) ends a break; the next `mark_broken` is a new break. Connecting also registers
the merchant under its company (adapters/dynamodb_realms.py), where QBO's webhooks and the daily jobs find it.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import ClientError

from customer_sync.adapters.dynamodb import DynamoDbTable, is_condition_failure, merchant_pk, string_key
from customer_sync.adapters.dynamodb_realms import DynamoDbRealmDirectory
from customer_sync.models.qbo import ConnectionState
from customer_sync.observability import logger, metrics
from customer_sync.ports import Clock, ConnectionRecord

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

CONNECTION_SORT_KEY = "CONNECTION"
# Emitted once per break (template.yaml's QboConnectionBrokenAlarm watches it).
CONNECTION_BROKEN_METRIC = "QboConnectionBroken"


class DynamoDbConnectionState:
    def __init__(self, table_name: str, *, clock: Clock, client: DynamoDBClient | None = None) -> None:
        self._table = DynamoDbTable(table_name, client=client)
        self._clock = clock
        self._realms = DynamoDbRealmDirectory(table_name, client=client)

    def _key(self, merchant_id: str) -> dict[str, Any]:
        return string_key(pk=merchant_pk(merchant_id), sk=CONNECTION_SORT_KEY)

    def mark_broken(self, merchant_id: str, reason: str) -> None:
        """Record the break once: a connection already broken keeps its first reason and time, and only the
        change from working to broken counts in the QboConnectionBroken metric (its alarm notifies once per
        break, not once per change that meets the broken connection)."""
        try:
            self._table.client.update_item(
                TableName=self._table.name,
                Key=self._key(merchant_id),
                UpdateExpression="SET #status = :broken, #reason = :reason, #at = :at",
                ConditionExpression="attribute_not_exists(#status) OR #status <> :broken",
                ExpressionAttributeNames={"#status": "status", "#reason": "reason", "#at": "at"},
                ExpressionAttributeValues={
                    ":broken": {"S": "broken"},
                    ":reason": {"S": reason},
                    ":at": {"S": self._clock.now().isoformat()},
                },
            )
        except ClientError as error:
            if is_condition_failure(error):
                return  # already broken: recorded and counted when it broke
            raise
        logger.warning("QBO connection marked broken", extra={"merchant_id": merchant_id, "reason": reason})
        metrics.add_metric(name=CONNECTION_BROKEN_METRIC, unit=MetricUnit.Count, value=1)

    def mark_connected(self, merchant_id: str, realm_id: str) -> None:
        self._table.client.update_item(
            TableName=self._table.name,
            Key=self._key(merchant_id),
            UpdateExpression="SET #status = :status, #at = :at, #realm = :realm REMOVE #reason, #name",
            ExpressionAttributeNames={
                "#status": "status",
                "#reason": "reason",
                "#at": "at",
                "#realm": "realm_id",
                "#name": "company_name",
            },
            ExpressionAttributeValues={
                ":status": {"S": "connected"},
                ":at": {"S": self._clock.now().isoformat()},
                ":realm": {"S": realm_id},
            },
        )
        self._realms.register(merchant_id, realm_id)

    def current(self, merchant_id: str) -> ConnectionState | None:
        item = self._table.client.get_item(
            TableName=self._table.name, Key=self._key(merchant_id), ConsistentRead=True
        ).get("Item")
        if not item or "status" not in item:
            return None
        return ConnectionState.model_validate(
            {
                name: item[name]["S"]
                for name in ("status", "reason", "at", "realm_id", "company_name")
                if name in item
            }
        )

    def record_connected_by(self, merchant_id: str, who: str, at: datetime) -> None:
        self._table.client.update_item(
            TableName=self._table.name,
            Key=self._key(merchant_id),
            UpdateExpression="SET #by = :by, #at = :at",
            ExpressionAttributeNames={"#by": "connected_by", "#at": "connected_at"},
            ExpressionAttributeValues={":by": {"S": who}, ":at": {"S": at.isoformat()}},
        )

    def record_company_name(self, merchant_id: str, realm_id: str, company_name: str) -> None:
        try:
            self._table.client.update_item(
                TableName=self._table.name,
                Key=self._key(merchant_id),
                UpdateExpression="SET #name = :name",
                ConditionExpression="#realm = :realm",
                ExpressionAttributeNames={"#name": "company_name", "#realm": "realm_id"},
                ExpressionAttributeValues={":name": {"S": company_name}, ":realm": {"S": realm_id}},
            )
        except ClientError as error:
            if not is_condition_failure(error):
                raise
            # Connected to another company meanwhile: this name is not its.

    def connected_by(self, merchant_id: str) -> ConnectionRecord | None:
        item = self._table.client.get_item(
            TableName=self._table.name, Key=self._key(merchant_id), ConsistentRead=True
        ).get("Item")
        if not item or "connected_by" not in item or "connected_at" not in item:
            return None
        return ConnectionRecord(
            connected_by=item["connected_by"]["S"],
            connected_at=datetime.fromisoformat(item["connected_at"]["S"]),
        )
