"""AdminFunction's resolver: what the admin routes (functions/admin/app.py) share, and the one place a
refusal becomes an HTTP status.

- Unknown merchant or customer 404, malformed JSON 400, invalid values 422 (naming the field), conflicts
  409, bodies over the limit 413, QBO or PaySimple unavailable 503, refusing us 502 or 409.
- The API speaks JSON only: every body is read as JSON whatever its Content-Type (`body_as_json`), so every
  body meets the same size limit and the same JSON checks.
- Who may call a route is decided before the route runs, in `authorize_route` (one middleware for every
  route) from domain/admin/access.py's rules and the caller API Gateway verified: 403 otherwise.
- In AWS the /admin routes are IAM-protected (AdminApi) or Cognito-protected (the console's API) by API
  Gateway; the OAuth callback is public and trusted only through its signed state.

Nothing here logs a request body or a response: they carry PaySimple credentials and customer data. The
resolver never runs in debug mode.
"""

from __future__ import annotations

import binascii
import json
from http import HTTPStatus
from typing import Annotated, Any, Literal, NoReturn

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from customer_sync.composition.admin import admin_components
from customer_sync.domain.admin.access import (
    ACCESS_RULES,
    NOBODY,
    Access,
    Caller,
    authorize,
    caller_from_request_context,
)
from customer_sync.domain.admin.dry_run import dry_run_csv
from customer_sync.domain.admin.service import AdminService
from customer_sync.errors import (
    AdminRefusal,
    AuthorizationRejected,
    ConcurrentModification,
    Conflict,
    CustomerNotFound,
    Forbidden,
    InvalidMapping,
    InvalidOAuthState,
    InvalidRequest,
    LinkNotFound,
    MalformedBody,
    MerchantNotFound,
    PaySimpleAuthError,
    PaySimpleError,
    PaySimpleTransientError,
    QboAuthorizationFailed,
    QboCompanyChanging,
    QboConnectionBroken,
    QboCustomerAlreadyLinked,
    QboError,
    QboThrottled,
    QboTransientError,
    RequestTooLarge,
)
from customer_sync.handlers.api_gateway import body_as_json
from customer_sync.models.admin import DryRunReport, ErrorResponse
from customer_sync.observability import logger, metrics

NOT_JSON_MESSAGE = "request body is not valid JSON"
UNDECODABLE_MESSAGE = "request body is not valid base64-encoded UTF-8 text"

OPENAPI_TITLE = "customer-sync admin API"
OPENAPI_VERSION = "1.0.0"
OPENAPI_DESCRIPTION = (
    "Field mapping, Customer Matching (link, unlink, merge), failures and redrive, the QBO connection and "
    "the go-live dry run of customer-sync. /admin routes are IAM-authenticated (SigV4) at API Gateway; "
    "/oauth/qbo/callback is public and trusted only through its signed state."
)


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _json_body(text: str) -> Any:
    """The resolver's JSON parser (every body meets it: see `body_as_json`). Refuses an oversized body before
    parsing it (413), and anything that is not plain JSON (400): also what Python's parser would accept
    (NaN, Infinity) or fail on with other errors (nesting too deep, integers too long to convert)."""
    limit = admin_components().settings.max_body_bytes
    if len(text.encode("utf-8", "surrogatepass")) > limit:
        raise RequestTooLarge(limit)
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        # `from None`: a JSONDecodeError carries the whole document.
        raise MalformedBody(NOT_JSON_MESSAGE) from None


# debug=False explicitly: debug mode (POWERTOOLS_DEV) prints every event, body included.
app = APIGatewayRestResolver(enable_validation=True, debug=False, json_body_deserializer=_json_body)

MerchantId = Annotated[str, Path(min_length=1, max_length=200, description="PaySimple merchant id")]
CustomerId = Annotated[str, Path(min_length=1, max_length=200, description="PaySimple customer id")]
Cursor = Annotated[str | None, Query(max_length=2048, description="`next_cursor` of the previous page")]
Limit = Annotated[int, Query(ge=1, le=100)]


def responses(*refusals: int, success: tuple[int, ...] = (200,)) -> dict[int, OpenAPIResponse]:
    """OpenAPI entries: the success (its schema from the route's return type) and the refusals."""
    answers = {status: OpenAPIResponse(description=HTTPStatus(status).phrase) for status in success}
    for status in refusals:
        answers[status] = OpenAPIResponse(
            description=HTTPStatus(status).phrase,
            content={content_types.APPLICATION_JSON: {"model": ErrorResponse}},
        )
    return answers


MERCHANT_ROUTE = responses(400, 403, 404, 413, 422)
QBO_ROUTE = responses(400, 403, 404, 409, 413, 422, 502, 503)


def registered_routes(resolver: APIGatewayRestResolver) -> set[tuple[str, str]]:
    """(method, OpenAPI path) of every route registered on `resolver`."""
    # Powertools keeps them in these two lists; it offers no public way to enumerate routes.
    return {
        (route.method, route.openapi_path) for route in resolver._static_routes + resolver._dynamic_routes
    }


def authorize_route(resolver: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[Any]:
    """Every route: the rule of its (method, path) and the verified caller; Forbidden before it runs. The
    caller is kept for the route (`current_caller`). A path no route serves is Powertools' not-found route:
    any signed-in caller gets its 404; a registered route without a rule is refused to everybody."""
    route = resolver.context.get("_route")
    key = (route.method, route.openapi_path) if route is not None else None
    rule = ACCESS_RULES.get(key) if key is not None else None
    if rule is None and key is not None and key not in registered_routes(resolver):
        rule = Access.SIGNED_IN
    caller = caller_from_request_context(resolver.current_event.raw_event.get("requestContext"))
    merchant_id = (resolver.context.get("_route_args") or {}).get("merchant_id")
    authorize(rule, caller, merchant_id)
    resolver.context["caller"] = caller
    return next_middleware(resolver)


def _authorize_before_validating() -> None:
    """Run `authorize_route` first on every route, before Powertools' request validation: a caller who may
    not call a route learns nothing from it, not even that its body is malformed (403, never 422)."""
    # Powertools puts its validation middleware first in every route's stack and offers no public way to
    # run a middleware before it, so it is wrapped where the resolver keeps it.
    validate = app._request_validation_middleware

    def authorize_then_validate(
        resolver: APIGatewayRestResolver, next_middleware: NextMiddleware
    ) -> Response[Any]:
        return authorize_route(resolver, lambda checked: validate(checked, next_middleware))  # type: ignore[arg-type]

    app._request_validation_middleware = authorize_then_validate  # type: ignore[assignment]


_authorize_before_validating()


def current_caller() -> Caller:
    """The verified caller of the route being run (set by `authorize_route`)."""
    caller = app.context.get("caller", NOBODY)
    return caller if isinstance(caller, Caller) else NOBODY


def admin_service() -> AdminService:
    """The admin service of this container (customer_sync.composition.admin)."""
    return admin_components().service


def dry_run_response(
    report: DryRunReport, format: Literal["json", "csv"] | None
) -> Response[DryRunReport | str]:
    """The dry-run report as JSON, or as CSV when asked (`format=csv`, or `Accept: text/csv`)."""
    accept = (app.current_event.headers.get("accept") or "").lower()
    if format == "csv" or (format is None and "text/csv" in accept):
        return Response(status_code=HTTPStatus.OK, content_type="text/csv", body=dry_run_csv(report))
    return Response(status_code=HTTPStatus.OK, content_type=content_types.APPLICATION_JSON, body=report)


def openapi_document() -> Response[str]:
    return Response(
        status_code=HTTPStatus.OK, content_type=content_types.APPLICATION_JSON, body=openapi_json()
    )


def openapi_json() -> str:
    """The OpenAPI document, generated from the routes (functions/admin/app.py) and models; docs/openapi.json
    is a copy."""
    return app.get_openapi_json_schema(
        title=OPENAPI_TITLE, version=OPENAPI_VERSION, description=OPENAPI_DESCRIPTION
    )


# -- refusals: the one place they become statuses ------------------------------------------------------------


def _error(status: HTTPStatus, message: str, **extra: Any) -> Response[dict[str, Any]]:
    """The JSON error answer. Every 4xx counts in AdminRefusals."""
    if status < HTTPStatus.INTERNAL_SERVER_ERROR:
        metrics.add_metric(name="AdminRefusals", unit=MetricUnit.Count, value=1)
    body = {
        "statusCode": int(status),
        "message": message,
        **{k: v for k, v in extra.items() if v is not None},
    }
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


def _issue(field: str, kind: str, message: str) -> dict[str, Any]:
    return {"loc": field.split("."), "type": kind, "msg": message}


REFUSAL_STATUSES: dict[type[AdminRefusal], HTTPStatus] = {
    Forbidden: HTTPStatus.FORBIDDEN,
    MerchantNotFound: HTTPStatus.NOT_FOUND,
    CustomerNotFound: HTTPStatus.NOT_FOUND,
    Conflict: HTTPStatus.CONFLICT,
    InvalidOAuthState: HTTPStatus.BAD_REQUEST,
    AuthorizationRejected: HTTPStatus.BAD_REQUEST,
    RequestTooLarge: HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    MalformedBody: HTTPStatus.BAD_REQUEST,
}


def refuse(error: AdminRefusal) -> Response[dict[str, Any]]:
    if isinstance(error, InvalidRequest):
        status = HTTPStatus.UNPROCESSABLE_ENTITY
    else:
        kinds = REFUSAL_STATUSES.items()
        status = next((status for kind, status in kinds if isinstance(error, kind)), HTTPStatus.BAD_REQUEST)
    logger.info("admin request refused", extra={"status": int(status), "refusal": type(error).__name__})
    if isinstance(error, InvalidRequest):
        detail = [_issue(error.field, "value_error", reason) for reason in error.reasons]
        return _error(status, error.message, reasons=list(error.reasons), detail=detail)
    return _error(status, error.message, code=getattr(error, "code", None))


def refuse_invalid_request(error: RequestValidationError) -> Response[dict[str, Any]]:
    issues = error.errors()
    if any(issue.get("type") == "json_invalid" for issue in issues):
        return _error(HTTPStatus.BAD_REQUEST, NOT_JSON_MESSAGE)
    # Field locations, error types and pydantic's messages only: never the input (it may hold secrets).
    detail = [
        {"loc": list(issue["loc"]), "type": issue["type"], "msg": issue.get("msg", "")} for issue in issues
    ]
    fields = ", ".join(".".join(str(part) for part in issue["loc"]) for issue in issues)
    return _error(HTTPStatus.UNPROCESSABLE_ENTITY, f"invalid request: {fields}", detail=detail)


def refuse_invalid_mapping(error: InvalidMapping) -> Response[dict[str, Any]]:
    detail = [_issue("body.fields", "invalid_mapping", reason) for reason in error.reasons]
    return _error(
        HTTPStatus.UNPROCESSABLE_ENTITY, "invalid field mapping", reasons=list(error.reasons), detail=detail
    )


def refuse_repository_conflict(error: Exception) -> Response[dict[str, Any]]:
    if isinstance(error, LinkNotFound):
        return _error(HTTPStatus.NOT_FOUND, str(error))
    return _error(HTTPStatus.CONFLICT, str(error))


def refuse_undecodable_body(error: binascii.Error | UnicodeDecodeError) -> Response[dict[str, Any]]:
    """A body flagged base64 that is not, or whose bytes are not UTF-8. Powertools decodes the body before
    any route code runs; nothing else in a request raises these."""
    logger.info("admin request refused", extra={"status": 400, "refusal": type(error).__name__})
    return _error(HTTPStatus.BAD_REQUEST, UNDECODABLE_MESSAGE)


def refuse_upstream(error: QboError | PaySimpleError) -> Response[dict[str, Any]]:
    """QBO and PaySimple failures: the message is the typed error's (codes, never tokens or values)."""
    service = "QuickBooks" if isinstance(error, QboError) else "PaySimple"
    logger.warning("admin request failed upstream", extra={"service": service, "error": type(error).__name__})
    metrics.add_metric(name="AdminUpstreamFailures", unit=MetricUnit.Count, value=1)
    if isinstance(error, QboConnectionBroken):
        return _error(
            HTTPStatus.CONFLICT, "QuickBooks is not connected for this merchant: connect it (again)"
        )
    if isinstance(error, QboAuthorizationFailed | PaySimpleAuthError):
        return _error(HTTPStatus.CONFLICT, f"{service} refused this merchant's credentials")
    if isinstance(error, QboTransientError | QboThrottled | PaySimpleTransientError):
        message = f"{service} is unavailable; try again shortly"
        if isinstance(error, QboCompanyChanging):
            message = "QuickBooks is being connected to another company; try again shortly"
        response = _error(HTTPStatus.SERVICE_UNAVAILABLE, message)
        response.headers["Retry-After"] = "5"
        return response
    return _error(HTTPStatus.BAD_GATEWAY, f"{service} refused the request ({type(error).__name__})")


def register_refusals(resolver: APIGatewayRestResolver) -> None:
    """Every refusal's status, on `resolver` (the admin API's `app`; tests pass a resolver of their own)."""
    # Registered by calling rather than decorating: Powertools' decorator is untyped.
    resolver.exception_handler(AdminRefusal)(refuse)
    resolver.exception_handler(RequestValidationError)(refuse_invalid_request)
    resolver.exception_handler(InvalidMapping)(refuse_invalid_mapping)
    resolver.exception_handler([QboCustomerAlreadyLinked, ConcurrentModification, LinkNotFound])(
        refuse_repository_conflict
    )
    resolver.exception_handler([QboError, PaySimpleError])(refuse_upstream)
    resolver.exception_handler([binascii.Error, UnicodeDecodeError])(refuse_undecodable_body)


register_refusals(app)


def resolve(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """One admin request through the routes; every request counts in AdminRequests."""
    metrics.add_metric(name="AdminRequests", unit=MetricUnit.Count, value=1)
    return app.resolve(body_as_json(event), context)
