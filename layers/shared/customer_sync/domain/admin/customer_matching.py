"""The Customer Matching tab: linked and unlinked lists, one customer's detail, link, unlink and merge.

Rules (seed article, DESIGN.md "Matching"):
- a QBO customer is linked to at most one PaySimple customer; linking one that is taken is refused (409),
  the repository enforcing it in the same transaction as the write;
- the QBO customer must exist (it is read first) — reading is the only QBO call made here — and be a
  customer of its own: a job, sub-customer or project is never linked (nor written);
- unlinking moves a customer back to the unlinked list and keeps its history;
- a merge folds unlinked duplicates into one primary, which keeps (or gets) the link: the duplicates are
  recorded as merged into it, and from then on only the primary is synced (a duplicate's own later saves
  are recorded in its history as "merged into <primary>", not synced);
- an unmerge undoes that for one duplicate: it is back on the unlinked list (reason "unmerged"), and its
  next save is matched as any unlinked customer's; the primary keeps its link;
- every change is recorded in the customer's history (manual_link, manual_unlink, merged).
A refusal is raised before anything is written.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime

from customer_sync.domain.matching import is_job
from customer_sync.domain.names import normalize_name
from customer_sync.domain.scrub import scrub_customer
from customer_sync.errors import (
    Conflict,
    CustomerNotFound,
    InvalidCursor,
    InvalidRequest,
    MerchantNotConfigured,
    QboNotFound,
)
from customer_sync.models.admin import (
    CustomerDetailResponse,
    CustomerPageResponse,
    CustomerView,
    LinkRequest,
    MergeRequest,
    MergeResponse,
)
from customer_sync.models.history import HistoryAction, HistoryEntry
from customer_sync.models.links import REASON_MANUAL, CustomerLink, LinkStatus, check_merge_request
from customer_sync.ports import Clock, HistoryRepository, LinksRepository, MerchantClients

ADMIN_EVENT_LINK = "admin_link"
ADMIN_EVENT_UNLINK = "admin_unlink"
ADMIN_EVENT_MERGE = "admin_merge"
ADMIN_EVENT_UNMERGE = "admin_unmerge"
REASON_UNMERGED = "unmerged"
# Candidates a list row names (the rest are counted): the list stays small at 10,000 customers.
LISTED_CANDIDATES = 3


def customer_view(link: CustomerLink) -> CustomerView:
    return CustomerView(
        paysimple_customer_id=link.paysimple_customer_id,
        first_name=link.first_name,
        last_name=link.last_name,
        email=link.email,
        status=link.status,
        qbo_customer_id=link.qbo_customer_id,
        reason=link.reason,
        merged_into=link.merged_into,
        candidate_count=len(link.candidates),
        first_candidates=list(link.candidates[:LISTED_CANDIDATES]),
        last_event_at=link.last_event_at,
        last_synced_at=link.last_synced_at,
        updated_at=link.updated_at,
        qbo_flag=link.qbo_flag,
        drifted_fields=[entry.field for entry in link.drift],
    )


class CustomerMatching:
    def __init__(
        self,
        *,
        links: LinksRepository,
        history: HistoryRepository,
        clients: MerchantClients,
        clock: Clock,
        new_operation_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self._links = links
        self._history = history
        self._clients = clients
        self._clock = clock
        self._new_operation_id = new_operation_id

    # -- reads -------------------------------------------------------------------------------------------

    def list_customers(
        self, merchant_id: str, status: LinkStatus, *, query: str | None, cursor: str | None, limit: int
    ) -> CustomerPageResponse:
        try:
            page = self._links.list_customers(merchant_id, status, query=query, cursor=cursor, limit=limit)
        except InvalidCursor:
            raise InvalidRequest("query.cursor", ["not a cursor this list handed out"]) from None
        return CustomerPageResponse(
            items=[customer_view(link) for link in page.items], next_cursor=page.next_cursor
        )

    def customer_detail(
        self, merchant_id: str, paysimple_customer_id: str, *, history_cursor: str | None, history_limit: int
    ) -> CustomerDetailResponse:
        link = self._existing(merchant_id, paysimple_customer_id)
        try:
            history = self._history.list_for_customer(
                merchant_id, paysimple_customer_id, limit=history_limit, cursor=history_cursor
            )
        except InvalidCursor:
            raise InvalidRequest("query.history_cursor", ["not a cursor this history handed out"]) from None
        return CustomerDetailResponse(
            customer=customer_view(link),
            drift=list(link.drift),
            candidates=list(link.candidates),
            history=history.items,
            history_next_cursor=history.next_cursor,
        )

    # -- link / unlink -----------------------------------------------------------------------------------

    def record_for(self, merchant_id: str, paysimple_customer_id: str) -> CustomerLink:
        """The customer's stored record, or a first one (version 0, names from PaySimple) if the sync has
        not seen it yet."""
        return self._links.get(merchant_id, paysimple_customer_id) or self._first_record(
            merchant_id, paysimple_customer_id
        )

    def link(self, merchant_id: str, request: LinkRequest) -> CustomerView:
        paysimple_id, qbo_id = request.paysimple_customer_id, request.qbo_customer_id
        current = self.record_for(merchant_id, paysimple_id)
        if current.status in ("merged", "source_deleted"):
            raise Conflict(self._not_linkable(current))
        if current.status == "linked" and current.qbo_customer_id == qbo_id:
            return customer_view(current)
        self._refuse_taken(merchant_id, qbo_id, paysimple_id)
        self._require_qbo_customer(merchant_id, qbo_id, "body.qbo_customer_id")
        now = self._clock.now()
        previous_qbo_id = current.qbo_customer_id if current.status == "linked" else None
        saved = self._links.save_linked(
            current.revised(
                status="linked",
                qbo_customer_id=qbo_id,
                qbo_sync_token=None,
                snapshot={},
                reason=REASON_MANUAL,
                candidates=[],
                merged_into=None,
                updated_at=now,
            ),
            expected_version=current.version,
        )
        detail = f"linked to QBO customer {qbo_id} by an admin"
        if previous_qbo_id:
            detail += f" (was QBO customer {previous_qbo_id})"
        self._record(saved, "manual_link", ADMIN_EVENT_LINK, now, self._new_operation_id(), detail)
        return customer_view(saved)

    def unlink(self, merchant_id: str, paysimple_customer_id: str) -> CustomerView:
        current = self._existing(merchant_id, paysimple_customer_id)
        if current.status == "merged":
            raise Conflict(
                f"PaySimple customer {paysimple_customer_id} was merged into {current.merged_into}: "
                "it has no link of its own"
            )
        if current.qbo_customer_id is None:
            return customer_view(current)
        now = self._clock.now()
        saved = self._links.unlink(merchant_id, paysimple_customer_id, now=now)
        detail = f"unlinked from QBO customer {current.qbo_customer_id} by an admin"
        self._record(
            saved,
            "manual_unlink",
            ADMIN_EVENT_UNLINK,
            now,
            self._new_operation_id(),
            detail,
            qbo_customer_id=current.qbo_customer_id,
        )
        return customer_view(saved)

    # -- merge -------------------------------------------------------------------------------------------

    def merge(self, merchant_id: str, request: MergeRequest) -> MergeResponse:
        primary_id = request.primary_paysimple_customer_id
        duplicate_ids = list(dict.fromkeys(request.duplicate_paysimple_customer_ids))
        primary = self._existing(merchant_id, primary_id)
        if primary.status in ("merged", "source_deleted"):
            raise Conflict(self._not_linkable(primary))
        qbo_id = request.qbo_customer_id or (primary.qbo_customer_id if primary.status == "linked" else None)
        if qbo_id is None:
            raise InvalidRequest(
                "body.qbo_customer_id",
                ["the primary is not linked: give the QBO customer to link it to"],
            )
        try:
            check_merge_request(primary_id, duplicate_ids, qbo_id)
        except ValueError as error:
            raise InvalidRequest("body.duplicate_paysimple_customer_ids", [str(error)]) from None
        for duplicate_id in duplicate_ids:
            duplicate = self._existing(merchant_id, duplicate_id)
            if duplicate.status != "unlinked":
                raise Conflict(
                    f"PaySimple customer {duplicate_id} is {duplicate.status}: only unlinked records can be "
                    "merged as duplicates (unlink it first)"
                )
        if not (primary.status == "linked" and primary.qbo_customer_id == qbo_id):
            self._refuse_taken(merchant_id, qbo_id, primary_id, allowed=duplicate_ids)
            self._require_qbo_customer(merchant_id, qbo_id, "body.qbo_customer_id")
        now = self._clock.now()
        saved = self._links.merge(merchant_id, primary_id, duplicate_ids, qbo_id, now=now)
        operation_id = self._new_operation_id()
        self._record(
            saved,
            "merged",
            ADMIN_EVENT_MERGE,
            now,
            operation_id,
            f"duplicates {', '.join(duplicate_ids)} merged into this customer; QBO customer {qbo_id}",
        )
        for duplicate_id in duplicate_ids:
            merged = self._links.get(merchant_id, duplicate_id)
            if merged is not None:
                detail = f"merged into PaySimple customer {primary_id}"
                self._record(merged, "merged", ADMIN_EVENT_MERGE, now, operation_id, detail)
        return MergeResponse(primary=customer_view(saved), merged_paysimple_customer_ids=duplicate_ids)

    def unmerge(self, merchant_id: str, paysimple_customer_id: str) -> CustomerView:
        current = self._existing(merchant_id, paysimple_customer_id)
        if current.status != "merged" or current.merged_into is None:
            raise Conflict(
                f"PaySimple customer {paysimple_customer_id} is {current.status}: only a merged duplicate "
                "can be unmerged"
            )
        primary_id = current.merged_into
        now = self._clock.now()
        saved = self._links.save_unlinked(
            current.revised(
                status="unlinked", merged_into=None, reason=REASON_UNMERGED, candidates=[], updated_at=now
            ),
            expected_version=current.version,
        )
        operation_id = self._new_operation_id()
        detail = f"unmerged from PaySimple customer {primary_id} by an admin: back on the unlinked list"
        self._record(saved, "unmerged", ADMIN_EVENT_UNMERGE, now, operation_id, detail)
        primary = self._links.get(merchant_id, primary_id)
        if primary is not None:
            detail = f"duplicate {paysimple_customer_id} was unmerged from this customer by an admin"
            self._record(primary, "unmerged", ADMIN_EVENT_UNMERGE, now, operation_id, detail)
        return customer_view(saved)

    # -- helpers -----------------------------------------------------------------------------------------

    def _existing(self, merchant_id: str, paysimple_customer_id: str) -> CustomerLink:
        link = self._links.get(merchant_id, paysimple_customer_id)
        if link is None:
            raise CustomerNotFound(paysimple_customer_id)
        return link

    def _first_record(self, merchant_id: str, paysimple_customer_id: str) -> CustomerLink:
        """A customer the sync has not seen yet (e.g. linked ahead of go-live): its names from PaySimple."""
        try:
            paysimple = self._clients.paysimple(merchant_id)
        except MerchantNotConfigured:
            raise Conflict("the merchant has no usable PaySimple credentials") from None
        customer = paysimple.get_customer(paysimple_customer_id)
        if customer is None:
            raise CustomerNotFound(paysimple_customer_id)
        scrubbed, _ = scrub_customer(customer)
        return CustomerLink(
            merchant_id=merchant_id,
            paysimple_customer_id=paysimple_customer_id,
            status="unlinked",
            first_name=normalize_name(scrubbed.FirstName),
            last_name=normalize_name(scrubbed.LastName),
            email=(scrubbed.Email or "").strip() or None,
            updated_at=self._clock.now(),
        )

    def _refuse_taken(
        self, merchant_id: str, qbo_id: str, paysimple_id: str, *, allowed: Sequence[str] = ()
    ) -> None:
        owner = self._links.qbo_link_owner(merchant_id, qbo_id)
        if owner is not None and owner != paysimple_id and owner not in allowed:
            raise Conflict(f"QBO customer {qbo_id} is already linked to PaySimple customer {owner}")

    def _require_qbo_customer(self, merchant_id: str, qbo_id: str, field: str) -> None:
        try:
            customer = self._clients.qbo(merchant_id).read_customer(qbo_id)
        except QboNotFound:
            raise InvalidRequest(field, [f"QBO has no customer {qbo_id}"]) from None
        if is_job(customer.raw):
            reason = f"QBO customer {qbo_id} is a job, sub-customer or project: link the customer itself"
            raise InvalidRequest(field, [reason])

    @staticmethod
    def _not_linkable(link: CustomerLink) -> str:
        if link.status == "merged":
            return (
                f"PaySimple customer {link.paysimple_customer_id} was merged into {link.merged_into}: "
                "link that one instead"
            )
        return f"PaySimple customer {link.paysimple_customer_id} was deleted in PaySimple"

    def _record(
        self,
        link: CustomerLink,
        action: HistoryAction,
        event_type: str,
        now: datetime,
        operation_id: str,
        detail: str,
        *,
        qbo_customer_id: str | None = None,
    ) -> None:
        self._history.append(
            HistoryEntry(
                merchant_id=link.merchant_id,
                paysimple_customer_id=link.paysimple_customer_id,
                event_id=f"admin-{operation_id}",
                event_type=event_type,
                occurred_at=now,
                recorded_at=now,
                action=action,
                qbo_customer_id=qbo_customer_id or link.qbo_customer_id,
                detail=detail,
            )
        )
