"""Every error the application raises on purpose, in one module that the domain, the adapters and the
handlers all import (the domain never imports an adapter to learn what went wrong).

Sections: QBO, PaySimple, secrets and merchants, repositories, the PaySimple webhook, the sync of one
record, the admin API. Each handler turns these into HTTP statuses or batch failures in exactly one place
(customer_sync/handlers/). Turning a QBO error response into one of these stays in the QBO adapter
(adapters/qbo_faults.py).

No message here ever carries a secret, a token or a customer value: messages name ids, fields and codes.
QBO's `detail` may echo customer values, so it is an attribute, kept off `str(error)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# -- QBO -----------------------------------------------------------------------------------------------------


class QboError(Exception):
    """Any failed QBO call. `permanent` says whether repeating the same request can ever succeed."""

    permanent: bool = True

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        intuit_tid: str | None = None,
        status: int | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.intuit_tid = intuit_tid
        self.status = status
        self.detail = detail


class QboStaleObject(QboError):
    """5010: the SyncToken sent is not the current one. Re-read, re-apply, retry."""

    permanent = False


class QboDuplicateName(QboError):
    """6240: the DisplayName is held by another Customer, Vendor or Employee (maybe inactive).

    `holder_id` is the `Id=NNN` from the fault's Detail; ids of different entity types overlap, so it does
    not say which kind of record holds the name.
    """

    def __init__(self, message: str, *, holder_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.holder_id = holder_id


class QboNotFound(QboError):
    """610: deleted, merged away or made inactive."""


class QboValidationError(QboError):
    """2020, 2050, 2210, 6000 and other 2xxx/6xxx faults: permanent for this payload."""

    def __init__(self, code: str | None, message: str, **kwargs: Any) -> None:
        super().__init__(message, code=code, **kwargs)


class QboQueryError(QboError):
    """4000: QBO could not parse a query. Always a bug on our side (escaping)."""


class QboThrottled(QboError):
    """429 / 3001: too many requests for this realm. Wait (Intuit says 60 s) and retry."""

    permanent = False

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class QboBudgetExhausted(QboThrottled):
    """The company's QBO request budget (domain/qbo_budget.py), shared by every invocation, has no request
    left for now: nothing was sent. `retry_after` says when there will be one; `realm_id` is the company.
    `served_elsewhere`: as many invocations as may wait for the company are working through its changes
    at its budget's pace right now; this change takes its place in the company's line like the others."""

    def __init__(
        self, retry_after: float, *, realm_id: str | None = None, served_elsewhere: bool = False
    ) -> None:
        super().__init__(
            "the QBO request budget of this company is used up for now",
            retry_after=retry_after,
            code="budget",
        )
        self.realm_id = realm_id
        self.served_elsewhere = served_elsewhere


class QboAuthExpired(QboError):
    """401 / 3200: the access token expired or was invalidated. Refresh once and retry."""

    permanent = False


class QboAuthorizationFailed(QboError):
    """403 / 3100 (or an OAuth `invalid_client`): the app may not do this. Needs a human."""


class QboConnectionBroken(QboError):
    """401 / 120, or a refresh token QBO no longer accepts: the merchant must reconnect QBO.

    Permanent for now: the sync parks changes until the connection is restored.
    """


class QboTransientError(QboError):
    """5xx, timeouts, connection errors: try again later."""

    permanent = False


class QboCompanyChanging(QboTransientError):
    """The merchant is connected to another QBO company than the stored connection's: a connect is under
    way (the company recorded before the connection is stored, or the other way round). Nothing was sent;
    try again shortly. A link's QBO id means nothing in another company, so no call may cross over."""

    def __init__(self, *, connected_realm_id: str, stored_realm_id: str) -> None:
        super().__init__(
            f"the merchant is connected to QBO company {connected_realm_id}, but the stored connection is "
            f"for company {stored_realm_id}: a change of company is under way",
            code="company_changing",
        )
        self.connected_realm_id = connected_realm_id
        self.stored_realm_id = stored_realm_id


class InvalidGrant(QboError):
    """OAuth `invalid_grant`: the refresh token (or authorization code) is dead or unknown.

    Retrying the same grant never helps; the token provider decides whether the connection is broken.
    """


# -- PaySimple -----------------------------------------------------------------------------------------------


class PaySimpleError(Exception):
    """Any failed PaySimple call. `permanent` says whether repeating the same request can ever succeed.
    Carries the HTTP status, PaySimple's ErrorCode and TraceCode (what its support asks for)."""

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


# -- secrets and merchants -----------------------------------------------------------------------------------


class SecretNotFound(LookupError):
    """The secret does not exist (or has no value yet). Carries the name only, never a value."""


class SecretNotAnObject(ValueError):
    """The secret is JSON, but not an object. Carries the name only, never a value."""


class SecretMisconfigured(RuntimeError):
    """A deployment secret is missing or not the documented JSON (names the fields, never the values)."""


class MerchantSecretInvalid(RuntimeError):
    """The merchant's secret exists but is not the documented JSON. Names the fields, never the values."""


class MerchantNotConfigured(Exception):
    """The deployment has no usable PaySimple secret for this merchant (never onboarded, off-boarded, or
    malformed). Names the merchant only, never a secret value."""

    def __init__(self, merchant_id: str, what: str = "PaySimple credentials") -> None:
        super().__init__(f"merchant {merchant_id} has no usable {what}")
        self.merchant_id = merchant_id


# -- repositories --------------------------------------------------------------------------------------------


class RepositoryError(Exception):
    """Base of the errors repositories raise on purpose (anything else is an infrastructure failure)."""


class ConcurrentModification(RepositoryError):
    """Someone else wrote the record since it was read (optimistic version check failed): re-read, retry."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} was modified concurrently")
        self.what = what


class QboCustomerAlreadyLinked(RepositoryError):
    """A QBO customer is linked to at most one PaySimple customer; `linked_to` is the one holding it."""

    def __init__(self, qbo_customer_id: str, linked_to: str) -> None:
        super().__init__(
            f"QBO customer {qbo_customer_id} is already linked to PaySimple customer {linked_to}"
        )
        self.qbo_customer_id = qbo_customer_id
        self.linked_to = linked_to


class NameClaimedElsewhere(ConcurrentModification):
    """Another PaySimple customer of the same name is having its QBO customer created
    (models.links.NameClaim): transient, this change looks the name up again on its next delivery."""

    def __init__(self) -> None:
        super().__init__("the claim on a new customer's name")


class LinkNotFound(RepositoryError):
    def __init__(self, merchant_id: str, paysimple_customer_id: str) -> None:
        super().__init__(f"no record of PaySimple customer {paysimple_customer_id}")
        self.merchant_id = merchant_id
        self.paysimple_customer_id = paysimple_customer_id


class InvalidCursor(RepositoryError, ValueError):
    """A paging cursor that this listing did not issue (tampered, or from another merchant or list)."""

    def __init__(self) -> None:
        super().__init__("invalid cursor")


# -- the field mapping ---------------------------------------------------------------------------------------


class InvalidMapping(ValueError):
    """A field mapping that breaks the catalog's rules; `reasons` lists every rule broken."""

    def __init__(self, reasons: Sequence[str]) -> None:
        self.reasons: tuple[str, ...] = tuple(reasons)
        super().__init__("invalid field mapping: " + "; ".join(self.reasons))


# -- the PaySimple webhook -----------------------------------------------------------------------------------

UNAUTHORIZED_MESSAGE = "missing or invalid signature"


class WebhookRejected(Exception):
    """A webhook that is not accepted. `message` is safe to return and to log: it never quotes the body."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class WebhookTooLarge(WebhookRejected):
    pass


class WebhookNotJson(WebhookRejected):
    """A verified body that is not strict JSON (not UTF-8, NaN, a lone surrogate, nested too deep)."""


class WebhookInvalid(WebhookRejected):
    pass


class WebhookUnauthorized(WebhookRejected):
    """One message for every unverified request (no signature, no merchant named, an unknown merchant, a
    wrong signature), so nobody can enumerate merchants. `reason` and `merchant_id` are for operators' logs
    only, never for the response."""

    def __init__(self, reason: str, *, merchant_id: str | None = None) -> None:
        super().__init__(UNAUTHORIZED_MESSAGE)
        self.reason = reason
        self.merchant_id = merchant_id


class QueueUnavailable(RuntimeError):
    """SQS did not take an accepted change in time (a timeout, throttling, an outage). Nothing was queued;
    the sender is asked to retry (503), which PaySimple does for 72 hours."""


class UndecodableBody(ValueError):
    """API Gateway's body cannot be turned back into the bytes the client sent: flagged base64
    (`isBase64Encoded`) but not base64, or text holding a lone UTF-16 surrogate."""


# -- the sync of one queued change ---------------------------------------------------------------------------


class RecordDeferred(RuntimeError):
    """Not started: too little time left in this invocation. SQS delivers the record again."""


class HeldForInactiveQboCustomer(Exception):
    """A person made the linked QBO customer inactive and the merchant holds changes to it
    (`on_qbo_inactive` "hold"): parked, and applied once the QBO customer is active again."""

    def __init__(self, qbo_customer_id: str) -> None:
        super().__init__(f"QBO customer {qbo_customer_id} was made inactive in QBO; the change is held")
        self.qbo_customer_id = qbo_customer_id


class UnreadableMessage(ValueError):
    """The queue message is not a CustomerChangeMessage. Names the fields at fault, never their values."""


# -- the admin API -------------------------------------------------------------------------------------------


class AdminRefusal(Exception):
    """Base of every refusal of the admin API: nothing was written when one is raised."""

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


class Forbidden(AdminRefusal):
    """The verified caller may not do this (403): another merchant's route, or an operator-only action.
    Raised before anything is read or written; the message names neither the merchant nor what exists."""


class RealmChangeUnconfirmed(Conflict):
    """Connecting a different QBO company than the one the links point into, without confirming it (409)."""

    code = "realm_change_unconfirmed"
