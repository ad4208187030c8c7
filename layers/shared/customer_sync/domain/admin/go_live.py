"""Go-live, applied: the dry run's links made, and nothing else, so the Customer Matching tab is full on day
one while QBO stays untouched (the no-retroactive rule: nothing in QBO changes until a customer is next
saved in PaySimple).

For one page of PaySimple customers (or the given ids), the dry run (domain.admin.dry_run: QBO reads only)
decides, then:
- an unambiguous match (by name, or by name and email) is linked, with the same reason the sync would give
  it. Its SyncToken is left unknown, so its first save reads the QBO customer before writing, as after an
  admin link; the history says it was linked at go-live and that nothing was written;
- anything else the sync would not link by itself goes to the unlinked list for review, with its
  candidates: ambiguous names, a DisplayName held by another customer, and customers with no match at all
  (reason "no_match": the sync creates them on their next save, or the admin creates or links them now);
- customers we already hold a record of (linked, merged, deleted, unlinked by an admin) are left as they
  are.
A customer changed meanwhile (by the sync, or an admin), or whose match someone else linked first, is
skipped and reported: preview again. QBO is never written: the emulator's call log shows queries only.
"""

from __future__ import annotations

import uuid
from collections import Counter

from customer_sync.domain.admin.dry_run import DryRun
from customer_sync.errors import ConcurrentModification, QboCustomerAlreadyLinked
from customer_sync.models.admin import (
    DryRunRequest,
    DryRunResult,
    GoLiveAction,
    GoLiveApplied,
    GoLiveApplyResponse,
)
from customer_sync.models.history import HistoryEntry
from customer_sync.models.links import (
    REASON_AMBIGUOUS,
    REASON_INACTIVE_NAME_HOLDER,
    REASON_NAME,
    REASON_NAME_AND_EMAIL,
    REASON_UNLINKED_BY_ADMIN,
    CustomerLink,
)
from customer_sync.ports import Clock, HistoryRepository, LinksRepository

REASON_NO_MATCH = "no_match"  # no QBO customer matches: created on its next save (or by an admin now)
REASON_DISPLAY_NAME_TAKEN = "display_name_taken"
GO_LIVE_EVENT = "go_live"
_LINKING = {"link_by_name": REASON_NAME, "link_by_name_and_email": REASON_NAME_AND_EMAIL}


def review_reason(result: DryRunResult) -> str | None:
    """Why a customer the sync would not link by itself waits for review; None for one left as it is."""
    if result.outcome == "ambiguous":
        return REASON_AMBIGUOUS
    if result.outcome == "create":
        return REASON_NO_MATCH
    if result.outcome == "display_name_collision":
        holder = result.name_held_by
        if result.candidates and holder is not None and not holder.active:
            return REASON_INACTIVE_NAME_HOLDER
        return REASON_DISPLAY_NAME_TAKEN if result.candidates else REASON_NO_MATCH
    return None


class GoLiveApply:
    def __init__(
        self, *, dry_run: DryRun, links: LinksRepository, history: HistoryRepository, clock: Clock
    ) -> None:
        self._dry_run = dry_run
        self._links = links
        self._history = history
        self._clock = clock

    def apply(self, merchant_id: str, request: DryRunRequest) -> GoLiveApplyResponse:
        report = self._dry_run.run(merchant_id, request)
        operation = uuid.uuid4().hex[:12]
        results = [self._apply_one(merchant_id, result, operation) for result in report.results]
        return GoLiveApplyResponse(
            merchant_id=merchant_id,
            results=results,
            summary=dict(Counter(result.action for result in results)),
            next_page=report.next_page,
        )

    def _apply_one(self, merchant_id: str, result: DryRunResult, operation: str) -> GoLiveApplied:
        paysimple_id = result.paysimple_customer_id
        reason = _LINKING.get(result.outcome) or review_reason(result)
        if reason is None:
            return GoLiveApplied(
                paysimple_customer_id=paysimple_id, action="unchanged", detail=result.outcome
            )
        current = self._links.get(merchant_id, paysimple_id)
        if current is not None and (
            current.status != "unlinked" or current.reason == REASON_UNLINKED_BY_ADMIN
        ):
            return GoLiveApplied(
                paysimple_customer_id=paysimple_id, action="unchanged", detail=current.status
            )
        if current is not None and result.outcome not in _LINKING and _same_review(current, reason, result):
            return GoLiveApplied(paysimple_customer_id=paysimple_id, action="unchanged", reason=reason)
        now = self._clock.now()
        record = (current or self._new_record(merchant_id, result)).revised(updated_at=now)
        action: GoLiveAction
        try:
            if result.outcome in _LINKING and result.qbo_customer_id:
                saved = self._links.save_linked(
                    record.revised(
                        status="linked",
                        qbo_customer_id=result.qbo_customer_id,
                        qbo_sync_token=None,  # the first save reads the QBO customer before writing
                        snapshot={},
                        reason=reason,
                        candidates=[],
                    ),
                    expected_version=record.version,
                )
                action = "linked"
                detail = f"linked at go-live ({reason}); nothing was written to QuickBooks"
            else:
                saved = self._links.save_unlinked(
                    record.revised(reason=reason, candidates=list(result.candidates)),
                    expected_version=record.version,
                )
                action = "for_review"
                detail = f"listed for review at go-live ({reason})"
        except (ConcurrentModification, QboCustomerAlreadyLinked) as error:
            return GoLiveApplied(
                paysimple_customer_id=paysimple_id,
                action="skipped",
                detail=f"{type(error).__name__}: preview again",
            )
        self._history.append(
            HistoryEntry(
                merchant_id=merchant_id,
                paysimple_customer_id=paysimple_id,
                event_id=f"{GO_LIVE_EVENT}-{operation}",
                event_type=GO_LIVE_EVENT,
                occurred_at=now,
                recorded_at=now,
                action="linked" if action == "linked" else "unlinked",
                qbo_customer_id=saved.qbo_customer_id,
                detail=detail,
            )
        )
        return GoLiveApplied(
            paysimple_customer_id=paysimple_id,
            action=action,
            qbo_customer_id=saved.qbo_customer_id,
            reason=reason,
            detail=detail,
        )

    def _new_record(self, merchant_id: str, result: DryRunResult) -> CustomerLink:
        return CustomerLink(
            merchant_id=merchant_id,
            paysimple_customer_id=result.paysimple_customer_id,
            status="unlinked",
            first_name=result.first_name or "",
            last_name=result.last_name or "",
            email=result.email,
            updated_at=self._clock.now(),
        )


def _same_review(current: CustomerLink, reason: str, result: DryRunResult) -> bool:
    """Already listed for review for this reason, with these candidates (applying twice changes nothing)."""
    listed = [candidate.qbo_customer_id for candidate in current.candidates]
    return current.reason == reason and listed == [
        candidate.qbo_customer_id for candidate in result.candidates
    ]
