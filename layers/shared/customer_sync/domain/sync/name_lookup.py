"""One QBO name query for a batch's new customers, instead of one each (DESIGN.md "Matching", step 2).

QBO's query language has `IN` but no `OR`, so the batch asks once for the active customers whose GivenName
is one of the batch's first names and whose FamilyName is one of its last names. That is a superset of every
customer's own `GivenName = first AND FamilyName = last` query (the cross product of the names), and
`CandidatePool.candidates_for` cuts each customer's share out of it the way the single query would have.
Matching then runs per customer, in the batch's order (domain.matching.decide_match), exactly as before.

The pool stays true to QBO while the batch goes on: every customer the batch itself creates or changes is
put in it, so a later customer of the same batch sees what an earlier one created, as it would have seen it
with a query of its own.

Names are compared as domain.names.name_key compares them (normalized, case-folded), on both sides, which
is also how decide_match checks what a query returned.

Names as people typed them in QBO. `IN` compares exactly (QBO ignores case only), so it cannot find the
"O\u2019Brien" (curly), "Sean " (trailing space) or "Mary  Ann" a person typed for PaySimple's "O'Brien",
"Sean", "Mary Ann"; and without OR, a query that could (`LIKE '%Brien%'`, domain.qbo_query) finds one name
per query. So the pool also holds the company's **name variants** whose normalized names are the batch's
(domain.name_variants: the few customers typed that way, kept by the CDC sweep and the QBO webhooks, and
read with the merchant's settings: no extra call, no QBO read). What QBO's query returns replaces what was
kept of the same customer (it is newer). The merchant's first lookup, before any sweep, builds them
(SyncService, domain.name_variants.build_name_variants: one listing, a read per 1000 customers).

Jobs, sub-customers and projects come back from customer queries too; decide_match never takes them.

Metered reads: one query per realm per batch (more only when QBO pages a very large answer).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from customer_sync.domain.name_variants import variants_named
from customer_sync.domain.names import name_key, normalize_name
from customer_sync.domain.qbo_query import all_of, is_in
from customer_sync.models.paysimple import PaySimpleCustomer
from customer_sync.models.settings import NameVariants
from customer_sync.ports import QboCustomers


def name_lookup_conditions(customers: Sequence[PaySimpleCustomer]) -> str:
    """The WHERE conditions of the batch's name query (values escaped by domain.qbo_query)."""
    firsts = sorted({normalize_name(customer.FirstName) for customer in customers})
    lasts = sorted({normalize_name(customer.LastName) for customer in customers})
    return all_of(is_in("GivenName", firsts), is_in("FamilyName", lasts))


class CandidatePool:
    """Active QBO customers that may match the batch's customers by name, by QBO id."""

    def __init__(self, customers: Iterable[Mapping[str, Any]] = ()) -> None:
        self._by_id: dict[str, Mapping[str, Any]] = {}
        for customer in customers:
            self.remember(customer)

    def remember(self, customer: Mapping[str, Any]) -> None:
        """A QBO customer as QBO now holds it (one the batch created or changed)."""
        self._by_id[str(customer["Id"])] = customer

    def candidates_for(self, customer: PaySimpleCustomer) -> list[Mapping[str, Any]]:
        """What the customer's own name query would have returned: the active customers with its names."""
        first, last = name_key(customer.FirstName), name_key(customer.LastName)
        return [
            raw
            for raw in self._by_id.values()
            if raw.get("Active", True) is not False
            and name_key(raw.get("GivenName")) == first
            and name_key(raw.get("FamilyName")) == last
        ]


def look_up_names(
    qbo: QboCustomers, customers: Sequence[PaySimpleCustomer], variants: NameVariants
) -> CandidatePool:
    """The active customers that may match any of `customers`: one query (paged if QBO must) and the
    company's name variants of those names."""
    if not customers:
        return CandidatePool()
    pool = CandidatePool(
        kept
        for customer in customers
        for kept in variants_named(variants, customer.FirstName, customer.LastName)
    )
    for found in qbo.query_customers(name_lookup_conditions(customers)):
        pool.remember(found.raw)
    return pool
