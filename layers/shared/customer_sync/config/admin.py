"""AdminFunction's settings."""

from pydantic import Field

from customer_sync.config.clients import ClientSettings


class AdminSettings(ClientSettings):
    """QBO_REVOKE_URL (ServiceUrls) is where Disconnect revokes a merchant's tokens."""

    # The console's Cognito user pool, where operators invite merchant admins.
    user_pool_id: str = Field(min_length=1)
    changes_queue_url: str = Field(min_length=1)
    changes_dlq_url: str = Field(min_length=1)
    max_body_bytes: int = Field(default=64 * 1024, gt=0)
