"""DeadLetterFunction: CustomerChangesDLQ (SQS FIFO) batches → each change recorded as its merchant's failure
(customer_sync.handlers.dead_letter_batch, domain.dead_letters), so the admin API lists and redrives
failures from the table without ever receiving from the DLQ.

`SqsFifoPartialProcessor`: a record that cannot be recorded is reported (with the later records of its
group) and stays in the DLQ for the next delivery.
"""

from __future__ import annotations

# First, so that the collector is paused while everything below loads (customer_sync/init_phase.py).
from customer_sync import init_phase

# isort: split

from typing import Any

from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from customer_sync.composition.dead_letters import dead_letter_components
from customer_sync.observability import logger, metrics, tracer

processor = SqsFifoPartialProcessor(skip_group_on_error=True)


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event,
        record_handler=dead_letter_components().batch.record_handler,
        processor=processor,
        context=context,
    )


init_phase.done()
