"""Per-merchant API clients built from the merchant's secrets (implements ports.MerchantClients).

- PaySimple: `{prefix}merchants/<m>/paysimple` → PaySimpleClient.
- QBO: `{prefix}merchants/<m>/qbo` (realm and tokens) → QboTokenProvider → QboClient. The app's OAuth client
  (`{prefix}qbo-app`) is read only when a token must be refreshed or a code exchanged, so QBO calls with a
  valid access token never depend on it.

Everything is built on first use and kept while the Lambda is warm: one factory per cold start serves every
merchant. Secret reads go through the SecretStore's cache, so changed credentials are picked up within the
cache period; a connect to another company is picked up at once by a caller that names the company the
merchant is connected to now (`connected_realm_id`), which the sync and the admin API do. The admin API
reuses the factory (`token_provider` for the OAuth callback, `qbo` for its type-ahead search). Every QBO
client draws on the factory's request budget, at the priority the function gave it (the sync's, or
interactive for the admin API).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pydantic import ValidationError

from customer_sync.adapters.dynamodb_connection import DynamoDbConnectionState
from customer_sync.adapters.http import HttpSession
from customer_sync.adapters.locks import DynamoDbLock
from customer_sync.adapters.paysimple_client import PaySimpleClient
from customer_sync.adapters.qbo_client import QboClient, default_backoff
from customer_sync.adapters.qbo_connection_secret import SecretsManagerQboConnection
from customer_sync.adapters.tokens import OAuthTokenEndpoint, QboTokenProvider
from customer_sync.config.clients import ClientSettings
from customer_sync.config.shared import SecretNames, ServiceUrls
from customer_sync.errors import (
    MerchantNotConfigured,
    QboAuthorizationFailed,
    QboCompanyChanging,
    SecretNotFound,
)
from customer_sync.models.merchant_secrets import PaySimpleCredentials
from customer_sync.models.qbo import QboAppCredentials, QboConnection, TokenSet
from customer_sync.ports import Clock, ConnectionStateRecorder, MerchantLock, QboRequestBudget, SecretStore

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


@dataclass(frozen=True)
class QboRetryPolicy:
    """How often one invocation tries a QBO call that failed for a passing reason (5xx, timeout).

    A throttled call (429, or the company's request budget used up) is never repeated inside a Lambda.
    SyncFunction makes each call once (`max_attempts=1`): a change that meets a failure goes back to the
    queue, whose short, growing redelivery delay is the retry (customer_sync.composition.sync). The admin
    API has a person waiting, so it tries twice (customer_sync.composition.admin).
    """

    max_attempts: int = 1
    # How long a request may wait for its turn in the company's request budget (adapters/qbo_client.py).
    budget_patience_seconds: float = 0.0
    backoff: Callable[[int], float] = default_backoff
    sleep: Callable[[float], None] = time.sleep


class AppTokenEndpoint:
    """ports.TokenEndpoint for the deployment's QBO app, whose client id and secret are read (cached) from
    Secrets Manager at the moment they are needed."""

    def __init__(
        self, secrets: SecretStore, secret_name: str, token_url: str, *, timeout_seconds: float
    ) -> None:
        self._secrets = secrets
        self._secret_name = secret_name
        self._token_url = token_url
        self._timeout_seconds = timeout_seconds
        self._session = HttpSession()

    def _endpoint(self) -> OAuthTokenEndpoint:
        try:
            app = QboAppCredentials.model_validate(self._secrets.get_json(self._secret_name))
        except (SecretNotFound, ValidationError):
            # A deployment without a usable app secret cannot refresh anything; the message says which
            # secret, never its content.
            raise QboAuthorizationFailed(
                f"the QBO app secret {self._secret_name!r} is missing or malformed", code="app_secret"
            ) from None
        return OAuthTokenEndpoint.for_app(
            self._token_url, app, timeout_seconds=self._timeout_seconds, session=self._session
        )

    def refresh(self, refresh_token: str) -> TokenSet:
        return self._endpoint().refresh(refresh_token)

    def exchange_code(self, code: str, redirect_uri: str) -> TokenSet:
        return self._endpoint().exchange_code(code, redirect_uri)


@dataclass
class _QboEntry:
    provider: QboTokenProvider
    client: QboClient | None = None


@dataclass
class _PaySimpleEntry:
    credentials: PaySimpleCredentials
    client: PaySimpleClient


@dataclass
class _Cache:
    lock: threading.Lock = field(default_factory=threading.Lock)
    paysimple: dict[str, _PaySimpleEntry] = field(default_factory=dict)
    qbo: dict[str, _QboEntry] = field(default_factory=dict)


class MerchantClientFactory:
    def __init__(
        self,
        *,
        names: SecretNames,
        urls: ServiceUrls,
        secrets: SecretStore,
        clock: Clock,
        lock: MerchantLock,
        connection_state: ConnectionStateRecorder,
        retry: QboRetryPolicy | None = None,
        budget: QboRequestBudget | None = None,
        secrets_max_age_seconds: int = 300,
    ) -> None:
        self._names = names
        self._urls = urls
        self._secrets = secrets
        self._clock = clock
        self._lock = lock
        self._connection_state = connection_state
        self._retry = retry or QboRetryPolicy()
        self._budget = budget
        self._secrets_max_age_seconds = secrets_max_age_seconds
        self._token_endpoint = AppTokenEndpoint(
            secrets, names.qbo_app(), urls.qbo_token_url, timeout_seconds=urls.http_timeout_seconds
        )
        self._paysimple_session = HttpSession()
        self._qbo_session = HttpSession()
        self._cache = _Cache()

    @classmethod
    def for_settings(
        cls,
        settings: ClientSettings,
        *,
        secrets: SecretStore,
        clock: Clock,
        retry: QboRetryPolicy | None = None,
        budget: QboRequestBudget | None = None,
        secrets_max_age_seconds: int = 300,
        dynamodb: DynamoDBClient | None = None,
    ) -> MerchantClientFactory:
        """Secret names, service URLs, and the settings table where the token-refresh lease and the
        connection health live (through `dynamodb`, or a client of their own)."""
        table = settings.settings_table_name
        return cls(
            names=settings,
            urls=settings,
            secrets=secrets,
            clock=clock,
            lock=DynamoDbLock(table, clock=clock, client=dynamodb),
            connection_state=DynamoDbConnectionState(table, clock=clock, client=dynamodb),
            retry=retry,
            budget=budget,
            secrets_max_age_seconds=secrets_max_age_seconds,
        )

    @property
    def retry_policy(self) -> QboRetryPolicy:
        """How every QBO client this factory builds retries."""
        return self._retry

    # -- PaySimple -------------------------------------------------------------------------------------------

    def paysimple(self, merchant_id: str) -> PaySimpleClient:
        credentials = self._paysimple_credentials(merchant_id)
        with self._cache.lock:
            entry = self._cache.paysimple.get(merchant_id)
            if entry is None or entry.credentials != credentials:
                client = PaySimpleClient(
                    self._urls.paysimple_api_base_url,
                    credentials,
                    session=self._paysimple_session,
                    timeout_seconds=self._urls.http_timeout_seconds,
                )
                entry = _PaySimpleEntry(credentials, client)
                self._cache.paysimple[merchant_id] = entry
            return entry.client

    def _paysimple_credentials(self, merchant_id: str) -> PaySimpleCredentials:
        name = self._names.paysimple(merchant_id)
        try:
            stored = self._secrets.get_json(name, max_age_seconds=self._secrets_max_age_seconds)
            return PaySimpleCredentials.model_validate(stored)
        except (SecretNotFound, ValidationError):
            # `from None`: pydantic's message would quote the secret's values.
            raise MerchantNotConfigured(merchant_id) from None

    # -- QBO -------------------------------------------------------------------------------------------------

    def token_provider(self, merchant_id: str) -> QboTokenProvider:
        """The merchant's access-token source (also what the admin's OAuth callback stores a new connection
        through, under the same refresh lease)."""
        with self._cache.lock:
            return self._qbo_entry(merchant_id).provider

    def qbo(self, merchant_id: str, *, connected_realm_id: str | None = None) -> QboClient:
        """Raises QboConnectionBroken when no usable connection is stored, and QboCompanyChanging when it is
        not `connected_realm_id`'s (ports.MerchantClients), before any call."""
        provider = self.token_provider(merchant_id)
        realm_id = provider.realm_id()
        if connected_realm_id is not None and realm_id != connected_realm_id:
            # Loaded before the merchant connected another company: this container's copy is out of date.
            realm_id = provider.reload().realm_id
            if realm_id != connected_realm_id:
                raise QboCompanyChanging(connected_realm_id=connected_realm_id, stored_realm_id=realm_id)
        with self._cache.lock:
            entry = self._qbo_entry(merchant_id)
            if entry.client is None or entry.client.realm_id != realm_id:
                entry.client = QboClient(
                    self._urls.qbo_api_base_url,
                    realm_id,
                    provider,
                    timeout_seconds=self._urls.http_timeout_seconds,
                    session=self._qbo_session,
                    budget=self._budget,
                    budget_patience_seconds=self._retry.budget_patience_seconds,
                    max_attempts=self._retry.max_attempts,
                    backoff=self._retry.backoff,
                    sleep=self._retry.sleep,
                )
            return entry.client

    def refresh_connection(self, merchant_id: str) -> QboConnection:
        """Refresh now, under the merchant's lease (implements ports.QboConnectionRefresher). If another
        worker refreshed meanwhile, its fresh tokens are the answer: they were just refreshed anyway."""
        provider = self.token_provider(merchant_id)
        provider.refresh_after_unauthorized(provider.connection().access_token.get_secret_value())
        return provider.connection()

    def _qbo_entry(self, merchant_id: str) -> _QboEntry:
        entry = self._cache.qbo.get(merchant_id)
        if entry is None:
            provider = QboTokenProvider(
                merchant_id,
                SecretsManagerQboConnection(
                    self._names.qbo_connection(merchant_id), max_age_seconds=self._secrets_max_age_seconds
                ),
                self._lock,
                self._token_endpoint,
                self._clock,
                self._connection_state,
            )
            entry = _QboEntry(provider)
            self._cache.qbo[merchant_id] = entry
        return entry
