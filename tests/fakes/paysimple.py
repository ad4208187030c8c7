"""An in-memory PaySimple customer API of one merchant (ports.PaySimpleCustomers) for unit tests."""

from __future__ import annotations

from typing import Any

from customer_sync.errors import PaySimpleError
from customer_sync.models.paysimple import CustomerPage, PaySimpleCustomer


class FakePaySimpleCustomers:
    def __init__(self) -> None:
        self.customers: dict[str, PaySimpleCustomer] = {}
        self._faults: list[PaySimpleError] = []
        self.fetches = 0

    def save(self, customer_id: int, **fields: Any) -> PaySimpleCustomer:
        customer = PaySimpleCustomer.model_validate({"Id": customer_id, **fields})
        self.customers[str(customer_id)] = customer
        return customer

    def delete(self, customer_id: int) -> None:
        del self.customers[str(customer_id)]

    def fail_next(self, error: PaySimpleError, *, count: int = 1) -> None:
        self._faults.extend([error] * count)

    def get_customer(self, customer_id: str) -> PaySimpleCustomer | None:
        self.fetches += 1
        if self._faults:
            raise self._faults.pop(0)
        return self.customers.get(customer_id)

    def list_customers(self, page: int = 1, page_size: int = 200) -> CustomerPage:
        ordered = [self.customers[key] for key in sorted(self.customers, key=int)]
        start = (page - 1) * page_size
        return CustomerPage(
            items=ordered[start : start + page_size],
            total_items=len(ordered),
            page=page,
            items_per_page=page_size,
        )
