"""Which failures are worth another delivery and which are parked for a human (DESIGN.md "Errors").

- Transient (QBO 429/5xx/timeouts, a 401 that survived a token refresh, a 5010 that survived one fresh
  read, PaySimple 429/5xx/timeouts, DynamoDB conflicts and outages, anything unexpected): the message
  fails, SQS delivers it again, and after maxReceiveCount it lands in the DLQ.
- Permanent (QBO validation 2xxx/6000, an unresolvable 6240, a broken QBO connection, PaySimple refusing
  our credentials, a merchant without secrets, a QBO customer made inactive that the merchant holds
  changes for): the change is parked with its reason and the message is acknowledged. A broken
  connection is permanent *for now*: nothing is lost, its parked changes are sent again by themselves
  when the merchant reconnects QuickBooks (domain.admin.qbo_connect), and a held change once the QBO
  customer is active again.
"""

from __future__ import annotations

from dataclasses import dataclass

from customer_sync.domain.scrub import redact_for_log
from customer_sync.domain.sync import outcomes
from customer_sync.errors import (
    HeldForInactiveQboCustomer,
    InvalidMapping,
    MerchantNotConfigured,
    PaySimpleAuthError,
    PaySimpleError,
    QboAuthorizationFailed,
    QboConnectionBroken,
    QboDuplicateName,
    QboError,
    QboQueryError,
    QboValidationError,
)

_MAX_DESCRIPTION = 500


@dataclass(frozen=True)
class PermanentFailure:
    reason: str
    code: str | None
    description: str


def describe(error: BaseException) -> str:
    """A one-line description safe to store and log: the error type and its own message (our errors
    carry codes and generic texts, never tokens or QBO's value-echoing `detail`), scrubbed to be sure."""
    message = error.message if isinstance(error, QboError | PaySimpleError) else str(error)
    return redact_for_log(f"{type(error).__name__}: {message}")[:_MAX_DESCRIPTION]


def _reason(error: Exception) -> str | None:
    if isinstance(error, QboConnectionBroken):
        return outcomes.PARK_QBO_CONNECTION_BROKEN
    if isinstance(error, QboAuthorizationFailed):
        return outcomes.PARK_QBO_AUTHORIZATION_FAILED
    if isinstance(error, QboValidationError):
        return outcomes.PARK_QBO_VALIDATION
    if isinstance(error, QboDuplicateName):
        return outcomes.PARK_DUPLICATE_NAME
    if isinstance(error, QboQueryError):
        return outcomes.PARK_QBO_QUERY_REJECTED
    if isinstance(error, QboError):
        return outcomes.PARK_QBO_REJECTED if error.permanent else None
    if isinstance(error, PaySimpleAuthError):
        return outcomes.PARK_PAYSIMPLE_AUTH
    if isinstance(error, PaySimpleError):
        return outcomes.PARK_PAYSIMPLE_REJECTED if error.permanent else None
    if isinstance(error, MerchantNotConfigured):
        return outcomes.PARK_MERCHANT_NOT_CONFIGURED
    if isinstance(error, InvalidMapping):
        return outcomes.PARK_INVALID_MAPPING
    if isinstance(error, HeldForInactiveQboCustomer):
        return outcomes.PARK_QBO_CUSTOMER_INACTIVE
    return None


def permanent_failure(error: Exception) -> PermanentFailure | None:
    """How to park `error`, or None when it is transient and the message should be delivered again."""
    reason = _reason(error)
    if reason is None:
        return None
    code: str | None = None
    if isinstance(error, QboError):
        code = error.code
    elif isinstance(error, PaySimpleError):
        code = error.error_code or (str(error.status_code) if error.status_code else None)
    return PermanentFailure(reason=reason, code=code, description=describe(error))
