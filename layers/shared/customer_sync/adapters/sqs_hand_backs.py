"""ports.ChangeHandBacks over SQS: ChangeMessageVisibilityBatch on CustomerChangesQueue, SendMessage on its
dead-letter queue."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from customer_sync.adapters.aws_session import aws_client
from customer_sync.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import ChangeMessageVisibilityBatchRequestEntryTypeDef

# SQS changes the visibility of at most 10 messages per call (a Lambda batch of a FIFO queue holds ≤ 10).
_PER_CALL = 10


class SqsChangeHandBacks:
    def __init__(
        self, queue_url: str, dead_letter_queue_url: str, *, client: SQSClient | None = None
    ) -> None:
        self._queue_url = queue_url
        self._dead_letter_queue_url = dead_letter_queue_url
        self._client = client

    def _sqs(self) -> SQSClient:
        # Created on first use, never at import: moto only intercepts clients made after it starts.
        if self._client is None:
            self._client = aws_client("sqs")
        return self._client

    def hand_back(self, waits: Sequence[tuple[str, int]]) -> None:
        """Best effort: a record whose visibility cannot be changed (say its receipt handle expired) comes
        back after the queue's own visibility timeout instead, which loses time but no change."""
        for start in range(0, len(waits), _PER_CALL):
            entries: list[ChangeMessageVisibilityBatchRequestEntryTypeDef] = [
                {"Id": str(index), "ReceiptHandle": receipt_handle, "VisibilityTimeout": seconds}
                for index, (receipt_handle, seconds) in enumerate(waits[start : start + _PER_CALL])
            ]
            try:
                answer = self._sqs().change_message_visibility_batch(
                    QueueUrl=self._queue_url, Entries=entries
                )
            except (BotoCoreError, ClientError) as error:
                logger.warning("records not handed back early", extra={"error_type": type(error).__name__})
                continue
            failed = answer.get("Failed", [])
            if failed:
                codes = sorted({entry.get("Code", "") for entry in failed})
                logger.warning(
                    "some records not handed back early", extra={"count": len(failed), "codes": codes}
                )

    def dead_letter(self, body: str, *, group_id: str, deduplication_id: str) -> None:
        self._sqs().send_message(
            QueueUrl=self._dead_letter_queue_url,
            MessageBody=body,
            MessageGroupId=group_id,
            MessageDeduplicationId=deduplication_id,
        )
