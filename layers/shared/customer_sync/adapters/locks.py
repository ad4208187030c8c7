"""A per-merchant lease in the settings table: a conditional put takes it, a conditional delete frees it.

Item: `{pk: "MERCHANT#<id>", sk: "LOCK#<name>", owner, expires_at (epoch s), ttl}`. A lease that outlived
its holder (a crashed Lambda) can be taken over once `expires_at` has passed; `ttl` lets DynamoDB clean up.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from customer_sync.adapters.dynamodb import DynamoDbTable, is_condition_failure, merchant_pk, string_key
from customer_sync.observability import logger
from customer_sync.ports import Clock

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

QBO_TOKEN_REFRESH_LOCK = "qbo-token-refresh"
_EXPIRED_LOCK_CLEANUP_SECONDS = 24 * 3600


class DynamoDbLock:
    def __init__(
        self,
        table_name: str,
        *,
        clock: Clock,
        name: str = QBO_TOKEN_REFRESH_LOCK,
        lease_seconds: float = 60.0,
        client: DynamoDBClient | None = None,
    ) -> None:
        self._table = DynamoDbTable(table_name, client=client)
        self._clock = clock
        self._sort_key = f"LOCK#{name}"
        self._lease_seconds = lease_seconds

    def _key(self, merchant_id: str) -> dict[str, Any]:
        return string_key(pk=merchant_pk(merchant_id), sk=self._sort_key)

    def try_acquire(self, merchant_id: str) -> str | None:
        """Take the lease if it is free or expired; the returned owner token is needed to release it."""
        now = self._clock.now().timestamp()
        owner = uuid.uuid4().hex
        item = {
            **self._key(merchant_id),
            "owner": {"S": owner},
            "expires_at": {"N": f"{now + self._lease_seconds:.3f}"},
            "ttl": {"N": str(int(now + self._lease_seconds + _EXPIRED_LOCK_CLEANUP_SECONDS))},
        }
        try:
            self._table.client.put_item(
                TableName=self._table.name,
                Item=item,
                ConditionExpression="attribute_not_exists(pk) OR expires_at < :now",
                ExpressionAttributeValues={":now": {"N": f"{now:.3f}"}},
            )
        except ClientError as error:
            if is_condition_failure(error):
                return None
            raise
        return owner

    def release(self, merchant_id: str, owner: str) -> None:
        """Free the lease if we still own it; if it expired and someone else took it, leave theirs alone."""
        try:
            self._table.client.delete_item(
                TableName=self._table.name,
                Key=self._key(merchant_id),
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":owner": {"S": owner}},
            )
        except ClientError as error:
            if not is_condition_failure(error):
                raise
            logger.warning("lock lease was lost before release", extra={"lock": self._sort_key})
