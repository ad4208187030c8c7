"""SyncFunction's record handler: one queued change → SyncService, at most once per (event, redrive).

- Powertools idempotency keyed on (merchant, event_id, redrive_attempt): a duplicate delivery returns the
  first outcome without touching PaySimple or QBO. A record that raises leaves no idempotency record, so
  SQS's retry runs it again; an admin redrive uses the next redrive_attempt, so it is not swallowed.
- A record starts only while the invocation has time for one record's worst case
  (domain.sync.record_deadline, SyncSettings.record_margin); otherwise it is handed back to SQS untouched,
  so Lambda's timeout never cuts a batch short without a partial report.
- One metric per outcome (SyncCreated, SyncUpdated, SyncLinked, SyncUnchanged, SyncSkipped, SyncUnlinked,
  SyncParked, SyncDeleted, SyncDeactivated), SyncDuplicate for redeliveries answered from the idempotency
  store, SyncRetried for records handed back to SQS (SyncDeferred too when that was for lack of time),
  SyncUnreadable for bodies that are not a change.
- The correlation id of every log line of a record is its event_id. Logs carry ids, outcomes and error
  types, never customer values.

A body that is not a valid change message cannot be attributed to a merchant, so it cannot be parked: it
is logged (without its content) and failed, SQS delivers it again, and after maxReceiveCount it is in the
DLQ, where the admin API lists it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    BasePersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import PydanticSerializer
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from customer_sync.domain.sync.failure_policy import describe
from customer_sync.domain.sync.outcomes import SyncOutcome
from customer_sync.domain.sync.record_deadline import RecordDeadline
from customer_sync.domain.sync.service import SyncService
from customer_sync.errors import RecordDeferred, UnreadableMessage
from customer_sync.models.common import invalid_fields
from customer_sync.models.messages import CustomerChangeMessage
from customer_sync.observability import logger, metrics

# Long enough to cover PaySimple's 72 hours of webhook retries, so a late duplicate is still recognised.
IDEMPOTENCY_SECONDS = 4 * 24 * 3600


def _mark_duplicate(response: Any, idempotent_data: DataRecord) -> Any:
    return response.model_copy(update={"duplicate": True}) if isinstance(response, SyncOutcome) else response


def change_of(record: SQSRecord) -> CustomerChangeMessage:
    try:
        return CustomerChangeMessage.model_validate_json(record.body)
    except ValidationError as error:
        fields = invalid_fields(error, whole="(body)")
        raise UnreadableMessage(f"not a customer change message (fields: {fields})") from None


class SyncBatch:
    """Built once per cold start (customer_sync.composition.sync); `record_handler` once per invocation."""

    def __init__(
        self, service: SyncService, *, idempotency_store: BasePersistenceLayer, record_margin_seconds: float
    ) -> None:
        self._record_margin_seconds = record_margin_seconds
        self._idempotency = IdempotencyConfig(
            event_key_jmespath="[merchant_id, event_id, redrive_attempt]",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=IDEMPOTENCY_SECONDS,
            response_hook=_mark_duplicate,
        )

        def sync_once(message: CustomerChangeMessage) -> SyncOutcome:
            return service.process(message)

        self._sync_once: Callable[..., SyncOutcome] = idempotent_function(
            sync_once,
            data_keyword_argument="message",
            persistence_store=idempotency_store,
            config=self._idempotency,
            output_serializer=PydanticSerializer(model=SyncOutcome),
        )

    def record_handler(self, context: LambdaContext) -> Callable[[SQSRecord], str]:
        """The batch processor's record handler for this invocation (its deadline, its idempotency
        expiry)."""
        self._idempotency.register_lambda_context(context)
        deadline = RecordDeadline.for_invocation(
            context.get_remaining_time_in_millis, margin_seconds=self._record_margin_seconds
        )

        def handle(record: SQSRecord) -> str:
            return self.sync_record(record, deadline)

        return handle

    def sync_record(self, record: SQSRecord, deadline: RecordDeadline) -> str:
        """One change, synced at most once per (event, redrive), and only when the invocation has time left
        for it. Returns the outcome's action; raises to hand the record back to SQS."""
        logger.set_correlation_id(None)
        try:
            message = change_of(record)
        except UnreadableMessage as error:
            logger.error(
                "unreadable change message", extra={"message_id": record.message_id, "reason": str(error)}
            )
            metrics.add_metric(name="SyncUnreadable", unit=MetricUnit.Count, value=1)
            raise
        logger.set_correlation_id(message.event_id)
        ids = {
            "merchant_id": message.merchant_id,
            "customer_id": message.customer_id,
            "event_type": message.event_type,
            "redrive_attempt": message.redrive_attempt,
        }
        try:
            deadline.check_time_for_a_record()
        except RecordDeferred as deferred:
            metrics.add_metric(name="SyncRetried", unit=MetricUnit.Count, value=1)
            metrics.add_metric(name="SyncDeferred", unit=MetricUnit.Count, value=1)
            logger.warning("change deferred to the next delivery", extra={**ids, "error": str(deferred)})
            raise
        try:
            outcome: SyncOutcome = self._sync_once(message=message)
        except Exception as error:
            metrics.add_metric(name="SyncRetried", unit=MetricUnit.Count, value=1)
            logger.warning("change will be retried", extra={**ids, "error": describe(error)})
            raise
        name = "SyncDuplicate" if outcome.duplicate else f"Sync{outcome.action.capitalize()}"
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
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
