"""Requests and responses of the admin API (DESIGN.md "Admin API"). The OpenAPI document is generated from
these, so their docstrings and field descriptions are the API reference.

Request models forbid unknown fields (a typo must not be silently ignored) and hide input in errors (a
refused request never has its values, secrets included, quoted back).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    field_validator,
)

from customer_sync.models.common import UtcDatetime
from customer_sync.models.history import HistoryEntry
from customer_sync.models.links import MAX_MERGE_DUPLICATES, DriftedField, LinkCandidate, LinkStatus, QboFlag
from customer_sync.models.mapping import MappingRow
from customer_sync.models.settings import QboInactiveRule

# A merchant id becomes part of secret names and table keys: letters, digits, '_' and '-' only.
MERCHANT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
# PaySimple customer ids are positive integers; QBO ids are numeric strings.
PAYSIMPLE_CUSTOMER_ID_PATTERN = r"^[1-9][0-9]{0,18}$"
QBO_CUSTOMER_ID_PATTERN = r"^[0-9]{1,20}$"
MAX_REDRIVE_EVENTS = 100
MAX_DRY_RUN_IDS = 100


def _integer_as_text(value: Any) -> Any:
    """PaySimple ids are JSON integers in PaySimple's own API; accept them as numbers or as text."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


PaySimpleCustomerId = Annotated[
    str,
    # The constraint first, so the OpenAPI schema shows the pattern; the number-to-text step runs before it.
    StringConstraints(pattern=PAYSIMPLE_CUSTOMER_ID_PATTERN),
    BeforeValidator(_integer_as_text),
    Field(description="PaySimple customer id (digits; a JSON number is accepted too)"),
]
QboCustomerId = Annotated[
    str,
    StringConstraints(strict=True, pattern=QBO_CUSTOMER_ID_PATTERN),
    Field(description="QBO customer Id (digits)"),
]
EventId = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=128)]


class _Request(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)


class _Response(BaseModel):
    model_config = ConfigDict(frozen=True)


# -- errors ------------------------------------------------------------------------------------------------


class ValidationIssue(BaseModel):
    """One problem with the request: where (`loc`, e.g. ["body", "fields", 0, "qbo_field"]), what, why."""

    loc: list[str | int]
    type: str
    msg: str


class ErrorResponse(_Response):
    """Every refusal. 422s name the fields in `detail`; a refused mapping lists its `reasons`."""

    statusCode: int
    message: str
    code: str | None = Field(default=None, description="Set when the caller may act on it, e.g. to confirm")
    reasons: list[str] | None = None
    detail: list[ValidationIssue] | None = None


# -- merchants ---------------------------------------------------------------------------------------------


# They travel in an HTTP header (`Authorization: basic user:key`), so printable ASCII without spaces only.
_CREDENTIAL_PATTERN = re.compile(r"^[!-~]+$")


class PaySimpleCredentialsInput(_Request):
    api_username: str = Field(min_length=1, max_length=256, pattern=_CREDENTIAL_PATTERN.pattern)
    api_key: SecretStr = Field(min_length=1, max_length=1024)
    webhook_signing_key: SecretStr = Field(min_length=1, max_length=1024)

    @field_validator("api_key", "webhook_signing_key")
    @classmethod
    def _printable_ascii(cls, value: SecretStr) -> SecretStr:
        if not _CREDENTIAL_PATTERN.fullmatch(value.get_secret_value()):
            raise ValueError("must be printable ASCII without spaces")
        return value


class MerchantUpsertRequest(_Request):
    """Onboard a merchant, or replace its PaySimple credentials. Stored in Secrets Manager, never returned."""

    paysimple: PaySimpleCredentialsInput


class MerchantUpsertResponse(_Response):
    merchant_id: str
    created: bool = Field(description="true when this call onboarded the merchant")
    paysimple_credentials: Literal["stored"] = "stored"


class MeResponse(_Response):
    """The verified caller, as the console shows it."""

    role: Literal["operator", "merchant_admin", "nobody"]
    merchant_id: str | None = Field(description="The merchant a merchant admin acts on (null for operators)")
    email: str | None


class AdminInviteRequest(_Request):
    """Invite a merchant admin: a console user signed in by this email, bound to the merchant for good."""

    email: str = Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    temporary_password: SecretStr | None = Field(
        default=None,
        min_length=8,
        max_length=256,
        description="Sent in Cognito's invitation (generated when left out); the first sign-in replaces it",
    )


class AdminInviteResponse(_Response):
    email: str
    merchant_id: str
    status: Literal["invited"] = "invited"


# -- QBO connection ----------------------------------------------------------------------------------------


class QboConnectResponse(_Response):
    authorize_url: str = Field(description="Send the admin's browser here to connect QuickBooks")
    expires_at: UtcDatetime = Field(description="The signed state in the URL is refused after this")


class QboConnectionRequest(_Request):
    """What Intuit's redirect brought back to the console, completed by the admin who started the connect."""

    code: str = Field(min_length=1, max_length=2048)
    state: str = Field(min_length=1, max_length=2048)
    realm_id: str = Field(min_length=1, max_length=64, description="Intuit's `realmId`")
    confirm_realm_change: bool = Field(
        default=False,
        description="Connect a different QBO company than the one the links point into: they are unlinked",
    )


class QboDisconnectResponse(_Response):
    status: Literal["disconnected", "not_connected"]
    merchant_id: str
    realm_id: str | None = Field(description="The QBO company that was disconnected")


class QboCallbackResponse(_Response):
    status: Literal["connected"] = "connected"
    merchant_id: str
    realm_id: str
    company_name: str | None = Field(
        default=None, description="The company's name in QBO; null when it could not be read at this connect"
    )
    access_token_expires_at: UtcDatetime
    refresh_token_expires_at: UtcDatetime | None
    requeued_changes: int = Field(
        default=0,
        ge=0,
        description="Changes parked because the connection was broken, now sent to sync again",
    )


ConnectionHealth = Literal["healthy", "broken", "not_connected"]


class QueueDepthView(_Response):
    visible: int = Field(description="Waiting to be delivered")
    in_flight: int = Field(description="Received, not yet deleted")
    delayed: int = 0


class MerchantStatusResponse(_Response):
    """Connection health and sync progress. Token values are never included, only their expiry times."""

    merchant_id: str
    connection: ConnectionHealth
    connection_reason: str | None = None
    realm_id: str | None = None
    company_name: str | None = Field(
        default=None,
        description="The connected company's name, read from QBO at connect; null when unknown (the read "
        "failed: the next connect reads it again) or not connected",
    )
    access_token_expires_at: UtcDatetime | None = None
    refresh_token_expires_at: UtcDatetime | None = Field(
        default=None, description="Refreshed (by use, or the daily keep-alive) long before this"
    )
    refresh_token_hard_expires_at: UtcDatetime | None = Field(
        default=None,
        description="No refresh extends the connection past this: reconnect QuickBooks before it",
    )
    connection_expires_in_days: int | None = Field(
        default=None, description="Whole days until refresh_token_hard_expires_at"
    )
    connection_expiry: str | None = Field(
        default=None, description='The hard expiry as the console says it, e.g. "expires in 42 days"'
    )
    sync_enabled: bool
    enabled_at: UtcDatetime | None = None
    last_successful_sync: UtcDatetime | None = None
    connected_by: str | None = Field(default=None, description="Who connected QBO (email or IAM principal)")
    connected_at: UtcDatetime | None = None
    queue: QueueDepthView | None = Field(
        default=None, description="CustomerChangesQueue, shared by all merchants (operators only)"
    )
    dead_letter_queue: QueueDepthView | None = Field(
        default=None, description="Its dead-letter queue, shared by all merchants (operators only)"
    )


# -- settings and mapping ----------------------------------------------------------------------------------


class SettingsUpdateRequest(_Request):
    """A partial update: a setting left out (or null) stays as it is."""

    sync_enabled: bool | None = Field(
        default=None, description="Switching it on records enabled_at: events before it are never synced"
    )
    collision_suffix: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="DisplayName for the retry after a name collision: {first}, {last} and (required) {id}",
    )
    deactivate_on_delete: bool | None = None
    on_qbo_inactive: QboInactiveRule | None = Field(
        default=None,
        description=(
            "A PaySimple save of a customer whose QBO record a person made inactive: `hold` (default) parks "
            "the change and applies it once the QBO customer is active again; `reactivate` makes it active"
        ),
    )


class CatalogEntryView(_Response):
    paysimple_field: str
    qbo_fields: list[str] = Field(description="Allowed QBO targets; the first is the default")
    default_qbo_field: str
    required: bool
    enabled_by_default: bool


class FieldCatalogResponse(_Response):
    fields: list[CatalogEntryView]


class MappingUpdateRequest(_Request):
    """The whole mapping. FirstName and LastName are required and enabled; one source per QBO field; only
    catalog targets. Saving makes a new version effective now (changes flow only on later saves)."""

    fields: list[MappingRow] = Field(min_length=1, max_length=50)


class MappingResponse(_Response):
    version: int = Field(description="0 is the default mapping, before any save")
    effective_at: UtcDatetime
    fields: list[MappingRow]


# -- customers ---------------------------------------------------------------------------------------------


class CustomerView(_Response):
    """A PaySimple customer as the Customer Matching lists show it."""

    paysimple_customer_id: str
    first_name: str
    last_name: str
    email: str | None
    status: LinkStatus
    qbo_customer_id: str | None
    reason: str | None = Field(description="Why it is linked or unlinked (name, name+email, manual, ...)")
    merged_into: str | None
    candidate_count: int
    first_candidates: list[LinkCandidate] = Field(
        default_factory=list,
        description="The first three of its candidates, as stored with it (candidate_count says how many in "
        "all; the customer's detail lists every one)",
    )
    last_event_at: UtcDatetime | None
    last_synced_at: UtcDatetime | None
    updated_at: UtcDatetime
    qbo_flag: QboFlag | None = Field(
        default=None,
        description="What a person did to the linked QBO customer: made it inactive, or deleted it",
    )
    drifted_fields: list[str] = Field(
        default_factory=list, description="Mapped QBO fields a person edited after our last write"
    )


class CustomerPageResponse(_Response):
    items: list[CustomerView]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at the end")


class CustomerDetailResponse(_Response):
    customer: CustomerView
    drift: list[DriftedField] = Field(
        default_factory=list,
        description="Each mapped field a person edited in QBO: what we wrote, what QBO holds. The next "
        "PaySimple save writes PaySimple's value over it",
    )
    candidates: list[LinkCandidate]
    history: list[HistoryEntry] = Field(description="Newest first")
    history_next_cursor: str | None


class QboCustomerHit(_Response):
    qbo_customer_id: str
    display_name: str
    given_name: str | None
    family_name: str | None
    company_name: str | None
    email: str | None
    active: bool
    linked_paysimple_customer_id: str | None = Field(
        description="The PaySimple customer already linked to it (it cannot be linked to another)"
    )


class QboSearchResponse(_Response):
    query: str
    items: list[QboCustomerHit]
    more: bool = Field(description="More QBO customers start with this text: type more to narrow it")


class LinkRequest(_Request):
    paysimple_customer_id: PaySimpleCustomerId
    qbo_customer_id: QboCustomerId


class MergeRequest(_Request):
    """Fold duplicate unlinked records into one primary. The primary keeps (or gets) the link; the
    duplicates are recorded as merged into it and are not synced on their own any more."""

    primary_paysimple_customer_id: PaySimpleCustomerId
    duplicate_paysimple_customer_ids: list[PaySimpleCustomerId] = Field(
        min_length=1, max_length=MAX_MERGE_DUPLICATES
    )
    qbo_customer_id: QboCustomerId | None = Field(
        default=None, description="Link the primary to this QBO customer (required if it is not linked)"
    )


class MergeResponse(_Response):
    primary: CustomerView
    merged_paysimple_customer_ids: list[str]


# -- failures ----------------------------------------------------------------------------------------------


class ParkedFailureView(_Response):
    event_id: str
    paysimple_customer_id: str
    event_type: str
    occurred_at: UtcDatetime
    reason: str
    code: str | None
    parked_at: UtcDatetime
    attempts: int
    redrive_attempt: int


class DeadLetterView(_Response):
    message_id: str
    event_id: str
    paysimple_customer_id: str
    event_type: str
    occurred_at: UtcDatetime
    redrive_attempt: int
    receive_count: int = Field(description="Deliveries before SQS moved it to the DLQ")
    sent_at: UtcDatetime | None = Field(description="When it arrived in the DLQ")
    reason: str


class FailuresResponse(_Response):
    parked: list[ParkedFailureView] = Field(description="Permanent failures, parked with their reason")
    parked_next_cursor: str | None = Field(
        description="The next page of both lists (failures of both kinds are kept in one list, by customer)"
    )
    dead_letter: list[DeadLetterView] = Field(
        description="Changes whose retries ran out (transient errors), recorded from the DLQ"
    )


class RedriveRequest(_Request):
    event_ids: list[EventId] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_REDRIVE_EVENTS,
        description="The events to send again; leave out to redrive every failure of the merchant",
    )


class RedrivenChange(_Response):
    event_id: str
    paysimple_customer_id: str
    source: Literal["parked", "dead_letter"]
    redrive_attempt: int


class RedriveFailure(_Response):
    event_id: str
    source: Literal["parked", "dead_letter"]
    error: str


class RedriveResponse(_Response):
    redriven: list[RedrivenChange]
    not_found: list[str]
    failed: list[RedriveFailure]


# -- dry run -----------------------------------------------------------------------------------------------

DryRunOutcome = Literal[
    "link_by_name",
    "link_by_name_and_email",
    "ambiguous",
    "create",
    "display_name_collision",
    "already_linked",
    "unlinked_by_admin",
    "merged",
    "source_deleted",
    "not_in_paysimple",
]


class DryRunRequest(_Request):
    paysimple_customer_ids: list[PaySimpleCustomerId] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_DRY_RUN_IDS,
        description="Customers to preview; leave out to page through all of the merchant's customers",
    )
    page: int = Field(default=1, ge=1, le=100_000, description="PaySimple page, when previewing all")
    page_size: int = Field(default=50, ge=1, le=100, description="PaySimple page size, when previewing all")


class NameHolder(_Response):
    """The QBO record that already holds a DisplayName (unique across customers, vendors and employees)."""

    entity: Literal["Customer", "Vendor", "Employee"]
    qbo_id: str
    display_name: str
    active: bool


class DryRunResult(_Response):
    paysimple_customer_id: str
    first_name: str | None
    last_name: str | None
    email: str | None
    outcome: DryRunOutcome
    qbo_customer_id: str | None = Field(
        default=None, description="The QBO customer it is or would be linked to"
    )
    candidates: list[LinkCandidate] = Field(default_factory=list)
    would_create_as: str | None = Field(default=None, description="DisplayName a create would use")
    name_held_by: NameHolder | None = None
    detail: str | None = None


class DryRunReport(_Response):
    merchant_id: str
    generated_at: UtcDatetime
    results: list[DryRunResult]
    summary: dict[str, int] = Field(description="How many customers got each outcome")
    total_customers: int | None = Field(description="PaySimple's total, when previewing all")
    next_page: int | None = Field(description="The next PaySimple page to preview, when previewing all")


GoLiveAction = Literal["linked", "for_review", "unchanged", "skipped"]


class GoLiveApplied(_Response):
    paysimple_customer_id: str
    action: GoLiveAction = Field(
        description="linked (an unambiguous match, nothing written to QBO), for_review (on the unlinked "
        "list with its candidates and reason), unchanged (already known: linked, merged, deleted, held by an "
        "admin), skipped (changed meanwhile, or its match was linked by someone else: preview again)"
    )
    qbo_customer_id: str | None = None
    reason: str | None = None
    detail: str | None = None


class GoLiveApplyResponse(_Response):
    merchant_id: str
    results: list[GoLiveApplied]
    summary: dict[str, int] = Field(description="How many customers got each action")
    qbo_writes: Literal[0] = Field(
        default=0, description="Applying go-live never writes to QuickBooks: each customer's next save does"
    )
    next_page: int | None = Field(description="The next PaySimple page to apply, when applying all")
