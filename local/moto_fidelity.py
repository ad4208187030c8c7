"""Where moto is kinder than AWS in something this project relies on, made as strict as AWS.

local/moto_patches.py makes moto faster without changing its answers; this module changes answers, to
AWS's. It applies wherever moto stands in for AWS: the tests' in-process mock (tests/conftest.py) and the
local stack's moto server (local/moto_process.py).

- Cognito: a user's own UpdateUserAttributes (with their access token) writes only the attributes its app
  client may write (the client's WriteAttributes), else NotAuthorizedException. moto writes any. The
  console's client may write `email` only, so a merchant admin cannot set `custom:merchant_id` to
  another merchant's id, which the admin API trusts (template.yaml, ConsoleUserPoolClient).
- Cognito: an attribute the pool's schema declares immutable (`Mutable: false`) is set when the user is
  created and never after, by the user or by an administrator: InvalidParameterException. moto changes it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from unittest import mock

UNAUTHORIZED_WRITE = "A client attempted to write unauthorized attribute"


def _immutable_in(user_pool: Any, attributes: list[dict[str, str]]) -> list[str]:
    schema = user_pool.schema_attributes
    return [a["Name"] for a in attributes if a["Name"] in schema and not schema[a["Name"]].mutable]


def _refuse_immutable(user_pool: Any, attributes: list[dict[str, str]]) -> None:
    from moto.cognitoidp.exceptions import InvalidParameterException

    immutable = _immutable_in(user_pool, attributes)
    if immutable:
        problems = " ".join(f"user.{name}: Attribute cannot be updated." for name in immutable)
        raise InvalidParameterException(f"Invalid user attributes: {problems}")


@contextmanager
def cognito_attribute_writes_as_in_aws() -> Iterator[None]:
    from moto.cognitoidp.exceptions import NotAuthorizedError
    from moto.cognitoidp.models import CognitoIdpBackend

    original_update = CognitoIdpBackend.update_user_attributes
    original_admin_update = CognitoIdpBackend.admin_update_user_attributes

    def update_user_attributes(self: Any, access_token: str, attributes: list[dict[str, str]]) -> None:
        for user_pool in self.user_pools.values():
            if access_token in user_pool.access_tokens:
                client_id, _ = user_pool.access_tokens[access_token]
                client = user_pool.clients.get(client_id)
                writable = client.extended_config.get("WriteAttributes") if client is not None else None
                if writable is not None and any(a["Name"] not in writable for a in attributes):
                    raise NotAuthorizedError(UNAUTHORIZED_WRITE)
                _refuse_immutable(user_pool, attributes)
        original_update(self, access_token, attributes)

    def admin_update_user_attributes(
        self: Any, user_pool_id: str, username: str, attributes: list[dict[str, str]]
    ) -> None:
        _refuse_immutable(self.describe_user_pool(user_pool_id), attributes)
        original_admin_update(self, user_pool_id, username, attributes)

    with ExitStack() as patches:
        patches.enter_context(
            mock.patch.object(CognitoIdpBackend, "update_user_attributes", update_user_attributes)
        )
        patches.enter_context(
            mock.patch.object(CognitoIdpBackend, "admin_update_user_attributes", admin_update_user_attributes)
        )
        yield


@contextmanager
def moto_as_strict_as_aws() -> Iterator[None]:
    with cognito_attribute_writes_as_in_aws():
        yield
