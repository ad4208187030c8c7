"""QboChangesFunction's record handler: one queued QBO change → domain.qbo_changes, at most once per event.

- Powertools idempotency keyed on the event id: Intuit's later redeliveries of an event (SQS FIFO drops
  only those within 5 minutes) return the first outcome and change nothing. A record that raises leaves
  no idempotency record, so SQS's retry runs it again.
- One metric per outcome (QboChangeEcho, QboChangeEdited, QboChangeInactive, ...), QboChangeReads for the
  metered reads made, QboChangeDuplicate for redeliveries, QboChangeRetried for records handed back.
- Logs carry ids, outcomes and counts, never customer values.
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
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from customer_sync.domain.qbo_changes import QboChangeService
from customer_sync.domain.sync.failure_policy import describe
from customer_sync.errors import UnreadableMessage
from customer_sync.models.qbo_events import QboChangeMessage
from customer_sync.models.validation import invalid_fields
from customer_sync.observability import logger, metrics

# Intuit retries a delivery for days (every 6 h after the first hours): remember events for a week.
IDEMPOTENCY_SECONDS = 7 * 24 * 3600


def _mark_duplicate(response: Any, idempotent_data: DataRecord) -> Any:
    if isinstance(response, list):
        return [{**outcome, "duplicate": True} for outcome in response if isinstance(outcome, dict)] or [
            {"action": "duplicate", "duplicate": True, "qbo_reads": 0}
        ]
    return response


def qbo_change_of(record: SQSRecord) -> QboChangeMessage:
    try:
        return QboChangeMessage.model_validate_json(record.body)
    except ValidationError as error:
        fields = invalid_fields(error, whole="(body)")
        raise UnreadableMessage(f"not a QBO change message (fields: {fields})") from None


class QboChangesBatch:
    """Built once per cold start (customer_sync.composition.qbo_follow)."""

    def __init__(self, service: QboChangeService, *, idempotency_store: BasePersistenceLayer) -> None:
        self._idempotency = IdempotencyConfig(
            event_key_jmespath="[realm_id, event_id]",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=IDEMPOTENCY_SECONDS,
            response_hook=_mark_duplicate,
        )

        def apply_once(message: QboChangeMessage) -> list[dict[str, Any]]:
            outcomes = service.process(message)
            return [
                {
                    "action": o.action,
                    "merchant_id": o.merchant_id,
                    "qbo_reads": o.qbo_reads,
                    "redriven": o.redriven,
                }
                for o in outcomes
            ]

        self._apply_once: Callable[..., list[dict[str, Any]]] = idempotent_function(
            apply_once,
            data_keyword_argument="message",
            persistence_store=idempotency_store,
            config=self._idempotency,
        )

    def record_handler(self, context: LambdaContext) -> Callable[[SQSRecord], str]:
        self._idempotency.register_lambda_context(context)
        return self.apply_record

    def apply_record(self, record: SQSRecord) -> str:
        logger.set_correlation_id(None)
        try:
            message = qbo_change_of(record)
        except UnreadableMessage as error:
            logger.error(
                "unreadable QBO change", extra={"message_id": record.message_id, "reason": str(error)}
            )
            metrics.add_metric(name="QboChangeUnreadable", unit=MetricUnit.Count, value=1)
            raise
        logger.set_correlation_id(message.event_id)
        ids = {
            "realm_id": message.realm_id,
            "qbo_customer_id": message.qbo_customer_id,
            "change": message.change,
        }
        try:
            outcomes = self._apply_once(message=message)
        except Exception as error:
            metrics.add_metric(name="QboChangeRetried", unit=MetricUnit.Count, value=1)
            logger.warning("QBO change will be retried", extra={**ids, "error": describe(error)})
            raise
        if any(outcome.get("duplicate") for outcome in outcomes):
            metrics.add_metric(name="QboChangeDuplicate", unit=MetricUnit.Count, value=1)
            logger.info("QBO change already applied", extra=ids)
            return "duplicate"
        reads = sum(int(outcome["qbo_reads"]) for outcome in outcomes)
        for outcome in outcomes:
            name = f"QboChange{str(outcome['action']).capitalize()}"
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="QboChangeReads", unit=MetricUnit.Count, value=reads)
        logger.info("QBO change applied", extra={**ids, "outcomes": outcomes, "qbo_reads": reads})
        return ",".join(str(outcome["action"]) for outcome in outcomes)
