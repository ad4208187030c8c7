"""What every DynamoDB repository shares: a lazily created client, (de)serialisation, cursors, errors.

Items are plain dicts of JSON-like values on our side. DynamoDB has no floats (they become Decimal) and
gives numbers back as Decimal (they become int or float again); datetimes are stored by the models as ISO
text in UTC with a `Z`.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from customer_sync.adapters.aws_session import aws_client
from customer_sync.errors import InvalidCursor
from customer_sync.models.common import iso_utc

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# DynamoDB's limit on items in one TransactWriteItems call.
MAX_TRANSACTION_ITEMS = 100

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


class DynamoDbTable:
    """A table name plus a client made on first use (moto only intercepts clients created after it starts)."""

    def __init__(self, table_name: str, *, client: DynamoDBClient | None = None) -> None:
        if not table_name:
            raise ValueError("table_name is required")
        self.name = table_name
        self._client = client

    @property
    def client(self) -> DynamoDBClient:
        if self._client is None:
            self._client = aws_client("dynamodb")
        return self._client


def _to_dynamo_value(value: Any) -> Any:
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("DynamoDB cannot store NaN or infinity")
        return Decimal(repr(value))
    if isinstance(value, Mapping):
        return {str(key): _to_dynamo_value(inner) for key, inner in value.items()}
    if isinstance(value, list | tuple):
        return [_to_dynamo_value(inner) for inner in value]
    return value


def _from_dynamo_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: _from_dynamo_value(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_from_dynamo_value(inner) for inner in value]
    if isinstance(value, set):
        return sorted(_from_dynamo_value(inner) for inner in value)
    return value


def to_item(values: Mapping[str, Any]) -> dict[str, Any]:
    """Plain values → DynamoDB attribute values (`{"S": ...}` etc.)."""
    return {name: _serializer.serialize(_to_dynamo_value(value)) for name, value in values.items()}


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """DynamoDB attribute values → plain values."""
    return {name: _from_dynamo_value(_deserializer.deserialize(value)) for name, value in item.items()}


def merchant_pk(merchant_id: str) -> str:
    """The partition of everything a merchant owns in LinksTable and SettingsTable."""
    return f"MERCHANT#{merchant_id}"


def string_key(**names: str) -> dict[str, Any]:
    return {name: {"S": value} for name, value in names.items()}


def encode_cursor(key: Mapping[str, Any]) -> str:
    """An opaque cursor from a LastEvaluatedKey (all our key attributes are strings)."""
    plain = {name: value["S"] for name, value in key.items()}
    raw = json.dumps(plain, sort_keys=True, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, *, key_names: Collection[str], fixed: Mapping[str, str]) -> dict[str, Any]:
    """Back to an ExclusiveStartKey. A cursor is client input: its attributes must be exactly `key_names`
    and it must point into the partition being listed (`fixed`), or it is rejected."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        plain = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise InvalidCursor() from error
    if (
        not isinstance(plain, dict)
        or set(plain) != set(key_names)
        or not all(isinstance(value, str) for value in plain.values())
        or any(plain.get(name) != value for name, value in fixed.items())
    ):
        raise InvalidCursor()
    return string_key(**plain)


def query_all(client: DynamoDBClient, request: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every raw item of a Query, page after page (for partitions known to stay small)."""
    paged = dict(request)
    while True:
        response = client.query(**paged)
        yield from response.get("Items", [])
        if "LastEvaluatedKey" not in response:
            return
        paged["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def query_page(
    client: DynamoDBClient,
    request: dict[str, Any],
    *,
    limit: int,
    key_names: Sequence[str],
    filtered_batch: int | None = None,
    max_rounds: int = 20,
) -> tuple[list[dict[str, Any]], str | None]:
    """Up to `limit` raw items of a Query, and the cursor of the next page (None: there is none).

    We read one item more than the page needs, so "no cursor" reliably means "no more items". With a
    FilterExpression, DynamoDB's Limit counts items read before filtering, so reads go `filtered_batch` at
    a time; after `max_rounds` reads the page is returned short, with a cursor to carry on from.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    request = dict(request)
    found: list[dict[str, Any]] = []
    for _ in range(max_rounds):
        wanted = limit + 1 - len(found)
        request["Limit"] = max(wanted, filtered_batch) if filtered_batch else wanted
        response = client.query(**request)
        found.extend(response.get("Items", []))
        if len(found) > limit:
            last = found[limit - 1]
            return found[:limit], encode_cursor({name: last[name] for name in key_names})
        if "LastEvaluatedKey" not in response:
            return found, None
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
    return found, encode_cursor(request["ExclusiveStartKey"])


_BATCH_GET_RETRIES = 5


def batch_get(
    client: DynamoDBClient, keys_by_table: Mapping[str, list[dict[str, Any]]]
) -> dict[str, list[Any]]:
    """Every item of `keys_by_table` that exists, read consistently in one BatchGetItem (≤100 keys), with
    the keys DynamoDB leaves unprocessed asked for again after a short backoff."""
    found: dict[str, list[Any]] = {table: [] for table in keys_by_table}
    pending: dict[str, Any] = {
        table: {"Keys": keys, "ConsistentRead": True} for table, keys in keys_by_table.items() if keys
    }
    for attempt in range(_BATCH_GET_RETRIES + 1):
        if not pending:
            return found
        response = client.batch_get_item(RequestItems=pending)
        for table, items in response.get("Responses", {}).items():
            found[table].extend(items)
        pending = dict(response.get("UnprocessedKeys") or {})
        if pending and attempt < _BATCH_GET_RETRIES:
            time.sleep(0.05 * 2**attempt)  # DynamoDB asks for backoff before retrying throttled keys
    if pending:
        raise RuntimeError("DynamoDB kept throttling a batch read")
    return found


def move_time_forward(table: DynamoDbTable, key: Mapping[str, Any], attribute: str, at: datetime) -> None:
    """Sets `attribute` to `at` unless it already holds a later time: a late, slower writer never moves it
    back. ISO-8601 text in one fixed UTC format compares in time order."""
    try:
        table.client.update_item(
            TableName=table.name,
            Key=dict(key),
            UpdateExpression="SET #at = :at",
            ConditionExpression="attribute_not_exists(#at) OR #at < :at",
            ExpressionAttributeNames={"#at": attribute},
            ExpressionAttributeValues=to_item({":at": iso_utc(at)}),
        )
    except ClientError as error:
        if not is_condition_failure(error):
            raise


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def is_condition_failure(error: ClientError) -> bool:
    return error_code(error) == "ConditionalCheckFailedException"


def cancellation_reasons(error: ClientError) -> list[dict[str, Any]]:
    """Per-item reasons of a cancelled transaction, in the order the items were sent."""
    if error_code(error) != "TransactionCanceledException":
        return []
    return [dict(reason) for reason in error.response.get("CancellationReasons", [])]
