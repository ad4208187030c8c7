"""Matching a PaySimple customer to an existing QBO customer, and the QBO queries it needs.

`decide_match` is the whole rule set of DESIGN "Matching", as a pure function of what the QBO query returned
and what our own tables know:

1. keep candidates that are active customers of their own (never a job, sub-customer or project: QBO
   returns those from customer queries too) and whose GivenName/FamilyName equal the PaySimple first/last
   name once both are normalized and case-folded: the query (domain.qbo_query) returns a superset, found
   by a fragment of each name, so curly quotes, runs of spaces and case typed on either side all match;
2. none → create;
3. exactly one → link (reason "name"), unless it is already linked to another PaySimple customer;
4. several → keep the unlinked ones whose PrimaryEmailAddr equals the PaySimple Email (case-insensitive);
   exactly one left, and no other customer we know for this merchant has that email → link ("name+email");
5. anything else → ambiguous: the customer waits on the unlinked list with its candidates.

A QBO customer already linked to another PaySimple customer is never linked automatically. When every name
match is taken the result is Ambiguous("already_linked"), never a create: a create would put a duplicate in
the merchant's books.
"""

import string
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from customer_sync.domain.names import email_key, name_key, normalize_name, qbo_safe_name
from customer_sync.models.paysimple import PaySimpleCustomer

DEFAULT_COLLISION_TEMPLATE: Final = "{first} {last} (PS-{id})"
COLLISION_TEMPLATE_FIELDS: Final = frozenset({"first", "last", "id"})
DISPLAY_NAME_LIMIT: Final = 500


@dataclass(frozen=True)
class QboCandidate:
    id: str
    display_name: str
    given_name: str | None
    family_name: str | None
    email: str | None
    active: bool
    sync_token: str
    is_job: bool = False

    @classmethod
    def from_qbo(cls, customer: Mapping[str, Any]) -> "QboCandidate":
        """From a Customer object as QBO's query or read returns it."""
        email = customer.get("PrimaryEmailAddr")
        return cls(
            id=str(customer["Id"]),
            display_name=str(customer.get("DisplayName", "")),
            given_name=customer.get("GivenName"),
            family_name=customer.get("FamilyName"),
            email=email.get("Address") if isinstance(email, Mapping) else None,
            active=bool(customer.get("Active", True)),
            sync_token=str(customer.get("SyncToken", "")),
            is_job=is_job(customer),
        )


def is_job(customer: Mapping[str, Any]) -> bool:
    """A job, sub-customer or project: `Job` true, a `ParentRef`, or `IsProject` true. Never a person's own
    record, so never matched by name and never written."""
    return customer.get("Job") is True or customer.get("IsProject") is True or bool(customer.get("ParentRef"))


@dataclass(frozen=True)
class LinkTo:
    qbo_id: str
    reason: Literal["name", "name+email"]


AmbiguousReason = Literal["ambiguous", "already_linked"]
AmbiguousDetail = Literal[
    "no_email",
    "no_email_match",
    "several_email_matches",
    "email_shared_with_other_customer",
    "all_name_matches_linked",
]


@dataclass(frozen=True)
class Ambiguous:
    """`candidate_ids`: the active name matches an admin may pick from (the linked ones when all are)."""

    candidate_ids: tuple[str, ...]
    reason: AmbiguousReason
    detail: AmbiguousDetail


@dataclass(frozen=True)
class CreateNew:
    pass


MatchDecision = LinkTo | Ambiguous | CreateNew

# Either the answer, or a lookup the decision calls (with the case-folded email) only when it needs it.
EmailSharedCheck = bool | Callable[[str], bool]


def _ordered_ids(candidates: Sequence[QboCandidate]) -> tuple[str, ...]:
    # QBO ids are numeric strings; order them numerically so the unlinked record reads stably.
    return tuple(sorted((c.id for c in candidates), key=lambda i: (len(i), i)))


def decide_match(
    customer: PaySimpleCustomer,
    candidates: Sequence[QboCandidate],
    *,
    linked_qbo_ids: Collection[str],
    email_shared_with_other_customer: EmailSharedCheck,
) -> MatchDecision:
    """Decide link / ambiguous / create for a customer that has no link yet.

    - `candidates`: what the name query returned (any case, duplicates and inactive ones are fine).
    - `linked_qbo_ids`: QBO ids already linked to *other* PaySimple customers of this merchant.
    - `email_shared_with_other_customer`: whether another PaySimple customer we know for this merchant has
      this customer's email; a callable receives the case-folded email and is only called when it matters.
    """
    first, last = name_key(customer.FirstName), name_key(customer.LastName)
    unique = {c.id: c for c in candidates}.values()
    name_matches = [
        c
        for c in unique
        if c.active and not c.is_job and name_key(c.given_name) == first and name_key(c.family_name) == last
    ]
    if not name_matches:
        return CreateNew()
    free = [c for c in name_matches if c.id not in linked_qbo_ids]
    if not free:
        return Ambiguous(_ordered_ids(name_matches), "already_linked", "all_name_matches_linked")
    if len(name_matches) == 1:
        return LinkTo(free[0].id, "name")

    candidate_ids = _ordered_ids(free)
    wanted_email = email_key(customer.Email)
    if not wanted_email:
        return Ambiguous(candidate_ids, "ambiguous", "no_email")
    email_matches = [c for c in free if email_key(c.email) == wanted_email]
    if not email_matches:
        return Ambiguous(candidate_ids, "ambiguous", "no_email_match")
    if len(email_matches) > 1:
        return Ambiguous(candidate_ids, "ambiguous", "several_email_matches")
    shared = (
        email_shared_with_other_customer(wanted_email)
        if callable(email_shared_with_other_customer)
        else email_shared_with_other_customer
    )
    if shared:
        return Ambiguous(candidate_ids, "ambiguous", "email_shared_with_other_customer")
    return LinkTo(email_matches[0].id, "name+email")


def display_name_for(customer: PaySimpleCustomer) -> str:
    """ "First Last", QBO-safe."""
    return qbo_safe_name(f"{customer.FirstName} {customer.LastName}")[:DISPLAY_NAME_LIMIT].rstrip()


def collision_template_problems(template: str) -> list[str]:
    """Why a merchant's collision template cannot be used; empty when it can."""
    try:
        parsed = [
            (name, spec, conversion) for _, name, spec, conversion in string.Formatter().parse(template)
        ]
    except ValueError as error:
        return [f"collision template is not a valid format string: {error}"]
    fields = {name for name, _, _ in parsed if name is not None}
    problems = [f"unknown placeholder {{{name}}}" for name in sorted(fields - COLLISION_TEMPLATE_FIELDS)]
    if any(spec or conversion for name, spec, conversion in parsed if name is not None):
        problems.append("collision template placeholders take no format spec or conversion")
    if "id" not in fields:
        # Without the id the retry after 6240 would collide again.
        problems.append("collision template must contain {id}")
    return problems


def collision_display_name(
    customer: PaySimpleCustomer, suffix_template: str = DEFAULT_COLLISION_TEMPLATE
) -> str:
    """The DisplayName for the single retry after a 6240 collision, e.g. "Ann Lee (PS-42)".

    Raises ValueError for a template `collision_template_problems` rejects.
    """
    problems = collision_template_problems(suffix_template)
    if problems:
        raise ValueError("; ".join(problems))
    name = suffix_template.format(
        first=normalize_name(customer.FirstName), last=normalize_name(customer.LastName), id=customer.Id
    )
    return qbo_safe_name(name)[:DISPLAY_NAME_LIMIT].rstrip()
