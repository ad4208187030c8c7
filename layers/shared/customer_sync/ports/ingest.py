"""Ingest: the PaySimple webhook endpoint's signing keys and the change queue.

Adapters: adapters/merchant_secrets.py (MerchantSigningKeys), adapters/sqs.py (SqsChangePublisher).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from customer_sync.models.messages import CustomerChangeMessage


class SigningKeys(Protocol):
    """A merchant's PaySimple webhook signing key, or None for a merchant this deployment does not know.
    Raises MerchantSecretInvalid when the stored key is not the documented JSON."""

    def signing_key(self, merchant_id: str) -> str | None: ...


class ChangePublisher(Protocol):
    """Puts a change on CustomerChangesQueue (FIFO: grouped per customer, de-duplicated by event id)."""

    def publish(self, message: CustomerChangeMessage) -> None: ...
