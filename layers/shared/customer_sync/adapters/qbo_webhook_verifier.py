"""The QBO app's webhook verifier token, `{prefix}qbo-webhook-verifier` = `{"verifier_token": ...}` in
Secrets Manager (read through the cache). The value is never logged nor put in an error message."""

from __future__ import annotations

from customer_sync.errors import SecretMisconfigured, SecretNotFound
from customer_sync.ports import SecretStore


class SecretsManagerVerifierToken:
    """Implements ports.QboVerifierToken."""

    def __init__(self, secrets: SecretStore, secret_name: str, *, max_age_seconds: int = 300) -> None:
        self._secrets = secrets
        self._secret_name = secret_name
        self._max_age_seconds = max_age_seconds

    def verifier_token(self) -> str:
        try:
            token = self._secrets.get_json(self._secret_name, max_age_seconds=self._max_age_seconds).get(
                "verifier_token"
            )
        except SecretNotFound:
            raise SecretMisconfigured(f"secret {self._secret_name!r} does not exist") from None
        if not isinstance(token, str) or not token:
            raise SecretMisconfigured(f"secret {self._secret_name!r} needs a 'verifier_token'")
        return token
