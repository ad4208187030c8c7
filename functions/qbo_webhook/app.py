"""QboWebhookFunction: `POST /webhooks/qbo`. Verifies Intuit's signed CloudEvents deliveries and queues
their customer events per company, answering 200 well within Intuit's 3 s (one cached secret read, one
SendMessageBatch per ten events).

The order of checks is documented in customer_sync.domain.qbo_webhook; rejections become statuses in
customer_sync.handlers.qbo_webhook_api. The event is never logged.
"""

from __future__ import annotations

# First, so that the collector is paused while everything below loads (customer_sync/init_phase.py).
from customer_sync import init_phase

# isort: split

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from customer_sync.handlers.qbo_webhook_api import app, receive_qbo_webhook
from customer_sync.observability import logger, metrics, tracer


@app.post("/webhooks/qbo")
def qbo_webhook() -> Response[dict[str, Any]]:
    return receive_qbo_webhook(app.current_event)


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False, clear_state=True
)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


init_phase.done()
