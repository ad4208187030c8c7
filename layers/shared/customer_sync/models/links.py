"""The link between a PaySimple customer and a QBO customer, as LinksTable stores it.

Repositories store what they are given: callers scrub payment data before building these.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from customer_sync.domain.names import email_key
from customer_sync.domain.scrub import scrub_payment_data
from customer_sync.models.common import UtcDatetime

LinkStatus = Literal["linked", "unlinked", "source_deleted", "merged"]
LINK_STATUSES: tuple[LinkStatus, ...] = ("linked", "unlinked", "source_deleted", "merged")

# Statuses whose QBO customer id is claimed: nobody else may link that QBO customer. A PaySimple customer
# deleted at the source keeps its claim, so its QBO record is not auto-linked to a newcomer of the same name.
CLAIMING_STATUSES: frozenset[str] = frozenset({"linked", "source_deleted"})

# Reasons in use (open set, so callers can add precise ones):
REASON_NAME = "name"
REASON_NAME_AND_EMAIL = "name+email"
REASON_CREATED = "created"
REASON_MANUAL = "manual"
REASON_MERGE = "merge"
REASON_AMBIGUOUS = "ambiguous"
REASON_ALREADY_LINKED = "already_linked"
REASON_INACTIVE_NAME_HOLDER = "inactive_name_holder"
REASON_NAME_COLLISION = "name_collision"
REASON_UNLINKED_BY_ADMIN = "unlinked_by_admin"
REASON_QBO_MERGE = "qbo_merge"  # QBO merged the linked customer into this one

# What a person did to the linked QBO customer, as the QBO webhooks and CDC tell it (domain.qbo_changes).
QboFlag = Literal["inactive", "deleted"]


class LinkCandidate(BaseModel):
    """A QBO customer that could be this PaySimple customer, shown to the admin to pick from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    qbo_customer_id: str = Field(min_length=1)
    display_name: str
    email: str | None = None
    active: bool = True


class DriftedField(BaseModel):
    """A mapped QBO field a person changed after our last write: what we wrote, what QBO holds now."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    field: str = Field(min_length=1)
    ours: Any = None
    theirs: Any = None
    detected_at: UtcDatetime


class CustomerLink(BaseModel):
    """What we know about one PaySimple customer of one merchant.

    `snapshot` is the QBO field payload last pushed (or last seen) and `qbo_sync_token` the SyncToken that
    came back with it: both are written in the same item, so they always agree with each other and the link.
    When a person edited the QBO customer since, `drift` holds the fields they changed and
    `qbo_sync_token` the SyncToken of what they left: QBO then holds the snapshot overlaid with `drift`'s
    `theirs`. `qbo_updated_at` is QBO's LastUpdatedTime of the last state we wrote or saw (a webhook event
    no later than it is our own write echoed back), and `qbo_flag` what a person did to the QBO customer
    (made inactive, deleted or merged away).
    `version` is the optimistic-concurrency counter: 0 means never stored.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    merchant_id: str = Field(min_length=1)
    paysimple_customer_id: str = Field(min_length=1)
    status: LinkStatus
    qbo_customer_id: str | None = None
    qbo_sync_token: str | None = None
    snapshot: dict[str, Any] = Field(default_factory=dict)
    reason: str | None = None
    candidates: list[LinkCandidate] = Field(default_factory=list)
    merged_into: str | None = None
    first_name: str = ""
    last_name: str = ""
    email: str | None = None
    last_event_at: UtcDatetime | None = None
    last_synced_at: UtcDatetime | None = None
    qbo_updated_at: UtcDatetime | None = None
    qbo_flag: QboFlag | None = None
    drift: list[DriftedField] = Field(default_factory=list)
    updated_at: UtcDatetime
    version: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _status_has_its_fields(self) -> CustomerLink:
        if self.status == "linked" and not self.qbo_customer_id:
            raise ValueError("a linked customer needs qbo_customer_id")
        if self.status == "merged" and not self.merged_into:
            raise ValueError("a merged customer needs merged_into")
        if self.merged_into == self.paysimple_customer_id:
            raise ValueError("a customer cannot be merged into itself")
        return self

    def revised(self, **changes: Any) -> CustomerLink:
        """A copy with `changes`, validated again (`model_copy(update=...)` would skip the checks)."""
        return CustomerLink.model_validate({**self.model_dump(), **changes})

    def with_snapshot(
        self,
        *,
        sync_token: str,
        snapshot: Mapping[str, Any],
        synced_at: datetime,
        event_at: datetime | None = None,
    ) -> CustomerLink:
        """After a QBO write: the SyncToken and payload that came back."""
        if self.status != "linked":
            raise ValueError("only a linked customer has a QBO snapshot")
        changes: dict[str, Any] = {
            "qbo_sync_token": sync_token,
            "snapshot": dict(snapshot),
            "last_synced_at": synced_at,
            "updated_at": synced_at,
        }
        if event_at is not None:
            changes["last_event_at"] = event_at
        return self.revised(**changes)

    def deleted_at_source(self, *, event_at: datetime, now: datetime) -> CustomerLink:
        return self.revised(status="source_deleted", last_event_at=event_at, updated_at=now)

    def unlinked_by_admin(self, *, now: datetime) -> CustomerLink:
        """Without its QBO customer. A linked customer becomes unlinked; a source_deleted one stays so."""
        return self.revised(
            status="unlinked" if self.status == "linked" else self.status,
            reason=REASON_UNLINKED_BY_ADMIN,
            qbo_customer_id=None,
            qbo_sync_token=None,
            snapshot={},
            updated_at=now,
        )

    def as_merge_primary(self, qbo_customer_id: str, *, now: datetime) -> CustomerLink:
        """Linked to the chosen QBO customer. A snapshot of another QBO customer says nothing about this
        one, so it is dropped (the next sync reads the QBO customer first)."""
        same_customer = self.status == "linked" and self.qbo_customer_id == qbo_customer_id
        return self.revised(
            status="linked",
            qbo_customer_id=qbo_customer_id,
            qbo_sync_token=self.qbo_sync_token if same_customer else None,
            snapshot=self.snapshot if same_customer else {},
            reason=REASON_MERGE,
            candidates=[],
            merged_into=None,
            updated_at=now,
        )

    def as_merged_into(self, primary_paysimple_customer_id: str, *, now: datetime) -> CustomerLink:
        return self.revised(
            status="merged",
            merged_into=primary_paysimple_customer_id,
            qbo_customer_id=None,
            qbo_sync_token=None,
            snapshot={},
            reason=REASON_MERGE,
            candidates=[],
            updated_at=now,
        )

    @property
    def claimed_qbo_customer_id(self) -> str | None:
        """The QBO customer this record holds exclusively, if any."""
        return self.qbo_customer_id if self.status in CLAIMING_STATUSES else None

    @property
    def indexed_email(self) -> str | None:
        """The email other customers are compared against; merged duplicates count as their primary."""
        if self.status == "merged" or not self.email or not self.email.strip():
            return None
        return email_key(self.email)


# One merge is one DynamoDB transaction (at most 100 items, three per duplicate).
MAX_MERGE_DUPLICATES = 30


def check_merge_request(primary_id: str, duplicate_ids: Sequence[str], qbo_customer_id: str) -> None:
    """Raise ValueError for a merge that cannot be right, whatever is stored."""
    if not qbo_customer_id:
        raise ValueError("a merge needs the QBO customer to link the primary to")
    if not duplicate_ids:
        raise ValueError("a merge needs at least one duplicate")
    if primary_id in duplicate_ids:
        raise ValueError("the primary cannot also be a duplicate")
    if len(set(duplicate_ids)) > MAX_MERGE_DUPLICATES:
        raise ValueError(f"at most {MAX_MERGE_DUPLICATES} duplicates can be merged at once")


def name_sort_key(first_name: str, last_name: str) -> str:
    """'last first', whitespace collapsed and case-folded: the order of the Customer Matching lists.

    Scrubbed again: each name is clean on its own, but a card number split across the two would be whole here.
    """
    return scrub_payment_data(" ".join(f"{last_name} {first_name}".split()).casefold()).text


def list_order_key(link: CustomerLink) -> str:
    """A link's place in its Customer Matching list: by name, then by PaySimple id (which is unique)."""
    return f"{name_sort_key(link.first_name, link.last_name)}#{link.paysimple_customer_id}"


def search_text(link: CustomerLink) -> str:
    """What a list search looks in: both name orders, the email and the PaySimple id, one per line.

    A query is whitespace-collapsed, so it never spans two lines.
    """
    first_last = scrub_payment_data(" ".join(f"{link.first_name} {link.last_name}".split()).casefold()).text
    parts = [first_last, name_sort_key(link.first_name, link.last_name), email_key(link.email)]
    return "\n".join([*parts, link.paysimple_customer_id.casefold()])


def normalize_query(query: str | None) -> str | None:
    """A search as typed: trimmed, inner whitespace collapsed, case-folded; blank means no search."""
    if query is None:
        return None
    folded = " ".join(query.split()).casefold()
    return folded or None


# -- one decision per name -----------------------------------------------------------------------------

# A name claim outlives a create that crashed and was never delivered again by this long; then another
# customer of the same name may claim it.
NAME_CLAIM_SECONDS = 3600
# A claim released this shortly before a name lookup may not have been visible to it (clocks of two Lambdas,
# QBO's query index): the lookup is made again.
NAME_CLAIM_MARGIN_SECONDS = 2


class NameClaim(BaseModel):
    """A PaySimple customer's claim to create the QBO customer of a (normalised) name, taken together with
    its create intent, so that two customers of the same new name arriving at once end as they would one
    after the other: the second one waits, looks the name up again once the first is done, and finds it.

    `name` is the normalised "first␟last" (domain.names.name_key). `looked_up_at` is when the name lookup that
    found no QBO customer of that name was made (a claim released after it means that lookup is stale)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    merchant_id: str = Field(min_length=1)
    name: str
    paysimple_customer_id: str = Field(min_length=1)
    claimed_at: UtcDatetime
    looked_up_at: UtcDatetime

    def expires_at(self) -> float:
        return self.claimed_at.timestamp() + NAME_CLAIM_SECONDS

    def may_replace(self, *, owner: str, expires_at: float, released_at: float | None) -> bool:
        """Whether this claim may take the place of the one stored (the rule the stores' conditions
        apply): it is ours, it expired, or it was released well before our lookup."""
        if owner == self.paysimple_customer_id or expires_at < self.claimed_at.timestamp():
            return True
        return released_at is not None and released_at < (
            self.looked_up_at.timestamp() - NAME_CLAIM_MARGIN_SECONDS
        )


class NameClaimRelease(BaseModel):
    """The end of a name claim: its create is done (created, or decided otherwise)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    merchant_id: str = Field(min_length=1)
    name: str
    released_at: UtcDatetime
