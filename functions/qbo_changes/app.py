"""QboChangesFunction: QboChangesQueue (SQS FIFO, grouped per QBO company) batches → domain.qbo_changes, one
record at a time (customer_sync.handlers.qbo_changes_batch): merges relink, inactivations are flagged,
edits by people become drift; our own writes echoed back are ignored.

`SqsFifoPartialProcessor(skip_group_on_error=True)`: a failing record is reported together with the later
records of its company, so a company's changes are never applied out of order.
"""

from __future__ import annotations

# First, so that the collector is paused while everything below loads (customer_sync/init_phase.py).
from customer_sync import init_phase

# isort: split

from typing import Any

from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from customer_sync.composition.qbo_follow import qbo_changes_components
from customer_sync.observability import logger, metrics, tracer

processor = SqsFifoPartialProcessor(skip_group_on_error=True)


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event,
        record_handler=qbo_changes_components().batch.record_handler(context),
        processor=processor,
        context=context,
    )


init_phase.done()
