"""QboWebhookFunction's objects: the app's verifier token (cached) and QboChangesQueue, both failing fast
(Intuit wants an answer within 3 s)."""

from __future__ import annotations

from dataclasses import dataclass

from customer_sync.adapters.aws_session import FAIL_FAST
from customer_sync.adapters.qbo_webhook_verifier import SecretsManagerVerifierToken
from customer_sync.adapters.secrets import SecretsStore
from customer_sync.adapters.sqs import SqsQboChangePublisher
from customer_sync.composition.cache import built_once
from customer_sync.config import load_settings
from customer_sync.config.qbo_webhook import QboWebhookSettings


@dataclass(frozen=True)
class QboWebhookComponents:
    settings: QboWebhookSettings
    verifier: SecretsManagerVerifierToken
    publisher: SqsQboChangePublisher


@built_once
def qbo_webhook_components() -> QboWebhookComponents:
    settings = load_settings(QboWebhookSettings)
    secrets = SecretsStore(default_max_age_seconds=settings.secrets_cache_seconds, client_config=FAIL_FAST)
    return QboWebhookComponents(
        settings=settings,
        verifier=SecretsManagerVerifierToken(
            secrets, settings.qbo_webhook_verifier(), max_age_seconds=settings.secrets_cache_seconds
        ),
        publisher=SqsQboChangePublisher(settings.qbo_changes_queue_url),
    )
