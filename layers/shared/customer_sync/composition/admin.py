"""AdminFunction's objects: the admin service over the repositories, Secrets Manager, the per-merchant API
clients and the queues."""

from __future__ import annotations

from dataclasses import dataclass

from customer_sync.adapters.admin_secrets import (
    SecretsManagerMerchantCredentials,
    SecretsManagerQboConnections,
)
from customer_sync.adapters.aws_session import aws_client
from customer_sync.adapters.clock import SystemClock
from customer_sync.adapters.cognito_users import CognitoConsoleUsers
from customer_sync.adapters.dynamodb_realms import DynamoDbRealmDirectory
from customer_sync.adapters.merchant_clients import QboRetryPolicy
from customer_sync.adapters.qbo_revocation import IntuitTokenRevocation
from customer_sync.adapters.queue_stats import SqsQueueStats
from customer_sync.adapters.secrets import SecretsStore
from customer_sync.adapters.sqs import SqsChangePublisher
from customer_sync.composition.cache import built_once
from customer_sync.composition.shared import build_merchant_clients, build_qbo_budget, build_repositories
from customer_sync.config import load_settings
from customer_sync.config.admin import AdminSettings
from customer_sync.domain.admin.service import AdminPorts, AdminService

# An admin waits on the answer (API Gateway gives up after 29 s): try QBO twice on a 5xx, never sit out a
# 429. Interactive calls go first in the company's request budget and wait a moment for their turn while
# the sync keeps the company busy; a company paused after a 429 is answered at once (503, try again later).
ADMIN_QBO_RETRY = QboRetryPolicy(max_attempts=2)
ADMIN_BUDGET_WAIT_SECONDS = 2.0


@dataclass(frozen=True)
class AdminComponents:
    settings: AdminSettings
    service: AdminService


@built_once
def admin_components() -> AdminComponents:
    settings = load_settings(AdminSettings)
    clock = SystemClock()
    dynamodb = aws_client("dynamodb")
    repositories = build_repositories(settings, dynamodb=dynamodb, clock=clock)
    secrets = SecretsStore(default_max_age_seconds=settings.secrets_cache_seconds)
    budget = build_qbo_budget(
        settings, priority="interactive", dynamodb=dynamodb, max_wait_seconds=ADMIN_BUDGET_WAIT_SECONDS
    )
    clients = build_merchant_clients(
        settings, secrets=secrets, clock=clock, retry=ADMIN_QBO_RETRY, budget=budget, dynamodb=dynamodb
    )
    qbo_connections = SecretsManagerQboConnections(secrets=secrets, names=settings, token_providers=clients)
    ports = AdminPorts(
        settings=repositories.settings,
        mappings=repositories.mappings,
        links=repositories.links,
        history=repositories.history,
        failures=repositories.failures,
        oauth_states=repositories.oauth_states,
        connection_state=repositories.connection_state,
        credentials=SecretsManagerMerchantCredentials(secrets, settings),
        qbo_connections=qbo_connections,
        clients=clients,
        publisher=SqsChangePublisher(settings.changes_queue_url),
        queue_stats=SqsQueueStats(settings.changes_queue_url, settings.changes_dlq_url),
        users=CognitoConsoleUsers(settings.user_pool_id),
        connection_audit=repositories.connection_state,
        revoker=IntuitTokenRevocation(
            settings.qbo_revoke_url,
            qbo_connections.app_credentials,
            timeout_seconds=settings.http_timeout_seconds,
        ),
        realms=DynamoDbRealmDirectory(settings.settings_table_name, client=dynamodb),
        clock=clock,
    )
    return AdminComponents(
        settings=settings, service=AdminService(ports, qbo_authorize_url=settings.qbo_authorize_url)
    )
