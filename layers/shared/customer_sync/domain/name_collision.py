"""What to do when QBO refuses a create with 6240 (Duplicate Name): a pure decision over the customers that
hold the DisplayName (queried with `Active IN (true, false)`).

The Id in QBO's fault is never used: DisplayName is unique across customers, vendors and employees and their
ids overlap, so that Id may well not be a customer's.

- An inactive customer holds it → flag it for the admin; never reactivate it on our own.
- An active customer no other PaySimple customer is linked to holds it: it did not match by first/last name
  (e.g. its name parts were never filled in), yet it may well be the same person → flag it for the admin
  rather than create a suffixed duplicate.
- Otherwise (a vendor, an employee, a job, sub-customer or project holds it, or a customer already linked
  to another PaySimple customer, i.e. a different person) → retry once with the merchant's collision
  suffix. A job is never a candidate (domain.matching), so it is no reason to hold the customer back.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from customer_sync.domain.matching import QboCandidate
from customer_sync.domain.names import name_key


@dataclass(frozen=True)
class FlagInactiveHolder:
    holders: tuple[QboCandidate, ...]


@dataclass(frozen=True)
class FlagUnmatchedHolder:
    holders: tuple[QboCandidate, ...]


@dataclass(frozen=True)
class RetryWithSuffix:
    pass


CollisionDecision = FlagInactiveHolder | FlagUnmatchedHolder | RetryWithSuffix


def customers_holding(display_name: str, found: Iterable[Mapping[str, Any]]) -> list[QboCandidate]:
    """The queried customers whose DisplayName really is `display_name` (compared as QBO does: ignoring case
    and surrounding space), re-checked on our side."""
    wanted = name_key(display_name)
    return [
        QboCandidate.from_qbo(raw) for raw in found if name_key(str(raw.get("DisplayName", ""))) == wanted
    ]


def decide_collision(holders: Iterable[QboCandidate], *, claimed_ids: Collection[str]) -> CollisionDecision:
    """`claimed_ids`: QBO customers linked to other PaySimple customers of this merchant."""
    holding = [holder for holder in holders if not holder.is_job]
    inactive = tuple(holder for holder in holding if not holder.active)
    if inactive:
        return FlagInactiveHolder(inactive)
    unclaimed = tuple(holder for holder in holding if holder.id not in claimed_ids)
    if unclaimed:
        return FlagUnmatchedHolder(unclaimed)
    return RetryWithSuffix()
