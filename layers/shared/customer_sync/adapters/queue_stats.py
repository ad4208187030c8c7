"""Approximate depths of CustomerChangesQueue and its DLQ (SQS GetQueueAttributes)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from customer_sync.adapters.aws_session import aws_client
from customer_sync.ports import QueueDepth

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


def queue_depth(client: SQSClient, queue_url: str) -> QueueDepth:
    attributes = client.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ],
    ).get("Attributes", {})
    return QueueDepth(
        visible=int(attributes.get("ApproximateNumberOfMessages", "0")),
        in_flight=int(attributes.get("ApproximateNumberOfMessagesNotVisible", "0")),
        delayed=int(attributes.get("ApproximateNumberOfMessagesDelayed", "0")),
    )


class SqsQueueStats:
    """Implements ports.QueueStats."""

    def __init__(
        self, changes_queue_url: str, dead_letter_queue_url: str, *, client: SQSClient | None = None
    ):
        self._changes_queue_url = changes_queue_url
        self._dead_letter_queue_url = dead_letter_queue_url
        self._client = client

    def _sqs(self) -> SQSClient:
        # Created on first use, never at import: moto only intercepts clients made after it starts.
        if self._client is None:
            self._client = aws_client("sqs")
        return self._client

    def changes_queue(self) -> QueueDepth:
        return queue_depth(self._sqs(), self._changes_queue_url)

    def dead_letter_queue(self) -> QueueDepth:
        return queue_depth(self._sqs(), self._dead_letter_queue_url)
