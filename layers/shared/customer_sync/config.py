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

    def webhook_signing_key(self, merchant_id: str) -> str:
        """The ingest function's own copy of the signing key, so it never reads the PaySimple API key."""
        return f"{self.secret_prefix}merchants/{merchant_id}/webhook-signing-key"

    def qbo_connection(self, merchant_id: str) -> str:
        return f"{self.secret_prefix}merchants/{merchant_id}/qbo"

    def oauth_state_key(self) -> str:
        return f"{self.secret_prefix}oauth-state-key"

    def qbo_webhook_verifier(self) -> str:
        return f"{self.secret_prefix}qbo-webhook-verifier"


class ServiceUrls(_Settings):
    """Real service URLs are the defaults; the local stack and tests point them at the emulators."""

    qbo_api_base_url: str = "https://quickbooks.api.intuit.com"
    qbo_token_url: str = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
    qbo_authorize_url: str = "https://appcenter.intuit.com/connect/oauth2"
    qbo_revoke_url: str = "https://developer.api.intuit.com/v2/oauth2/tokens/revoke"
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


# Besides the PaySimple fetch and the QBO retries: DynamoDB and Secrets Manager calls, and the batch response.
RECORD_OVERHEAD_SECONDS = 2.0


class SyncSettings(SecretNames, TableNames, ServiceUrls):
    idempotency_table_name: str = Field(min_length=1)
    changes_queue_url: str = Field(min_length=1)
    changes_dlq_url: str = Field(min_length=1)
    secrets_cache_seconds: int = Field(default=300, ge=0)
    qbo_max_attempts: int = Field(
        default=3,
        ge=1,
        le=5,
        description=(
            "QBO_MAX_ATTEMPTS: tries of one QBO call within an invocation, the first included, on "
            "throttling, 5xx and timeouts. Then the change goes back to SQS, whose redelivery is the outer "
            "retry. Each attempt may last HTTP_TIMEOUT_SECONDS, so this also sets how long one record may "
            "take (RECORD_MARGIN_SECONDS)."
        ),
    )
    qbo_throttle_wait_seconds: float = Field(
        default=1.0,
        ge=0,
        le=10,
        description=(
            "QBO_THROTTLE_WAIT_SECONDS: the longest wait after a 429 before the next attempt (a shorter "
            "Retry-After wins). One second clears QBO's per-second limit. Intuit's 60 s for the per-minute "
            "limit is not sat out inside a Lambda: SQS delivers the change again after its visibility "
            "timeout."
        ),
    )
    record_margin_seconds: float | None = Field(
        default=None,
        gt=0,
        le=900,
        description=(
            "RECORD_MARGIN_SECONDS: a record is started only while the invocation has at least this much "
            "time left; otherwise it goes back to SQS untouched, so Lambda never kills a batch mid-record "
            "without reporting which records succeeded. Unset: one record's worst case during an outage, "
            "HTTP_TIMEOUT_SECONDS (the PaySimple fetch) + QBO_MAX_ATTEMPTS x (HTTP_TIMEOUT_SECONDS + "
            "QBO_THROTTLE_WAIT_SECONDS) + 2 s, i.e. 45 s with the defaults. The handler caps it at half "
            "the time an invocation starts with, so a batch always makes progress. SyncFunction's Timeout "
            "must be at least twice this."
        ),
    )

    @property
    def record_margin(self) -> float:
        """Seconds one record may need at worst (RECORD_MARGIN_SECONDS, or derived as described there)."""
        if self.record_margin_seconds is not None:
            return self.record_margin_seconds
        one_qbo_call = self.qbo_max_attempts * (self.http_timeout_seconds + self.qbo_throttle_wait_seconds)
        return self.http_timeout_seconds + one_qbo_call + RECORD_OVERHEAD_SECONDS


class AdminSettings(SecretNames, TableNames, ServiceUrls):
    """QBO_REVOKE_URL (ServiceUrls) is where Disconnect revokes a merchant's tokens."""

    # The console's Cognito user pool, where operators invite merchant admins.
    user_pool_id: str = Field(min_length=1)
    changes_queue_url: str = Field(min_length=1)
    changes_dlq_url: str = Field(min_length=1)
    secrets_cache_seconds: int = Field(default=300, ge=0)
    max_body_bytes: int = Field(default=64 * 1024, gt=0)


class QboWebhookSettings(SecretNames):
    """QboWebhookFunction: Intuit wants 200 within 3 s; one POST may hold many companies' events."""

    qbo_changes_queue_url: str = Field(min_length=1)
    max_body_bytes: int = Field(default=1024 * 1024, gt=0)
    secrets_cache_seconds: int = Field(default=300, ge=0)


class QboFollowSettings(SecretNames, TableNames, ServiceUrls):
    """What following QBO needs (QboChangesFunction, QboCdcFunction): the tables, the merchants' QBO
    clients, and CustomerChangesQueue, where changes held for an inactive QBO customer are sent again."""

    changes_queue_url: str = Field(min_length=1)
    secrets_cache_seconds: int = Field(default=300, ge=0)


class QboChangesSettings(QboFollowSettings):
    idempotency_table_name: str = Field(min_length=1)


class QboKeepAliveSettings(SecretNames, TableNames, ServiceUrls):
    secrets_cache_seconds: int = Field(default=300, ge=0)
    keep_alive_refresh_within_days: int = Field(
        default=60,
        ge=1,
        le=99,
        description=(
            "KEEP_ALIVE_REFRESH_WITHIN_DAYS: a connection whose refresh token (about 100 days from its last "
            "use) expires within this many days is refreshed by the daily keep-alive."
        ),
    )
    connection_expiry_warning_days: int = Field(
        default=30,
        ge=1,
        le=365,
        description=(
            "CONNECTION_EXPIRY_WARNING_DAYS: within this many days of a connection's hard expiry (at most 5 "
            "years after consent; no refresh extends it) the keep-alive reports it, and its alarm fires."
        ),
    )


# The settings of every function that builds merchants' QBO and PaySimple clients.
ClientSettings = SyncSettings | AdminSettings | QboFollowSettings | QboChangesSettings | QboKeepAliveSettings

SettingsT = TypeVar("SettingsT", bound=_Settings)


@lru_cache
def load_settings(kind: type[SettingsT]) -> SettingsT:
    """The one place that reads the environment; cached so each model is built once per cold start."""
    return kind()
