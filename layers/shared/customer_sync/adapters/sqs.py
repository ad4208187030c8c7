"""CustomerChangesQueue (SQS FIFO) as the ingest function's ChangePublisher, and QboChangesQueue as the QBO
webhook's QboChangePublisher."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from customer_sync.adapters.aws_session import FAIL_FAST, aws_client
from customer_sync.errors import QueueUnavailable

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

    from customer_sync.models.messages import CustomerChangeMessage
    from customer_sync.models.qbo_events import QboChangeMessage


def queue_body(message: CustomerChangeMessage) -> str:
    """The message as JSON. Fields at their default (`redrive_attempt` 0) are left out, so a webhook's message
    is exactly DESIGN.md's five fields: merchant_id, customer_id, event_type, event_id, occurred_at."""
    return message.model_dump_json(exclude_defaults=True)


def _fail_fast_sqs() -> SQSClient:
    # Created on first use, never at import: moto only intercepts clients made after it starts. Fail fast:
    # the webhook's sender waits (PaySimple 10 s, Intuit 3 s); a failed send raises and the sender retries.
    return aws_client("sqs", config=FAIL_FAST)


class SqsChangePublisher:
    """One SendMessage per change. The group keeps one customer's changes in order; the deduplication id
    (the PaySimple event id) makes SQS drop a redelivered webhook seen within its 5-minute window."""

    def __init__(self, queue_url: str, *, client: SQSClient | None = None) -> None:
        self._queue_url = queue_url
        self._client = client

    def _sqs(self) -> SQSClient:
        if self._client is None:
            self._client = _fail_fast_sqs()
        return self._client

    def publish(self, message: CustomerChangeMessage) -> None:
        try:
            self._sqs().send_message(
                QueueUrl=self._queue_url,
                MessageBody=queue_body(message),
                MessageGroupId=message.message_group_id,
                MessageDeduplicationId=message.deduplication_id,
            )
        except (BotoCoreError, ClientError) as error:
            # A read timeout or SQS refusing: the change is not queued, so the sender must send it again.
            raise QueueUnavailable(type(error).__name__) from error


# SendMessageBatch takes at most 10 messages.
_BATCH = 10


class SqsQboChangePublisher:
    """SendMessageBatch, ten at a time. The group is the QBO company (a merge touches two customers), the
    deduplication id the event id. Any message SQS did not take fails the whole publish: the delivery is
    answered with an error, Intuit repeats it, and what was queued is deduplicated."""

    def __init__(self, queue_url: str, *, client: SQSClient | None = None) -> None:
        self._queue_url = queue_url
        self._client = client

    def publish_all(self, messages: Sequence[QboChangeMessage]) -> None:
        if self._client is None:
            self._client = _fail_fast_sqs()
        for start in range(0, len(messages), _BATCH):
            chunk = messages[start : start + _BATCH]
            response = self._client.send_message_batch(
                QueueUrl=self._queue_url,
                Entries=[
                    {
                        "Id": str(index),
                        "MessageBody": message.model_dump_json(exclude_none=True),
                        "MessageGroupId": message.message_group_id,
                        "MessageDeduplicationId": message.deduplication_id,
                    }
                    for index, message in enumerate(chunk)
                ],
            )
            failed = response.get("Failed", [])
            if failed:
                codes = sorted({entry.get("Code", "?") for entry in failed})
                raise RuntimeError(f"SQS refused {len(failed)} QBO change message(s): {', '.join(codes)}")
