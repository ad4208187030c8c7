"""IngestFunction's objects: the merchants' webhook signing keys (their own secrets, never the PaySimple
API key) and the change queue, both failing fast (PaySimple wants an answer within 10 s)."""

from __future__ import annotations

from dataclasses import dataclass

from customer_sync.adapters.merchant_secrets import MerchantSigningKeys
from customer_sync.adapters.sqs import SqsChangePublisher
from customer_sync.composition.cache import built_once
from customer_sync.config import load_settings
from customer_sync.config.ingest import IngestSettings


@dataclass(frozen=True)
class IngestComponents:
    settings: IngestSettings
    signing_keys: MerchantSigningKeys
    publisher: SqsChangePublisher


@built_once
def ingest_components() -> IngestComponents:
    settings = load_settings(IngestSettings)
    return IngestComponents(
        settings=settings,
        signing_keys=MerchantSigningKeys(settings, max_age_seconds=settings.secrets_cache_seconds),
        publisher=SqsChangePublisher(settings.changes_queue_url),
    )
