"""SyncFunction: CustomerChangesQueue (SQS FIFO) batches → SyncService, one record at a time.

- `SqsFifoPartialProcessor(skip_group_on_error=True)`: a failing record is reported in `batchItemFailures`
  together with the later records of *its* message group (one customer), so that customer's changes are
  never applied out of order, while every other customer in the batch is processed.
- Powertools idempotency keyed on (merchant, event_id, redrive_attempt): a duplicate delivery returns the
  first outcome without touching PaySimple or QBO. A record that raises leaves no idempotency record, so
  SQS's retry runs it again; an admin redrive uses the next redrive_attempt, so it is not swallowed.
- A record starts only while the invocation has time for one record's worst case (domain.record_deadline,
  SyncSettings.record_margin); otherwise it is handed back to SQS untouched, so Lambda's timeout never
  cuts a batch short without a partial report.
- One metric per outcome (SyncCreated, SyncUpdated, SyncLinked, SyncUnchanged, SyncSkipped, SyncUnlinked,
  SyncParked, SyncDeleted, SyncDeactivated), SyncDuplicate for redeliveries answered from the idempotency
  store, SyncRetried for records handed back to SQS (SyncDeferred too when that was for lack of time),
  SyncUnreadable for bodies that are not a change.
- When every record of a batch failed, Powertools raises instead of answering: the invocation fails (the
  SyncErrorsAlarm sees a total outage) and SQS delivers the whole batch again, as the failures say anyway.
- The correlation id of every log line of a record is its event_id. Logs carry ids, outcomes and error
  types, never customer values.

A body that is not a valid change message cannot be attributed to a merchant, so it cannot be parked: it
is logged (without its content) and failed, SQS delivers it again, and after maxReceiveCount it is in the
DLQ, where the admin API lists it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import PydanticSerializer
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from customer_sync.adapters.sync_wiring import build_sync_wiring
from customer_sync.config import SyncSettings, load_settings
from customer_sync.domain.failure_policy import describe
from customer_sync.domain.outcomes import SyncOutcome
from customer_sync.domain.record_deadline import RecordDeadline, RecordDeferred
from customer_sync.models.common import invalid_fields
from customer_sync.models.messages import CustomerChangeMessage
from customer_sync.observability import logger, metrics, tracer

# Long enough to cover PaySimple's 72 hours of webhook retries, so a late duplicate is still recognised.
IDEMPOTENCY_SECONDS = 4 * 24 * 3600

processor = SqsFifoPartialProcessor(skip_group_on_error=True)


class UnreadableMessage(ValueError):
    """The body is not a CustomerChangeMessage. Names the fields at fault, never their values."""


def _mark_duplicate(response: Any, idempotent_data: DataRecord) -> Any:
    return response.model_copy(update={"duplicate": True}) if isinstance(response, SyncOutcome) else response


@dataclass(frozen=True)
class _Collaborators:
    settings: SyncSettings
    idempotency: IdempotencyConfig
    sync_once: Callable[..., SyncOutcome]  # SyncService.process behind idempotency (keyword `message`)


_collaborators: _Collaborators | None = None


def _wired() -> _Collaborators:
    """Built on first use and kept for the cold start (boto3 clients, secret caches, QBO clients per
    merchant). Never at import: moto must be running before any client exists."""
    global _collaborators
    settings = load_settings(SyncSettings)
    if _collaborators is not None and _collaborators.settings is settings:
        return _collaborators
    wiring = build_sync_wiring(settings)
    service = wiring.service
    idempotency = IdempotencyConfig(
        event_key_jmespath="[merchant_id, event_id, redrive_attempt]",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=IDEMPOTENCY_SECONDS,
        response_hook=_mark_duplicate,
    )

    def sync_once(message: CustomerChangeMessage) -> SyncOutcome:
        return service.process(message)

    guarded = idempotent_function(
        sync_once,
        data_keyword_argument="message",
        persistence_store=wiring.idempotency_store,
        config=idempotency,
        output_serializer=PydanticSerializer(model=SyncOutcome),
    )
    _collaborators = _Collaborators(settings, idempotency, guarded)
    return _collaborators


def _message_of(record: SQSRecord) -> CustomerChangeMessage:
    try:
        return CustomerChangeMessage.model_validate_json(record.body)
    except ValidationError as error:
        fields = invalid_fields(error, whole="(body)")
        raise UnreadableMessage(f"not a customer change message (fields: {fields})") from None


def sync_record(record: SQSRecord, deadline: RecordDeadline) -> str:
    """The batch processor's record handler: one change, synced at most once per (event, redrive), and
    only when the invocation has time left for it."""
    logger.set_correlation_id(None)
    try:
        message = _message_of(record)
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
        outcome: SyncOutcome = _wired().sync_once(message=message)
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


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    collaborators = _wired()
    collaborators.idempotency.register_lambda_context(context)
    deadline = RecordDeadline.for_invocation(
        context.get_remaining_time_in_millis, margin_seconds=collaborators.settings.record_margin
    )

    def record_handler(record: SQSRecord) -> str:
        return sync_record(record, deadline)

    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
