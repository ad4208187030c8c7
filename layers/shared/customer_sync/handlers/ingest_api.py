"""IngestFunction's resolver: the PaySimple webhook route's work (verify, validate, enqueue through
domain.ingest) and the one place a rejection becomes an HTTP status.

The request body is never logged: merchants paste card numbers into names and notes. The resolver never runs
in debug mode (which prints events), and rejection messages are built without the input.
"""

from __future__ import annotations

from http import HTTPStatus

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from customer_sync.composition.ingest import ingest_components
from customer_sync.domain.ingest import accept_webhook
from customer_sync.domain.webhook_signature import SIGNATURE_HEADER
from customer_sync.errors import (
    UNAUTHORIZED_MESSAGE,
    MerchantSecretInvalid,
    QueueUnavailable,
    UndecodableBody,
    WebhookInvalid,
    WebhookNotJson,
    WebhookRejected,
    WebhookTooLarge,
    WebhookUnauthorized,
)
from customer_sync.handlers.api_gateway import raw_body, single_header
from customer_sync.observability import logger, metrics

# debug=False explicitly: debug mode (POWERTOOLS_DEV) prints every event, body included.
app = APIGatewayRestResolver(debug=False)

# Refusal -> (status, metric). One metric per outcome; WebhookAccepted / WebhookIgnored are the others.
REJECTIONS: dict[type[Exception], tuple[HTTPStatus, str]] = {
    WebhookTooLarge: (HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "WebhookTooLarge"),
    WebhookNotJson: (HTTPStatus.BAD_REQUEST, "WebhookMalformed"),
    UndecodableBody: (HTTPStatus.BAD_REQUEST, "WebhookMalformed"),
    WebhookInvalid: (HTTPStatus.UNPROCESSABLE_ENTITY, "WebhookInvalid"),
    WebhookUnauthorized: (HTTPStatus.UNAUTHORIZED, "WebhookUnauthorized"),
    # The caller gets the same 401 as for an unknown merchant; operators get this metric, its alarm
    # (MerchantSecretMalformedAlarm) and an error log line naming the secret and the fields at fault.
    MerchantSecretInvalid: (HTTPStatus.UNAUTHORIZED, "MerchantSecretMalformed"),
}


def _json(status: HTTPStatus, body: dict[str, str]) -> Response[dict[str, str]]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


def receive_paysimple_webhook(event: APIGatewayProxyEvent) -> Response[dict[str, str]]:
    """202 for an accepted or ignored delivery; a refusal raises (see REJECTIONS)."""
    components = ingest_components()
    outcome = accept_webhook(
        single_header(event, SIGNATURE_HEADER),
        lambda: raw_body(event),
        keys=components.signing_keys,
        publisher=components.publisher,
        settings=components.settings,
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


def reject_webhook(
    error: WebhookRejected | UndecodableBody | MerchantSecretInvalid,
) -> Response[dict[str, str]]:
    status, metric_name = REJECTIONS[type(error)]
    metrics.add_metric(name=metric_name, unit=MetricUnit.Count, value=1)
    if isinstance(error, MerchantSecretInvalid):
        # The operator's problem, not the caller's: the caller learns nothing beyond 401.
        logger.error(
            "webhook refused: the merchant's signing-key secret is malformed", extra={"error": str(error)}
        )
        return _json(status, {"message": UNAUTHORIZED_MESSAGE})
    # The message names what is wrong (a size, "not JSON", field locations); it never quotes the body.
    details: dict[str, object] = {"status": int(status), "reason": str(error)}
    if isinstance(error, WebhookUnauthorized):
        details.update(refusal=error.reason, merchant_id=error.merchant_id)
    logger.warning("webhook rejected", extra=details)
    return _json(status, {"message": str(error)})


# PaySimple retries a 5xx; a 503 with Retry-After says "not now" without a traceback or a 502.
QUEUE_RETRY_AFTER_SECONDS = 5
QUEUE_UNAVAILABLE_METRIC = "WebhookQueueUnavailable"


def queue_unavailable(error: QueueUnavailable) -> Response[dict[str, str]]:
    metrics.add_metric(name=QUEUE_UNAVAILABLE_METRIC, unit=MetricUnit.Count, value=1)
    logger.error(
        "webhook not queued: SQS did not take it; the sender will retry", extra={"error": str(error)}
    )
    return Response(
        status_code=HTTPStatus.SERVICE_UNAVAILABLE,
        content_type=content_types.APPLICATION_JSON,
        body={"message": "the change could not be queued; retry later"},
        headers={"Retry-After": str(QUEUE_RETRY_AFTER_SECONDS)},
    )


app.exception_handler(QueueUnavailable)(queue_unavailable)

# Registered for exactly the types of REJECTIONS (called rather than used as a decorator because
# Powertools' decorator is untyped).
app.exception_handler(list(REJECTIONS))(reject_webhook)
