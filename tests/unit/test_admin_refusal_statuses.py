"""Every error an admin route can raise becomes its HTTP status in one place
(customer_sync.handlers.admin_api.register_refusals), with a JSON message that names no secret."""

from __future__ import annotations

import binascii
import inspect
import json
from typing import cast

import pytest
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.utilities.typing import LambdaContext

from customer_sync import errors
from customer_sync.errors import (
    AdminRefusal,
    AuthorizationRejected,
    ConcurrentModification,
    Conflict,
    CustomerNotFound,
    Forbidden,
    InvalidGrant,
    InvalidMapping,
    InvalidOAuthState,
    InvalidRequest,
    LinkNotFound,
    MalformedBody,
    MerchantNotFound,
    PaySimpleAuthError,
    PaySimpleError,
    PaySimpleRequestError,
    PaySimpleTransientError,
    QboAuthExpired,
    QboAuthorizationFailed,
    QboBudgetExhausted,
    QboCompanyChanging,
    QboConnectionBroken,
    QboCustomerAlreadyLinked,
    QboDuplicateName,
    QboError,
    QboNotFound,
    QboQueryError,
    QboStaleObject,
    QboThrottled,
    QboTransientError,
    QboValidationError,
    RealmChangeUnconfirmed,
    RequestTooLarge,
)
from customer_sync.handlers.admin_api import register_refusals
from events.generate import rest_proxy_event
from tests.support.lambda_context import LambdaContextStub

STATUS_OF: list[tuple[Exception, int]] = [
    (Forbidden("you may act only on your own merchant"), 403),
    (RealmChangeUnconfirmed("connected to another company"), 409),
    (MerchantNotFound("1225"), 404),
    (CustomerNotFound("42"), 404),
    (InvalidRequest("body.qbo_customer_id", ["not a QBO customer id"]), 422),
    (Conflict("linked to someone else"), 409),
    (InvalidOAuthState("invalid state"), 400),
    (AuthorizationRejected("not granted"), 400),
    (RequestTooLarge(65536), 413),
    (MalformedBody("not JSON"), 400),
    (InvalidMapping(["GivenName takes one source"]), 422),
    (QboCustomerAlreadyLinked("7", linked_to="41"), 409),
    (ConcurrentModification("customer 42"), 409),
    (errors.NameClaimedElsewhere(), 409),
    (LinkNotFound("1225", "42"), 404),
    (QboConnectionBroken("broken"), 409),
    (QboAuthorizationFailed("3100"), 409),
    (PaySimpleAuthError("401"), 409),
    (QboTransientError("503"), 503),
    (QboCompanyChanging(connected_realm_id="2", stored_realm_id="1"), 503),
    (QboThrottled("429"), 503),
    (QboBudgetExhausted(retry_after=1.0), 503),
    (PaySimpleTransientError("503"), 503),
    (QboAuthExpired("3200"), 502),
    (QboStaleObject("5010"), 502),
    (QboDuplicateName("6240"), 502),
    (QboNotFound("610"), 502),
    (QboValidationError("2020", "required"), 502),
    (QboQueryError("4000"), 502),
    (InvalidGrant("invalid_grant"), 502),
    (QboError("other"), 502),
    (PaySimpleRequestError("404"), 502),
    (PaySimpleError("other"), 502),
    (binascii.Error("bad base64"), 400),
    (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"), 400),
]


def _answer_when_a_route_raises(error: Exception) -> tuple[int, dict[str, object]]:
    resolver = APIGatewayRestResolver()
    register_refusals(resolver)

    @resolver.get("/admin/raise")
    def raise_it() -> None:
        raise error

    answer = resolver.resolve(
        rest_proxy_event(None, method="GET", path="/admin/raise", resource="/admin/raise"),
        cast(LambdaContext, LambdaContextStub(function_name="AdminFunction")),
    )
    return answer["statusCode"], json.loads(answer["body"])


@pytest.mark.parametrize(("error", "status"), STATUS_OF, ids=lambda value: type(value).__name__)
def test_each_error_an_admin_route_raises_gets_its_status(error: Exception, status: int) -> None:
    # Given a route that raises the error
    # When it is called
    answered, body = _answer_when_a_route_raises(error)
    # Then the answer has the error's status and a JSON message
    assert answered == status
    assert body["statusCode"] == status and isinstance(body["message"], str) and body["message"]
    # and a refusal the caller can act on names itself
    assert body.get("code") == getattr(error, "code", None) if isinstance(error, AdminRefusal) else True


def test_every_refusal_and_upstream_error_class_is_in_the_table() -> None:
    # Given every admin refusal, repository error and QBO or PaySimple error defined in customer_sync.errors
    families = (AdminRefusal, errors.RepositoryError, QboError, PaySimpleError)
    defined = {
        cls
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, families)
        and cls not in (AdminRefusal, errors.RepositoryError, errors.InvalidCursor)
    }
    # Then each one (but the bases, and the cursor error the services turn into InvalidRequest) has its
    # expected status above
    assert defined <= {type(error) for error, _ in STATUS_OF}
