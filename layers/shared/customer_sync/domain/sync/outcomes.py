"""What one queued change came to: the sync service's answer, stored by the idempotency layer as JSON so a
duplicate delivery gets the first answer back."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

SyncAction = Literal[
    "created",  # a new QBO customer was made and linked
    "updated",  # a linked QBO customer got the changed fields
    "linked",  # matched to an existing QBO customer (and updated if PaySimple differed)
    "unchanged",  # nothing enabled changed: no QBO write
    "skipped",  # not synced on purpose: sync off, before enabling, superseded, merged, admin hold
    "unlinked",  # waiting on the Customer Matching list (ambiguous, name held, QBO customer gone)
    "parked",  # failed permanently; kept as a failure for the admin to redrive
    "deleted",  # deleted in PaySimple: link marked source_deleted
    "deactivated",  # deleted in PaySimple and made inactive in QBO (merchant setting)
]
SYNC_ACTIONS: tuple[SyncAction, ...] = get_args(SyncAction)

# Skip details.
SKIP_SYNC_DISABLED = "sync_disabled"
SKIP_BEFORE_SYNC_ENABLED = "before_sync_enabled"
SKIP_SUPERSEDED = "superseded_by_newer_event"
SKIP_MERGED = "merged into"  # followed by the primary's PaySimple id: "merged into 4711"
SKIP_ADMIN_UNLINKED = "unlinked_by_admin"
SKIP_UNKNOWN_DELETED = "deleted_before_ever_synced"
SKIP_ALREADY_DELETED = "already_deleted"
# Skips that leave a redriven change unapplied: its parked entry stays, with this as its reason.
SKIPS_NOT_APPLIED = frozenset({SKIP_SYNC_DISABLED, SKIP_BEFORE_SYNC_ENABLED})

# Why a customer is on the unlinked list, beyond domain.matching's "ambiguous" / "already_linked".
REASON_CREATING = "creating"  # a create is under way (its intent record; see sync_service)
REASON_CREATE_REJECTED = "create_rejected"  # QBO refused the create; parked, next save starts afresh
REASON_DISPLAY_NAME_TAKEN = "display_name_taken"  # an active, unmatched QBO customer holds "First Last"
REASON_QBO_CUSTOMER_MISSING = "qbo_customer_missing"  # the linked QBO customer was merged away or deleted

# Why a change was parked.
PARK_QBO_CONNECTION_BROKEN = "qbo_connection_broken"
PARK_QBO_AUTHORIZATION_FAILED = "qbo_authorization_failed"
PARK_QBO_VALIDATION = "qbo_validation_error"
PARK_QBO_QUERY_REJECTED = "qbo_query_rejected"
PARK_QBO_REJECTED = "qbo_rejected"
PARK_DUPLICATE_NAME = "duplicate_name_unresolvable"
PARK_PAYSIMPLE_AUTH = "paysimple_auth_failed"
PARK_PAYSIMPLE_REJECTED = "paysimple_request_rejected"
PARK_MERCHANT_NOT_CONFIGURED = "merchant_not_configured"
PARK_INVALID_MAPPING = "invalid_mapping"
# A person made the linked QBO customer inactive; applied once it is active again (domain.qbo_changes)
PARK_QBO_CUSTOMER_INACTIVE = "qbo_customer_inactive"


class SyncOutcome(BaseModel):
    """`qbo_calls` counts HTTP requests to QBO (retries included); `duplicate` is set when the idempotency
    layer answered a redelivered event with this stored outcome instead of running it again."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    action: SyncAction
    merchant_id: str
    paysimple_customer_id: str
    event_id: str
    qbo_customer_id: str | None = None
    qbo_calls: int = Field(default=0, ge=0)
    reason: str | None = None
    detail: str | None = None
    changed_fields: tuple[str, ...] = ()
    duplicate: bool = False
