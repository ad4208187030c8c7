"""Per-merchant PaySimple secrets (`{api_username, api_key, webhook_signing_key}`) for the ingest function,
read through a SecretsStore so a warm Lambda asks Secrets Manager at most once per cache period."""

from __future__ import annotations

from aws_lambda_powertools.utilities.parameters import SecretsProvider
from pydantic import ValidationError

from customer_sync.adapters.aws_session import FAIL_FAST
from customer_sync.adapters.secrets import SecretsStore
from customer_sync.config import SecretNames
from customer_sync.errors import MerchantSecretInvalid, SecretNotAnObject, SecretNotFound
from customer_sync.models.common import invalid_fields
from customer_sync.models.paysimple import PaySimpleCredentials


class MerchantPaySimpleSecrets:
    """Implements ports.SigningKeys; `credentials` also serves anyone needing the PaySimple API login.

    A secret that does not exist, or is scheduled for deletion (an off-boarded merchant), is an unknown
    merchant. Any other failure (throttling, access, KMS) is an outage and propagates."""

    def __init__(self, names: SecretNames, *, max_age_seconds: int, provider: SecretsProvider | None = None):
        self._names = names
        # Fail fast: the ingest function must answer PaySimple within 10 s (and times out after 8 s).
        self._store = SecretsStore(
            default_max_age_seconds=max_age_seconds, provider=provider, client_config=FAIL_FAST
        )

    def credentials(self, merchant_id: str) -> PaySimpleCredentials | None:
        """The merchant's PaySimple secret, or None if this deployment has no such merchant."""
        name = self._names.paysimple(merchant_id)
        try:
            value = self._store.get_json(name)
        except SecretNotFound:
            return None
        except SecretNotAnObject:
            raise MerchantSecretInvalid(f"secret {name!r} is invalid at: (root)") from None
        try:
            return PaySimpleCredentials.model_validate(value)
        except ValidationError as error:
            # `from None`: the pydantic error quotes the secret's values.
            raise MerchantSecretInvalid(f"secret {name!r} is invalid at: {invalid_fields(error)}") from None

    def signing_key(self, merchant_id: str) -> str | None:
        credentials = self.credentials(merchant_id)
        return None if credentials is None else credentials.webhook_signing_key
