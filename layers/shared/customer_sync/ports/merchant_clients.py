"""The per-merchant API clients the sync service and the admin API work with.

Adapter: adapters/merchant_clients.py (MerchantClientFactory). Fake: tests/fakes/merchant_clients.py.
"""

from __future__ import annotations

from typing import Protocol

from customer_sync.ports.paysimple import PaySimpleCustomers
from customer_sync.ports.qbo import QboCustomers


class MerchantClients(Protocol):
    """The API clients of one merchant, built from its secrets (cached while the Lambda is warm).

    `paysimple` raises MerchantNotConfigured; `qbo` raises QboConnectionBroken when QBO was never connected
    (or the stored connection is unusable) — both before any call is made.
    """

    def paysimple(self, merchant_id: str) -> PaySimpleCustomers: ...

    def qbo(self, merchant_id: str, *, connected_realm_id: str | None = None) -> QboCustomers:
        """`connected_realm_id`: the company the merchant is connected to now, as recorded when it connected
        (None: not known). A client of another company is never returned: a connection loaded before the
        merchant connected that company is read again, and QboCompanyChanging is raised if the stored one
        is still another company's (a connect under way)."""
        ...
