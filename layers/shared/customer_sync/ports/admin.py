"""Admin: what the admin API needs beyond the repositories and MerchantClients: merchant secrets, the QBO
connect flow, queue depths, the console's users and who connected QBO.

Adapters: adapters/admin_secrets.py (SecretsManagerMerchantCredentials, SecretsManagerQboConnections),
adapters/queue_stats.py (SqsQueueStats),
adapters/cognito_users.py (CognitoConsoleUsers), adapters/dynamodb_connection.py (DynamoDbConnectionState,
also the ConnectionAudit).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from customer_sync.models.merchant_secrets import PaySimpleCredentials
    from customer_sync.models.qbo import QboAppCredentials, QboConnection


class MerchantCredentialsStore(Protocol):
    """Writes a merchant's PaySimple secret (created on first save, a new version after). Never read back."""

    def save_paysimple_credentials(self, merchant_id: str, credentials: PaySimpleCredentials) -> None: ...


class QboConnections(Protocol):
    """The deployment's QBO app and each merchant's stored QBO connection."""

    def app_credentials(self) -> QboAppCredentials:
        """The OAuth client (`{prefix}qbo-app`): client_id and redirect_uri build the authorize URL."""
        ...

    def state_signing_key(self) -> bytes:
        """The HMAC key (`{prefix}oauth-state-key`) that signs the connect flow's `state`."""
        ...

    def stored_connection(self, merchant_id: str) -> QboConnection | None:
        """The stored connection (tokens stay SecretStr), or None if QBO was never connected."""
        ...

    def connect(self, merchant_id: str, *, code: str, realm_id: str) -> QboConnection:
        """Exchange the authorization code and store the connection in the format the token provider reads,
        then mark the connection healthy. Raises InvalidGrant for a dead or unknown code."""
        ...

    def clear(self, merchant_id: str, *, realm_id: str | None, at: datetime) -> None:
        """Forget the merchant's tokens (Disconnect): `stored_connection` answers None from then on."""
        ...


@dataclass(frozen=True)
class QueueDepth:
    """SQS's approximate counts: waiting, being processed (in flight), and delayed."""

    visible: int
    in_flight: int
    delayed: int = 0


class QueueStats(Protocol):
    """Depths of CustomerChangesQueue and its dead-letter queue (shared by every merchant)."""

    def changes_queue(self) -> QueueDepth: ...

    def dead_letter_queue(self) -> QueueDepth: ...


class ConsoleUsers(Protocol):
    """The console's user pool (Cognito)."""

    def invite_merchant_admin(self, email: str, merchant_id: str, *, temporary_password: str | None) -> None:
        """Create a user signed in by `email` with the immutable merchant attribute. Cognito emails the
        invitation with a temporary password (generated unless given); the first sign-in sets a new one.
        Raises Conflict if a user with this email exists, InvalidRequest for a password the pool refuses."""
        ...


@dataclass(frozen=True)
class ConnectionRecord:
    """Who connected QBO (an email, or an IAM principal for operators' scripts) and when."""

    connected_by: str
    connected_at: datetime


class ConnectionAudit(Protocol):
    def record_connected_by(self, merchant_id: str, who: str, at: datetime) -> None: ...

    def connected_by(self, merchant_id: str) -> ConnectionRecord | None: ...

    def record_company_name(self, merchant_id: str, realm_id: str, company_name: str) -> None:
        """Keep the name of the company `realm_id`, unless the merchant is connected to another one by now
        (a connect forgets the name: ports.ConnectionStateRecorder.mark_connected)."""
        ...
