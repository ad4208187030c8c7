"""SQS events as Lambda's event source mapping builds them for SyncFunction, from messages or from a real
(moto) FIFO queue.

`QueueEventSource` behaves like the event source mapping: receive a batch, invoke the handler, delete the
records that did not fail, leave the failed ones (all of them if the invocation raised) for SQS to deliver
again and to dead-letter after maxReceiveCount.
"""

from __future__ import annotations

import hashlib
import itertools
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import boto3

from customer_sync.adapters.sqs import SqsChangePublisher
from customer_sync.models.messages import CustomerChangeMessage
from tests.support.lambda_context import ACCOUNT_ID, REGION, LambdaContextStub

QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:CustomerChangesQueue.fifo"
_sequence = itertools.count(18890000000000000001)


def sqs_record(
    message: CustomerChangeMessage | str,
    *,
    group_id: str | None = None,
    message_id: str | None = None,
    receive_count: int = 1,
) -> dict[str, Any]:
    """One record shaped like events/sqs_customer_changes_batch.json; `message` may be a raw body."""
    body = message if isinstance(message, str) else message.model_dump_json()
    group = group_id or (
        message.message_group_id if isinstance(message, CustomerChangeMessage) else "unknown"
    )
    dedup = message.deduplication_id if isinstance(message, CustomerChangeMessage) else str(uuid.uuid4())
    now_ms = int(time.time() * 1000)
    received = {
        "MessageId": message_id or str(uuid.uuid4()),
        "ReceiptHandle": f"AQEB{uuid.uuid4().hex}",
        "Body": body,
        "Attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": str(now_ms),
            "SequenceNumber": str(next(_sequence)),
            "MessageGroupId": group,
            "SenderId": "AROAEXAMPLEROLEID0001:customer-sync-IngestFunction",
            "MessageDeduplicationId": dedup,
            "ApproximateFirstReceiveTimestamp": str(now_ms),
        },
        "MD5OfBody": hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
    }
    return _record_of(received)


def sqs_event(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {"Records": list(records)}


Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


class QueueEventSource:
    """Lambda's SQS event source mapping over a real queue (moto), one batch per `poll`."""

    def __init__(self, queue_url: str, handler: Handler, *, batch_size: int = 10) -> None:
        self.queue_url = queue_url
        self._handler = handler
        self._batch_size = batch_size
        self._sqs = boto3.client("sqs")

    def send(self, message: CustomerChangeMessage | str, *, group_id: str | None = None) -> None:
        if isinstance(message, CustomerChangeMessage):
            SqsChangePublisher(self.queue_url, client=self._sqs).publish(message)
        else:
            self._sqs.send_message(
                QueueUrl=self.queue_url,
                MessageBody=message,
                MessageGroupId=group_id or "unknown",
                MessageDeduplicationId=str(uuid.uuid4()),
            )

    def poll(self) -> dict[str, Any] | None:
        """Receive one batch, invoke the handler, delete what succeeded. None when nothing was received."""
        received = self._sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self._batch_size,
            MessageSystemAttributeNames=["All"],
        ).get("Messages", [])
        if not received:
            return None
        records = [_record_of(dict(message)) for message in received]
        try:
            response = self._handler(sqs_event(records), LambdaContextStub())
        except Exception:
            # A failed invocation (Powertools raises when every record failed): nothing is deleted.
            response = {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in records]}
        failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
        for message in received:
            if message["MessageId"] not in failed:
                self._sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return response


def _record_of(message: dict[str, Any]) -> dict[str, Any]:
    """A ReceiveMessage message (system attributes included) as the record of an SQS event."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {},
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE_ARN,
        "awsRegion": REGION,
    }
