"""SyncFunction's objects: the sync service over DynamoDB, Secrets Manager and the per-merchant API clients,
and the batch that runs it one record at a time behind Powertools idempotency. QBO retries follow
SyncSettings (QBO_MAX_ATTEMPTS, QBO_THROTTLE_WAIT_SECONDS)."""

from __future__ import annotations

from dataclasses import dataclass

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

from customer_sync.adapters.aws_session import aws_client
from customer_sync.adapters.clock import SystemClock
from customer_sync.adapters.merchant_clients import MerchantClientFactory, QboRetryPolicy
from customer_sync.adapters.secrets import SecretsStore
from customer_sync.composition.cache import built_once
from customer_sync.composition.shared import build_merchant_clients, build_repositories
from customer_sync.config import SyncSettings, load_settings
from customer_sync.domain.sync.service import SyncService
from customer_sync.handlers.sync_batch import SyncBatch


@dataclass(frozen=True)
class SyncComponents:
    settings: SyncSettings
    service: SyncService
    clients: MerchantClientFactory
    batch: SyncBatch


@built_once
def sync_components() -> SyncComponents:
    settings = load_settings(SyncSettings)
    clock = SystemClock()
    dynamodb = aws_client("dynamodb")
    repositories = build_repositories(settings, dynamodb=dynamodb, clock=clock)
    clients = build_merchant_clients(
        settings,
        secrets=SecretsStore(default_max_age_seconds=settings.secrets_cache_seconds),
        clock=clock,
        retry=QboRetryPolicy(
            max_attempts=settings.qbo_max_attempts,
            throttle_wait_seconds=settings.qbo_throttle_wait_seconds,
        ),
        dynamodb=dynamodb,
    )
    service = SyncService(
        settings=repositories.settings,
        mappings=repositories.mappings,
        links=repositories.links,
        history=repositories.history,
        failures=repositories.failures,
        clients=clients,
        clock=clock,
    )
    batch = SyncBatch(
        service,
        idempotency_store=DynamoDBPersistenceLayer(
            table_name=settings.idempotency_table_name, boto3_client=dynamodb
        ),
        record_margin_seconds=settings.record_margin,
    )
    return SyncComponents(settings=settings, service=service, clients=clients, batch=batch)
