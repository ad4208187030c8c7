"""QboWebhookFunction's resolver: the QBO webhook route's work (verify, split, queue through
domain.qbo_webhook) and the one place a rejection becomes an HTTP status.

The body is never logged: events carry ids only, but a forged delivery could carry anything.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from customer_sync.composition.qbo_webhook import qbo_webhook_components
from customer_sync.domain.qbo_webhook import SIGNATURE_HEADER, accept_qbo_webhook
from customer_sync.errors import (
    UndecodableBody,
    WebhookInvalid,
    WebhookNotJson,
    WebhookRejected,
    WebhookTooLarge,
    WebhookUnauthorized,
)
from customer_sync.handlers.api_gateway import raw_body, single_header
from customer_sync.observability import logger, metrics

app = APIGatewayRestResolver(debug=False)

# Rejection -> (status, metric). QboWebhookAccepted counts the events queued.
REJECTIONS: dict[type[Exception], tuple[HTTPStatus, str]] = {
    WebhookTooLarge: (HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "QboWebhookTooLarge"),
    WebhookNotJson: (HTTPStatus.BAD_REQUEST, "QboWebhookMalformed"),
    UndecodableBody: (HTTPStatus.BAD_REQUEST, "QboWebhookMalformed"),
    WebhookInvalid: (HTTPStatus.UNPROCESSABLE_ENTITY, "QboWebhookInvalid"),
    WebhookUnauthorized: (HTTPStatus.UNAUTHORIZED, "QboWebhookUnauthorized"),
}


def _json(status: HTTPStatus, body: dict[str, Any]) -> Response[dict[str, Any]]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


def receive_qbo_webhook(event: APIGatewayProxyEvent) -> Response[dict[str, Any]]:
    """200 once every customer event is queued; a rejection raises (see REJECTIONS)."""
    components = qbo_webhook_components()
    outcome = accept_qbo_webhook(
        raw_body(event),
        single_header(event, SIGNATURE_HEADER),
        verifier=components.verifier,
        publisher=components.publisher,
        max_body_bytes=components.settings.max_body_bytes,
    )
    logger.info(
        "QBO webhook accepted",
        extra={
            "accepted": outcome.accepted,
            "ignored": outcome.ignored,
            "repeated": outcome.repeated,
            "realm_ids": list(outcome.realm_ids),
        },
    )
    metrics.add_metric(name="QboWebhookEvents", unit=MetricUnit.Count, value=outcome.accepted)
    metrics.add_metric(name="QboWebhookIgnoredEvents", unit=MetricUnit.Count, value=outcome.ignored)
    body = {"status": "accepted", "accepted": outcome.accepted, "ignored": outcome.ignored}
    return _json(HTTPStatus.OK, body)


def reject_qbo_webhook(error: WebhookRejected | UndecodableBody) -> Response[dict[str, Any]]:
    status, metric_name = REJECTIONS[type(error)]
    reason = (
        error.reason if isinstance(error, WebhookUnauthorized) else str(error)
    )  # the log's, never the answer's
    logger.warning("QBO webhook rejected", extra={"status": int(status), "reason": reason})
    metrics.add_metric(name=metric_name, unit=MetricUnit.Count, value=1)
    return _json(status, {"message": str(error)})


app.exception_handler(list(REJECTIONS))(reject_qbo_webhook)
