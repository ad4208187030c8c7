"""IngestFunction's settings."""

from typing import Literal

from pydantic import Field

from customer_sync.config.shared import SecretNames


class IngestSettings(SecretNames):
    changes_queue_url: str = Field(min_length=1)
    max_body_bytes: int = Field(default=64 * 1024, gt=0)
    # PaySimple's signature encoding is unconfirmed (reference/paysimple-api.md), so it is configurable.
    webhook_signature_encoding: Literal["hex", "base64"] = "hex"
    secrets_cache_seconds: int = Field(default=300, ge=0)
