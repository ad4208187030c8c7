"""Every QBO error shape (capitalised Fault, lower-case platform fault, XML) maps to its typed error."""

from __future__ import annotations

import json

import pytest

from customer_sync.adapters.qbo_faults import error_from_batch_item, error_from_response, parse_fault_entries
from customer_sync.errors import (
    QboAuthExpired,
    QboAuthorizationFailed,
    QboConnectionBroken,
    QboDuplicateName,
    QboError,
    QboNotFound,
    QboQueryError,
    QboStaleObject,
    QboThrottled,
    QboTransientError,
    QboValidationError,
)


def validation_fault(code: str, message: str = "Some Error", detail: str = "") -> str:
    return json.dumps(
        {
            "Fault": {
                "Error": [{"Message": message, "Detail": detail, "code": code, "element": ""}],
                "type": "ValidationFault",
            },
            "time": "2026-01-01T10:00:00.000-07:00",
        }
    )


def platform_fault(code: str, status: int, detail: str) -> str:
    return json.dumps(
        {
            "fault": {
                "error": [
                    {
                        "message": f"message=Failure; errorCode={int(code):06d}; statusCode={status}",
                        "detail": detail,
                        "code": code,
                        "element": None,
                    }
                ],
                "type": "AUTHENTICATION",
            },
            "time": 1633520295688,
        }
    )


THROTTLE_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<IntuitResponse xmlns="http://schema.intuit.com/finance/v3" time="2026-01-01T10:00:00.000-07:00">'
    '<Fault type="SERVICE"><Error code="3001">'
    "<Message>message=ThrottleExceeded; errorCode=003001; statusCode=429</Message>"
    "<Detail>The request limit was reached.</Detail></Error></Fault></IntuitResponse>"
)


@pytest.mark.parametrize(
    ("status", "body", "expected_type", "expected_code", "permanent"),
    [
        (400, validation_fault("5010", "Stale Object Error"), QboStaleObject, "5010", False),
        (400, validation_fault("6240", "Duplicate Name Exists Error"), QboDuplicateName, "6240", True),
        (400, validation_fault("610", "Object Not Found"), QboNotFound, "610", True),
        (400, validation_fault("2020", "Required param missing"), QboValidationError, "2020", True),
        (400, validation_fault("2050", "String length is too long"), QboValidationError, "2050", True),
        (400, validation_fault("2210", "Invalid Email Address"), QboValidationError, "2210", True),
        (400, validation_fault("6000", "A business validation error"), QboValidationError, "6000", True),
        (400, validation_fault("6190", "Subscription period has ended"), QboValidationError, "6190", True),
        (400, validation_fault("4000", "Error parsing query"), QboQueryError, "4000", True),
        (401, platform_fault("3200", 401, "Token expired"), QboAuthExpired, "3200", False),
        (
            403,
            platform_fault("3100", 403, "ApplicationAuthorizationFailed"),
            QboAuthorizationFailed,
            "3100",
            True,
        ),
        (401, platform_fault("120", 401, "Authorization Failure"), QboConnectionBroken, "120", True),
        (429, THROTTLE_XML, QboThrottled, "3001", False),
        (429, "", QboThrottled, None, False),
        (
            500,
            validation_fault("10000", "An application error has occurred"),
            QboTransientError,
            "10000",
            False,
        ),
        (503, "<html>Service Unavailable</html>", QboTransientError, None, False),
        (401, "", QboAuthExpired, None, False),
    ],
)
def test_error_response_maps_to_its_typed_error(status, body, expected_type, expected_code, permanent):
    # Given an error response as QBO sends it
    # When it is parsed
    error = error_from_response(status, body, intuit_tid="tid-1")

    # Then the typed error carries the code, the trace id and whether retrying can help
    assert type(error) is expected_type
    assert isinstance(error, QboError)
    assert error.code == expected_code
    assert error.intuit_tid == "tid-1"
    assert error.status == status
    assert error.permanent is permanent


def test_duplicate_name_carries_the_holder_id_from_the_detail():
    # Given a 6240 whose Detail names the record holding the DisplayName
    body = validation_fault(
        "6240", "Duplicate Name Exists Error", "The name supplied already exists. : Id=123"
    )

    # When it is parsed
    error = error_from_response(400, body)

    # Then the holder id is available (it may be a vendor's or an employee's)
    assert isinstance(error, QboDuplicateName)
    assert error.holder_id == "123"


def test_duplicate_name_without_an_id_in_the_detail_has_no_holder():
    error = error_from_response(400, validation_fault("6240", "Duplicate Name Exists Error", "exists"))

    assert isinstance(error, QboDuplicateName)
    assert error.holder_id is None


def test_validation_error_keeps_its_detail_out_of_the_message():
    # Given a validation fault whose detail echoes a customer value
    body = validation_fault("2050", "String length is too long", "Notes: secret customer note is too long")

    # When it is parsed
    error = error_from_response(400, body)

    # Then the detail is available for the park reason but is not part of str(error)
    assert error.detail == "Notes: secret customer note is too long"
    assert "secret customer note" not in str(error)
    assert "2050" in str(error)


def test_throttle_honours_a_numeric_retry_after_header():
    error = error_from_response(429, THROTTLE_XML, retry_after_header="7")

    assert isinstance(error, QboThrottled)
    assert error.retry_after == 7.0


def test_platform_code_is_recovered_from_the_message_when_the_code_field_is_missing():
    # Given a lower-case platform fault with only `errorCode=003200` in its message
    body = json.dumps({"fault": {"error": [{"message": "message=AuthenticationFailed; errorCode=003200"}]}})

    # When it is parsed
    entries = parse_fault_entries(body)

    # Then the code is the one hidden in the message
    assert entries[0].code == "3200"


def test_xml_fault_message_entities_are_decoded():
    body = (
        '<IntuitResponse><Fault><Error code="610"><Message>Object &amp; Not Found</Message></Error></Fault>'
    )

    entries = parse_fault_entries(body)

    assert entries[0].code == "610"
    assert entries[0].message == "Object & Not Found"


def test_batch_item_fault_maps_like_a_response_fault():
    # Given a failed batch item (no HTTP status of its own)
    item = json.loads(validation_fault("5010", "Stale Object Error"))
    item["bId"] = "2"

    # When it is parsed
    error = error_from_batch_item(item)

    # Then it is the same typed error a single call would raise
    assert isinstance(error, QboStaleObject)
    assert error.status is None
