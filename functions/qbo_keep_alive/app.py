"""QboKeepAliveFunction: once a day (EventBridge schedule) every merchant's QBO connection is refreshed
before its refresh token can expire, and one nearing its hard expiry is reported (its alarm fires)
(customer_sync.domain.keep_alive via customer_sync.handlers.scheduled_jobs)."""

from __future__ import annotations

# First, so that the collector is paused while everything below loads (customer_sync/init_phase.py).
from customer_sync import init_phase

# isort: split

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from customer_sync.handlers.scheduled_jobs import run_keep_alive
from customer_sync.observability import logger, metrics, tracer


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run_keep_alive(context)


init_phase.done()
