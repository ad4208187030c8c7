"""CustomerChangesQueue's dead-letter queue, read without consuming it (implements ports.DeadLetterQueue).

SQS has no "peek", so a scan receives messages with a short visibility timeout (`hold_seconds`), so that
each is returned once while the scan goes on, and on leaving the scan resets the visibility of every message
it did not delete to 0: they are visible again at once. Consequences, by design:
- each scan raises the messages' ApproximateReceiveCount (the DLQ has no redrive policy, so nothing moves);
- in a FIFO queue a held message blocks the rest of its message group, so a scan sees the first messages
  of each group (one customer's changes) and may stop short of later ones; `complete` is False only when the
  scan hit its limit;
- two scans at the same moment (two admins) each see only what the other is not holding.
The scan first asks for the queue's approximate number of visible messages and stops once it holds that
many (or the queue answers empty), so an empty DLQ costs one call and a listing is a snapshot: a message
arriving during the scan shows up in the next one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from customer_sync.adapters.aws_session import aws_client
from customer_sync.adapters.queue_stats import queue_depth
from customer_sync.observability import logger
from customer_sync.ports import DeadLetterMessage

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef

_SQS_BATCH = 10


def _message(raw: MessageTypeDef) -> DeadLetterMessage:
    attributes = raw.get("Attributes", {})
    sent = attributes.get("SentTimestamp")
    return DeadLetterMessage(
        message_id=raw["MessageId"],
        body=raw.get("Body", ""),
        receive_count=int(attributes.get("ApproximateReceiveCount", "0")),
        sent_at=datetime.fromtimestamp(int(sent) / 1000, tz=UTC) if sent else None,
        receipt=raw["ReceiptHandle"],
    )


class _HeldMessages:
    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url
        self._held: dict[str, DeadLetterMessage] = {}
        self._complete = True

    @property
    def messages(self) -> Sequence[DeadLetterMessage]:
        return list(self._held.values())

    @property
    def complete(self) -> bool:
        return self._complete

    def delete(self, message: DeadLetterMessage) -> None:
        self._client.delete_message(QueueUrl=self._queue_url, ReceiptHandle=message.receipt)
        self._held.pop(message.message_id, None)

    def fill(self, *, limit: int, expected: int, hold_seconds: int, wait_seconds: int) -> None:
        """Receive until the queue answers empty, `expected` messages are held, or `limit` is reached."""
        while len(self._held) < min(limit, expected):
            received = self._client.receive_message(
                QueueUrl=self._queue_url,
                MaxNumberOfMessages=min(_SQS_BATCH, limit - len(self._held)),
                VisibilityTimeout=hold_seconds,
                WaitTimeSeconds=wait_seconds,
                MessageSystemAttributeNames=["ApproximateReceiveCount", "SentTimestamp"],
            ).get("Messages", [])
            if not received:
                return
            for raw in received:
                message = _message(raw)
                self._held[message.message_id] = message
        self._complete = len(self._held) < limit

    def release(self) -> None:
        """Make every held message visible again (best effort: one missed reappears after the hold)."""
        held = list(self._held.values())
        for start in range(0, len(held), _SQS_BATCH):
            chunk = held[start : start + _SQS_BATCH]
            try:
                response = self._client.change_message_visibility_batch(
                    QueueUrl=self._queue_url,
                    Entries=[
                        {"Id": str(index), "ReceiptHandle": message.receipt, "VisibilityTimeout": 0}
                        for index, message in enumerate(chunk)
                    ],
                )
            except (BotoCoreError, ClientError) as error:
                logger.warning("could not release held DLQ messages", extra={"error": type(error).__name__})
                continue
            if response.get("Failed"):
                logger.warning(
                    "some held DLQ messages were not released", extra={"count": len(response["Failed"])}
                )
        self._held.clear()


class SqsDeadLetterQueue:
    def __init__(
        self,
        queue_url: str,
        *,
        hold_seconds: int = 30,
        wait_seconds: int = 1,
        client: SQSClient | None = None,
    ) -> None:
        self._queue_url = queue_url
        self._hold_seconds = hold_seconds
        # Long polling (> 0) asks every SQS server, so an empty answer means the queue is drained.
        self._wait_seconds = wait_seconds
        self._client = client

    def _sqs(self) -> SQSClient:
        # Created on first use, never at import: moto only intercepts clients made after it starts.
        if self._client is None:
            self._client = aws_client("sqs")
        return self._client

    @contextmanager
    def scan(self, *, limit: int) -> Iterator[_HeldMessages]:
        client = self._sqs()
        held = _HeldMessages(client, self._queue_url)
        visible = queue_depth(client, self._queue_url).visible
        try:
            if visible > 0:
                held.fill(
                    limit=limit,
                    expected=visible,
                    hold_seconds=self._hold_seconds,
                    wait_seconds=self._wait_seconds,
                )
            yield held
        finally:
            held.release()
