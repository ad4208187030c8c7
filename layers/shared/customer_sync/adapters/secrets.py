"""Secrets Manager JSON secrets through Powertools parameters (cached reads, create-or-put writes)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import TransformParameterError
from botocore.config import Config

from customer_sync.adapters.aws_session import AWS_DEFAULT, aws_client
from customer_sync.errors import SecretNotAnObject, SecretNotFound


class SecretsStore:
    """Implements ports.SecretStore. Reads are cached for `default_max_age_seconds` (Powertools); a name this
    store wrote is re-fetched on its next read, so a writer never reads back its own stale cache.
    `client_config` sets the timeouts and retries of the Secrets Manager client (adapters/aws_session.py)."""

    def __init__(
        self,
        *,
        default_max_age_seconds: int = 300,
        provider: SecretsProvider | None = None,
        client_config: Config = AWS_DEFAULT,
    ) -> None:
        self._default_max_age_seconds = default_max_age_seconds
        self._provider = provider
        self._client_config = client_config
        self._written_since_read: set[str] = set()

    def _secrets(self) -> SecretsProvider:
        # Created on first use, never at import: moto only intercepts clients made after it starts.
        if self._provider is None:
            self._provider = SecretsProvider(
                boto3_client=aws_client("secretsmanager", config=self._client_config)
            )
        return self._provider

    def get_json(
        self, name: str, *, max_age_seconds: int | None = None, force_fetch: bool = False
    ) -> dict[str, Any]:
        provider = self._secrets()
        refetch = force_fetch or name in self._written_since_read
        try:
            value = provider.get(
                name,
                max_age=self._default_max_age_seconds if max_age_seconds is None else max_age_seconds,
                transform="json",
                force_fetch=refetch,
            )
        except TransformParameterError:
            # Not JSON at all. `from None`: the decode error holds the value.
            raise SecretNotAnObject(f"secret {name!r} is not a JSON object") from None
        except Exception as error:
            if _is_not_found(error):
                raise SecretNotFound(f"secret {name!r} does not exist") from error
            raise
        self._written_since_read.discard(name)
        if not isinstance(value, dict):
            raise SecretNotAnObject(f"secret {name!r} is not a JSON object")
        return value

    def put_json(self, name: str, value: Mapping[str, Any]) -> None:
        """Write a new version (PutSecretValue), creating the secret if it does not exist yet."""
        self._secrets().set(name, json.dumps(dict(value)))
        self._written_since_read.add(name)


# InvalidRequestException: the secret is scheduled for deletion (an off-boarded merchant).
_MISSING_SECRET_CODES = frozenset({"ResourceNotFoundException", "InvalidRequestException"})


def _is_not_found(error: BaseException) -> bool:
    """Powertools wraps SDK errors in GetParameterError; look through the chain for the SDK's code."""
    current: BaseException | None = error
    while current is not None:
        response = getattr(current, "response", None)
        if isinstance(response, dict) and response.get("Error", {}).get("Code") in _MISSING_SECRET_CODES:
            return True
        current = current.__cause__ or current.__context__
    return False
