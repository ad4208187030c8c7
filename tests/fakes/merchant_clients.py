"""Per-merchant fake clients (ports.MerchantClients) and a clock the test moves by hand."""

from __future__ import annotations

from datetime import datetime, timedelta

from customer_sync.errors import MerchantNotConfigured, QboCompanyChanging, QboConnectionBroken
from tests.fakes.paysimple import FakePaySimpleCustomers
from tests.fakes.qbo import FakeQboCustomers


class FakeMerchantClients:
    def __init__(self) -> None:
        self.paysimple_by_merchant: dict[str, FakePaySimpleCustomers] = {}
        self.qbo_by_merchant: dict[str, FakeQboCustomers] = {}
        self.disconnected: set[str] = set()
        # The company of each merchant's stored connection, where a test sets one (else any company).
        self.stored_realm: dict[str, str] = {}

    def add_merchant(self, merchant_id: str) -> tuple[FakePaySimpleCustomers, FakeQboCustomers]:
        paysimple, qbo = FakePaySimpleCustomers(), FakeQboCustomers()
        self.paysimple_by_merchant[merchant_id] = paysimple
        self.qbo_by_merchant[merchant_id] = qbo
        return paysimple, qbo

    def paysimple(self, merchant_id: str) -> FakePaySimpleCustomers:
        if merchant_id not in self.paysimple_by_merchant:
            raise MerchantNotConfigured(merchant_id)
        return self.paysimple_by_merchant[merchant_id]

    def qbo(self, merchant_id: str, *, connected_realm_id: str | None = None) -> FakeQboCustomers:
        if merchant_id in self.disconnected or merchant_id not in self.qbo_by_merchant:
            raise QboConnectionBroken("no QBO connection is stored for this merchant", code="not_connected")
        stored = self.stored_realm.get(merchant_id)
        if connected_realm_id is not None and stored is not None and stored != connected_realm_id:
            raise QboCompanyChanging(connected_realm_id=connected_realm_id, stored_realm_id=stored)
        return self.qbo_by_merchant[merchant_id]


class SettableClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> datetime:
        self.at += timedelta(**delta)
        return self.at
