"""AdminFunction: the admin API of DESIGN.md (field mapping, Customer Matching, failures, QBO connection,
go-live dry run), and the public QBO OAuth callback.

Each route is one call to `AdminService`. Refusals become HTTP statuses only in the exception handlers at
the bottom: unknown merchant or customer 404, malformed JSON 400, invalid values 422 (naming the field),
conflicts 409, bodies over the limit 413. The API speaks JSON only: every body is read as JSON whatever its
Content-Type (`body_as_json`), so every body meets the same size limit and the same JSON checks. In AWS the
/admin routes are IAM-protected by API Gateway; the callback is public and trusted only through its signed
state.

Nothing here logs a request body or a response: they carry PaySimple credentials and customer data. The
event itself is not logged (`log_event=False`) and the resolver never runs in debug mode.
"""

from __future__ import annotations

import binascii
import json
from http import HTTPStatus
from typing import Annotated, Any, Literal, NoReturn

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from customer_sync.adapters.admin_wiring import admin_service, admin_settings
from customer_sync.adapters.api_gateway import body_as_json
from customer_sync.adapters.paysimple_errors import (
    PaySimpleAuthError,
    PaySimpleError,
    PaySimpleTransientError,
)
from customer_sync.adapters.qbo_errors import (
    QboAuthorizationFailed,
    QboConnectionBroken,
    QboError,
    QboThrottled,
    QboTransientError,
)
from customer_sync.domain.admin_errors import (
    AdminRefusal,
    AuthorizationRejected,
    Conflict,
    CustomerNotFound,
    InvalidOAuthState,
    InvalidRequest,
    MalformedBody,
    MerchantNotFound,
    RequestTooLarge,
)
from customer_sync.domain.dry_run import dry_run_csv
from customer_sync.domain.mapping import InvalidMapping
from customer_sync.models.admin import (
    CustomerDetailResponse,
    CustomerPageResponse,
    CustomerView,
    DryRunReport,
    DryRunRequest,
    ErrorResponse,
    FailuresResponse,
    FieldCatalogResponse,
    LinkRequest,
    MappingResponse,
    MappingUpdateRequest,
    MerchantStatusResponse,
    MerchantUpsertRequest,
    MerchantUpsertResponse,
    MergeRequest,
    MergeResponse,
    QboCallbackResponse,
    QboConnectResponse,
    QboSearchResponse,
    RedriveRequest,
    RedriveResponse,
    SettingsUpdateRequest,
)
from customer_sync.models.links import LinkStatus
from customer_sync.models.settings import MerchantSettings
from customer_sync.observability import logger, tracer
from customer_sync.ports import ConcurrentModification, LinkNotFound, QboCustomerAlreadyLinked

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
    limit = admin_settings().max_body_bytes
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


def _responses(*refusals: int, success: tuple[int, ...] = (200,)) -> dict[int, OpenAPIResponse]:
    """OpenAPI entries: the success (its schema from the route's return type) and the refusals."""
    answers = {status: OpenAPIResponse(description=HTTPStatus(status).phrase) for status in success}
    for status in refusals:
        answers[status] = OpenAPIResponse(
            description=HTTPStatus(status).phrase,
            content={content_types.APPLICATION_JSON: {"model": ErrorResponse}},
        )
    return answers


MERCHANT_ROUTE = _responses(400, 404, 413, 422)
QBO_ROUTE = _responses(400, 404, 409, 413, 422, 502, 503)


# -- merchants and QBO connection ----------------------------------------------------------------------------


@app.put(
    "/admin/merchants/<merchant_id>",
    tags=["merchants"],
    responses=_responses(400, 413, 422, success=(200, 201)),
)
def upsert_merchant(merchant_id: MerchantId, body: MerchantUpsertRequest) -> Response[MerchantUpsertResponse]:
    """Onboard a merchant or replace its PaySimple credentials (stored in Secrets Manager, never returned)."""
    result = admin_service().upsert_merchant(merchant_id, body)
    status = HTTPStatus.CREATED if result.created else HTTPStatus.OK
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=result)


@app.get("/admin/merchants/<merchant_id>/qbo/connect", tags=["qbo connection"], responses=MERCHANT_ROUTE)
def start_qbo_connect(merchant_id: MerchantId) -> QboConnectResponse:
    """The QuickBooks authorize URL, with a signed, expiring, one-time state."""
    return admin_service().start_qbo_connect(merchant_id)


@app.get("/oauth/qbo/callback", tags=["qbo connection"], responses=_responses(400, 404, 409, 422))
def qbo_oauth_callback(
    code: Annotated[str | None, Query(max_length=2048)] = None,
    state: Annotated[str | None, Query(max_length=2048)] = None,
    realm_id: Annotated[str | None, Query(alias="realmId", max_length=64)] = None,
    error: Annotated[str | None, Query(max_length=256)] = None,
) -> QboCallbackResponse:
    """Intuit's redirect after consent: exchanges the code and stores the connection (public route)."""
    return admin_service().complete_qbo_connect(state=state, code=code, realm_id=realm_id, error=error)


@app.get("/admin/merchants/<merchant_id>/status", tags=["qbo connection"], responses=MERCHANT_ROUTE)
def merchant_status(merchant_id: MerchantId) -> MerchantStatusResponse:
    """Realm, token expiry times (never the tokens), connection health, last sync, queue and DLQ depth."""
    return admin_service().status(merchant_id)


# -- settings and field mapping ------------------------------------------------------------------------------


@app.get("/admin/merchants/<merchant_id>/settings", tags=["settings"], responses=MERCHANT_ROUTE)
def get_settings(merchant_id: MerchantId) -> MerchantSettings:
    return admin_service().get_settings(merchant_id)


@app.put("/admin/merchants/<merchant_id>/settings", tags=["settings"], responses=MERCHANT_ROUTE)
def update_settings(merchant_id: MerchantId, body: SettingsUpdateRequest) -> MerchantSettings:
    """Enabling sync records enabled_at: changes that happened before it are never synced."""
    return admin_service().update_settings(merchant_id, body)


@app.get("/admin/field-catalog", tags=["field mapping"])
def get_field_catalog() -> FieldCatalogResponse:
    """PaySimple fields and the QBO fields each may be mapped to."""
    return admin_service().field_catalog()


@app.get("/admin/merchants/<merchant_id>/mapping", tags=["field mapping"], responses=MERCHANT_ROUTE)
def get_mapping(merchant_id: MerchantId) -> MappingResponse:
    return admin_service().get_mapping(merchant_id)


@app.put("/admin/merchants/<merchant_id>/mapping", tags=["field mapping"], responses=MERCHANT_ROUTE)
def save_mapping(merchant_id: MerchantId, body: MappingUpdateRequest) -> MappingResponse:
    """Save Changes: a new version, effective now. A refused mapping (422, with reasons) changes nothing."""
    return admin_service().save_mapping(merchant_id, body)


# -- Customer Matching ---------------------------------------------------------------------------------------


@app.get("/admin/merchants/<merchant_id>/customers", tags=["customer matching"], responses=MERCHANT_ROUTE)
def list_customers(
    merchant_id: MerchantId,
    status: Annotated[LinkStatus, Query()] = "linked",
    q: Annotated[str | None, Query(max_length=200, description="Name, email or PaySimple id")] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> CustomerPageResponse:
    """The linked and unlinked customer lists, by last name, with search and paging."""
    return admin_service().list_customers(merchant_id, status, query=q, cursor=cursor, limit=limit)


@app.get(
    "/admin/merchants/<merchant_id>/customers/<paysimple_customer_id>",
    tags=["customer matching"],
    responses=MERCHANT_ROUTE,
)
def customer_detail(
    merchant_id: MerchantId,
    paysimple_customer_id: CustomerId,
    history_cursor: Cursor = None,
    history_limit: Limit = 50,
) -> CustomerDetailResponse:
    """One customer: its link and reason, QBO candidates, and history (newest first)."""
    return admin_service().customer_detail(
        merchant_id, paysimple_customer_id, history_cursor=history_cursor, history_limit=history_limit
    )


@app.get(
    "/admin/merchants/<merchant_id>/qbo/customers",
    tags=["customer matching"],
    responses=QBO_ROUTE,
)
def search_qbo_customers(
    merchant_id: MerchantId,
    q: Annotated[str, Query(min_length=1, max_length=100, description="The start of a DisplayName")],
) -> QboSearchResponse:
    """Type-ahead: QBO customers whose DisplayName starts with `q`, inactive ones flagged."""
    return admin_service().search_qbo_customers(merchant_id, q)


@app.post(
    "/admin/merchants/<merchant_id>/links",
    tags=["customer matching"],
    responses=QBO_ROUTE,
)
def link_customer(merchant_id: MerchantId, body: LinkRequest) -> CustomerView:
    """Link a PaySimple customer to a QBO customer (409 if that one is linked to someone else)."""
    return admin_service().link(merchant_id, body)


@app.delete(
    "/admin/merchants/<merchant_id>/links/<paysimple_customer_id>",
    tags=["customer matching"],
    responses=_responses(400, 404, 409, 422),
)
def unlink_customer(merchant_id: MerchantId, paysimple_customer_id: CustomerId) -> CustomerView:
    """Unlink: the customer moves to the unlinked list; its history is kept."""
    return admin_service().unlink(merchant_id, paysimple_customer_id)


@app.post(
    "/admin/merchants/<merchant_id>/merges",
    tags=["customer matching"],
    responses=QBO_ROUTE,
)
def merge_customers(merchant_id: MerchantId, body: MergeRequest) -> MergeResponse:
    """Merge duplicate unlinked PaySimple records into one primary, which keeps (or gets) the link."""
    return admin_service().merge(merchant_id, body)


# -- failures and dry run ------------------------------------------------------------------------------------


@app.get("/admin/merchants/<merchant_id>/failures", tags=["failures"], responses=MERCHANT_ROUTE)
def list_failures(merchant_id: MerchantId, cursor: Cursor = None, limit: Limit = 50) -> FailuresResponse:
    """Parked failures (with reasons) and dead-lettered changes of this merchant."""
    return admin_service().list_failures(merchant_id, cursor=cursor, limit=limit)


@app.post("/admin/merchants/<merchant_id>/failures/redrive", tags=["failures"], responses=MERCHANT_ROUTE)
def redrive_failures(merchant_id: MerchantId, body: RedriveRequest) -> RedriveResponse:
    """Send failures to the queue again (some by event id, or all of them)."""
    return admin_service().redrive(merchant_id, body)


@app.post(
    "/admin/merchants/<merchant_id>/dry-run",
    tags=["go-live"],
    responses={
        200: OpenAPIResponse(
            description="What the sync would do for each customer (JSON, or CSV when asked)",
            content={
                content_types.APPLICATION_JSON: {"model": DryRunReport},
                "text/csv": {"schema": {"type": "string"}},
            },
        ),
        **_responses(400, 404, 409, 413, 422, 502, 503, success=()),
    },
)
def dry_run(
    merchant_id: MerchantId,
    body: DryRunRequest,
    format: Annotated[
        Literal["json", "csv"] | None, Query(description="csv: same as Accept: text/csv")
    ] = None,
) -> Response[DryRunReport | str]:
    """Preview go-live: link by name / name+email, ambiguous, create, or DisplayName collision. No QBO
    writes."""
    report = admin_service().dry_run(merchant_id, body)
    accept = (app.current_event.headers.get("accept") or "").lower()
    if format == "csv" or (format is None and "text/csv" in accept):
        return Response(status_code=HTTPStatus.OK, content_type="text/csv", body=dry_run_csv(report))
    return Response(status_code=HTTPStatus.OK, content_type=content_types.APPLICATION_JSON, body=report)


@app.get("/admin/openapi.json", include_in_schema=False)
def openapi_document() -> Response[str]:
    return Response(
        status_code=HTTPStatus.OK, content_type=content_types.APPLICATION_JSON, body=openapi_json()
    )


def openapi_json() -> str:
    """The OpenAPI document, generated from the routes and models above (docs/openapi.json is a copy)."""
    return app.get_openapi_json_schema(
        title=OPENAPI_TITLE, version=OPENAPI_VERSION, description=OPENAPI_DESCRIPTION
    )


# -- refusals: the one place they become statuses ------------------------------------------------------------


def _error(status: HTTPStatus, message: str, **extra: Any) -> Response[dict[str, Any]]:
    body = {"statusCode": int(status), "message": message, **extra}
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


def _issue(field: str, kind: str, message: str) -> dict[str, Any]:
    return {"loc": field.split("."), "type": kind, "msg": message}


REFUSAL_STATUSES: dict[type[AdminRefusal], HTTPStatus] = {
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
    return _error(status, error.message)


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
    if isinstance(error, QboConnectionBroken):
        return _error(
            HTTPStatus.CONFLICT, "QuickBooks is not connected for this merchant: connect it (again)"
        )
    if isinstance(error, QboAuthorizationFailed | PaySimpleAuthError):
        return _error(HTTPStatus.CONFLICT, f"{service} refused this merchant's credentials")
    if isinstance(error, QboTransientError | QboThrottled | PaySimpleTransientError):
        response = _error(HTTPStatus.SERVICE_UNAVAILABLE, f"{service} is unavailable; try again shortly")
        response.headers["Retry-After"] = "5"
        return response
    return _error(HTTPStatus.BAD_GATEWAY, f"{service} refused the request ({type(error).__name__})")


# Registered by calling rather than decorating: Powertools' decorator is untyped.
app.exception_handler(AdminRefusal)(refuse)
app.exception_handler(RequestValidationError)(refuse_invalid_request)
app.exception_handler(InvalidMapping)(refuse_invalid_mapping)
app.exception_handler([QboCustomerAlreadyLinked, ConcurrentModification, LinkNotFound])(
    refuse_repository_conflict
)
app.exception_handler([QboError, PaySimpleError])(refuse_upstream)
app.exception_handler([binascii.Error, UnicodeDecodeError])(refuse_undecodable_body)


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False, clear_state=True
)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(body_as_json(event), context)
