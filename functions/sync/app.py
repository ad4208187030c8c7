"""SyncFunction: CustomerChangesQueue (SQS FIFO) batches → SyncService, one record at a time
(customer_sync.handlers.sync_batch).

`SqsFifoPartialProcessor(skip_group_on_error=True)`: a failing record is reported in `batchItemFailures`
together with the later records of *its* message group (one customer), so that customer's changes are never
applied out of order, while every other customer in the batch is processed. The failed records are then
handed back to SQS with a short wait each (`hand_back`). A batch whose every record failed is answered like
any other (`raise_on_entire_batch_failure = False`): a throttled or unreachable QBO is not a Lambda error.
"""

from __future__ import annotations

# First, so that the collector is paused while everything below loads (customer_sync/init_phase.py).
from customer_sync import init_phase

# isort: split

from typing import Any

# The batch module before anything that imports pydantic: with pydantic loaded it builds every Powertools
# event model for its type hints, tens of ms of each cold start (tests/unit/test_cold_start_imports.py).
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from customer_sync.composition.sync import sync_components
from customer_sync.observability import logger, metrics, tracer

processor = SqsFifoPartialProcessor(skip_group_on_error=True)
processor.raise_on_entire_batch_failure = False


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    with sync_components().batch.begin(event, context) as batch:
        response = process_partial_response(
            event=event, record_handler=batch.record_handler, processor=processor, context=context
        )
        return batch.hand_back(response)


init_phase.done()
