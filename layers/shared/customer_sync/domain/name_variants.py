"""Name variants: the QBO customers whose names a person typed differently from their normalized form
(DESIGN.md "Matching", step 2: normalise **both** sides, without reading the whole customer list per
change).

Why they are kept. The sync looks a batch's new customers up with one exact query (`GivenName IN (..) AND
FamilyName IN (..)`, domain.sync.name_lookup): QBO compares case-insensitively, so it finds "SMITH" for
"Smith", but not "O\u2019Brien" (curly; a curly quote cannot even be put in a query), "Sean " (a trailing
space) or "Mary  Ann" (two spaces). QBO has no OR, so finding those by a stable fragment (`LIKE
'%Brien%'`, domain.qbo_query) costs one query per name, not per batch. A company's name variants are few
(the names people typed with a curly quote or a stray space), so customer-sync keeps them, per QBO
company, in its own table, with each merchant connected to it (read with the merchant's settings, so at
no extra call): a batch's lookup is then the one exact query plus the company's variants whose
normalized names match, and still one metered read.

What is kept: an active customer, not a job, sub-customer or project (never candidates), whose GivenName or
FamilyName differs from its normalized form (domain.names.normalize_name: trimmed, single spaces, straight
quotes, no ':'/tab/newline). The whole object as QBO last showed it, card and bank numbers cut, so it is a
candidate exactly like a query's answer; a stale SyncToken costs the first write one read and a retry
(5010), as for any other candidate.

How it is kept current (domain.qbo_changes, domain.cdc_sweep):
- built per company by one listing of its active customers (one read per 1000 customers): by the sync's
  first name lookup for a merchant that has none (a company just connected), by the daily sweep when it
  finds none, and again after a CDC gap (more than 30 days without a sweep);
- every CDC object updates it (no read); a webhook event of a customer nobody links costs one read (a
  person typed it into QBO); a linked customer's edit is read already, and our own writes' echoes are not
  read (what we write is normalized, so never a variant); a deletion or a merge drops the merged-away one.
So a name lookup never runs without the variants: the first one builds them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from customer_sync.domain.matching import is_job
from customer_sync.domain.names import name_key, normalize_name
from customer_sync.domain.scrub import scrub_qbo_json
from customer_sync.models.settings import NameVariants
from customer_sync.ports import NameVariantsRepository, QboCustomers

# The listing that builds a company's variants: its active customers (QBO's default), all of them.
ALL_ACTIVE_CUSTOMERS = ""


def name_pair_key(given: str | None, family: str | None) -> str:
    """The normalized, case-folded (GivenName, FamilyName) a variant is looked up by."""
    return f"{name_key(given)}\x1f{name_key(family)}"


def _typed_differently(value: Any) -> bool:
    return isinstance(value, str) and normalize_name(value) != value


def is_name_variant(customer: Mapping[str, Any]) -> bool:
    """An active customer (not a job) whose GivenName or FamilyName is not in normalized form."""
    if customer.get("status") == "Deleted" or customer.get("Active", True) is False or is_job(customer):
        return False
    return _typed_differently(customer.get("GivenName")) or _typed_differently(customer.get("FamilyName"))


def variant_record(customer: Mapping[str, Any]) -> dict[str, Any]:
    """What is stored of a variant: the object as QBO showed it, card and bank numbers cut."""
    return dict(scrub_qbo_json(customer))


def variants_named(variants: NameVariants, first: str | None, last: str | None) -> list[Mapping[str, Any]]:
    """The variants whose normalized names are `first` and `last`'s: what an exact query would have
    returned, had the person typed the names in normalized form."""
    key = name_pair_key(first, last)
    return [
        customer
        for customer in variants.customers
        if name_pair_key(customer.get("GivenName"), customer.get("FamilyName")) == key
    ]


def keep_current(
    variants: NameVariantsRepository, merchant_ids: Sequence[str], realm_id: str, customer: Mapping[str, Any]
) -> bool:
    """Keeps (or drops) the customer as QBO now shows it, for each merchant connected to the company; True
    when it is a variant."""
    variant = is_name_variant(customer)
    for merchant_id in merchant_ids:
        if variant:
            variants.put(merchant_id, realm_id, variant_record(customer))
        else:
            variants.drop(merchant_id, realm_id, str(customer["Id"]))
    return variant


def drop_variant(
    variants: NameVariantsRepository, merchant_ids: Sequence[str], realm_id: str, qbo_customer_id: str
) -> None:
    """The customer is gone (deleted, merged away): no merchant of the company keeps it."""
    for merchant_id in merchant_ids:
        variants.drop(merchant_id, realm_id, qbo_customer_id)


def variants_built(variants: NameVariantsRepository, merchant_ids: Sequence[str], realm_id: str) -> bool:
    """Whether every merchant connected to the company has its variants (else they are (re)built)."""
    return all(variants.is_built(merchant_id, realm_id) for merchant_id in merchant_ids)


@dataclass(frozen=True)
class VariantsBuilt:
    kept: NameVariants
    customers: int
    qbo_calls: int

    @property
    def variants(self) -> int:
        return len(self.kept.customers)


def build_name_variants(
    qbo: QboCustomers,
    variants: NameVariantsRepository,
    merchant_ids: Sequence[str],
    realm_id: str,
    *,
    now: datetime,
) -> VariantsBuilt:
    """Lists the company's active customers (paged, one read per page) and replaces each connected
    merchant's variants with the ones found. Changes meanwhile are kept by the webhooks and the next
    sweep, as always."""
    before = qbo.calls_made
    customers = [customer.raw for customer in qbo.query_customers(ALL_ACTIVE_CUSTOMERS)]
    found = [variant_record(customer) for customer in customers if is_name_variant(customer)]
    for merchant_id in merchant_ids:
        variants.replace(merchant_id, realm_id, found, built_at=now)
    kept = NameVariants(realm_id=realm_id, customers=tuple(found), built_at=now)
    return VariantsBuilt(kept=kept, customers=len(customers), qbo_calls=qbo.calls_made - before)
