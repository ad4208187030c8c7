"""A per-merchant lease in the settings table, with a fencing token.

Item: `{pk: "MERCHANT#<id>", sk: "LOCK#<name>", fence, owner, expires_at (epoch s), ttl}`.
- `try_acquire` takes the lease when it is free or has expired, in one conditional update that also adds 1
  to `fence`: every holder ever gets its own, larger fencing token.
- `confirm` is what a holder calls right before each write the lease protects: a conditional update that
  succeeds only while `fence` is still its own (nobody took the lease over), and extends the lease so it
  outlasts that write. So however long the holder stalled before, it finds out before writing, never after.
- `release` frees the lease if the fence is still its own. The item stays (it carries the counter); `ttl`
  lets DynamoDB remove it a day after its last use, when no holder of it can be alive.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from customer_sync.adapters.dynamodb import DynamoDbTable, is_condition_failure, merchant_pk, string_key
from customer_sync.models.common import Lease
from customer_sync.observability import logger
from customer_sync.ports import Clock

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

QBO_TOKEN_REFRESH_LOCK = "qbo-token-refresh"
_EXPIRED_LOCK_CLEANUP_SECONDS = 24 * 3600
_NAMES = {"#owner": "owner", "#ttl": "ttl"}


class DynamoDbLock:
    """Implements ports.MerchantLock."""

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
        self.lease_seconds = lease_seconds

    def _key(self, merchant_id: str) -> dict[str, Any]:
        return string_key(pk=merchant_pk(merchant_id), sk=self._sort_key)

    def _until(self, seconds: float) -> dict[str, Any]:
        now = self._clock.now().timestamp()
        return {
            ":expires": {"N": f"{now + seconds:.3f}"},
            ":ttl": {"N": str(int(now + seconds + _EXPIRED_LOCK_CLEANUP_SECONDS))},
        }

    def try_acquire(self, merchant_id: str) -> Lease | None:
        """Take the lease if it is free or expired: the lease with its fencing token, or None."""
        owner = uuid.uuid4().hex
        try:
            item = self._table.client.update_item(
                TableName=self._table.name,
                Key=self._key(merchant_id),
                UpdateExpression="SET #owner = :owner, expires_at = :expires, #ttl = :ttl ADD fence :one",
                ConditionExpression="attribute_not_exists(expires_at) OR expires_at < :now",
                ExpressionAttributeNames=_NAMES,
                ExpressionAttributeValues={
                    ":owner": {"S": owner},
                    ":one": {"N": "1"},
                    ":now": {"N": f"{self._clock.now().timestamp():.3f}"},
                    **self._until(self.lease_seconds),
                },
                ReturnValues="UPDATED_NEW",
            )["Attributes"]
        except ClientError as error:
            if is_condition_failure(error):
                return None
            raise
        return Lease(owner=owner, fence=int(item["fence"]["N"]))

    def confirm(self, merchant_id: str, lease: Lease, *, hold_seconds: float) -> bool:
        """True, and the lease now lasts `hold_seconds` more, if nobody has taken it over since `lease` was
        acquired; False if it was lost (the write it was to protect must not be made)."""
        held = self._update_if_held(
            merchant_id, lease, "SET expires_at = :expires, #ttl = :ttl", self._until(hold_seconds)
        )
        if not held:
            logger.error("lock lease was taken over", extra={"lock": self._sort_key, "fence": lease.fence})
        return held

    def release(self, merchant_id: str, lease: Lease) -> None:
        """Free the lease if it is still ours; if it expired and someone else took it, leave theirs alone."""
        freed = {":zero": {"N": "0"}, ":ttl": self._until(0)[":ttl"]}
        if not self._update_if_held(
            merchant_id, lease, "SET expires_at = :zero, #ttl = :ttl REMOVE #owner", freed
        ):
            logger.warning("lock lease was lost before release", extra={"lock": self._sort_key})

    def _update_if_held(
        self, merchant_id: str, lease: Lease, update_expression: str, values: dict[str, Any]
    ) -> bool:
        """Apply `update_expression` only while `lease` (its fence and owner) still holds the lease."""
        try:
            self._table.client.update_item(
                TableName=self._table.name,
                Key=self._key(merchant_id),
                UpdateExpression=update_expression,
                ConditionExpression="fence = :fence AND #owner = :owner",
                ExpressionAttributeNames=_NAMES,
                ExpressionAttributeValues={
                    ":fence": {"N": str(lease.fence)},
                    ":owner": {"S": lease.owner},
                    **values,
                },
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise
        return True
