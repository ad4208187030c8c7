"""Settings parts several functions share: secret names, table names and service URLs."""

from pydantic import Field

from customer_sync.config import EnvironmentSettings


class SecretNames(EnvironmentSettings):
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


class ServiceUrls(EnvironmentSettings):
    """Real service URLs are the defaults; the local stack and tests point them at the emulators."""

    qbo_api_base_url: str = "https://quickbooks.api.intuit.com"
    qbo_token_url: str = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
    qbo_authorize_url: str = "https://appcenter.intuit.com/connect/oauth2"
    qbo_revoke_url: str = "https://developer.api.intuit.com/v2/oauth2/tokens/revoke"
    paysimple_api_base_url: str = "https://api.paysimple.com"
    http_timeout_seconds: float = Field(default=10.0, gt=0)


class TableNames(EnvironmentSettings):
    links_table_name: str = Field(min_length=1)
    settings_table_name: str = Field(min_length=1)
    history_table_name: str = Field(min_length=1)
