"""SyncFunction's batch: the changes of one SQS batch → SyncService, one record at a time, in order, and the
records that failed handed back to SQS with a wait of their own.

- The batch's changes share their reads (domain.sync.batch.ChangeBatch): links and done outcomes in one
  read, each merchant's settings and mapping once, one QBO name query per realm for its new customers.
- A change already done (same merchant, event and redrive attempt) is answered with its first outcome
  (SyncDuplicate) without touching PaySimple or QBO: the outcome is stored with the change's other writes
  (adapters/dynamodb_sync_journal.py).
- A record starts only while the invocation has time for one record's worst case
  (domain.sync.record_deadline, SyncSettings.record_margin); otherwise it goes back to SQS untouched at once.
- A record that fails for a passing reason goes back to SQS with a short, growing wait
  (domain.sync.retry_delay): ChangeMessageVisibility on that record, never the queue's 540 s default and
  never a sleep in the Lambda. With `SqsFifoPartialProcessor(skip_group_on_error=True)` the later records of
  its message group (the same customer) fail unprocessed, and they get the same wait, so the customer's
  changes stay in order.
- A company whose QBO budget is used up is not called: its records go back at once, together, to the place
  in the company's waiting line the budget gives them (ports.QboRequestBudget.wait_in_line), so they come
  back as a batch when the budget can serve them. So do those refused because other invocations are
  already waiting for that company's budget: out of sight until their place, not back in a moment, ahead
  of other merchants' changes in the queue.
- The invocation never fails because its records did (the processor does not raise when all of them
  failed): a throttled or unreachable QBO is an ordinary state now, visible in the metrics, not a Lambda
  error. Crashes and timeouts still are.
- A body that is not a change message can never be synced, nor attributed to a merchant: it goes straight to
  the dead-letter queue (where the admin API lists it), not through a day of retries.
- Metrics: one per outcome (SyncCreated, SyncUpdated, SyncLinked, SyncUnchanged, SyncSkipped, SyncUnlinked,
  SyncParked, SyncDeleted, SyncDeactivated), SyncDuplicate, SyncRetried for every record handed back (and
  SyncDeferred when that was for lack of time, SyncBudgetWait when its company's QBO budget was used up,
  SyncThrottled after a 429 from QBO), SyncUnreadable for bodies that are not a change.
- The correlation id of every log line of a record is its event_id. Logs carry ids, outcomes and error
  types, never customer values.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from customer_sync.domain.sync.batch import ChangeBatch
from customer_sync.domain.sync.failure_policy import describe
from customer_sync.domain.sync.record_deadline import RecordDeadline
from customer_sync.domain.sync.retry_delay import RetryDelays
from customer_sync.domain.sync.service import SyncService
from customer_sync.errors import QboBudgetExhausted, QboThrottled, RecordDeferred, UnreadableMessage
from customer_sync.models.messages import CustomerChangeMessage, change_from_body
from customer_sync.observability import logger, metrics
from customer_sync.ports import ChangeHandBacks, QboRequestBudget


@contextmanager
def _logged_under(message: CustomerChangeMessage) -> Iterator[None]:
    """Log lines written meanwhile carry `message`'s event id (work done for it ahead of its turn)."""
    current = logger.get_correlation_id()
    logger.set_correlation_id(message.event_id)
    try:
        yield
    finally:
        logger.set_correlation_id(current)


def _count(name: str) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


class SyncBatch:
    """Built once per cold start (customer_sync.composition.sync); `begin` once per invocation."""

    def __init__(
        self,
        service: SyncService,
        *,
        hand_backs: ChangeHandBacks,
        budget: QboRequestBudget,
        retry_delays: RetryDelays,
        record_margin_seconds: float,
    ) -> None:
        self._service = service
        self._hand_backs = hand_backs
        self._budget = budget
        self._retry_delays = retry_delays
        self._record_margin_seconds = record_margin_seconds

    def begin(self, event: dict[str, Any], context: LambdaContext) -> BatchInvocation:
        deadline = RecordDeadline.for_invocation(
            context.get_remaining_time_in_millis, margin_seconds=self._record_margin_seconds
        )
        return BatchInvocation(
            [SQSRecord(raw) for raw in event.get("Records", [])],
            service=self._service,
            hand_backs=self._hand_backs,
            budget=self._budget,
            retry_delays=self._retry_delays,
            deadline=deadline,
        )


class BatchInvocation:
    """One invocation's records: `record_handler` for the batch processor, then `hand_back` its response.
    Used as a context manager, so that the company waiter leases the invocation took are given back however
    it ends: a lease left behind keeps the sync's other invocations from waiting for that company."""

    def __init__(
        self,
        records: list[SQSRecord],
        *,
        service: SyncService,
        hand_backs: ChangeHandBacks,
        budget: QboRequestBudget,
        retry_delays: RetryDelays,
        deadline: RecordDeadline,
    ) -> None:
        self._records = {record.message_id: record for record in records}
        self._service = service
        self._hand_backs = hand_backs
        self._budget = budget
        self._retry_delays = retry_delays
        self._deadline = deadline
        self._messages: dict[str, CustomerChangeMessage | UnreadableMessage] = {}
        for record in records:
            try:
                self._messages[record.message_id] = change_from_body(record.body)
            except UnreadableMessage as unreadable:
                self._messages[record.message_id] = unreadable
        readable = [
            message for message in self._messages.values() if isinstance(message, CustomerChangeMessage)
        ]
        self._batch: ChangeBatch = service.start_batch(readable, working_on=_logged_under)
        self._waits: dict[str, int] = {}  # message id → seconds before SQS delivers it again
        self._in_line: dict[str, list[tuple[str, float]]] = {}  # realm → (message id, at least) sent back

    def __enter__(self) -> BatchInvocation:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._release_leases()

    def _release_leases(self) -> None:
        try:
            self._budget.release()
        except Exception as error:  # best effort: the lease expires by itself
            logger.warning("waiter lease not released", extra={"error_type": type(error).__name__})

    @property
    def record_handler(self) -> Callable[[SQSRecord], str]:
        return self.sync_record

    def sync_record(self, record: SQSRecord) -> str:
        """One change, in the batch's order. Returns the outcome's action; raises to hand the record back
        to SQS (its wait noted for `hand_back`)."""
        logger.set_correlation_id(None)
        message = self._messages[record.message_id]
        if isinstance(message, UnreadableMessage):
            return self._dead_letter(record, message)
        logger.set_correlation_id(message.event_id)
        ids = {
            "merchant_id": message.merchant_id,
            "customer_id": message.customer_id,
            "event_type": message.event_type,
            "redrive_attempt": message.redrive_attempt,
        }
        delivery = int(record.attributes.approximate_receive_count or 1)
        try:
            self._deadline.check_time_for_a_record()
        except RecordDeferred as deferred:
            self._waits[record.message_id] = 0
            _count("SyncRetried")
            _count("SyncDeferred")
            logger.warning("change deferred to the next delivery", extra={**ids, "error": str(deferred)})
            raise
        try:
            outcome = self._service.process(message, self._batch, delivery=delivery)
        except Exception as error:
            _count("SyncRetried")
            if isinstance(error, QboBudgetExhausted) and error.realm_id is not None:
                _count("SyncBudgetWait")
                waiting = self._in_line.setdefault(error.realm_id, [])
                waiting.append((record.message_id, error.retry_after or 0.0))
                logger.info("change waits for its company's QBO budget", extra={**ids, "delivery": delivery})
                raise
            at_least = error.retry_after if isinstance(error, QboThrottled) else None
            wait = self._retry_delays.after(delivery, at_least=at_least)
            self._waits[record.message_id] = wait
            if isinstance(error, QboThrottled):
                _count("SyncThrottled")
            logger.warning(
                "change will be retried",
                extra={**ids, "error": describe(error), "delivery": delivery, "retry_in_seconds": wait},
            )
            raise
        _count("SyncDuplicate" if outcome.duplicate else f"Sync{outcome.action.capitalize()}")
        logger.info(
            f"change {outcome.action}",
            extra={
                **ids,
                "action": outcome.action,
                "reason": outcome.reason,
                "detail": outcome.detail,
                "qbo_customer_id": outcome.qbo_customer_id,
                "qbo_calls": outcome.qbo_calls,
                "changed_fields": list(outcome.changed_fields),
                "duplicate": outcome.duplicate,
            },
        )
        return outcome.action

    def hand_back(self, response: PartialItemFailureResponse) -> PartialItemFailureResponse:
        """Give every failed record of `response` its wait, then return the response unchanged: the
        records its company's budget sent back, their place in the company's line (one per company); a
        record skipped after its group's failure, that record's wait; any other, its retry delay."""
        logger.set_correlation_id(None)
        self._release_leases()  # before the changes can be delivered again, to an invocation that may wait
        for realm_id, waiting in self._in_line.items():
            # Up to a second early rather than late (SQS counts whole seconds): a change back from the line
            # waits a moment for its turn, and the budget is not left idle meanwhile.
            place = self._place_in_line(realm_id, len(waiting))
            for message_id, at_least in waiting:
                self._waits[message_id] = math.floor(max(place, at_least))
        group_waits: dict[str, int] = {}
        for message_id, seconds in self._waits.items():
            group = self._records[message_id].attributes.message_group_id or ""
            group_waits[group] = max(seconds, group_waits.get(group, 0))
        waits: list[tuple[str, int]] = []
        for failure in response["batchItemFailures"]:
            record = self._records[str(failure["itemIdentifier"])]
            own = self._waits.get(record.message_id)
            group = record.attributes.message_group_id or ""
            waits.append((record.receipt_handle, own if own is not None else group_waits.get(group, 1)))
        if waits:
            self._hand_backs.hand_back(waits)
        return response

    def _place_in_line(self, realm_id: str, changes: int) -> float:
        try:
            return self._budget.wait_in_line(realm_id, changes)
        except Exception as error:  # the wait is best effort: without the line, the first retry delay
            logger.warning("no place in the budget's line", extra={"error_type": type(error).__name__})
            return float(self._retry_delays.after(1))

    def _dead_letter(self, record: SQSRecord, unreadable: UnreadableMessage) -> str:
        logger.error(
            "unreadable change message moved to the dead-letter queue",
            extra={"message_id": record.message_id, "reason": str(unreadable)},
        )
        _count("SyncUnreadable")
        self._hand_backs.dead_letter(
            record.body,
            group_id=record.attributes.message_group_id or "unreadable",
            deduplication_id=record.attributes.message_deduplication_id or record.message_id,
        )
        return "dead_lettered"
