"""Typed configuration: every environment variable is read here, once, and validated at cold start."""

from functools import lru_cache
from typing import Literal, TypeVar

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class _Settings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, extra="ignore")


class SecretNames(_Settings):
    """Secrets Manager names are built from one prefix (template parameter SecretPrefix)."""

    secret_prefix: str = Field(min_length=1)

    def qbo_app(self) -> str:
        return f"{self.secret_prefix}qbo-app"

    def paysimple(self, merchant_id: str) -> str:
        return f"{self.secret_prefix}merchants/{merchant_id}/paysimple"

    def qbo_connection(self, merchant_id: str) -> str:
        return f"{self.secret_prefix}merchants/{merchant_id}/qbo"


class ServiceUrls(_Settings):
    """Real service URLs are the defaults; the local stack and tests point them at the emulators."""

    qbo_api_base_url: str = "https://quickbooks.api.intuit.com"
    qbo_token_url: str = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
    qbo_authorize_url: str = "https://appcenter.intuit.com/connect/oauth2"
    paysimple_api_base_url: str = "https://api.paysimple.com"
    http_timeout_seconds: float = Field(default=10.0, gt=0)


class IngestSettings(SecretNames):
    changes_queue_url: str = Field(min_length=1)
    max_body_bytes: int = Field(default=64 * 1024, gt=0)
    # PaySimple's signature encoding is unconfirmed (reference/paysimple-api.md), so it is configurable.
    webhook_signature_encoding: Literal["hex", "base64"] = "hex"
    secrets_cache_seconds: int = Field(default=300, ge=0)


class TableNames(_Settings):
    links_table_name: str = Field(min_length=1)
    settings_table_name: str = Field(min_length=1)
    history_table_name: str = Field(min_length=1)


class SyncSettings(SecretNames, TableNames, ServiceUrls):
    idempotency_table_name: str = Field(min_length=1)
    changes_queue_url: str = Field(min_length=1)
    changes_dlq_url: str = Field(min_length=1)
    secrets_cache_seconds: int = Field(default=300, ge=0)


class AdminSettings(SecretNames, TableNames, ServiceUrls):
    changes_queue_url: str = Field(min_length=1)
    changes_dlq_url: str = Field(min_length=1)
    max_body_bytes: int = Field(default=64 * 1024, gt=0)


SettingsT = TypeVar("SettingsT", bound=_Settings)


@lru_cache
def load_settings(kind: type[SettingsT]) -> SettingsT:
    """The one place that reads the environment; cached so each model is built once per cold start."""
    return kind()
