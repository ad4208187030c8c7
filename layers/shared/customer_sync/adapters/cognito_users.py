"""The console's user pool in Cognito: operators invite merchant admins (ports.ConsoleUsers).

The username is the email; the merchant is the immutable `custom:merchant_id` attribute, which the app
client cannot write, so a signed-in admin can never move itself to another merchant. Cognito emails the
invitation with the temporary password; the first sign-in must choose a new one (NEW_PASSWORD_REQUIRED).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from customer_sync.adapters.aws_session import aws_client
from customer_sync.domain.admin.access import MERCHANT_CLAIM
from customer_sync.errors import Conflict, InvalidRequest

if TYPE_CHECKING:
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient
    from mypy_boto3_cognito_idp.type_defs import AttributeTypeTypeDef


class CognitoConsoleUsers:
    def __init__(self, user_pool_id: str, *, client: CognitoIdentityProviderClient | None = None) -> None:
        self._user_pool_id = user_pool_id
        self._client = client

    @property
    def client(self) -> CognitoIdentityProviderClient:
        if self._client is None:
            self._client = aws_client("cognito-idp")
        return self._client

    def invite_merchant_admin(self, email: str, merchant_id: str, *, temporary_password: str | None) -> None:
        attributes: list[AttributeTypeTypeDef] = [
            {"Name": "email", "Value": email},
            {"Name": "email_verified", "Value": "true"},
            {"Name": MERCHANT_CLAIM, "Value": merchant_id},
        ]
        try:
            if temporary_password:
                self.client.admin_create_user(
                    UserPoolId=self._user_pool_id,
                    Username=email,
                    UserAttributes=attributes,
                    DesiredDeliveryMediums=["EMAIL"],
                    TemporaryPassword=temporary_password,
                )
            else:
                self.client.admin_create_user(
                    UserPoolId=self._user_pool_id,
                    Username=email,
                    UserAttributes=attributes,
                    DesiredDeliveryMediums=["EMAIL"],
                )
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code")
            if code in ("UsernameExistsException", "AliasExistsException"):
                raise Conflict("a console user with this email already exists") from None
            if code == "InvalidParameterException":
                raise InvalidRequest(
                    "body.email", ["the user pool does not accept this email address"]
                ) from None
            if code == "InvalidPasswordException":
                raise InvalidRequest(
                    "body.temporary_password", ["the user pool's password policy refuses this password"]
                ) from None
            raise
