"""The SQS event source mapping: receives batches from a queue, invokes the function with SQS events, and
deletes what succeeded. What failed stays in the queue: SQS delivers it again once its visibility timeout
runs out, and after the redrive policy's maxReceiveCount moves it to the dead-letter queue.

With `ReportBatchItemFailures` (SyncFunction's FunctionResponseTypes) only the messages named in
`batchItemFailures` stay; a malformed failure list, an error or a timeout leaves the whole batch, as in AWS.

Visibility, as Lambda's event source handles it: a batch is received with the queue's own visibility
timeout (template.yaml: 540 s, six times the function's timeout, so it never reappears while it runs) and
nothing extends or resets it afterwards. A record the function hands back with ChangeMessageVisibility
(SyncFunction does, with its own short wait) comes back exactly when the function said. One local
difference: when an invocation fails as a whole (a crash or a timeout), its records come back after
`failed_invocation_retry_seconds` (VISIBILITY_TIMEOUT_SECONDS, 5 s) instead of the 540 s, so that you can
watch it happen.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from local.cfn import LOCAL_REGION
from local.invoker import InvocationResult

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef

# event -> result: one invocation of the function.
Invoke = Callable[[dict[str, Any]], InvocationResult]


@dataclass(frozen=True)
class EventSourceMapping:
    function_logical_id: str
    queue_url: str
    queue_arn: str
    batch_size: int
    max_concurrency: int
    report_batch_item_failures: bool


def event_source_mappings(
    template: dict[str, Any], resolve: Callable[[Any], Any], queue_urls: dict[str, str]
) -> list[EventSourceMapping]:
    """The functions' `Type: SQS` events in template.yaml; `queue_urls` maps queue logical ids to URLs."""
    mappings: list[EventSourceMapping] = []
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for event in resource["Properties"].get("Events", {}).values():
            if event["Type"] != "SQS":
                continue
            props = event["Properties"]
            queue_logical_id = props["Queue"]["Fn::GetAtt"][0]
            scaling = resolve(props.get("ScalingConfig", {}))
            mappings.append(
                EventSourceMapping(
                    function_logical_id=logical_id,
                    queue_url=queue_urls[queue_logical_id],
                    queue_arn=str(resolve(props["Queue"])),
                    batch_size=int(props.get("BatchSize", 10)),
                    # Without ScalingConfig Lambda scales out further; two pollers are plenty locally.
                    max_concurrency=int(scaling.get("MaximumConcurrency", 2)),
                    report_batch_item_failures="ReportBatchItemFailures"
                    in props.get("FunctionResponseTypes", []),
                )
            )
    return mappings


def sqs_record(message: MessageTypeDef, queue_arn: str) -> dict[str, Any]:
    """One record of the SQS event Lambda sends."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {
            name: {
                "stringValue": value.get("StringValue"),
                "binaryValue": value.get("BinaryValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value["DataType"],
            }
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": LOCAL_REGION,
    }


def failed_message_ids(
    result: InvocationResult, batch_ids: list[str], report_item_failures: bool
) -> set[str]:
    """Which messages of the batch must stay in the queue."""
    if not result.ok:
        return set(batch_ids)
    if not report_item_failures:
        return set()
    payload = result.payload
    if payload is None or payload == {}:
        return set()
    failures = payload.get("batchItemFailures") if isinstance(payload, dict) else None
    if failures is None:
        return set()
    if not isinstance(failures, list):
        return set(batch_ids)
    failed: set[str] = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        # An empty or unknown identifier makes Lambda treat the whole batch as failed.
        if not isinstance(identifier, str) or identifier not in batch_ids:
            return set(batch_ids)
        failed.add(identifier)
    return failed


@dataclass
class PollerStats:
    batches: int = 0
    received: int = 0
    deleted: int = 0
    left_for_retry: int = 0
    in_flight_batches: int = 0


class SqsPoller:
    """`mapping.max_concurrency` threads, each receiving a batch and invoking the function with it."""

    def __init__(
        self,
        mapping: EventSourceMapping,
        invoke: Invoke,
        *,
        sqs: SQSClient,
        failed_invocation_retry_seconds: int,
        wait_seconds: int = 1,
    ) -> None:
        self.mapping = mapping
        self._invoke = invoke
        self._sqs = sqs
        self._failed_invocation_retry_seconds = failed_invocation_retry_seconds
        self._wait_seconds = wait_seconds
        self._stopping = threading.Event()
        self._enabled = threading.Event()
        self._enabled.set()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._receiving = 0
        self.stats = PollerStats()
        self.errors: list[str] = []

    def start(self) -> SqsPoller:
        for number in range(self.mapping.max_concurrency):
            thread = threading.Thread(
                target=self._run, name=f"poller-{self.mapping.function_logical_id}-{number}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        return self

    def pause(self) -> None:
        """Receive nothing more until `resume` (Lambda: disabling the event source mapping); batches already
        received finish."""
        self._enabled.clear()

    def resume(self) -> None:
        self._enabled.set()

    def signal_stop(self) -> None:
        """Receive no more batches; the ones running finish (or fail when their function is stopped)."""
        self._stopping.set()

    def stop(self) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout=self._wait_seconds + 65)
        self._threads = []

    def quiet(self) -> bool:
        """Paused, and no thread is receiving or running a batch."""
        with self._lock:
            return not self._enabled.is_set() and self._receiving == 0 and self.stats.in_flight_batches == 0

    def idle(self) -> bool:
        """No batch is being processed (one may be on its way: check the queue's in-flight count too)."""
        with self._lock:
            return self.stats.in_flight_batches == 0

    def _run(self) -> None:
        while not self._stopping.is_set():
            if not self._enabled.wait(timeout=0.2):
                continue
            try:
                self.poll_once()
            except (BotoCoreError, ClientError) as error:
                # The moto server went away (shutdown) or hiccuped: note it and keep polling.
                with self._lock:
                    self.errors.append(type(error).__name__)
                self._stopping.wait(1)

    def poll_once(self) -> int:
        """Receive and process one batch; returns how many messages it held."""
        with self._lock:
            self._receiving += 1
        try:
            messages = self._sqs.receive_message(
                QueueUrl=self.mapping.queue_url,
                MaxNumberOfMessages=self.mapping.batch_size,
                WaitTimeSeconds=self._wait_seconds,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
        finally:
            with self._lock:
                self._receiving -= 1
        if not messages:
            return 0
        with self._lock:
            self.stats.in_flight_batches += 1
        try:
            self._process(messages)
        finally:
            with self._lock:
                self.stats.in_flight_batches -= 1
        return len(messages)

    def _process(self, messages: list[MessageTypeDef]) -> None:
        event = {"Records": [sqs_record(message, self.mapping.queue_arn) for message in messages]}
        result = self._invoke(event)
        batch_ids = [message["MessageId"] for message in messages]
        failed = failed_message_ids(result, batch_ids, self.mapping.report_batch_item_failures)
        succeeded = [message for message in messages if message["MessageId"] not in failed]
        for start in range(0, len(succeeded), 10):
            chunk = succeeded[start : start + 10]
            self._sqs.delete_message_batch(
                QueueUrl=self.mapping.queue_url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                    for index, message in enumerate(chunk)
                ],
            )
        if not result.ok:
            self._retry_soon(messages)
        with self._lock:
            self.stats.batches += 1
            self.stats.received += len(messages)
            self.stats.deleted += len(succeeded)
            self.stats.left_for_retry += len(failed)

    def _retry_soon(self, messages: list[MessageTypeDef]) -> None:
        """A failed invocation's records come back after the local retry delay, not the queue's 540 s."""
        self._sqs.change_message_visibility_batch(
            QueueUrl=self.mapping.queue_url,
            Entries=[
                {
                    "Id": str(index),
                    "ReceiptHandle": message["ReceiptHandle"],
                    "VisibilityTimeout": self._failed_invocation_retry_seconds,
                }
                for index, message in enumerate(messages)
            ],
        )
