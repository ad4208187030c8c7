"""IngestFunction: `POST /webhooks/paysimple`. Verifies, validates and enqueues PaySimple customer webhooks,
answering 202 well within PaySimple's 10 s (one secret read, usually cached, and one SendMessage).

The order of checks is documented in customer_sync.domain.ingest. Rejections become HTTP statuses only in
the exception handler below.

The request body is never logged: merchants paste card numbers into names and notes. The event is not
logged (`log_event=False` overrides POWERTOOLS_LOGGER_LOG_EVENT), the resolver never runs in debug mode
(which prints events), and rejection messages are built without the input.
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from customer_sync.adapters.api_gateway import UndecodableBody, raw_body, single_header
from customer_sync.adapters.merchant_secrets import MerchantPaySimpleSecrets
from customer_sync.adapters.sqs import SqsChangePublisher
from customer_sync.config import IngestSettings, load_settings
from customer_sync.domain.ingest import (
    WebhookInvalid,
    WebhookNotJson,
    WebhookRejected,
    WebhookTooLarge,
    WebhookUnauthorized,
    accept_webhook,
)
from customer_sync.domain.webhook_signature import SIGNATURE_HEADER
from customer_sync.observability import logger, metrics, tracer

# debug=False explicitly: debug mode (POWERTOOLS_DEV) prints every event, body included.
app = APIGatewayRestResolver(debug=False)

# Rejection -> (status, metric). One metric per outcome; WebhookAccepted / WebhookIgnored are the others.
REJECTIONS: dict[type[Exception], tuple[HTTPStatus, str]] = {
    WebhookTooLarge: (HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "WebhookTooLarge"),
    WebhookNotJson: (HTTPStatus.BAD_REQUEST, "WebhookMalformed"),
    UndecodableBody: (HTTPStatus.BAD_REQUEST, "WebhookMalformed"),
    WebhookInvalid: (HTTPStatus.UNPROCESSABLE_ENTITY, "WebhookInvalid"),
    WebhookUnauthorized: (HTTPStatus.UNAUTHORIZED, "WebhookUnauthorized"),
}


@dataclass(frozen=True)
class _Collaborators:
    settings: IngestSettings
    keys: MerchantPaySimpleSecrets
    publisher: SqsChangePublisher


_collaborators: _Collaborators | None = None


def _wired() -> _Collaborators:
    """Built on first use and kept while the settings object lives (one cold start), so the secrets cache and
    boto3 clients serve every warm invocation. Never at import: moto must be running before clients exist."""
    global _collaborators
    settings = load_settings(IngestSettings)
    if _collaborators is None or _collaborators.settings is not settings:
        _collaborators = _Collaborators(
            settings=settings,
            keys=MerchantPaySimpleSecrets(settings, max_age_seconds=settings.secrets_cache_seconds),
            publisher=SqsChangePublisher(settings.changes_queue_url),
        )
    return _collaborators


def _json(status: HTTPStatus, body: dict[str, str]) -> Response[dict[str, str]]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


@app.post("/webhooks/paysimple")
def receive_paysimple_webhook() -> Response[dict[str, str]]:
    wired = _wired()
    outcome = accept_webhook(
        raw_body(app.current_event),
        single_header(app.current_event, SIGNATURE_HEADER),
        keys=wired.keys,
        publisher=wired.publisher,
        settings=wired.settings,
    )
    logger.set_correlation_id(outcome.event_id)
    logger.info(
        f"webhook {outcome.status}",
        extra={
            "merchant_id": outcome.merchant_id,
            "customer_id": outcome.customer_id,
            "event_type": outcome.event_type,
        },
    )
    metrics.add_metric(name=f"Webhook{outcome.status.capitalize()}", unit=MetricUnit.Count, value=1)
    body = {"status": outcome.status, "event_id": outcome.event_id}
    if outcome.status == "ignored":
        body["event_type"] = outcome.event_type
    return _json(HTTPStatus.ACCEPTED, body)


def reject_webhook(error: WebhookRejected | UndecodableBody) -> Response[dict[str, str]]:
    status, metric_name = REJECTIONS[type(error)]
    # The message names what is wrong (a size, "not JSON", field locations); it never quotes the body.
    logger.warning("webhook rejected", extra={"status": int(status), "reason": str(error)})
    metrics.add_metric(name=metric_name, unit=MetricUnit.Count, value=1)
    return _json(status, {"message": str(error)})


# The one place a rejection becomes a status: registered for exactly the types of REJECTIONS (called rather
# than used as a decorator because Powertools' decorator is untyped).
app.exception_handler(list(REJECTIONS))(reject_webhook)


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False, clear_state=True
)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
