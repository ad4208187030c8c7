"""Onboard a merchant in the current (moto) AWS the way production ends up after onboarding: PaySimple
credentials and a QBO connection in Secrets Manager, the QBO app's client in `{prefix}qbo-app`, the merchant
profile, and (optionally) sync switched on. The emulators get the same merchant and realm.

Reused by the sync, admin and e2e tests; only the AWS side needs moto (or the local moto server).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from customer_sync.adapters.admin_secrets import SecretsManagerMerchantCredentials
from customer_sync.adapters.dynamodb_realms import DynamoDbRealmDirectory
from customer_sync.adapters.dynamodb_settings import DynamoDbSettingsRepository
from customer_sync.adapters.secrets import SecretsStore
from customer_sync.config.shared import SecretNames
from customer_sync.models.merchant_secrets import PaySimpleCredentials
from customer_sync.models.settings import MerchantSettings, SettingsChanges
from emulators.paysimple.control import PaySimpleEmulatorControl
from emulators.qbo.control import QboEmulatorControl

QBO_EMULATOR_CLIENT_ID = "emulator-client-id"
QBO_EMULATOR_CLIENT_SECRET = "emulator-client-secret"
QBO_REDIRECT_URI = "https://admin.example.test/oauth/qbo/callback"


@dataclass(frozen=True)
class OnboardedMerchant:
    merchant_id: str
    realm_id: str
    api_username: str
    api_key: str
    webhook_signing_key: str
    settings: MerchantSettings


def write_paysimple_secret(
    names: SecretNames, merchant_id: str, value: Mapping[str, Any], *, store: SecretsStore | None = None
) -> None:
    """The merchant's PaySimple secret (`api_username`, `api_key`, `webhook_signing_key`) alone, created or
    replaced: what a merchant onboarded before the ingest function's own signing-key secret has."""
    (store or SecretsStore()).put_json(names.paysimple(merchant_id), value)


def write_merchant_secrets(
    names: SecretNames,
    merchant_id: str,
    credentials: PaySimpleCredentials,
    *,
    store: SecretsStore | None = None,
) -> None:
    """Both secrets the admin API's onboarding writes: the PaySimple secret and the signing key's own."""
    SecretsManagerMerchantCredentials(store or SecretsStore(), names).save_paysimple_credentials(
        merchant_id, credentials
    )


def write_qbo_app_secret(
    names: SecretNames,
    *,
    store: SecretsStore | None = None,
    client_id: str = QBO_EMULATOR_CLIENT_ID,
    client_secret: str = QBO_EMULATOR_CLIENT_SECRET,
    redirect_uri: str = QBO_REDIRECT_URI,
) -> None:
    """Replace the template's generated `qbo-app` secret with the emulator's OAuth client."""
    value = {"client_id": client_id, "client_secret": client_secret, "redirect_uri": redirect_uri}
    (store or SecretsStore()).put_json(names.qbo_app(), value)


def write_qbo_connection(
    names: SecretNames, merchant_id: str, realm: dict[str, Any], *, store: SecretsStore | None = None
) -> None:
    """Store what `QboEmulatorControl.create_realm` handed out as the merchant's QBO connection secret."""
    now = datetime.now(UTC)
    connection = {
        "realm_id": realm["realm_id"],
        "access_token": realm["access_token"],
        "access_token_expires_at": (
            now + timedelta(seconds=int(realm["access_token_expires_in"]))
        ).isoformat(),
        "refresh_token": realm["refresh_token"],
        "refresh_token_expires_at": (
            now + timedelta(seconds=int(realm["refresh_token_expires_in"]))
        ).isoformat(),
    }
    (store or SecretsStore()).put_json(names.qbo_connection(merchant_id), connection)


def onboard_merchant(
    env: dict[str, str],
    merchant_id: str,
    *,
    qbo: QboEmulatorControl,
    paysimple: PaySimpleEmulatorControl,
    enable_sync_at: datetime | None = None,
    realm_id: str | None = None,
    settings: SettingsChanges | None = None,
) -> OnboardedMerchant:
    """Everything a merchant needs before its first change can sync. `env` is a function's environment (for
    the secret prefix and table names). Sync is switched on at `enable_sync_at` (default: now) unless
    `settings` says otherwise."""
    names = SecretNames(secret_prefix=env["SECRET_PREFIX"])
    api_username, api_key = f"user-{merchant_id}", secrets.token_urlsafe(16)
    signing_key = secrets.token_urlsafe(24)
    paysimple.add_merchant(merchant_id, api_username, api_key, signing_key)
    store = SecretsStore()
    credentials = PaySimpleCredentials(
        api_username=api_username, api_key=api_key, webhook_signing_key=signing_key
    )
    write_merchant_secrets(names, merchant_id, credentials, store=store)
    write_qbo_app_secret(names, store=store)
    realm = qbo.create_realm(realm_id)
    write_qbo_connection(names, merchant_id, realm, store=store)
    # As connecting does (adapters/dynamodb_connection.py): QBO's webhooks find the merchant by its company.
    DynamoDbRealmDirectory(env["SETTINGS_TABLE_NAME"]).register(merchant_id, str(realm["realm_id"]))
    repository = DynamoDbSettingsRepository(env["SETTINGS_TABLE_NAME"])
    enabled_at = enable_sync_at or datetime.now(UTC)
    repository.ensure_merchant(merchant_id, now=enabled_at)
    changes = settings or SettingsChanges(sync_enabled=True)
    stored = repository.update_settings(merchant_id, changes, now=enabled_at)
    return OnboardedMerchant(
        merchant_id=merchant_id,
        realm_id=str(realm["realm_id"]),
        api_username=api_username,
        api_key=api_key,
        webhook_signing_key=signing_key,
        settings=stored,
    )
