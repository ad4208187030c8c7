"""SyncFunction's object graph: the sync service over DynamoDB, Secrets Manager and the per-merchant API
clients, and the idempotency store. Built once per cold start. QBO retries follow SyncSettings
(QBO_MAX_ATTEMPTS, QBO_THROTTLE_WAIT_SECONDS).

One boto3 session and one client per AWS service serve every repository: each new session would load the
service models again, which is most of a cold start's client cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import boto3
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
from aws_lambda_powertools.utilities.parameters import SecretsProvider

from customer_sync.adapters.clock import SystemClock
from customer_sync.adapters.dynamodb_connection import DynamoDbConnectionState
from customer_sync.adapters.dynamodb_history import DynamoDbFailuresRepository, DynamoDbHistoryRepository
from customer_sync.adapters.dynamodb_links import DynamoDbLinksRepository
from customer_sync.adapters.dynamodb_settings import DynamoDbMappingRepository, DynamoDbSettingsRepository
from customer_sync.adapters.locks import DynamoDbLock
from customer_sync.adapters.merchant_clients import MerchantClientFactory, QboRetryPolicy
from customer_sync.adapters.secrets import SecretsStore
from customer_sync.config import SyncSettings
from customer_sync.domain.sync_service import SyncService
from customer_sync.ports import Clock

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


@dataclass(frozen=True)
class SyncWiring:
    service: SyncService
    clients: MerchantClientFactory
    idempotency_store: DynamoDBPersistenceLayer


def build_sync_wiring(settings: SyncSettings, *, clock: Clock | None = None) -> SyncWiring:
    clock = clock or SystemClock()
    session = boto3.session.Session()
    dynamodb: DynamoDBClient = session.client("dynamodb")
    secrets = SecretsStore(
        default_max_age_seconds=settings.secrets_cache_seconds,
        provider=SecretsProvider(boto3_client=session.client("secretsmanager")),
    )
    clients = MerchantClientFactory(
        names=settings,
        urls=settings,
        secrets=secrets,
        clock=clock,
        lock=DynamoDbLock(settings.settings_table_name, clock=clock, client=dynamodb),
        connection_state=DynamoDbConnectionState(settings.settings_table_name, clock=clock, client=dynamodb),
        retry=QboRetryPolicy(
            max_attempts=settings.qbo_max_attempts,
            throttle_wait_seconds=settings.qbo_throttle_wait_seconds,
        ),
        secrets_max_age_seconds=settings.secrets_cache_seconds,
    )
    service = SyncService(
        settings=DynamoDbSettingsRepository(settings.settings_table_name, client=dynamodb),
        mappings=DynamoDbMappingRepository(settings.settings_table_name, client=dynamodb),
        links=DynamoDbLinksRepository(settings.links_table_name, client=dynamodb),
        history=DynamoDbHistoryRepository(settings.history_table_name, client=dynamodb),
        failures=DynamoDbFailuresRepository(settings.history_table_name, client=dynamodb),
        clients=clients,
        clock=clock,
    )
    idempotency_store = DynamoDBPersistenceLayer(
        table_name=settings.idempotency_table_name, boto3_client=dynamodb
    )
    return SyncWiring(service=service, clients=clients, idempotency_store=idempotency_store)
