"""DeadLetterFunction's record handler: one message from CustomerChangesDLQ → domain.dead_letters.

Metrics: DeadLetterArrivals for each message that arrived (what DeadLetterArrivalsAlarm watches: it fires
at each arrival, not once), DeadLetterUnreadable for one that is not a change. A record that raises (the
table cannot be written) is reported as failed and stays in the DLQ for the next delivery. Logs carry ids
only.
"""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from customer_sync.domain.dead_letters import DeadLetter, DeadLetterIntake
from customer_sync.errors import UnreadableMessage
from customer_sync.observability import logger, metrics

DEAD_LETTER_ARRIVALS_METRIC = "DeadLetterArrivals"
DEAD_LETTER_UNREADABLE_METRIC = "DeadLetterUnreadable"


class DeadLetterBatch:
    """Built once per cold start (customer_sync.composition.dead_letters)."""

    def __init__(self, intake: DeadLetterIntake) -> None:
        self._intake = intake

    def record_handler(self, record: SQSRecord) -> str:
        letter = DeadLetter(
            message_id=record.message_id,
            body=record.body,
            receive_count=int(record.attributes.approximate_receive_count or 0),
        )
        try:
            outcome, change = self._intake.take(letter)
        except UnreadableMessage as error:
            metrics.add_metric(name=DEAD_LETTER_ARRIVALS_METRIC, unit=MetricUnit.Count, value=1)
            metrics.add_metric(name=DEAD_LETTER_UNREADABLE_METRIC, unit=MetricUnit.Count, value=1)
            # Its body is not ours to log (it may hold anything): the id finds it in the sync's log.
            logger.error(
                "a message in the dead-letter queue is not a change; dropped",
                extra={"message_id": record.message_id, "reason": str(error)},
            )
            return "unreadable"
        if outcome == "recorded":
            metrics.add_metric(name=DEAD_LETTER_ARRIVALS_METRIC, unit=MetricUnit.Count, value=1)
        logger.warning(
            f"dead-lettered change {outcome.replace('_', ' ')} as a failure",
            extra={
                "message_id": record.message_id,
                "merchant_id": change.merchant_id,
                "customer_id": change.customer_id,
                "event_id": change.event_id,
                "redrive_attempt": change.redrive_attempt,
            },
        )
        return outcome
