"""IngestFunction: `POST /webhooks/paysimple`. Verifies, validates and enqueues PaySimple customer webhooks,
answering 202 well within PaySimple's 10 s (one secret read, usually cached, and one SendMessage).

The order of checks is documented in customer_sync.domain.ingest; rejections become statuses in
customer_sync.handlers.ingest_api. The event is never logged (`log_event=False` overrides
POWERTOOLS_LOGGER_LOG_EVENT): merchants paste card numbers into names and notes.
"""

from __future__ import annotations

# First, so that the collector is paused while everything below loads (customer_sync/init_phase.py).
from customer_sync import init_phase

# isort: split

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from customer_sync.handlers.ingest_api import app, receive_paysimple_webhook
from customer_sync.observability import logger, metrics, tracer


@app.post("/webhooks/paysimple")
def paysimple_webhook() -> Response[dict[str, str]]:
    return receive_paysimple_webhook(app.current_event)


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False, clear_state=True
)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


init_phase.done()
