"""AdminFunction: the admin API of DESIGN.md (field mapping, Customer Matching, failures, QBO connection,
go-live dry run), the console's users, and the public QBO OAuth callback. Routes only: each is one call to
the admin service; the resolver, who may call each route (customer_sync.domain.admin.access), its refusals
→ statuses and the OpenAPI helpers are in customer_sync.handlers.admin_api.

The event is never logged (`log_event=False`): request bodies carry PaySimple credentials and customer data.
"""

from __future__ import annotations

# First, so that the collector is paused while everything below loads (customer_sync/init_phase.py).
from customer_sync import init_phase

# isort: split

from http import HTTPStatus
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from customer_sync.domain.admin.qbo_connect import ConsoleHandoff
from customer_sync.handlers.admin_api import (
    MERCHANT_ROUTE,
    QBO_ROUTE,
    Cursor,
    CustomerId,
    Limit,
    MerchantId,
    admin_service,
    app,
    current_caller,
    dry_run_response,
    openapi_document,
    resolve,
    responses,
)
from customer_sync.models.admin import (
    AdminInviteRequest,
    AdminInviteResponse,
    CustomerDetailResponse,
    CustomerPageResponse,
    CustomerView,
    DryRunReport,
    DryRunRequest,
    FailuresResponse,
    FieldCatalogResponse,
    GoLiveApplyResponse,
    LinkRequest,
    MappingResponse,
    MappingUpdateRequest,
    MerchantStatusResponse,
    MerchantUpsertRequest,
    MerchantUpsertResponse,
    MeResponse,
    MergeRequest,
    MergeResponse,
    QboCallbackResponse,
    QboConnectionRequest,
    QboConnectResponse,
    QboDisconnectResponse,
    QboSearchResponse,
    RedriveRequest,
    RedriveResponse,
    SettingsUpdateRequest,
)
from customer_sync.models.links import LinkStatus
from customer_sync.models.settings import MerchantSettings
from customer_sync.observability import logger, metrics, tracer

# -- merchants, console users and QBO connection -------------------------------------------------------------


@app.get("/admin/me", tags=["merchants"])
def who_am_i() -> MeResponse:
    """The verified caller: an operator, or the admin of one merchant."""
    return admin_service().me(current_caller())


@app.put(
    "/admin/merchants/<merchant_id>",
    tags=["merchants"],
    responses=responses(400, 403, 413, 422, success=(200, 201)),
)
def upsert_merchant(merchant_id: MerchantId, body: MerchantUpsertRequest) -> Response[MerchantUpsertResponse]:
    """Onboard a merchant or replace its PaySimple credentials (stored in Secrets Manager, never returned).
    Operators only."""
    result = admin_service().upsert_merchant(merchant_id, body)
    status = HTTPStatus.CREATED if result.created else HTTPStatus.OK
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=result)


@app.post(
    "/admin/merchants/<merchant_id>/admins",
    tags=["merchants"],
    responses=responses(400, 403, 404, 409, 413, 422, success=(201,)),
)
def invite_admin(merchant_id: MerchantId, body: AdminInviteRequest) -> Response[AdminInviteResponse]:
    """Invite a merchant admin to the console (Cognito emails a temporary password). Operators only."""
    invited = admin_service().invite_admin(merchant_id, body)
    return Response(status_code=HTTPStatus.CREATED, content_type=content_types.APPLICATION_JSON, body=invited)


@app.get("/admin/merchants/<merchant_id>/qbo/connect", tags=["qbo connection"], responses=MERCHANT_ROUTE)
def start_qbo_connect(
    merchant_id: MerchantId,
    confirm_realm_change: Annotated[
        bool, Query(description="Connecting another QBO company than the linked one unlinks everyone")
    ] = False,
) -> QboConnectResponse:
    """The QuickBooks authorize URL, with a signed, expiring, one-time state. Started in the console, it can
    be completed only by the same signed-in user."""
    return admin_service().start_qbo_connect(
        merchant_id, current_caller(), confirm_realm_change=confirm_realm_change
    )


@app.get("/oauth/qbo/callback", tags=["qbo connection"], responses=responses(400, 404, 409, 422))
def qbo_oauth_callback(
    code: Annotated[str | None, Query(max_length=2048)] = None,
    state: Annotated[str | None, Query(max_length=2048)] = None,
    realm_id: Annotated[str | None, Query(alias="realmId", max_length=64)] = None,
    error: Annotated[str | None, Query(max_length=256)] = None,
) -> Response[QboCallbackResponse | None]:
    """Intuit's redirect after consent (public route). A connect started in the console is handed to it (302
    to `/#connection?...`), where the same user completes it; any other is exchanged and stored here."""
    completed = admin_service().complete_qbo_connect(state=state, code=code, realm_id=realm_id, error=error)
    if isinstance(completed, ConsoleHandoff):
        return Response(
            status_code=HTTPStatus.FOUND,
            headers={"Location": completed.location, "Cache-Control": "no-store"},
            body=None,
        )
    return Response(status_code=HTTPStatus.OK, content_type=content_types.APPLICATION_JSON, body=completed)


@app.post(
    "/admin/merchants/<merchant_id>/qbo/connection",
    tags=["qbo connection"],
    responses=responses(400, 403, 404, 409, 413, 422, 502, 503),
)
def complete_qbo_connection(merchant_id: MerchantId, body: QboConnectionRequest) -> QboCallbackResponse:
    """The console completes a connect its signed-in user started: anyone else, an expired or a used state
    is refused. Another QBO company than the linked one needs `confirm_realm_change` (409 otherwise)."""
    return admin_service().complete_qbo_connection(merchant_id, current_caller(), body)


@app.delete(
    "/admin/merchants/<merchant_id>/qbo/connection",
    tags=["qbo connection"],
    responses=responses(400, 403, 404, 413, 422, 502, 503),
)
def disconnect_qbo(merchant_id: MerchantId) -> QboDisconnectResponse:
    """Disconnect QuickBooks: the tokens are revoked at Intuit, then cleared (503 and nothing cleared when
    Intuit cannot be reached). Links are kept."""
    return admin_service().disconnect_qbo(merchant_id)


@app.get("/admin/merchants/<merchant_id>/status", tags=["qbo connection"], responses=MERCHANT_ROUTE)
def merchant_status(merchant_id: MerchantId) -> MerchantStatusResponse:
    """Realm, token expiry times (never the tokens), who connected and when, connection health, last sync;
    for operators also the deployment's queue and DLQ depth."""
    return admin_service().status(merchant_id, include_queues=current_caller().is_operator)


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
    q: Annotated[
        str, Query(min_length=1, max_length=100, description="The start of any word of a name or company")
    ],
) -> QboSearchResponse:
    """Type-ahead: QBO customers with a word of their DisplayName or CompanyName starting with each word of
    `q` (jobs and projects left out), inactive ones flagged."""
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
    responses=responses(400, 404, 409, 422),
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


@app.delete(
    "/admin/merchants/<merchant_id>/merges/<paysimple_customer_id>",
    tags=["customer matching"],
    responses=responses(400, 403, 404, 409, 422),
)
def unmerge_customer(merchant_id: MerchantId, paysimple_customer_id: CustomerId) -> CustomerView:
    """Unmerge a merged duplicate: it is back on the unlinked list, and its next save is matched again."""
    return admin_service().unmerge(merchant_id, paysimple_customer_id)


@app.post(
    "/admin/merchants/<merchant_id>/customers/<paysimple_customer_id>/qbo-customer",
    tags=["customer matching"],
    responses=responses(400, 403, 404, 409, 422, 502, 503),
)
def create_in_qbo(merchant_id: MerchantId, paysimple_customer_id: CustomerId) -> CustomerView:
    """Create in QuickBooks: a new QBO customer from the PaySimple record, linked to it (the collision
    suffix when the name is taken). Repeating it creates nothing more."""
    return admin_service().create_in_qbo(merchant_id, paysimple_customer_id)


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
        **responses(400, 404, 409, 413, 422, 502, 503, success=()),
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
    return dry_run_response(admin_service().dry_run(merchant_id, body), format)


@app.post(
    "/admin/merchants/<merchant_id>/go-live/apply",
    tags=["go-live"],
    responses=responses(400, 403, 404, 409, 413, 422, 502, 503),
)
def apply_go_live(merchant_id: MerchantId, body: DryRunRequest) -> GoLiveApplyResponse:
    """Apply go-live for a page of customers (or the given ids): link every unambiguous match, list the
    rest for review. Nothing is written to QuickBooks."""
    return admin_service().apply_go_live(merchant_id, body)


app.get("/admin/openapi.json", include_in_schema=False)(openapi_document)


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False, clear_state=True
)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve(event, context)


init_phase.done()
