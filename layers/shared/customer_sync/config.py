"""Typed configuration: every environment variable is read here, once, and validated at cold start.

Each settings class is a frozen pydantic model whose field names are the variables' names (matched without
regard to case, `SECRET_PREFIX` → `secret_prefix`); pydantic converts and checks the values. The variables
are read by `from_environment`, not by pydantic-settings: its import costs the functions' cold start about
30 ms (its sources, python-dotenv), and these settings are flat strings and numbers.
"""

import os
from collections.abc import Mapping
from functools import lru_cache
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from customer_sync.domain.qbo_budget import QBO_REQUESTS_PER_MINUTE, QBO_REQUESTS_PER_SECOND, BudgetRules

ModelT = TypeVar("ModelT", bound=BaseModel)


def from_environment(
    kind: type[ModelT], *, prefix: str = "", environ: Mapping[str, str] | None = None
) -> ModelT:
    """`kind` validated from the variables named `prefix` + a field's name, in any case; a variable that is
    not a field is ignored. Raises pydantic's ValidationError, which names the field."""
    variables = {name.lower(): value for name, value in (os.environ if environ is None else environ).items()}
    return kind.model_validate(
        {
            field: variables[(prefix + field).lower()]
            for field in kind.model_fields
            if (prefix + field).lower() in variables
        }
    )


class _Settings(BaseModel):
    # Built at first use: a function reads one of these classes, and building the others at import would
    # cost every cold start about 15 ms.
    model_config = ConfigDict(frozen=True, extra="ignore", defer_build=True)


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


class QboBudgetSettings(_Settings):
    """The per-realm QBO request budget every SyncFunction and AdminFunction invocation shares
    (domain/qbo_budget.py, adapters/qbo_budget.py)."""

    qbo_budget_table_name: str = Field(min_length=1)
    qbo_budget_per_minute: int = Field(
        default=QBO_REQUESTS_PER_MINUTE,
        ge=1,
        description="QBO_BUDGET_PER_MINUTE: requests a minute QBO allows per company (QBO: 500).",
    )
    qbo_budget_per_second: int = Field(
        default=QBO_REQUESTS_PER_SECOND,
        ge=1,
        description="QBO_BUDGET_PER_SECOND: requests a second QBO allows per company (QBO: 10).",
    )
    qbo_throttle_pause_seconds: float = Field(
        default=60.0,
        ge=0,
        le=900,
        description=(
            "QBO_THROTTLE_PAUSE_SECONDS: after a 429 from QBO despite the budget (another app using the same "
            "company, or a lower limit), nobody calls that company for this long (Intuit says wait 60 s)."
        ),
    )

    qbo_budget_waiters: int = Field(
        default=4,
        ge=1,
        le=10,
        description=(
            "QBO_BUDGET_WAITERS: SyncFunction invocations that may wait for one company's turn at a time. "
            "Enough to keep a busy company at its budget (each works through its changes one QBO call after "
            "another), few enough that the other pollers stay free for other merchants: keep it well "
            "below the template's SyncMaxConcurrency."
        ),
    )

    def budget_rules(self) -> BudgetRules:
        return BudgetRules.for_limits(self.qbo_budget_per_minute, self.qbo_budget_per_second)


# Besides the PaySimple fetch and the QBO calls: DynamoDB and Secrets Manager calls, and the batch response.
RECORD_OVERHEAD_SECONDS = 2.0
# The slowest record that still succeeds: the PaySimple fetch, then up to three QBO calls (a sparse update,
# a read after 5010 and the retry), each answering just within HTTP_TIMEOUT_SECONDS.
SLOWEST_RECORD_HTTP_CALLS = 4


class SyncSettings(SecretNames, TableNames, ServiceUrls, QboBudgetSettings):
    idempotency_table_name: str = Field(min_length=1)
    changes_queue_url: str = Field(min_length=1)
    changes_dlq_url: str = Field(min_length=1)
    secrets_cache_seconds: int = Field(default=300, ge=0)
    retry_delay_first_seconds: int = Field(
        default=1,
        ge=0,
        le=60,
        description=(
            "RETRY_DELAY_FIRST_SECONDS: how long a change that failed for a passing reason (QBO throttling "
            "or down, PaySimple down, the company's QBO budget used up) waits before its first redelivery. "
            "Each further delivery waits twice as long, with jitter, up to RETRY_DELAY_MAX_SECONDS."
        ),
    )
    retry_delay_max_seconds: int = Field(
        default=110,
        ge=1,
        le=900,
        description=(
            "RETRY_DELAY_MAX_SECONDS: the longest wait between deliveries of a failing change (jittered "
            "between 80 % and 100 % of it). Short enough that changes land within two minutes of an outage "
            "ending; long enough that a day-long outage fits in the queue's maxReceiveCount (README)."
        ),
    )
    record_margin_seconds: float | None = Field(
        default=None,
        gt=0,
        le=900,
        description=(
            "RECORD_MARGIN_SECONDS: a record is started only while the invocation has at least this much "
            "time left; otherwise it goes back to SQS untouched, so Lambda never kills a batch mid-record "
            "without reporting which records succeeded. Unset: the slowest record that still succeeds, "
            "4 x HTTP_TIMEOUT_SECONDS (a PaySimple fetch and three QBO calls) + 2 s, i.e. 42 s with the "
            "defaults. The handler caps it at half the time an invocation starts with, so a batch always "
            "makes progress. SyncFunction's Timeout must be at least twice this."
        ),
    )

    @property
    def record_margin(self) -> float:
        """Seconds one record may need at worst (RECORD_MARGIN_SECONDS, or derived as described there)."""
        if self.record_margin_seconds is not None:
            return self.record_margin_seconds
        return SLOWEST_RECORD_HTTP_CALLS * self.http_timeout_seconds + RECORD_OVERHEAD_SECONDS


class AdminSettings(SecretNames, TableNames, ServiceUrls, QboBudgetSettings):
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


class QboFollowSettings(SecretNames, TableNames, ServiceUrls, QboBudgetSettings):
    """What following QBO needs (QboChangesFunction, QboCdcFunction): the tables, the merchants' QBO
    clients (their reads draw on the company's request budget, as the sync's do), and CustomerChangesQueue,
    where changes held for an inactive QBO customer are sent again."""

    changes_queue_url: str = Field(min_length=1)
    secrets_cache_seconds: int = Field(default=300, ge=0)


class QboChangesSettings(QboFollowSettings):
    idempotency_table_name: str = Field(min_length=1)


class DeadLetterSettings(TableNames):
    """DeadLetterFunction: records CustomerChangesDLQ's changes as failures (HistoryTable)."""


class QboKeepAliveSettings(SecretNames, TableNames, ServiceUrls, QboBudgetSettings):
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
    """The one place the functions read the environment; cached so each model is built once per cold start."""
    return from_environment(kind)
