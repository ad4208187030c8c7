"""Per-merchant webhook signing keys for the ingest function: the secret
`{prefix}merchants/<m>/webhook-signing-key` (`{"webhook_signing_key": ...}`), read through a SecretsStore so a
warm Lambda asks Secrets Manager at most once per cache period. The ingest function's IAM policy allows these
secrets alone: it never reads a merchant's PaySimple API key."""

from __future__ import annotations

from aws_lambda_powertools.utilities.parameters import SecretsProvider
from pydantic import ValidationError

from customer_sync.adapters.aws_session import FAIL_FAST
from customer_sync.adapters.secrets import SecretsStore
from customer_sync.config.shared import SecretNames
from customer_sync.errors import MerchantSecretInvalid, SecretNotAnObject, SecretNotFound
from customer_sync.models.merchant_secrets import WebhookSigningKey
from customer_sync.models.validation import invalid_fields


class MerchantSigningKeys:
    """Implements ports.SigningKeys.

    A secret that does not exist, or is scheduled for deletion (an off-boarded merchant), is an unknown
    merchant. So is a merchant onboarded before this secret existed, until `make migrate-signing-keys` copies
    its key out of the PaySimple secret. A secret that exists but is not the documented JSON raises
    MerchantSecretInvalid (names the secret and the fields only). Any other failure (throttling, access,
    KMS) is an outage and propagates."""

    def __init__(self, names: SecretNames, *, max_age_seconds: int, provider: SecretsProvider | None = None):
        self._names = names
        # Fail fast: the ingest function must answer PaySimple within 10 s (and times out after 8 s).
        self._store = SecretsStore(
            default_max_age_seconds=max_age_seconds, provider=provider, client_config=FAIL_FAST
        )

    def signing_key(self, merchant_id: str) -> str | None:
        name = self._names.webhook_signing_key(merchant_id)
        try:
            value = self._store.get_json(name)
        except SecretNotFound:
            return None
        except SecretNotAnObject:
            raise MerchantSecretInvalid(f"secret {name!r} is invalid at: (root)") from None
        try:
            return WebhookSigningKey.model_validate(value).webhook_signing_key
        except ValidationError as error:
            # `from None`: the pydantic error quotes the secret's values.
            raise MerchantSecretInvalid(f"secret {name!r} is invalid at: {invalid_fields(error)}") from None
