"""PaySimple API v4 customers of one merchant over HTTP (implements ports.PaySimpleCustomers).

No retries here: a transient failure raises PaySimpleTransientError and SQS delivers the message again.
Logs carry ids, HTTP status and PaySimple's TraceCode only: never credentials, never customer fields
(merchants paste card numbers into Notes).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from pydantic import ValidationError

from customer_sync.adapters.http import HttpSession, HttpUnreachable, HttpUnsendable
from customer_sync.errors import (
    PaySimpleAuthError,
    PaySimpleError,
    PaySimpleRequestError,
    PaySimpleTransientError,
)
from customer_sync.models.merchant_secrets import PaySimpleCredentials
from customer_sync.models.paysimple import CustomerPage, PaySimpleCustomer
from customer_sync.models.validation import invalid_fields
from customer_sync.observability import logger

__all__ = [
    "PaySimpleAuthError",
    "PaySimpleClient",
    "PaySimpleError",
    "PaySimpleRequestError",
    "PaySimpleTransientError",
]

_MAX_CODE_LENGTH = 100


class PaySimpleClient:
    def __init__(
        self,
        base_url: str,
        credentials: PaySimpleCredentials,
        *,
        session: HttpSession | None = None,
        timeout_seconds: float = 10.0,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        # PaySimple's scheme sends `user:key` in clear: unlike standard Basic auth it is NOT Base64-encoded.
        self._authorization = f"basic {credentials.api_username}:{credentials.api_key}"
        self._session = session if session is not None else HttpSession()
        self._timeout_seconds = timeout_seconds

    def __repr__(self) -> str:
        return f"PaySimpleClient(base_url={self._base_url!r})"

    def get_customer(self, customer_id: str) -> PaySimpleCustomer | None:
        """The full, current record; None when PaySimple answers 404 with its error envelope."""
        if not customer_id.strip():
            raise ValueError("customer_id is empty")
        operation = "GET /v4/customer/{id}"
        status, document = self._get(f"/v4/customer/{quote(customer_id, safe='')}", None, operation)
        errors = _meta_errors(document)
        # Only PaySimple's own 404 means "no such customer": a proxy's or wrong URL's 404 must never
        # make the sync believe every customer was deleted.
        if status == 404 and errors is not None:
            logger.info(
                "PaySimple customer not found",
                extra={"customer_id": customer_id, "trace_code": _code(errors, "TraceCode")},
            )
            return None
        _raise_for_status(status, errors, operation)
        response = document.get("Response") if isinstance(document, dict) else None
        if not isinstance(response, dict):
            # A 204 lands here too: Python's HTTP client never reads a 204's body, even when one is sent.
            raise PaySimpleTransientError(f"PaySimple {operation} answered HTTP {status} without a customer")
        customer = _parse_customer(response, operation)
        logger.debug("PaySimple customer fetched", extra={"customer_id": customer_id, "status_code": status})
        return customer

    def list_customers(self, page: int = 1, page_size: int = 200) -> CustomerPage:
        """One page of the merchant's customers; `has_next_page` says whether to ask for the next one."""
        if page < 1 or page_size < 1:
            raise ValueError("page and page_size start at 1")
        operation = "GET /v4/customer"
        params = {"page": str(page), "pagesize": str(page_size)}
        status, document = self._get("/v4/customer", params, operation)
        _raise_for_status(status, _meta_errors(document), operation)
        response = document.get("Response") if isinstance(document, dict) else None
        if status == 204:
            # PaySimple may answer an empty page with 204, whose body (if any) is never read.
            response = []
        if not isinstance(response, list):
            raise PaySimpleTransientError(f"PaySimple {operation} answered HTTP {status} without a list")
        items = [_parse_customer(item, operation) for item in response]
        paging = _paging_details(document)
        logger.debug(
            "PaySimple customers listed", extra={"page": page, "count": len(items), "status_code": status}
        )
        return CustomerPage(
            items=items,
            total_items=_int_or(paging.get("TotalItems"), len(items) + (page - 1) * page_size),
            page=_int_or(paging.get("Page"), page, minimum=1),
            items_per_page=_int_or(paging.get("ItemsPerPage"), page_size, minimum=1),
        )

    def _get(self, path: str, params: dict[str, str] | None, operation: str) -> tuple[int, Any]:
        """(status, parsed JSON body or None). Network failures become PaySimpleTransientError."""
        query = f"?{urlencode(params)}" if params else ""
        try:
            # No redirects are followed: one elsewhere would drop (or leak) the Authorization header, so it
            # is an error (HTTP 3xx).
            response = self._session.request(
                "GET",
                f"{self._base_url}{path}{query}",
                headers={"Authorization": self._authorization, "Accept": "application/json"},
                timeout_seconds=self._timeout_seconds,
            )
        except HttpUnreachable as exc:
            logger.warning("PaySimple request failed", extra={"operation": operation, "error": exc.kind})
            raise PaySimpleTransientError(f"PaySimple {operation} failed: {exc.kind}") from None
        except HttpUnsendable as exc:
            # E.g. a key pasted with a newline: the refusal quotes the `basic user:key` header, so keep only
            # the type. Only new credentials can fix it.
            logger.warning(
                "PaySimple request could not be sent", extra={"operation": operation, "error": exc.kind}
            )
            unsendable = PaySimpleAuthError if exc.bad_header else PaySimpleRequestError
            raise unsendable(f"PaySimple {operation} could not be sent: {exc.kind}") from None
        try:
            document: Any = response.json() if response.body else None
        except ValueError:
            document = None
        return response.status, document


def _raise_for_status(status: int, errors: dict[str, Any] | None, operation: str) -> None:
    if 200 <= status < 300:
        return
    error_code = _code(errors, "ErrorCode")
    trace_code = _code(errors, "TraceCode")
    error_type: type[PaySimpleError]
    if status in (401, 403):
        error_type = PaySimpleAuthError
    elif status == 429 or status >= 500:
        error_type = PaySimpleTransientError
    else:
        error_type = PaySimpleRequestError
    logger.warning(
        "PaySimple request rejected",
        extra={
            "operation": operation,
            "status_code": status,
            "error_code": error_code,
            "trace_code": trace_code,
        },
    )
    suffix = (
        f" ({error_code}, TraceCode {trace_code})" if trace_code else f" ({error_code})" if error_code else ""
    )
    raise error_type(
        f"PaySimple {operation} answered HTTP {status}{suffix}",
        status_code=status,
        error_code=error_code,
        trace_code=trace_code,
    )


def _parse_customer(raw: Any, operation: str) -> PaySimpleCustomer:
    try:
        return PaySimpleCustomer.model_validate(raw)
    except ValidationError as exc:
        # Name the fields only: pydantic's own message quotes the values, which may hold card numbers.
        raise PaySimpleRequestError(
            f"PaySimple {operation} returned a customer we cannot read (fields: {invalid_fields(exc)})"
        ) from None


def _meta_errors(document: Any) -> dict[str, Any] | None:
    meta = document.get("Meta") if isinstance(document, dict) else None
    errors = meta.get("Errors") if isinstance(meta, dict) else None
    return errors if isinstance(errors, dict) else None


def _paging_details(document: Any) -> dict[str, Any]:
    meta = document.get("Meta") if isinstance(document, dict) else None
    paging = meta.get("PagingDetails") if isinstance(meta, dict) else None
    return paging if isinstance(paging, dict) else {}


def _code(errors: dict[str, Any] | None, name: str) -> str | None:
    value = errors.get(name) if errors else None
    return str(value)[:_MAX_CODE_LENGTH] if value is not None else None


def _int_or(value: Any, default: int, *, minimum: int = 0) -> int:
    usable = isinstance(value, int) and not isinstance(value, bool) and value >= minimum
    return value if usable else default
