"""Typed PaySimple API errors. They carry the HTTP status, PaySimple's ErrorCode and TraceCode (what its
support asks for), never credentials and never customer data."""

from __future__ import annotations


class PaySimpleError(Exception):
    """Any failed PaySimple call. `permanent` says whether repeating the same request can ever succeed."""

    permanent: bool = True

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        error_code: str | None = None,
        trace_code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.error_code = error_code
        self.trace_code = trace_code


class PaySimpleTransientError(PaySimpleError):
    """429, 5xx, timeouts, broken connections, garbled answers: let SQS deliver the message again."""

    permanent = False


class PaySimpleAuthError(PaySimpleError):
    """401/403: the merchant's API username or key is wrong or revoked. Needs a human."""


class PaySimpleRequestError(PaySimpleError):
    """Any other 4xx, or a customer record our model cannot read: repeating it will not help."""
