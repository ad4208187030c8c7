"""SyncFunction's object graph: the sync service over DynamoDB, Secrets Manager and the per-merchant API
clients, and the idempotency store. Built once per cold start. QBO retries follow SyncSettings
(QBO_MAX_ATTEMPTS, QBO_THROTTLE_WAIT_SECONDS).

One DynamoDB client (adapters/aws_session.py) serves every repository and the idempotency store.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

from customer_sync.adapters.aws_session import aws_client
from customer_sync.adapters.clock import SystemClock
from customer_sync.adapters.dynamodb_history import DynamoDbFailuresRepository, DynamoDbHistoryRepository
from customer_sync.adapters.dynamodb_links import DynamoDbLinksRepository
from customer_sync.adapters.dynamodb_settings import DynamoDbMappingRepository, DynamoDbSettingsRepository
from customer_sync.adapters.merchant_clients import MerchantClientFactory, QboRetryPolicy
from customer_sync.adapters.secrets import SecretsStore
from customer_sync.config import SyncSettings
from customer_sync.domain.sync_service import SyncService
from customer_sync.ports import Clock


@dataclass(frozen=True)
class SyncWiring:
    service: SyncService
    clients: MerchantClientFactory
    idempotency_store: DynamoDBPersistenceLayer


def build_sync_wiring(settings: SyncSettings, *, clock: Clock | None = None) -> SyncWiring:
    clock = clock or SystemClock()
    dynamodb = aws_client("dynamodb")
    secrets = SecretsStore(default_max_age_seconds=settings.secrets_cache_seconds)
    clients = MerchantClientFactory.for_settings(
        settings,
        secrets=secrets,
        clock=clock,
        retry=QboRetryPolicy(
            max_attempts=settings.qbo_max_attempts,
            throttle_wait_seconds=settings.qbo_throttle_wait_seconds,
        ),
        secrets_max_age_seconds=settings.secrets_cache_seconds,
        dynamodb=dynamodb,
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
