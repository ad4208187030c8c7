"""Secrets Manager for the admin API: merchants' PaySimple credentials, the QBO app and connect-flow key,
and merchants' QBO connections (written by the token provider, so in exactly the format it reads).

No secret value is logged or put in an error message: errors name the secret and the fields only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from pydantic import ValidationError

from customer_sync.adapters.tokens import DISCONNECTED_AT, QboTokenProvider, stored_qbo_connection
from customer_sync.config.shared import SecretNames
from customer_sync.errors import SecretMisconfigured, SecretNotFound
from customer_sync.models.common import iso_utc
from customer_sync.models.merchant_secrets import PaySimpleCredentials, WebhookSigningKey
from customer_sync.models.qbo import QboAppCredentials, QboConnection
from customer_sync.models.validation import invalid_fields
from customer_sync.ports import SecretStore

# The key must be long enough that the state's HMAC cannot be guessed.
MIN_STATE_KEY_LENGTH = 32


class SecretsManagerMerchantCredentials:
    """Implements ports.MerchantCredentialsStore.

    Two secrets per merchant: `merchants/<m>/paysimple` (the whole credentials, for the sync and the admin
    API) and `merchants/<m>/webhook-signing-key` (the signing key alone, the only one the internet-facing
    ingest function may read). Both are written on every save, the signing key last; a save that fails
    half-way is an error the caller repeats, and every write is a whole new version."""

    def __init__(self, secrets: SecretStore, names: SecretNames) -> None:
        self._secrets = secrets
        self._names = names

    def save_paysimple_credentials(self, merchant_id: str, credentials: PaySimpleCredentials) -> None:
        self._secrets.put_json(self._names.paysimple(merchant_id), credentials.model_dump())
        signing_key = WebhookSigningKey(webhook_signing_key=credentials.webhook_signing_key)
        self._secrets.put_json(self._names.webhook_signing_key(merchant_id), signing_key.model_dump())


class TokenProviders(Protocol):
    """Where the merchant's token provider comes from (adapters/merchant_clients.MerchantClientFactory)."""

    def token_provider(self, merchant_id: str) -> QboTokenProvider: ...


class SecretsManagerQboConnections:
    """Implements ports.QboConnections. `connect` goes through the merchant's own token provider
    (QboTokenProvider.store_authorization): it takes the merchant's refresh lease, so a refresh of an older
    connection cannot overwrite the new one, and the clients built on that provider use the new connection
    at once."""

    def __init__(self, *, secrets: SecretStore, names: SecretNames, token_providers: TokenProviders) -> None:
        self._secrets = secrets
        self._names = names
        self._token_providers = token_providers

    def app_credentials(self) -> QboAppCredentials:
        name = self._names.qbo_app()
        try:
            return QboAppCredentials.model_validate(self._secrets.get_json(name))
        except SecretNotFound:
            raise SecretMisconfigured(f"secret {name!r} does not exist") from None
        except ValidationError as error:
            raise SecretMisconfigured(f"secret {name!r} is invalid at: {invalid_fields(error)}") from None

    def state_signing_key(self) -> bytes:
        name = self._names.oauth_state_key()
        try:
            key = self._secrets.get_json(name).get("key")
        except SecretNotFound:
            raise SecretMisconfigured(f"secret {name!r} does not exist") from None
        if not isinstance(key, str) or len(key) < MIN_STATE_KEY_LENGTH:
            raise SecretMisconfigured(
                f"secret {name!r} needs a 'key' of at least {MIN_STATE_KEY_LENGTH} characters"
            )
        return key.encode("utf-8")

    def stored_connection(self, merchant_id: str) -> QboConnection | None:
        return stored_qbo_connection(self._secrets, self._names.qbo_connection(merchant_id), force_fetch=True)

    def clear(self, merchant_id: str, *, realm_id: str | None, at: datetime) -> None:
        """A new version without any token (the older versions Secrets Manager keeps were revoked first)."""
        value = {DISCONNECTED_AT: iso_utc(at), **({"realm_id": realm_id} if realm_id else {})}
        self._secrets.put_json(self._names.qbo_connection(merchant_id), value)

    def connect(self, merchant_id: str, *, code: str, realm_id: str) -> QboConnection:
        redirect_uri = self.app_credentials().redirect_uri
        provider = self._token_providers.token_provider(merchant_id)
        return provider.store_authorization(code, redirect_uri, realm_id)
