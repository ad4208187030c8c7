"""moto as strict as AWS where the project relies on it (local/moto_fidelity.py): the console's app client, as
template.yaml declares it, cannot move a merchant admin to another merchant."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from local.bootstrap import LocalStack

PASSWORD = "Fidelity-Pass-1"
EMAIL = "admin-1225@example.com"


@pytest.fixture
def console(local_stack: LocalStack) -> dict[str, Any]:
    """Merchant 1225's admin, created as the admin API invites one, signed in with the console's client."""
    cognito = boto3.client("cognito-idp")
    pool_id = local_stack.resolver.refs["ConsoleUserPool"]
    client_id = local_stack.resolver.refs["ConsoleUserPoolClient"]
    cognito.admin_create_user(
        UserPoolId=pool_id,
        Username=EMAIL,
        UserAttributes=[
            {"Name": "email", "Value": EMAIL},
            {"Name": "custom:merchant_id", "Value": "1225"},
        ],
        MessageAction="SUPPRESS",
    )
    cognito.admin_set_user_password(UserPoolId=pool_id, Username=EMAIL, Password=PASSWORD, Permanent=True)
    signed_in = cognito.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": EMAIL, "PASSWORD": PASSWORD},
    )
    return {
        "cognito": cognito,
        "pool_id": pool_id,
        "access_token": signed_in["AuthenticationResult"]["AccessToken"],
    }


def merchant_of(console: dict[str, Any]) -> str:
    user = console["cognito"].admin_get_user(UserPoolId=console["pool_id"], Username=EMAIL)
    return str(next(a["Value"] for a in user["UserAttributes"] if a["Name"] == "custom:merchant_id"))


def test_a_merchant_admin_cannot_write_their_merchant_id_with_the_consoles_client(console):
    # Given merchant 1225's admin, signed in to the console
    # When they ask Cognito themselves to make them an admin of merchant 4242
    with pytest.raises(ClientError) as refused:
        console["cognito"].update_user_attributes(
            AccessToken=console["access_token"],
            UserAttributes=[{"Name": "custom:merchant_id", "Value": "4242"}],
        )
    # Then the console's client may not write that attribute, and they stay 1225's
    assert refused.value.response["Error"]["Code"] == "NotAuthorizedException"
    assert merchant_of(console) == "1225"


def test_not_even_an_administrator_can_change_an_immutable_merchant_id(console):
    # Given a user whose merchant id the pool's schema declares immutable
    # When an administrator tries to change it
    with pytest.raises(ClientError) as refused:
        console["cognito"].admin_update_user_attributes(
            UserPoolId=console["pool_id"],
            Username=EMAIL,
            UserAttributes=[{"Name": "custom:merchant_id", "Value": "4242"}],
        )
    # Then Cognito refuses, as it does for every immutable attribute after the user's creation
    assert refused.value.response["Error"]["Code"] == "InvalidParameterException"
    assert merchant_of(console) == "1225"
