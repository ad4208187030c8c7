"""Type-ahead search of a merchant's QBO customers for the Customer Matching "link" box.

One query per new prefix: `DisplayName LIKE '<typed>%'` (escaped), inactive customers included and
flagged, at most `max_results` (+1 to know there are more). Results are kept briefly per merchant and text,
and a longer text is answered from a shorter one's complete result without calling QBO, so typing "Ann"
after "An" costs nothing. Answers are kept under the text as typed: whether QBO's LIKE is case-sensitive is
unconfirmed, so "ann" is never answered from "Ann" (narrowing within one answer is case-insensitive, which
is right either way). Which customers are already linked is read fresh on every search.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

from customer_sync.domain.names import normalize_name
from customer_sync.domain.qbo_query import INCLUDE_INACTIVE, all_of, like
from customer_sync.errors import InvalidRequest
from customer_sync.models.admin import QboCustomerHit, QboSearchResponse
from customer_sync.models.qbo import QboCustomer
from customer_sync.ports import Clock, LinksRepository, MerchantClients

DEFAULT_MAX_RESULTS = 20
DEFAULT_CACHE_SECONDS = 30
DEFAULT_CACHE_ENTRIES = 512


@dataclass(frozen=True)
class _Cached:
    at: datetime
    customers: tuple[QboCustomer, ...]
    more: bool


def typeahead_statement(prefix: str, max_results: int) -> str:
    """The QBO query for customers whose DisplayName starts with `prefix` (escaped), active or not."""
    conditions = all_of(like("DisplayName", f"{prefix}%"), INCLUDE_INACTIVE)
    # QBO's query language, not SQL: the value is escaped by qbo_query.like.
    return (
        f"SELECT * FROM Customer WHERE {conditions} "  # noqa: S608
        f"ORDERBY DisplayName STARTPOSITION 1 MAXRESULTS {max_results + 1}"
    )


def _starts_with(customer: QboCustomer, prefix_key: str) -> bool:
    return (customer.DisplayName or "").casefold().startswith(prefix_key)


class QboTypeahead:
    def __init__(
        self,
        *,
        clients: MerchantClients,
        links: LinksRepository,
        clock: Clock,
        max_results: int = DEFAULT_MAX_RESULTS,
        cache_seconds: float = DEFAULT_CACHE_SECONDS,
        cache_entries: int = DEFAULT_CACHE_ENTRIES,
    ) -> None:
        self._clients = clients
        self._links = links
        self._clock = clock
        self._max_results = max_results
        self._ttl = timedelta(seconds=cache_seconds)
        self._cache_entries = cache_entries
        self._cache: OrderedDict[tuple[str, str], _Cached] = OrderedDict()

    def search(self, merchant_id: str, text: str) -> QboSearchResponse:
        prefix = normalize_name(text)
        if not prefix:
            raise InvalidRequest("query.q", ["type at least one letter of the customer's name"])
        customers, more = self._customers(merchant_id, prefix)
        owners = self._links.qbo_link_owners(merchant_id, [customer.Id for customer in customers])
        return QboSearchResponse(
            query=prefix,
            items=[
                QboCustomerHit(
                    qbo_customer_id=customer.Id,
                    display_name=customer.DisplayName or "",
                    given_name=customer.GivenName,
                    family_name=customer.FamilyName,
                    company_name=customer.CompanyName,
                    email=customer.email,
                    active=customer.Active,
                    linked_paysimple_customer_id=owners.get(customer.Id),
                )
                for customer in customers
            ],
            more=more,
        )

    def _customers(self, merchant_id: str, prefix: str) -> tuple[tuple[QboCustomer, ...], bool]:
        now = self._clock.now()
        self._drop_expired(now)
        exact = self._cache.get((merchant_id, prefix))
        if exact is not None:
            self._cache.move_to_end((merchant_id, prefix))
            return exact.customers, exact.more
        narrowed = self._narrowed_from_shorter(merchant_id, prefix)
        if narrowed is not None:
            return narrowed, False
        response = self._clients.qbo(merchant_id).query(typeahead_statement(prefix, self._max_results))
        found = tuple(QboCustomer.model_validate(raw) for raw in response.get("Customer", []))
        more = len(found) > self._max_results
        found = found[: self._max_results]
        self._remember((merchant_id, prefix), _Cached(at=now, customers=found, more=more))
        return found, more

    def _narrowed_from_shorter(self, merchant_id: str, prefix: str) -> tuple[QboCustomer, ...] | None:
        """A shorter prefix's result that was complete holds every customer this prefix can match."""
        for length in range(len(prefix) - 1, 0, -1):
            shorter = self._cache.get((merchant_id, prefix[:length]))
            if shorter is not None and not shorter.more:
                prefix_key = prefix.casefold()
                return tuple(customer for customer in shorter.customers if _starts_with(customer, prefix_key))
        return None

    def _remember(self, key: tuple[str, str], entry: _Cached) -> None:
        self._cache[key] = entry
        self._cache.move_to_end(key)
        while len(self._cache) > self._cache_entries:
            self._cache.popitem(last=False)

    def _drop_expired(self, now: datetime) -> None:
        expired = [key for key, entry in self._cache.items() if now - entry.at >= self._ttl]
        for key in expired:
            del self._cache[key]

    def forget(self, merchant_id: str) -> None:
        """Drop a merchant's cached results (its QBO connection changed)."""
        for key in [key for key in self._cache if key[0] == merchant_id]:
            del self._cache[key]
