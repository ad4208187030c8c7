"""Who may call which admin route: every route has a rule, and the caller comes only from what API Gateway
verified (Cognito claims on the console's API, the IAM signer on AdminApi)."""

from __future__ import annotations

import pytest

import functions.admin.app  # noqa: F401 - registers the routes
from customer_sync.domain.admin.access import (
    ACCESS_RULES,
    NOBODY,
    Access,
    Caller,
    authorize,
    caller_from_request_context,
)
from customer_sync.errors import Forbidden
from customer_sync.handlers.admin_api import app, registered_routes

ADMIN_1225 = Caller(role="merchant_admin", user_id="cognito:a", merchant_id="1225", email="a@x.example")
OPERATOR = Caller(role="operator", user_id="cognito:o", email="o@x.example")


def test_every_route_has_exactly_the_access_rules_listed() -> None:
    # Given every route the admin resolver serves
    routes = registered_routes(app)
    # Then each has a rule, and no rule names a route that does not exist (a new route without a rule fails)
    assert routes == set(ACCESS_RULES)


def claims_context(**claims: str) -> dict[str, object]:
    return {"authorizer": {"claims": {"sub": "u-1", "email": "x@example.com", **claims}}, "identity": {}}


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        (claims_context(**{"custom:merchant_id": "1225"}), ("merchant_admin", "1225")),
        (claims_context(**{"cognito:groups": "operators"}), ("operator", None)),
        (claims_context(**{"cognito:groups": "[readers operators]"}), ("operator", None)),
        (
            claims_context(**{"cognito:groups": "readers,operators", "custom:merchant_id": "1"}),
            ("operator", None),
        ),
        (claims_context(**{"cognito:groups": "readers"}), ("nobody", None)),
        (claims_context(), ("nobody", None)),
        ({"identity": {"userArn": "arn:aws:iam::1:user/ops"}}, ("operator", None)),
        ({"identity": {"userArn": None}}, ("nobody", None)),
        (None, ("nobody", None)),
        (
            {"authorizer": {"claims": {"custom:merchant_id": "1225"}}},
            ("nobody", None),
        ),  # no sub: not verified
    ],
)
def test_the_caller_comes_from_the_verified_request_context(context, expected) -> None:
    caller = caller_from_request_context(context)
    assert (caller.role, caller.merchant_id) == expected


def test_a_merchant_admin_acts_only_on_its_own_merchant() -> None:
    authorize(Access.MERCHANT, ADMIN_1225, "1225")
    with pytest.raises(Forbidden):
        authorize(Access.MERCHANT, ADMIN_1225, "4242")


@pytest.mark.parametrize("merchant_id", ["1225", "4242"])
def test_only_operators_may_call_operator_routes(merchant_id: str) -> None:
    authorize(Access.OPERATOR, OPERATOR, merchant_id)
    with pytest.raises(Forbidden):
        authorize(Access.OPERATOR, ADMIN_1225, merchant_id)


def test_nobody_gets_nothing_but_public_routes_and_a_route_without_a_rule_is_closed() -> None:
    authorize(Access.PUBLIC, NOBODY, None)
    for rule in (Access.SIGNED_IN, Access.MERCHANT, Access.OPERATOR):
        with pytest.raises(Forbidden):
            authorize(rule, NOBODY, "1225")
    with pytest.raises(Forbidden):
        authorize(None, OPERATOR, "1225")
