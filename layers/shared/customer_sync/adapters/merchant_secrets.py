"""Per-merchant PaySimple secrets (`{api_username, api_key, webhook_signing_key}`) from Secrets Manager,
read through Powertools parameters so a warm Lambda asks Secrets Manager at most once per cache period."""

from __future__ import annotations

from typing import Any

import boto3
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from botocore.config import Config
from pydantic import ValidationError

from customer_sync.config import SecretNames
from customer_sync.models.paysimple import PaySimpleCredentials

# A secret that does not exist, or is scheduled for deletion (an off-boarded merchant), is an unknown
# merchant. Any other failure (throttling, access, KMS) is an outage and propagates.
_NO_SUCH_SECRET_CODES = frozenset({"ResourceNotFoundException", "InvalidRequestException"})


# Fail fast: the ingest function must answer PaySimple within 10 s (and times out after 8 s).
_FAIL_FAST = Config(connect_timeout=2, read_timeout=2, retries={"mode": "standard", "max_attempts": 2})


class MerchantSecretInvalid(RuntimeError):
    """The merchant's secret exists but is not the documented JSON. Names the fields, never the values."""


class MerchantPaySimpleSecrets:
    """Implements ports.SigningKeys; `credentials` also serves anyone needing the PaySimple API login."""

    def __init__(self, names: SecretNames, *, max_age_seconds: int, provider: SecretsProvider | None = None):
        self._names = names
        self._max_age_seconds = max_age_seconds
        self._provider = provider

    def _secrets(self) -> SecretsProvider:
        # Created on first use, never at import: moto only intercepts clients made after it starts.
        if self._provider is None:
            self._provider = SecretsProvider(
                boto3_client=boto3.session.Session().client("secretsmanager", config=_FAIL_FAST)
            )
        return self._provider

    def credentials(self, merchant_id: str) -> PaySimpleCredentials | None:
        """The merchant's PaySimple secret, or None if this deployment has no such merchant."""
        name = self._names.paysimple(merchant_id)
        try:
            value: Any = self._secrets().get(name, max_age=self._max_age_seconds, transform="json")
        except Exception as error:
            if _is_missing_secret(error):
                return None
            raise
        try:
            return PaySimpleCredentials.model_validate(value)
        except ValidationError as error:
            fields = sorted(
                {".".join(str(part) for part in issue["loc"]) or "(root)" for issue in error.errors()}
            )
            # `from None`: the pydantic error quotes the secret's values.
            raise MerchantSecretInvalid(f"secret {name!r} is invalid at: {', '.join(fields)}") from None

    def signing_key(self, merchant_id: str) -> str | None:
        credentials = self.credentials(merchant_id)
        return None if credentials is None else credentials.webhook_signing_key


def _is_missing_secret(error: BaseException) -> bool:
    """Powertools wraps SDK errors in GetParameterError without `from`, so the SDK's error is the context."""
    seen: BaseException | None = error
    while seen is not None:
        response = getattr(seen, "response", None)
        if isinstance(response, dict) and response.get("Error", {}).get("Code") in _NO_SUCH_SECRET_CODES:
            return True
        seen = seen.__cause__ or seen.__context__
    return False
