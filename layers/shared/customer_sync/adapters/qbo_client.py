"""The QBO Customer API of one realm, and its CompanyInfo, over HTTP (implements ports.QboCustomers).

Every request first draws on the company's request budget (ports.QboRequestBudget, shared by every
invocation): when it is used up nothing is sent and QboBudgetExhausted says when to come back. With
`budget_patience_seconds` a request may first wait that long for its turn (the sync's, one second; only
one invocation at a time per company, ports.QboRequestBudget.take): QBO's 10-a-second window lets the
budget allow only a request or two at once, and a change may need three in a row; refused each time it
came back, it would never finish. (With QBO's real latency, a few hundred milliseconds a call, that wait
is almost always zero.) A 429 from
QBO all the same pauses the company in the budget and raises QboThrottled: a throttled request is never
repeated here, since the wait QBO wants (a minute) is not sat out inside a Lambda.

A 401/3200 triggers exactly one token refresh per call, and the request is repeated at once. A 401/120 (the
user who connected lost access) is a broken connection: it is recorded through the token source (the
connection's health, counted once per break) and QboConnectionBroken raised, never retried. Transient
failures (5xx, timeouts, broken connections) are repeated only up to `max_attempts` (1 = never: the sync
hands the change back to SQS instead), and only what is safe to repeat (reference/qbo-api.md):
- reads and queries;
- creates, which always carry a `requestid`, so QBO answers a repeat with the original result;
- a sparse update repeated with the same SyncToken, which fails at worst with 5010;
- a batch only with a `requestid`, or when it holds only queries.
Waits are injectable so tests never sleep.

This client is the one door QBO data comes in by, so it is where that data is scrubbed: every successful
answer has card and bank numbers cut from its free text (domain.scrub.scrub_qbo_json) before any caller
sees it. A merchant may have typed them into a QBO customer's Notes or name; nothing we store, log or show
(history, candidates, type-ahead, dry run) may carry them on. Ids and SyncTokens are never touched.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from customer_sync.adapters.http import HttpSession, HttpUnreachable, HttpUnsendable
from customer_sync.adapters.qbo_faults import error_from_batch_item, error_from_response
from customer_sync.domain.qbo_query import INCLUDE_INACTIVE, all_of
from customer_sync.domain.scrub import scrub_qbo_json
from customer_sync.errors import (
    QboAuthExpired,
    QboConnectionBroken,
    QboError,
    QboThrottled,
    QboTransientError,
)
from customer_sync.models.qbo import BatchItem, BatchItemResult, QboCompanyInfo, QboCustomer
from customer_sync.observability import logger
from customer_sync.ports import AccessTokenSource, QboRequestBudget

BROKEN_REASON_FAULT_120 = (
    "QBO refused the connection (401, fault 120: the user who connected lost access); reconnect QuickBooks"
)

DEFAULT_MINOR_VERSION = 75
MAX_REQUEST_ID_LENGTH = 50
MAX_BATCH_REQUEST_ID_LENGTH = 36
MAX_BATCH_ITEMS = 30
DEFAULT_PAGE_SIZE = 1000
# QBO's default page size. Whether 1000 is really QBO's largest page is unconfirmed: a server that cuts a
# page quietly returns fewer than asked, so only a page shorter than this proves the listing is over.
SMALLEST_POSSIBLE_PAGE_CAP = 100
# Past this many characters of URL-encoded statement, a query goes as a POST body instead.
LONG_QUERY_CHARACTERS = 1500


def default_backoff(attempt: int) -> float:
    """Seconds to wait after failed attempt `attempt` (1-based): exponential with full jitter, ≤ 2 s."""
    return random.uniform(0.0, min(2.0, 0.25 * 2 ** (attempt - 1)))


def _check_request_id(request_id: str, limit: int) -> str:
    if not 0 < len(request_id) <= limit:
        raise ValueError(f"a QBO requestid must be 1..{limit} characters, got {len(request_id)}")
    return request_id


def _missing_result(bid: str) -> BatchItemResult:
    return BatchItemResult(bId=bid, error=QboTransientError("QBO returned no result for this batch item"))


class QboClient:
    def __init__(
        self,
        base_url: str,
        realm_id: str,
        tokens: AccessTokenSource,
        *,
        minor_version: int = DEFAULT_MINOR_VERSION,
        timeout_seconds: float = 30.0,
        session: HttpSession | None = None,
        budget: QboRequestBudget | None = None,
        budget_patience_seconds: float = 0.0,
        max_attempts: int = 1,
        backoff: Callable[[int], float] = default_backoff,
        sleep: Callable[[float], None] = time.sleep,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> None:
        if not 0 < page_size <= DEFAULT_PAGE_SIZE:
            raise ValueError("page_size must be 1..1000")
        self.base_url = base_url.rstrip("/")
        self.realm_id = realm_id
        self._tokens = tokens
        self._minor_version = minor_version
        self._timeout_seconds = timeout_seconds
        self._session = session or HttpSession()
        self._budget = budget
        self._budget_patience_seconds = budget_patience_seconds
        self._max_attempts = max(1, max_attempts)
        self._backoff = backoff
        self._sleep = sleep
        self._page_size = page_size
        self.calls_made = 0

    def check_budget(self) -> None:
        if self._budget is not None:
            self._budget.check(self.realm_id, may_wait_seconds=self._budget_patience_seconds)

    # -- queries -----------------------------------------------------------------------------------------

    def query(self, statement: str) -> dict[str, Any]:
        """Run one statement; returns the `QueryResponse` object (`{}` when nothing matched)."""
        encoded = quote(statement, safe="")
        if len(encoded) <= LONG_QUERY_CHARACTERS:
            body = self._call(
                "GET", "query", operation="query", params={"query": statement}, retry_transient=True
            )
        else:
            body = self._call("POST", "query", operation="query", text_body=statement, retry_transient=True)
        response = body.get("QueryResponse")
        if not isinstance(response, dict):
            raise QboTransientError("QBO answered a query without a QueryResponse")
        return response

    def query_customers(self, where: str, *, include_inactive: bool = False) -> list[QboCustomer]:
        """All customers matching `where` (conditions only, already escaped: see domain/qbo_query.py).

        Pages with STARTPOSITION/MAXRESULTS until a short page. Only active customers unless
        `include_inactive` (QBO's default hides inactive ones). A page of at least
        SMALLEST_POSSIBLE_PAGE_CAP customers, even if shorter than asked for, is followed by one more ask:
        QBO may cap MAXRESULTS below what we ask for, and then the next page starts after what came back.
        """
        conditions = all_of(where.strip(), INCLUDE_INACTIVE if include_inactive else "")
        # QBO's query language, not SQL; values in `where` are escaped by domain/qbo_query.py.
        base = "SELECT * FROM Customer" + (f" WHERE {conditions}" if conditions else "")  # noqa: S608
        customers: list[QboCustomer] = []
        seen_ids: set[str] = set()
        start = 1
        while True:
            page = self.query(f"{base} STARTPOSITION {start} MAXRESULTS {self._page_size}").get(
                "Customer", []
            )
            fresh = [QboCustomer.model_validate(raw) for raw in page if str(raw.get("Id")) not in seen_ids]
            customers.extend(fresh)
            seen_ids.update(customer.Id for customer in fresh)
            # A short page ends the listing; a page of nothing new guards against a server ignoring paging.
            if len(page) < min(self._page_size, SMALLEST_POSSIBLE_PAGE_CAP) or not fresh:
                return customers
            start += len(page)

    # -- change data capture -----------------------------------------------------------------------------

    def customer_changes(self, changed_since: datetime) -> list[dict[str, Any]]:
        """CDC: the customers changed since `changed_since` (≤30 days back), full objects, merged-away ones as
        `{"status": "Deleted", "Id": ..}`; at most 1000 in one answer (QBO says nothing when it cuts)."""
        if changed_since.tzinfo is None:
            raise ValueError("changed_since must be timezone-aware")
        params = {"entities": "Customer", "changedSince": changed_since.isoformat(timespec="seconds")}
        body = self._call("GET", "cdc", operation="cdc", params=params, retry_transient=True)
        customers: list[dict[str, Any]] = []
        for entry in body.get("CDCResponse") or []:
            for response in entry.get("QueryResponse") or [] if isinstance(entry, dict) else []:
                found = response.get("Customer") if isinstance(response, dict) else None
                customers.extend(item for item in found or [] if isinstance(item, dict) and "Id" in item)
        return customers

    # -- single customers --------------------------------------------------------------------------------

    def read_customer(self, customer_id: str) -> QboCustomer:
        body = self._call(
            "GET", f"customer/{quote(customer_id, safe='')}", operation="read", retry_transient=True
        )
        return self._customer_of(body)

    def create_customer(self, fields: Mapping[str, Any], *, request_id: str) -> QboCustomer:
        """Create with a deterministic `request_id` (≤50 chars): a repeat returns the first result."""
        _check_request_id(request_id, MAX_REQUEST_ID_LENGTH)
        if "Id" in fields or "SyncToken" in fields:
            raise ValueError("a create must not carry Id or SyncToken")
        body = self._call(
            "POST",
            "customer",
            operation="create",
            params={"requestid": request_id},
            json_body=dict(fields),
            retry_transient=True,
        )
        return self._customer_of(body)

    def sparse_update(
        self,
        customer_id: str,
        sync_token: str,
        fields: Mapping[str, Any],
        *,
        request_id: str | None = None,
    ) -> QboCustomer:
        """Change only `fields`. A stale `sync_token` raises QboStaleObject (5010)."""
        params = {"requestid": _check_request_id(request_id, MAX_REQUEST_ID_LENGTH)} if request_id else {}
        payload = {**fields, "Id": customer_id, "SyncToken": sync_token, "sparse": True}
        body = self._call(
            "POST", "customer", operation="update", params=params, json_body=payload, retry_transient=True
        )
        return self._customer_of(body)

    # -- the company ---------------------------------------------------------------------------------------

    def company_info(self) -> QboCompanyInfo:
        """The company's CompanyInfo, whose only id is the realm id (a metered read like any other)."""
        realm = quote(self.realm_id, safe="")
        body = self._call("GET", f"companyinfo/{realm}", operation="read", retry_transient=True)
        info = body.get("CompanyInfo")
        if not isinstance(info, dict):
            raise QboTransientError("QBO answered without a CompanyInfo object")
        return QboCompanyInfo.model_validate(info)

    # -- batch -------------------------------------------------------------------------------------------

    def batch(self, items: Sequence[BatchItem], *, request_id: str | None = None) -> list[BatchItemResult]:
        """Run items in requests of ≤30; results come back in the order of `items`, matched by bId.

        With more than 30 items each request gets the requestid `"<request_id>-<n>"` (≤36 chars in all).
        """
        bids = [item.bId for item in items]
        if len(set(bids)) != len(bids):
            raise ValueError("bId values must be unique within a batch")
        chunks = [items[start : start + MAX_BATCH_ITEMS] for start in range(0, len(items), MAX_BATCH_ITEMS)]
        chunk_ids: list[str | None] = [
            None
            if request_id is None
            else _check_request_id(
                request_id if len(chunks) == 1 else f"{request_id}-{index}", MAX_BATCH_REQUEST_ID_LENGTH
            )
            for index in range(1, len(chunks) + 1)
        ]
        by_bid: dict[str, BatchItemResult] = {}
        for chunk, chunk_id in zip(chunks, chunk_ids, strict=True):
            by_bid.update(self._batch_chunk(chunk, chunk_id))
        return [by_bid.get(bid) or _missing_result(bid) for bid in bids]

    def _batch_chunk(self, chunk: Sequence[BatchItem], request_id: str | None) -> dict[str, BatchItemResult]:
        only_queries = all(item.query_statement is not None for item in chunk)
        body, intuit_tid = self._call_traced(
            "POST",
            "batch",
            operation="batch",
            params={"requestid": request_id} if request_id else {},
            json_body={"BatchItemRequest": [item.to_request() for item in chunk]},
            retry_transient=request_id is not None or only_queries,
        )
        expected = {item.bId for item in chunk}
        results: dict[str, BatchItemResult] = {}
        for entry in body.get("BatchItemResponse") or []:
            bid = str(entry.get("bId"))
            if bid not in expected:
                continue
            results[bid] = self._batch_result(bid, entry, intuit_tid)
        return results

    def _batch_result(self, bid: str, entry: dict[str, Any], intuit_tid: str | None) -> BatchItemResult:
        if "Fault" in entry or "fault" in entry:
            error = error_from_batch_item(entry, intuit_tid=intuit_tid)
            logger.warning(
                "QBO batch item failed",
                extra={
                    "qbo_operation": "batch",
                    "qbo_code": error.code,
                    "error_type": type(error).__name__,
                    "intuit_tid": intuit_tid,
                    "realm_id": self.realm_id,
                },
            )
            return BatchItemResult(bId=bid, error=error)
        if "Customer" in entry:
            return BatchItemResult(bId=bid, customer=QboCustomer.model_validate(entry["Customer"]))
        if "QueryResponse" in entry:
            return BatchItemResult(bId=bid, query_response=entry["QueryResponse"])
        return BatchItemResult(
            bId=bid, error=QboError("QBO batch item result has no Customer, QueryResponse or Fault")
        )

    # -- HTTP ----------------------------------------------------------------------------------------------

    @staticmethod
    def _customer_of(body: dict[str, Any]) -> QboCustomer:
        customer = body.get("Customer")
        if not isinstance(customer, dict):
            raise QboTransientError("QBO answered without a Customer object")
        return QboCustomer.model_validate(customer)

    def _call(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        retry_transient: bool,
        params: Mapping[str, str] | None = None,
        json_body: Mapping[str, Any] | None = None,
        text_body: str | None = None,
    ) -> dict[str, Any]:
        body, _ = self._call_traced(
            method,
            path,
            operation=operation,
            retry_transient=retry_transient,
            params=params,
            json_body=json_body,
            text_body=text_body,
        )
        return body

    def _call_traced(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        retry_transient: bool,
        params: Mapping[str, str] | None = None,
        json_body: Mapping[str, Any] | None = None,
        text_body: str | None = None,
    ) -> tuple[dict[str, Any], str | None]:
        """The JSON body of the successful answer, and its `intuit_tid` (QBO's trace id)."""
        attempt = 0
        refreshed = False
        while True:
            attempt += 1
            access_token = self._tokens.access_token()
            if self._budget is not None:
                self._budget.take(self.realm_id, may_wait_seconds=self._budget_patience_seconds)
            try:
                return self._send(method, path, access_token, params, json_body, text_body)
            except QboError as error:
                self._log_failure(error, operation, attempt)
                if isinstance(error, QboThrottled) and self._budget is not None:
                    error.retry_after = self._budget.pause(self.realm_id, error.retry_after)
                    raise
                if isinstance(error, QboConnectionBroken):
                    self._tokens.connection_broken(BROKEN_REASON_FAULT_120)
                    raise
                if isinstance(error, QboAuthExpired) and not refreshed:
                    refreshed = True
                    attempt -= 1  # the token's fault, not the request's: does not use up an attempt
                    self._tokens.refresh_after_unauthorized(access_token)
                    continue
                wait = self._retry_wait(error, attempt, retry_transient)
                if wait is None:
                    raise
                self._sleep(wait)

    def _retry_wait(self, error: QboError, attempt: int, retry_transient: bool) -> float | None:
        if attempt >= self._max_attempts or isinstance(error, QboThrottled):
            return None
        if isinstance(error, QboTransientError) and retry_transient:
            return self._backoff(attempt)
        return None

    def _send(
        self,
        method: str,
        path: str,
        access_token: str,
        params: Mapping[str, str] | None,
        json_body: Mapping[str, Any] | None,
        text_body: str | None,
    ) -> tuple[dict[str, Any], str | None]:
        query = urlencode({**(params or {}), "minorversion": str(self._minor_version)}, quote_via=quote)
        url = f"{self.base_url}/v3/company/{quote(self.realm_id, safe='')}/{path}?{query}"
        headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
        data: bytes | None = None
        if json_body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(json_body).encode()
        elif text_body is not None:
            headers["Content-Type"] = "application/text"
            data = text_body.encode()
        self.calls_made += 1
        try:
            response = self._session.request(
                method, url, headers=headers, body=data, timeout_seconds=self._timeout_seconds
            )
        except HttpUnreachable as error:
            if error.timed_out:
                raise QboTransientError(f"QBO did not answer within {self._timeout_seconds} s") from None
            # The cause's text holds the URL (with customer names in queries): keep only its type.
            raise QboTransientError(f"QBO connection failed ({error.kind})") from None
        except HttpUnsendable as error:
            # E.g. a token with a newline, which the header would quote: keep only the type. Sending the same
            # request again cannot help.
            raise QboError(f"QBO request could not be sent ({error.kind})") from None
        intuit_tid = response.headers.get("intuit_tid")
        if not 200 <= response.status < 300:
            raise error_from_response(
                response.status,
                response.text,
                intuit_tid=intuit_tid,
                retry_after_header=response.headers.get("Retry-After"),
            )
        try:
            body = response.json()
        except ValueError:
            raise QboTransientError(
                "QBO answered 2xx with a body that is not JSON", intuit_tid=intuit_tid
            ) from None
        if not isinstance(body, dict):
            raise QboTransientError("QBO answered 2xx with an unexpected JSON shape", intuit_tid=intuit_tid)
        if "Fault" in body or "fault" in body:
            raise error_from_response(response.status, response.text, intuit_tid=intuit_tid)
        scrubbed: dict[str, Any] = scrub_qbo_json(body)
        return scrubbed, intuit_tid

    def _log_failure(self, error: QboError, operation: str, attempt: int) -> None:
        # Codes and trace ids only: never tokens, statements or customer values.
        logger.warning(
            "QBO call failed",
            extra={
                "qbo_operation": operation,
                "attempt": attempt,
                "error_type": type(error).__name__,
                "http_status": error.status,
                "qbo_code": error.code,
                "intuit_tid": error.intuit_tid,
                "realm_id": self.realm_id,
            },
        )
