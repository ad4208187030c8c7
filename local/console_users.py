"""Console users in the local user pool (moto's cognito-idp): what an engineer does with the AWS CLI in a real
deployment. Operators are created here and put in the group `operators`; merchant admins are invited through
the admin API (POST /admin/merchants/{id}/admins), then given a permanent password so a demo sign-in works
at once (a real invitee replaces the temporary password at the first sign-in)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3

from local.cfn import LOCAL_REGION
from local.cognito_tokens import UserPool

if TYPE_CHECKING:
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient

OPERATORS_GROUP = "operators"


def pool_client(pool: UserPool) -> CognitoIdentityProviderClient:
    # Always the local stack's moto server, whatever AWS credentials the environment has (or lacks).
    return boto3.client(
        "cognito-idp",
        endpoint_url=pool.endpoint_url,
        region_name=LOCAL_REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def create_operator(pool: UserPool, email: str, password: str) -> None:
    cognito = pool_client(pool)
    cognito.admin_create_user(
        UserPoolId=pool.pool_id,
        Username=email,
        UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
        MessageAction="SUPPRESS",
    )
    cognito.admin_set_user_password(
        UserPoolId=pool.pool_id, Username=email, Password=password, Permanent=True
    )
    cognito.admin_add_user_to_group(UserPoolId=pool.pool_id, Username=email, GroupName=OPERATORS_GROUP)


def set_permanent_password(pool: UserPool, email: str, password: str) -> None:
    pool_client(pool).admin_set_user_password(
        UserPoolId=pool.pool_id, Username=email, Password=password, Permanent=True
    )


def id_token(pool: UserPool, email: str, password: str) -> str:
    """Signs in as the console does (USER_PASSWORD_AUTH with the public client) and returns the ID token."""
    answer = pool_client(pool).initiate_auth(
        ClientId=pool.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": password},
    )
    return str(answer["AuthenticationResult"]["IdToken"])
