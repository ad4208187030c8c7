"""A merchant's QBO connection secret, `{prefix}merchants/<m>/qbo`, with Secrets Manager's version stages.

- AWSCURRENT is the connection every reader uses (the admin API's status reads it too).
- AWSPENDING holds a staged rotation: tokens QBO issued that are stored but not yet current. Its JSON is the
  connection plus `replaces_version_id`, the version it was rotated from. It becomes current only while that
  version is still current (QboTokenProvider decides, under the refresh lease).

Writes carry a ClientRequestToken (the new version's id), so a retried write makes no second version. No
token is ever logged or put in an error message.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from pydantic import ValidationError

from customer_sync.adapters.aws_session import aws_client
from customer_sync.errors import QboConnectionBroken
from customer_sync.models.qbo import QboConnection, StagedRotation, StoredConnection
from customer_sync.models.validation import invalid_fields
from customer_sync.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

_PENDING = "AWSPENDING"
_REPLACES = "replaces_version_id"


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class SecretsManagerQboConnection:
    """Implements ports.QboConnectionSecret for one secret. `current` reads are cached for
    `max_age_seconds` unless forced; this object's own writes replace the cached value at once."""

    def __init__(
        self, secret_name: str, *, max_age_seconds: float = 300, client: SecretsManagerClient | None = None
    ) -> None:
        self._name = secret_name
        self._max_age_seconds = max_age_seconds
        self._client = client
        self._cached: tuple[float, StoredConnection | None] | None = None

    def _secrets(self) -> SecretsManagerClient:
        if self._client is None:  # on first use: moto only intercepts clients made after it starts
            self._client = aws_client("secretsmanager")
        return self._client

    def _get(self, **version: str) -> dict[str, Any] | None:
        try:
            return dict(self._secrets().get_secret_value(SecretId=self._name, **version))
        except ClientError as error:
            # Not found: no secret, or no version with that stage. InvalidRequest: scheduled for deletion.
            if _error_code(error) in {"ResourceNotFoundException", "InvalidRequestException"}:
                return None
            raise

    def current(self, *, force: bool = False) -> StoredConnection | None:
        if (
            not force
            and self._cached is not None
            and time.monotonic() - self._cached[0] < self._max_age_seconds
        ):
            return self._cached[1]
        response = self._get()
        stored = None
        if response is not None:
            stored = StoredConnection(
                version_id=response["VersionId"], connection=_parsed(response.get("SecretString"))
            )
        self._cached = (time.monotonic(), stored)
        return stored

    def staged(self) -> StagedRotation | None:
        response = self._get(VersionStage=_PENDING)
        if response is None:
            return None
        try:
            document = json.loads(response.get("SecretString") or "")
            return StagedRotation(
                version_id=response["VersionId"],
                replaces_version_id=str(document[_REPLACES]),
                connection=QboConnection.model_validate(document),
            )
        except (ValueError, KeyError, TypeError):
            # ValidationError is a ValueError. A staged value that does not parse cannot be made current.
            logger.warning(
                "ignoring a staged QBO connection that does not parse", extra={"secret": self._name}
            )
            return None

    def stage(self, connection: QboConnection, *, replaces_version_id: str, request_token: str) -> str:
        value = {**connection.to_secret(), _REPLACES: replaces_version_id}
        self._secrets().put_secret_value(
            SecretId=self._name,
            SecretString=json.dumps(value),
            ClientRequestToken=request_token,
            VersionStages=[_PENDING],
        )
        return request_token

    def make_current(self, connection: QboConnection, *, request_token: str) -> StoredConnection:
        value = json.dumps(connection.to_secret())
        try:
            self._secrets().put_secret_value(
                SecretId=self._name, SecretString=value, ClientRequestToken=request_token
            )
        except ClientError as error:
            if _error_code(error) != "ResourceNotFoundException":
                raise
            # The merchant's first connection: the secret itself is created (its first version is current).
            self._secrets().create_secret(
                Name=self._name, SecretString=value, ClientRequestToken=request_token
            )
        stored = StoredConnection(version_id=request_token, connection=connection)
        self._cached = (time.monotonic(), stored)
        return stored


def _parsed(secret_string: str | None) -> QboConnection:
    """The stored connection; one that does not parse is a broken connection, named by field only (pydantic's
    message echoes tokens)."""
    try:
        return QboConnection.model_validate_json(secret_string or "")
    except ValidationError as error:
        raise QboConnectionBroken(
            f"the stored QBO connection is malformed (fields: {invalid_fields(error)})", code="malformed"
        ) from None
