"""Type-ahead search of a merchant's QBO customers for the Customer Matching "link" box.

By any word: "smi" finds "John Smith" and "Smith Plumbing", "plumb" finds "Smith Plumbing" and a customer
whose company it is, and "ann" finds "Mary Ann Lee". A customer is a hit when every word typed starts a
word of its DisplayName or CompanyName (words split at spaces and punctuation, compared normalized and
case-folded, so "o'br" and "O\\u2019Brien" (curly) meet).

QBO has no OR, so one /batch request (one HTTP call) carries two queries: `DisplayName LIKE '%<fragment>%'`
and `CompanyName LIKE '%<fragment>%'`, the fragment being the longest run of letters in the text
(domain.qbo_query.name_fragment), inactive customers included and flagged, at most `max_results` each (+1
to know there are more). QBO's answers are a superset, narrowed here. Jobs, sub-customers and projects are
left out: they are never linked (domain.matching).

Results are kept briefly per merchant and text, and a longer text is answered from a shorter one's complete
result without calling QBO, so typing "Ann" after "An" costs nothing: every hit of the longer text is a hit
of the shorter one, whose queries' fragment it contains. Answers are kept under the text as typed: whether
QBO's LIKE is case-sensitive is unconfirmed, so "ann" is never answered from "Ann" (narrowing within one
answer is case-insensitive, which is right either way). Which customers are already linked is read fresh
on every search.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

from customer_sync.domain.matching import is_job
from customer_sync.domain.names import name_key, normalize_name
from customer_sync.domain.qbo_query import INCLUDE_INACTIVE, all_of, like, name_fragment
from customer_sync.errors import InvalidRequest
from customer_sync.models.admin import QboCustomerHit, QboSearchResponse
from customer_sync.models.qbo import BatchItem, QboCustomer
from customer_sync.ports import Clock, LinksRepository, MerchantClients

DEFAULT_MAX_RESULTS = 20
DEFAULT_CACHE_SECONDS = 30
DEFAULT_CACHE_ENTRIES = 512
SEARCHED_FIELDS = ("DisplayName", "CompanyName")
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class _Cached:
    at: datetime
    customers: tuple[QboCustomer, ...]
    more: bool


def typeahead_statements(text: str, max_results: int) -> list[str]:
    """The QBO queries for customers with the text's fragment in their DisplayName or CompanyName (escaped),
    active or not; empty when the text has no letter or digit."""
    fragment = name_fragment(text)
    if fragment is None:
        return []
    # QBO's query language, not SQL: the value is escaped by qbo_query.like.
    return [
        f"SELECT * FROM Customer WHERE {all_of(like(field, f'%{fragment}%'), INCLUDE_INACTIVE)} "  # noqa: S608
        f"ORDERBY DisplayName STARTPOSITION 1 MAXRESULTS {max_results + 1}"
        for field in SEARCHED_FIELDS
    ]


def words(text: str | None) -> list[str]:
    """The words of a name as compared: normalized, case-folded, split at anything not a letter or digit."""
    return _WORD.findall(name_key(text))


def is_hit(customer: QboCustomer, typed: list[str]) -> bool:
    """Every typed word starts a word of the customer's DisplayName or CompanyName."""
    held = words(customer.DisplayName) + words(customer.CompanyName)
    return all(any(word.startswith(part) for word in held) for part in typed)


def _order(customer: QboCustomer, typed: list[str]) -> tuple[bool, str]:
    """Names that start with the text first, then by name."""
    display = name_key(customer.DisplayName)
    return (not display.startswith(" ".join(typed)), display)


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
        if not words(prefix):
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
        found, more = self._asked(merchant_id, prefix)
        self._remember((merchant_id, prefix), _Cached(at=now, customers=found, more=more))
        return found, more

    def _asked(self, merchant_id: str, text: str) -> tuple[tuple[QboCustomer, ...], bool]:
        """QBO's hits for the text (one /batch request), narrowed, ordered and cut to `max_results`."""
        statements = typeahead_statements(text, self._max_results)
        items = [BatchItem.query(str(index), statement) for index, statement in enumerate(statements)]
        results = self._clients.qbo(merchant_id).batch(items)
        typed = words(text)
        by_id: dict[str, QboCustomer] = {}
        more = False
        for result in results:
            if result.error is not None:
                raise result.error
            raws = (result.query_response or {}).get("Customer", [])
            more = more or len(raws) > self._max_results
            for raw in raws:
                customer = QboCustomer.model_validate(raw)
                if not is_job(customer.raw) and is_hit(customer, typed):
                    by_id.setdefault(customer.Id, customer)
        hits = sorted(by_id.values(), key=lambda customer: _order(customer, typed))
        more = more or len(hits) > self._max_results
        return tuple(hits[: self._max_results]), more

    def _narrowed_from_shorter(self, merchant_id: str, text: str) -> tuple[QboCustomer, ...] | None:
        """A shorter text's result that was complete holds every customer this text can match."""
        typed = words(text)
        for length in range(len(text) - 1, 0, -1):
            shorter = self._cache.get((merchant_id, text[:length]))
            if shorter is not None and not shorter.more:
                return tuple(customer for customer in shorter.customers if is_hit(customer, typed))
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
