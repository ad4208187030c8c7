"""Which failures are parked (and why) and which go back to SQS (domain/sync/failure_policy.py)."""

from __future__ import annotations

import pytest

from customer_sync.domain.sync.failure_policy import describe, permanent_failure
from customer_sync.errors import (
    ConcurrentModification,
    InvalidMapping,
    MerchantNotConfigured,
    PaySimpleAuthError,
    PaySimpleRequestError,
    PaySimpleTransientError,
    QboAuthExpired,
    QboConnectionBroken,
    QboDuplicateName,
    QboStaleObject,
    QboThrottled,
    QboTransientError,
    QboValidationError,
)


@pytest.mark.parametrize(
    ("error", "reason", "code"),
    [
        (QboValidationError("2050", "QBO error 2050 (HTTP 400): bad length"), "qbo_validation_error", "2050"),
        (QboConnectionBroken("reconnect", code="invalid_grant"), "qbo_connection_broken", "invalid_grant"),
        (QboDuplicateName("QBO error 6240", code="6240"), "duplicate_name_unresolvable", "6240"),
        (PaySimpleAuthError("HTTP 401", status_code=401), "paysimple_auth_failed", "401"),
        (
            PaySimpleRequestError("HTTP 400", status_code=400, error_code="E1"),
            "paysimple_request_rejected",
            "E1",
        ),
        (MerchantNotConfigured("1225"), "merchant_not_configured", None),
        (InvalidMapping(["FirstName is required"]), "invalid_mapping", None),
    ],
)
def test_permanent_failures_are_parked_with_their_reason(error: Exception, reason: str, code: str | None):
    failure = permanent_failure(error)
    assert failure is not None and (failure.reason, failure.code) == (reason, code)


@pytest.mark.parametrize(
    "error",
    [
        QboThrottled("QBO error 3001 (HTTP 429)"),
        QboTransientError("QBO error - (HTTP 503)"),
        QboStaleObject("QBO error 5010"),
        QboAuthExpired("QBO error 3200 (HTTP 401)"),
        PaySimpleTransientError("HTTP 503"),
        ConcurrentModification("PaySimple customer 42"),
        ConnectionError("DynamoDB unreachable"),
    ],
)
def test_transient_failures_go_back_to_the_queue(error: Exception):
    assert permanent_failure(error) is None


def test_a_description_never_carries_a_card_number():
    assert "4111" not in describe(ValueError("value 4111 1111 1111 1111 rejected"))
