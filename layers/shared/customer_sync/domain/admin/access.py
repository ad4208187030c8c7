"""Who may call which admin route (DESIGN.md "Access and the merchant console").

The caller comes only from what API Gateway verified and put in the event's `requestContext`, never from a
path, body or header the caller chose:

- the console's API (Cognito user-pool authorizer): `authorizer.claims` of the ID token. A user in the
  group `operators` is an operator; otherwise a user with `custom:merchant_id` is that merchant's admin;
  otherwise the user may do nothing;
- the IAM-authorised AdminApi (operators' automation): `identity.userArn` of the SigV4 signer, an operator;
- anything else (the public OAuth callback): nobody.

Every route has exactly one rule in ACCESS_RULES; a route without one is refused to everybody (and a test
fails). A merchant admin reaches only routes of its own merchant; only operators onboard merchants, replace
their PaySimple credentials and signing key, and invite merchant admins.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal

from customer_sync.errors import Forbidden

OPERATORS_GROUP = "operators"
MERCHANT_CLAIM = "custom:merchant_id"

Role = Literal["operator", "merchant_admin", "nobody"]


class Access(Enum):
    PUBLIC = "anyone: trusted through what the request carries (the OAuth state)"
    SIGNED_IN = "any operator or merchant admin"
    MERCHANT = "operators, and the admins of the merchant in the path"
    OPERATOR = "operators only"


MERCHANT = "/admin/merchants/{merchant_id}"

# (method, path as in the OpenAPI document) -> who may call it.
ACCESS_RULES: dict[tuple[str, str], Access] = {
    ("GET", "/oauth/qbo/callback"): Access.PUBLIC,
    ("GET", "/admin/openapi.json"): Access.SIGNED_IN,
    ("GET", "/admin/me"): Access.SIGNED_IN,
    ("GET", "/admin/field-catalog"): Access.SIGNED_IN,
    ("PUT", MERCHANT): Access.OPERATOR,
    ("POST", f"{MERCHANT}/admins"): Access.OPERATOR,
    ("GET", f"{MERCHANT}/qbo/connect"): Access.MERCHANT,
    ("POST", f"{MERCHANT}/qbo/connection"): Access.MERCHANT,
    ("DELETE", f"{MERCHANT}/qbo/connection"): Access.MERCHANT,
    ("GET", f"{MERCHANT}/status"): Access.MERCHANT,
    ("GET", f"{MERCHANT}/settings"): Access.MERCHANT,
    ("PUT", f"{MERCHANT}/settings"): Access.MERCHANT,
    ("GET", f"{MERCHANT}/mapping"): Access.MERCHANT,
    ("PUT", f"{MERCHANT}/mapping"): Access.MERCHANT,
    ("GET", f"{MERCHANT}/customers"): Access.MERCHANT,
    ("GET", f"{MERCHANT}/customers/{{paysimple_customer_id}}"): Access.MERCHANT,
    ("GET", f"{MERCHANT}/qbo/customers"): Access.MERCHANT,
    ("POST", f"{MERCHANT}/links"): Access.MERCHANT,
    ("DELETE", f"{MERCHANT}/links/{{paysimple_customer_id}}"): Access.MERCHANT,
    ("POST", f"{MERCHANT}/merges"): Access.MERCHANT,
    ("DELETE", f"{MERCHANT}/merges/{{paysimple_customer_id}}"): Access.MERCHANT,
    ("POST", f"{MERCHANT}/customers/{{paysimple_customer_id}}/qbo-customer"): Access.MERCHANT,
    ("POST", f"{MERCHANT}/go-live/apply"): Access.MERCHANT,
    ("GET", f"{MERCHANT}/failures"): Access.MERCHANT,
    ("POST", f"{MERCHANT}/failures/redrive"): Access.MERCHANT,
    ("POST", f"{MERCHANT}/dry-run"): Access.MERCHANT,
}


@dataclass(frozen=True)
class Caller:
    """The verified caller. `user_id` names who started a QBO connect (`cognito:<sub>` or `iam:<arn>`)."""

    role: Role
    user_id: str | None = None
    merchant_id: str | None = None
    email: str | None = None

    @property
    def is_operator(self) -> bool:
        return self.role == "operator"

    @property
    def signed_in_to_console(self) -> bool:
        """A person signed in to the console (Cognito), as opposed to an IAM-signed script."""
        return self.user_id is not None and self.user_id.startswith("cognito:")

    def may_act_on(self, merchant_id: str) -> bool:
        return self.is_operator or (self.role == "merchant_admin" and self.merchant_id == merchant_id)


NOBODY = Caller(role="nobody")


def _groups(value: Any) -> set[str]:
    """API Gateway's REST Cognito authorizer passes claims as strings: one group is "operators", several are
    "[a b]" or "a,b"; a list is taken as it is."""
    if isinstance(value, list):
        return {str(group) for group in value}
    if not isinstance(value, str):
        return set()
    return {group for group in value.strip("[]").replace(",", " ").split() if group}


def caller_from_request_context(request_context: Mapping[str, Any] | None) -> Caller:
    context = request_context or {}
    claims = (context.get("authorizer") or {}).get("claims")
    if isinstance(claims, Mapping) and claims.get("sub"):
        user_id = f"cognito:{claims['sub']}"
        email = str(claims["email"]) if claims.get("email") else None
        if OPERATORS_GROUP in _groups(claims.get("cognito:groups")):
            return Caller(role="operator", user_id=user_id, email=email)
        merchant_id = claims.get(MERCHANT_CLAIM)
        if isinstance(merchant_id, str) and merchant_id:
            return Caller(role="merchant_admin", user_id=user_id, merchant_id=merchant_id, email=email)
        return Caller(role="nobody", user_id=user_id, email=email)
    user_arn = (context.get("identity") or {}).get("userArn")
    if isinstance(user_arn, str) and user_arn:
        return Caller(role="operator", user_id=f"iam:{user_arn}", email=None)
    return NOBODY


def authorize(access: Access | None, caller: Caller, merchant_id: str | None) -> None:
    """Raises Forbidden unless `caller` may call a route with this rule (None: a route without a rule)."""
    if access is Access.PUBLIC:
        return
    if access is None or caller.role == "nobody":
        raise Forbidden("you are not allowed to do this")
    if access is Access.SIGNED_IN or caller.is_operator:
        return
    if access is Access.OPERATOR:
        raise Forbidden("only an operator may do this")
    if merchant_id is None or not caller.may_act_on(merchant_id):
        raise Forbidden("you may act only on your own merchant")
