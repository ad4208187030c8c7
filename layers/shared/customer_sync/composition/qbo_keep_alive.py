"""QboKeepAliveFunction's objects: every merchant's stored QBO connection, its refresh (the merchants' token
providers, under their leases), its health and its company."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from customer_sync.adapters.admin_secrets import SecretsManagerQboConnections
from customer_sync.adapters.aws_session import aws_client
from customer_sync.adapters.clock import SystemClock
from customer_sync.adapters.dynamodb_realms import DynamoDbRealmDirectory
from customer_sync.adapters.merchant_clients import QboRetryPolicy
from customer_sync.adapters.secrets import SecretsStore
from customer_sync.composition.cache import built_once
from customer_sync.composition.shared import build_merchant_clients, build_qbo_budget, build_repositories
from customer_sync.config import load_settings
from customer_sync.config.qbo_keep_alive import QboKeepAliveSettings
from customer_sync.domain.keep_alive import KeepAlive


@dataclass(frozen=True)
class QboKeepAliveComponents:
    settings: QboKeepAliveSettings
    keep_alive: KeepAlive


@built_once
def qbo_keep_alive_components() -> QboKeepAliveComponents:
    settings = load_settings(QboKeepAliveSettings)
    clock = SystemClock()
    dynamodb = aws_client("dynamodb")
    repositories = build_repositories(settings, dynamodb=dynamodb, clock=clock)
    secrets = SecretsStore(default_max_age_seconds=settings.secrets_cache_seconds)
    # The keep-alive only refreshes tokens (Intuit's OAuth endpoint, not the metered API): the budget is
    # there because every QBO client has one, and is never drawn on.
    clients = build_merchant_clients(
        settings,
        secrets=secrets,
        clock=clock,
        retry=QboRetryPolicy(),
        budget=build_qbo_budget(settings, priority="sync", dynamodb=dynamodb),
        dynamodb=dynamodb,
    )
    keep_alive = KeepAlive(
        merchants=repositories.settings,
        connections=SecretsManagerQboConnections(secrets=secrets, names=settings, token_providers=clients),
        connection_state=repositories.connection_state,
        refresher=clients,
        realms=DynamoDbRealmDirectory(settings.settings_table_name, client=dynamodb),
        clock=clock,
        refresh_within=timedelta(days=settings.keep_alive_refresh_within_days),
        warn_within=timedelta(days=settings.connection_expiry_warning_days),
    )
    return QboKeepAliveComponents(settings=settings, keep_alive=keep_alive)
