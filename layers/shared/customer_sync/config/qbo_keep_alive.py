"""QboKeepAliveFunction's settings."""

from pydantic import Field

from customer_sync.config.clients import ClientSettings


class QboKeepAliveSettings(ClientSettings):
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
