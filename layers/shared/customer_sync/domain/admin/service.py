"""The admin API's one entry point: every route is one call here.

Merchant onboarding, settings, field mapping and status live in this module; the Customer Matching tab,
the QBO type-ahead, failures, the dry run and the QBO connect flow in their own modules, reached through
this facade. Every merchant route first checks that the merchant is onboarded (unknown → MerchantNotFound),
and every refusal is raised before anything is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError

from customer_sync.domain.admin.access import Caller
from customer_sync.domain.admin.connected_company import ConnectedCompanyClients
from customer_sync.domain.admin.customer_matching import CustomerMatching, customer_view
from customer_sync.domain.admin.dry_run import DryRun
from customer_sync.domain.admin.failures import Failures
from customer_sync.domain.admin.go_live import GoLiveApply
from customer_sync.domain.admin.qbo_connect import ConsoleHandoff, QboConnect
from customer_sync.domain.admin.qbo_create import CreateInQbo
from customer_sync.domain.admin.qbo_disconnect import QboDisconnect
from customer_sync.domain.admin.qbo_typeahead import QboTypeahead
from customer_sync.domain.keep_alive import days_until
from customer_sync.domain.mapping import field_catalog, require_valid_mapping
from customer_sync.domain.matching import collision_template_problems
from customer_sync.errors import InvalidRequest, MerchantNotFound, QboConnectionBroken
from customer_sync.models.admin import (
    MERCHANT_ID_PATTERN,
    AdminInviteRequest,
    AdminInviteResponse,
    CatalogEntryView,
    ConnectionHealth,
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
    QueueDepthView,
    RedriveRequest,
    RedriveResponse,
    SettingsUpdateRequest,
)
from customer_sync.models.links import LinkStatus
from customer_sync.models.mapping import FieldMapping
from customer_sync.models.merchant_secrets import PaySimpleCredentials
from customer_sync.models.qbo import QboConnection
from customer_sync.models.settings import MerchantSettings, SettingsChanges
from customer_sync.ports import (
    ChangePublisher,
    Clock,
    ConnectionAudit,
    ConnectionStateRecorder,
    ConsoleUsers,
    FailuresRepository,
    HistoryRepository,
    LinksRepository,
    MappingRepository,
    MerchantClients,
    MerchantCredentialsStore,
    OAuthStateRepository,
    QboConnections,
    QueueDepth,
    QueueStats,
    RealmDirectory,
    SettingsRepository,
    TokenRevoker,
)

_MERCHANT_ID = re.compile(MERCHANT_ID_PATTERN)


@dataclass(frozen=True)
class AdminPorts:
    settings: SettingsRepository
    mappings: MappingRepository
    links: LinksRepository
    history: HistoryRepository
    failures: FailuresRepository
    oauth_states: OAuthStateRepository
    connection_state: ConnectionStateRecorder
    credentials: MerchantCredentialsStore
    qbo_connections: QboConnections
    clients: MerchantClients
    publisher: ChangePublisher
    queue_stats: QueueStats
    users: ConsoleUsers
    connection_audit: ConnectionAudit
    revoker: TokenRevoker
    realms: RealmDirectory
    clock: Clock


def _depth_view(depth: QueueDepth) -> QueueDepthView:
    return QueueDepthView(visible=depth.visible, in_flight=depth.in_flight, delayed=depth.delayed)


def expiry_text(days_left: int | None) -> str | None:
    """ "expires in 42 days", "expires today", "expired 3 days ago"."""
    if days_left is None:
        return None
    if days_left == 0:
        return "expires today"
    if days_left < 0:
        return f"expired {-days_left} day{'s' if days_left < -1 else ''} ago"
    return f"expires in {days_left} day{'s' if days_left > 1 else ''}"


def _mapping_response(mapping: FieldMapping) -> MappingResponse:
    return MappingResponse(
        version=mapping.version, effective_at=mapping.effective_at, fields=list(mapping.rows)
    )


class AdminService:
    def __init__(self, ports: AdminPorts, *, qbo_authorize_url: str) -> None:
        self._ports = ports
        clients = ConnectedCompanyClients(ports.clients, ports.realms)
        self.matching = CustomerMatching(
            links=ports.links, history=ports.history, clients=clients, clock=ports.clock
        )
        self.typeahead = QboTypeahead(clients=clients, links=ports.links, clock=ports.clock)
        self.failures = Failures(
            failures=ports.failures,
            history=ports.history,
            publisher=ports.publisher,
            clock=ports.clock,
        )
        self.dry_runs = DryRun(links=ports.links, settings=ports.settings, clients=clients, clock=ports.clock)
        self.go_live = GoLiveApply(
            dry_run=self.dry_runs, links=ports.links, history=ports.history, clock=ports.clock
        )
        self.qbo_create = CreateInQbo(
            links=ports.links,
            mappings=ports.mappings,
            settings=ports.settings,
            history=ports.history,
            clients=clients,
            clock=ports.clock,
        )
        self.disconnect_flow = QboDisconnect(
            connections=ports.qbo_connections, revoker=ports.revoker, realms=ports.realms, clock=ports.clock
        )
        self.connect_flow = QboConnect(
            connections=ports.qbo_connections,
            states=ports.oauth_states,
            settings=ports.settings,
            links=ports.links,
            audit=ports.connection_audit,
            clients=clients,
            realms=ports.realms,
            failures=ports.failures,
            publisher=ports.publisher,
            clock=ports.clock,
            authorize_url=qbo_authorize_url,
        )

    def require_merchant(self, merchant_id: str) -> None:
        if not _MERCHANT_ID.fullmatch(merchant_id) or not self._ports.settings.merchant_exists(merchant_id):
            raise MerchantNotFound(merchant_id)

    # -- merchants and their console users ---------------------------------------------------------------

    @staticmethod
    def me(caller: Caller) -> MeResponse:
        return MeResponse(role=caller.role, merchant_id=caller.merchant_id, email=caller.email)

    def invite_admin(self, merchant_id: str, request: AdminInviteRequest) -> AdminInviteResponse:
        """A console user for the merchant's admin; Cognito emails the invitation."""
        self.require_merchant(merchant_id)
        password = request.temporary_password
        self._ports.users.invite_merchant_admin(
            request.email.lower(),
            merchant_id,
            temporary_password=password.get_secret_value() if password else None,
        )
        return AdminInviteResponse(email=request.email.lower(), merchant_id=merchant_id)

    def upsert_merchant(self, merchant_id: str, request: MerchantUpsertRequest) -> MerchantUpsertResponse:
        """Store the PaySimple secret first: a merchant that "exists" always has its credentials."""
        if not _MERCHANT_ID.fullmatch(merchant_id):
            raise InvalidRequest(
                "path.merchant_id", ["merchant ids are 1-64 letters, digits, '_' or '-' (PaySimple's id)"]
            )
        paysimple = request.paysimple
        self._ports.credentials.save_paysimple_credentials(
            merchant_id,
            PaySimpleCredentials(
                api_username=paysimple.api_username,
                api_key=paysimple.api_key.get_secret_value(),
                webhook_signing_key=paysimple.webhook_signing_key.get_secret_value(),
            ),
        )
        created = self._ports.settings.ensure_merchant(merchant_id, now=self._ports.clock.now())
        return MerchantUpsertResponse(merchant_id=merchant_id, created=created)

    # -- QBO connection ----------------------------------------------------------------------------------

    def start_qbo_connect(
        self, merchant_id: str, caller: Caller, *, confirm_realm_change: bool = False
    ) -> QboConnectResponse:
        """A console user's connect is bound to that user; an IAM-signed script's completes publicly."""
        self.require_merchant(merchant_id)
        return self.connect_flow.start(
            merchant_id,
            started_by=caller.email or (caller.user_id or "").removeprefix("iam:") or None,
            bound_to_user=caller.user_id if caller.signed_in_to_console else None,
            confirm_realm_change=confirm_realm_change,
        )

    def complete_qbo_connect(
        self, *, state: str | None, code: str | None, realm_id: str | None, error: str | None
    ) -> QboCallbackResponse | ConsoleHandoff:
        completed = self.connect_flow.complete(
            state=state, code=code, realm_id=realm_id, error=error, unlink_all=self._unlink_everyone
        )
        if isinstance(completed, QboCallbackResponse):
            self.typeahead.forget(completed.merchant_id)
        return completed

    def complete_qbo_connection(
        self, merchant_id: str, caller: Caller, request: QboConnectionRequest
    ) -> QboCallbackResponse:
        self.require_merchant(merchant_id)
        connected = self.connect_flow.complete_for_user(
            merchant_id, user_id=caller.user_id, request=request, unlink_all=self._unlink_everyone
        )
        self.typeahead.forget(merchant_id)
        return connected

    def _unlink_everyone(self, merchant_id: str) -> int:
        """Before another QBO company is connected: every link points into the old one."""
        holding: list[str] = []
        for status in ("linked", "source_deleted"):
            cursor: str | None = None
            while True:
                page = self._ports.links.list_customers(merchant_id, status, cursor=cursor, limit=100)
                holding += [link.paysimple_customer_id for link in page.items if link.qbo_customer_id]
                cursor = page.next_cursor
                if cursor is None:
                    break
        for paysimple_customer_id in holding:
            self.matching.unlink(merchant_id, paysimple_customer_id)
        unlinked = len(holding)
        return unlinked

    def disconnect_qbo(self, merchant_id: str) -> QboDisconnectResponse:
        self.require_merchant(merchant_id)
        disconnected = self.disconnect_flow.disconnect(merchant_id)
        self.typeahead.forget(merchant_id)
        return disconnected

    def status(self, merchant_id: str, *, include_queues: bool) -> MerchantStatusResponse:
        """Queue depths are the deployment's, shared by every merchant: operators only."""
        self.require_merchant(merchant_id)
        now = self._ports.clock.now()
        health, reason, connection, company_name = self._connection_health(merchant_id, now)
        settings = self._ports.settings.get_settings(merchant_id)
        record = self._ports.connection_audit.connected_by(merchant_id)
        queues = self._ports.queue_stats
        hard_expiry = connection.refresh_token_hard_expires_at if connection else None
        days_left = days_until(hard_expiry, now)
        return MerchantStatusResponse(
            merchant_id=merchant_id,
            connection=health,
            connection_reason=reason,
            realm_id=connection.realm_id if connection else None,
            company_name=company_name,
            access_token_expires_at=connection.access_token_expires_at if connection else None,
            refresh_token_expires_at=connection.refresh_token_expires_at if connection else None,
            refresh_token_hard_expires_at=hard_expiry,
            connection_expires_in_days=days_left,
            connection_expiry=expiry_text(days_left),
            sync_enabled=settings.sync_enabled,
            enabled_at=settings.enabled_at,
            last_successful_sync=self._ports.settings.last_successful_sync(merchant_id),
            connected_by=record.connected_by if record else None,
            connected_at=record.connected_at if record else None,
            queue=_depth_view(queues.changes_queue()) if include_queues else None,
            dead_letter_queue=_depth_view(queues.dead_letter_queue()) if include_queues else None,
        )

    def _connection_health(
        self, merchant_id: str, now: datetime
    ) -> tuple[ConnectionHealth, str | None, QboConnection | None, str | None]:
        """Health, its reason, the stored connection and its company's name (when known)."""
        try:
            connection = self._ports.qbo_connections.stored_connection(merchant_id)
        except QboConnectionBroken:
            return "broken", "the stored QBO connection is unreadable; reconnect QuickBooks", None, None
        if connection is None:
            return "not_connected", None, None, None
        recorded = self._ports.connection_state.current(merchant_id)
        company_name = (
            recorded.company_name
            if recorded is not None and recorded.realm_id == connection.realm_id
            else None
        )
        if recorded is not None and recorded.status == "broken":
            return "broken", recorded.reason, connection, company_name
        connected = self._ports.realms.realm_of(merchant_id)
        if connected is not None and connected != connection.realm_id:
            # Recorded before the unlinking, stored after it (domain.admin.qbo_connect): a change that
            # stopped between the two holds the merchant's changes until it is finished.
            reason = (
                f"connecting QuickBooks company {connected} did not finish; connect it again "
                "(changes wait until then)"
            )
            return "broken", reason, connection, company_name
        expiry = connection.refresh_token_expires_at
        if expiry is not None and expiry <= now:
            return (
                "broken",
                "the QBO refresh token has expired; reconnect QuickBooks",
                connection,
                company_name,
            )
        return "healthy", None, connection, company_name

    # -- settings and mapping ----------------------------------------------------------------------------

    def get_settings(self, merchant_id: str) -> MerchantSettings:
        self.require_merchant(merchant_id)
        return self._ports.settings.get_settings(merchant_id)

    def update_settings(self, merchant_id: str, request: SettingsUpdateRequest) -> MerchantSettings:
        self.require_merchant(merchant_id)
        if request.collision_suffix is not None:
            problems = collision_template_problems(request.collision_suffix)
            if problems:
                raise InvalidRequest("body.collision_suffix", problems)
        try:
            changes = SettingsChanges.model_validate(request.model_dump(exclude_none=True))
        except ValidationError as error:
            reasons = [str(issue["msg"]) for issue in error.errors(include_input=False)]
            raise InvalidRequest("body.collision_suffix", reasons) from None
        return self._ports.settings.update_settings(merchant_id, changes, now=self._ports.clock.now())

    @staticmethod
    def field_catalog() -> FieldCatalogResponse:
        return FieldCatalogResponse(
            fields=[
                CatalogEntryView(
                    paysimple_field=entry.paysimple_field,
                    qbo_fields=list(entry.qbo_fields),
                    default_qbo_field=entry.default_qbo_field,
                    required=entry.required,
                    enabled_by_default=entry.enabled_by_default,
                )
                for entry in field_catalog()
            ]
        )

    def get_mapping(self, merchant_id: str) -> MappingResponse:
        self.require_merchant(merchant_id)
        return _mapping_response(self._ports.mappings.current_mapping(merchant_id))

    def save_mapping(self, merchant_id: str, request: MappingUpdateRequest) -> MappingResponse:
        """Raises InvalidMapping (with every reason) before anything is written."""
        self.require_merchant(merchant_id)
        require_valid_mapping(request.fields)
        saved = self._ports.mappings.save_mapping(merchant_id, request.fields, now=self._ports.clock.now())
        return _mapping_response(saved)

    # -- Customer Matching -------------------------------------------------------------------------------

    def list_customers(
        self, merchant_id: str, status: LinkStatus, *, query: str | None, cursor: str | None, limit: int
    ) -> CustomerPageResponse:
        self.require_merchant(merchant_id)
        return self.matching.list_customers(merchant_id, status, query=query, cursor=cursor, limit=limit)

    def customer_detail(
        self, merchant_id: str, paysimple_customer_id: str, *, history_cursor: str | None, history_limit: int
    ) -> CustomerDetailResponse:
        self.require_merchant(merchant_id)
        return self.matching.customer_detail(
            merchant_id, paysimple_customer_id, history_cursor=history_cursor, history_limit=history_limit
        )

    def search_qbo_customers(self, merchant_id: str, text: str) -> QboSearchResponse:
        self.require_merchant(merchant_id)
        return self.typeahead.search(merchant_id, text)

    def link(self, merchant_id: str, request: LinkRequest) -> CustomerView:
        self.require_merchant(merchant_id)
        return self.matching.link(merchant_id, request)

    def unlink(self, merchant_id: str, paysimple_customer_id: str) -> CustomerView:
        self.require_merchant(merchant_id)
        return self.matching.unlink(merchant_id, paysimple_customer_id)

    def merge(self, merchant_id: str, request: MergeRequest) -> MergeResponse:
        self.require_merchant(merchant_id)
        return self.matching.merge(merchant_id, request)

    def unmerge(self, merchant_id: str, paysimple_customer_id: str) -> CustomerView:
        self.require_merchant(merchant_id)
        return self.matching.unmerge(merchant_id, paysimple_customer_id)

    def create_in_qbo(self, merchant_id: str, paysimple_customer_id: str) -> CustomerView:
        self.require_merchant(merchant_id)
        current = self.matching.record_for(merchant_id, paysimple_customer_id)
        linked = self.qbo_create.create(merchant_id, current)
        self.typeahead.forget(merchant_id)  # the new customer must show when the admin types its name
        return customer_view(linked)

    def apply_go_live(self, merchant_id: str, request: DryRunRequest) -> GoLiveApplyResponse:
        self.require_merchant(merchant_id)
        return self.go_live.apply(merchant_id, request)

    # -- failures and dry run ----------------------------------------------------------------------------

    def list_failures(self, merchant_id: str, *, cursor: str | None, limit: int) -> FailuresResponse:
        self.require_merchant(merchant_id)
        return self.failures.list_failures(merchant_id, cursor=cursor, limit=limit)

    def redrive(self, merchant_id: str, request: RedriveRequest) -> RedriveResponse:
        self.require_merchant(merchant_id)
        return self.failures.redrive(merchant_id, request.event_ids)

    def dry_run(self, merchant_id: str, request: DryRunRequest) -> DryRunReport:
        self.require_merchant(merchant_id)
        return self.dry_runs.run(merchant_id, request)
