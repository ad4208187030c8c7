"""CustomerChangesQueue (SQS FIFO) as the ingest function's ChangePublisher."""

from __future__ import annotations

from typing import TYPE_CHECKING

from customer_sync.adapters.aws_session import FAIL_FAST, aws_client
from customer_sync.models.messages import CustomerChangeMessage

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


def queue_body(message: CustomerChangeMessage) -> str:
    """The message as JSON. Fields at their default (`redrive_attempt` 0) are left out, so a webhook's message
    is exactly DESIGN.md's five fields: merchant_id, customer_id, event_type, event_id, occurred_at."""
    return message.model_dump_json(exclude_defaults=True)


class SqsChangePublisher:
    """One SendMessage per change. The group keeps one customer's changes in order; the deduplication id
    (the PaySimple event id) makes SQS drop a redelivered webhook seen within its 5-minute window."""

    def __init__(self, queue_url: str, *, client: SQSClient | None = None) -> None:
        self._queue_url = queue_url
        self._client = client

    def _sqs(self) -> SQSClient:
        # Created on first use, never at import: moto only intercepts clients made after it starts.
        if self._client is None:
            # Fail fast (IngestFunction must answer PaySimple in time): a failed send raises, the function
            # errors (alarmed), and PaySimple retries the delivery.
            self._client = aws_client("sqs", config=FAIL_FAST)
        return self._client

    def publish(self, message: CustomerChangeMessage) -> None:
        self._sqs().send_message(
            QueueUrl=self._queue_url,
            MessageBody=queue_body(message),
            MessageGroupId=message.message_group_id,
            MessageDeduplicationId=message.deduplication_id,
        )
