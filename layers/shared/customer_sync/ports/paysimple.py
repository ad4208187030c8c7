"""PaySimple: the customer API of one merchant (the sync fetches the full, current record for every event).

Adapter: adapters/paysimple_client.py (PaySimpleClient). Errors raised are the PaySimple errors of
customer_sync/errors.py: PaySimpleTransientError (retry), PaySimpleAuthError, PaySimpleRequestError.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from customer_sync.models.paysimple import CustomerPage, PaySimpleCustomer


class PaySimpleCustomers(Protocol):
    """PaySimple API v4 customers of one merchant (its API credentials pick the merchant)."""

    def get_customer(self, customer_id: str) -> PaySimpleCustomer | None:
        """The full, current record; None when PaySimple answers 404 (deleted or unknown)."""
        ...

    def list_customers(self, page: int = 1, page_size: int = 200) -> CustomerPage:
        """One page (1-based) of the merchant's customers."""
        ...
