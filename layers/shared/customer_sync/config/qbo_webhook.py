"""QboWebhookFunction's settings."""

from pydantic import Field

from customer_sync.config.shared import SecretNames


class QboWebhookSettings(SecretNames):
    """QboWebhookFunction: Intuit wants 200 within 3 s; one POST may hold many companies' events."""

    qbo_changes_queue_url: str = Field(min_length=1)
    max_body_bytes: int = Field(default=1024 * 1024, gt=0)
    secrets_cache_seconds: int = Field(default=300, ge=0)
