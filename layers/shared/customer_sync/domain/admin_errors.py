"""Why the admin API refuses a request. The handler maps each to an HTTP status in one place; messages
name ids and fields, never secrets or tokens."""

from __future__ import annotations

from collections.abc import Sequence


class AdminRefusal(Exception):
    """Base of every refusal: nothing was written when one is raised."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MerchantNotFound(AdminRefusal):
    def __init__(self, merchant_id: str) -> None:
        super().__init__("unknown merchant")
        self.merchant_id = merchant_id


class CustomerNotFound(AdminRefusal):
    def __init__(self, paysimple_customer_id: str) -> None:
        super().__init__(f"no record of PaySimple customer {paysimple_customer_id}")
        self.paysimple_customer_id = paysimple_customer_id


class InvalidRequest(AdminRefusal):
    """A value in the request cannot be used (422). `field` is where it is, e.g. "body.qbo_customer_id"."""

    def __init__(self, field: str, reasons: Sequence[str], message: str | None = None) -> None:
        super().__init__(message or "; ".join(reasons))
        self.field = field
        self.reasons = tuple(reasons)


class Conflict(AdminRefusal):
    """The request contradicts the current state (409): e.g. the QBO customer is linked to someone else."""


class InvalidOAuthState(AdminRefusal):
    """The QBO callback's `state` is missing, forged, expired or already used (400)."""


class AuthorizationRejected(AdminRefusal):
    """QuickBooks did not grant access, or refused the authorization code (400)."""


class RequestTooLarge(AdminRefusal):
    def __init__(self, limit_bytes: int) -> None:
        super().__init__(f"request body is larger than {limit_bytes} bytes")
        self.limit_bytes = limit_bytes


class MalformedBody(AdminRefusal):
    """The request body is not JSON, or cannot be decoded to text at all (400)."""
