"""QboCdcFunction: the daily CDC sweep of every connected QBO company (EventBridge schedule), the safety net
behind QBO's webhooks (customer_sync.domain.cdc_sweep via customer_sync.handlers.scheduled_jobs)."""

from __future__ import annotations

# First, so that the collector is paused while everything below loads (customer_sync/init_phase.py).
from customer_sync import init_phase

# isort: split

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from customer_sync.handlers.scheduled_jobs import run_cdc_sweep
from customer_sync.observability import logger, metrics, tracer


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run_cdc_sweep(context)


init_phase.done()
