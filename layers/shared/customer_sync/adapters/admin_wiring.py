"""The admin API's composition root: adapters built once per cold start (never at import, so moto sees the
clients) and kept while the Lambda is warm, so secret caches, boto3 clients and the type-ahead cache serve
every warm invocation. Kept in the layer because a function's own directory holds only app.py in Lambda."""

from __future__ import annotations

from dataclasses import dataclass

from customer_sync.adapters.admin_secrets import (
    SecretsManagerMerchantCredentials,
    SecretsManagerQboConnections,
)
from customer_sync.adapters.aws_session import aws_client
from customer_sync.adapters.clock import SystemClock
from customer_sync.adapters.dynamodb_connection import DynamoDbConnectionState
from customer_sync.adapters.dynamodb_history import DynamoDbFailuresRepository, DynamoDbHistoryRepository
from customer_sync.adapters.dynamodb_links import DynamoDbLinksRepository
from customer_sync.adapters.dynamodb_settings import (
    DynamoDbMappingRepository,
    DynamoDbOAuthStateRepository,
    DynamoDbSettingsRepository,
)
from customer_sync.adapters.merchant_clients import MerchantClientFactory, QboRetryPolicy
from customer_sync.adapters.queue_stats import SqsQueueStats
from customer_sync.adapters.secrets import SecretsStore
from customer_sync.adapters.sqs import SqsChangePublisher
from customer_sync.adapters.sqs_dead_letters import SqsDeadLetterQueue
from customer_sync.config import AdminSettings, load_settings
from customer_sync.domain.admin_service import AdminPorts, AdminService

# An admin waits on the answer (API Gateway gives up after 29 s): try QBO twice, never sit out a throttle.
ADMIN_QBO_RETRY = QboRetryPolicy(max_attempts=2, throttle_wait_seconds=1.0)


def build_admin_service(settings: AdminSettings) -> AdminService:
    """One DynamoDB client (adapters/aws_session.py) serves every repository, as in SyncFunction."""
    clock = SystemClock()
    dynamodb = aws_client("dynamodb")
    secrets = SecretsStore()
    clients = MerchantClientFactory.for_settings(
        settings, secrets=secrets, clock=clock, retry=ADMIN_QBO_RETRY, dynamodb=dynamodb
    )
    ports = AdminPorts(
        settings=DynamoDbSettingsRepository(settings.settings_table_name, client=dynamodb),
        mappings=DynamoDbMappingRepository(settings.settings_table_name, client=dynamodb),
        links=DynamoDbLinksRepository(settings.links_table_name, client=dynamodb),
        history=DynamoDbHistoryRepository(settings.history_table_name, client=dynamodb),
        failures=DynamoDbFailuresRepository(settings.history_table_name, client=dynamodb),
        oauth_states=DynamoDbOAuthStateRepository(settings.settings_table_name, client=dynamodb),
        connection_state=DynamoDbConnectionState(settings.settings_table_name, clock=clock, client=dynamodb),
        credentials=SecretsManagerMerchantCredentials(secrets, settings),
        qbo_connections=SecretsManagerQboConnections(
            secrets=secrets, names=settings, token_providers=clients
        ),
        clients=clients,
        publisher=SqsChangePublisher(settings.changes_queue_url),
        dead_letters=SqsDeadLetterQueue(settings.changes_dlq_url),
        queue_stats=SqsQueueStats(settings.changes_queue_url, settings.changes_dlq_url),
        clock=clock,
    )
    return AdminService(ports, qbo_authorize_url=settings.qbo_authorize_url)


@dataclass(frozen=True)
class _Wired:
    settings: AdminSettings
    service: AdminService


_wired: _Wired | None = None


def admin_settings() -> AdminSettings:
    settings: AdminSettings = load_settings(AdminSettings)
    return settings


def admin_service() -> AdminService:
    """Built on first use, and again only when the settings object changes (tests reload settings)."""
    global _wired
    settings = admin_settings()
    if _wired is None or _wired.settings is not settings:
        _wired = _Wired(settings=settings, service=build_admin_service(settings))
    return _wired.service
