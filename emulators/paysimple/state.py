"""The emulator's in-memory world: merchants, their customers, pending faults and webhook events.
One lock guards it; nothing here does I/O, so the lock is never held across a network call."""

from __future__ import annotations

import hmac
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from emulators.paysimple.timestamps import record_timestamp
from emulators.paysimple.validation import (
    ADDRESS_FIELDS,
    ADDRESS_TEXT_FIELDS,
    TEXT_FIELDS,
    FieldError,
    validate_customer,
)

JsonObject = dict[str, Any]
FIRST_CUSTOMER_ID = 8053900


class CustomerNotFound(Exception):
    pass


class InvalidCustomer(Exception):
    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(f"{len(errors)} invalid field(s)")
        self.errors = errors


class CredentialsInUse(Exception):
    pass


@dataclass(frozen=True)
class Merchant:
    merchant_id: str
    api_username: str
    api_key: str
    webhook_signing_key: str
    webhook_url: str | None


@dataclass
class Fault:
    status: int | None
    remaining: int
    customer_id: int | None
    latency_seconds: float


@dataclass
class WebhookEvent:
    merchant_id: str
    event_id: str
    event_type: str
    body: bytes
    attempts: int = 0
    delivered: bool = False


@dataclass
class _Stored:
    merchant_id: str
    customer: JsonObject


@dataclass
class EmulatorState:
    clock: Callable[[], datetime]
    lock: threading.RLock = field(default_factory=threading.RLock)
    merchants: dict[str, Merchant] = field(default_factory=dict)
    customers: dict[int, _Stored] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    events: dict[str, WebhookEvent] = field(default_factory=dict)
    deliveries: dict[str, list[JsonObject]] = field(default_factory=dict)
    next_customer_id: int = FIRST_CUSTOMER_ID

    def reset(self) -> None:
        """Forget everything except the id sequence, so ids never repeat within one emulator run."""
        with self.lock:
            self.merchants.clear()
            self.customers.clear()
            self.faults.clear()
            self.events.clear()
            self.deliveries.clear()

    # --- merchants -------------------------------------------------------------------------------------
    def put_merchant(self, merchant: Merchant) -> None:
        with self.lock:
            for other in self.merchants.values():
                if other.merchant_id != merchant.merchant_id and other.api_username == merchant.api_username:
                    raise CredentialsInUse(merchant.api_username)
            self.merchants[merchant.merchant_id] = merchant

    def merchant(self, merchant_id: str) -> Merchant | None:
        with self.lock:
            return self.merchants.get(merchant_id)

    def merchant_for_credentials(self, api_username: str, api_key: str) -> Merchant | None:
        with self.lock:
            candidates = list(self.merchants.values())
        for merchant in candidates:
            same_user = hmac.compare_digest(merchant.api_username.encode(), api_username.encode())
            same_key = hmac.compare_digest(merchant.api_key.encode(), api_key.encode())
            if same_user and same_key:
                return merchant
        return None

    # --- customers -------------------------------------------------------------------------------------
    def save_customer(self, merchant_id: str, payload: Mapping[str, Any]) -> JsonObject:
        """Create (no `Id`) or replace (with `Id`) a customer, as PaySimple's POST/PUT /v4/customer do."""
        errors = validate_customer(payload)
        if errors:
            raise InvalidCustomer(errors)
        now = record_timestamp(self.clock())
        with self.lock:
            customer_id = payload.get("Id")
            if customer_id is None:
                customer_id = self.next_customer_id
                self.next_customer_id += 1
                created_on = now
            else:
                existing = self._owned(merchant_id, _as_int(customer_id))
                customer_id = existing["Id"]
                created_on = existing["CreatedOn"]
            customer = _normalized(payload, customer_id=customer_id, created_on=created_on, modified=now)
            self.customers[customer_id] = _Stored(merchant_id, customer)
            return dict(customer)

    def customer(self, merchant_id: str, customer_id: int) -> JsonObject | None:
        with self.lock:
            try:
                return dict(self._owned(merchant_id, customer_id))
            except CustomerNotFound:
                return None

    def delete_customer(self, merchant_id: str, customer_id: int) -> JsonObject:
        with self.lock:
            customer = self._owned(merchant_id, customer_id)
            del self.customers[customer_id]
            return customer

    def customer_page(self, merchant_id: str, page: int, page_size: int) -> tuple[list[JsonObject], int]:
        with self.lock:
            owned = [s.customer for _, s in sorted(self.customers.items()) if s.merchant_id == merchant_id]
        start = (page - 1) * page_size
        return [dict(c) for c in owned[start : start + page_size]], len(owned)

    def _owned(self, merchant_id: str, customer_id: int) -> JsonObject:
        stored = self.customers.get(customer_id)
        # Another merchant's customer is as invisible as one that never existed.
        if stored is None or stored.merchant_id != merchant_id:
            raise CustomerNotFound(str(customer_id))
        return stored.customer

    # --- faults ----------------------------------------------------------------------------------------
    def add_fault(self, fault: Fault) -> None:
        with self.lock:
            self.faults.append(fault)

    def take_fault(self, customer_id: int | None) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.customer_id is None or fault.customer_id == customer_id:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self.faults.remove(fault)
                    return fault
        return None

    # --- webhooks --------------------------------------------------------------------------------------
    def add_event(self, event: WebhookEvent) -> None:
        with self.lock:
            self.events[event.event_id] = event

    def record_delivery(self, event: WebhookEvent, delivery: JsonObject) -> None:
        with self.lock:
            event.attempts += 1
            delivery["attempt"] = event.attempts
            event.delivered = event.delivered or delivery["delivered"]
            self.deliveries.setdefault(event.merchant_id, []).append(delivery)

    def deliveries_of(self, merchant_id: str) -> list[JsonObject]:
        with self.lock:
            return [dict(d) for d in self.deliveries.get(merchant_id, [])]

    def undelivered_events(self, max_attempts: int) -> list[WebhookEvent]:
        with self.lock:
            return [e for e in self.events.values() if not e.delivered and e.attempts < max_attempts]


def _normalized(
    payload: Mapping[str, Any], *, customer_id: int, created_on: str, modified: str
) -> JsonObject:
    """Every field present, as the real API returns them; server-owned fields come from the server."""
    customer: JsonObject = {"Id": customer_id}
    for name in TEXT_FIELDS:
        value = payload.get(name)
        customer[name] = value if value else None
    for name in ADDRESS_FIELDS:
        address = payload.get(name)
        customer[name] = {part: address.get(part) for part in ADDRESS_TEXT_FIELDS} if address else None
    customer["ShippingSameAsBilling"] = bool(payload.get("ShippingSameAsBilling", False))
    if customer["ShippingSameAsBilling"]:
        # The flag means there is no separate shipping address; consumers must fall back to billing.
        customer["ShippingAddress"] = None
    customer["CreatedOn"] = created_on
    customer["LastModified"] = modified
    return customer


def _as_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise CustomerNotFound(str(value))
    try:
        return int(value)
    except ValueError:
        raise CustomerNotFound(str(value)) from None
