"""A requests-based client of the emulator's `/_emulator` control API (tests, demo, local stack)."""

from __future__ import annotations

from typing import Any

import requests

JsonObject = dict[str, Any]


class EmulatorRequestError(Exception):
    """The control API refused a request; `body` holds its answer (PaySimple's envelope for a 400)."""

    def __init__(self, status_code: int, body: Any) -> None:
        super().__init__(f"PaySimple emulator answered HTTP {status_code}: {body}")
        self.status_code = status_code
        self.body = body

    @property
    def field_errors(self) -> list[JsonObject]:
        """`Meta.Errors.ErrorMessages` of a PaySimple validation error, else empty."""
        try:
            return list(self.body["Meta"]["Errors"]["ErrorMessages"])
        except (KeyError, TypeError):
            return []


class PaySimpleEmulatorControl:
    def __init__(self, base_url: str, *, timeout_seconds: float = 30.0) -> None:
        self._base_url = base_url.rstrip("/")
        self._timeout_seconds = timeout_seconds
        self._session = requests.Session()

    def add_merchant(
        self,
        merchant_id: str,
        api_username: str,
        api_key: str,
        webhook_signing_key: str,
        webhook_url: str | None = None,
    ) -> None:
        """Create or replace a merchant; calling it again changes the credentials or the webhook URL."""
        body = {
            "api_username": api_username,
            "api_key": api_key,
            "webhook_signing_key": webhook_signing_key,
            "webhook_url": webhook_url,
        }
        self._call("PUT", f"/merchants/{merchant_id}", json=body)

    def save_customer(
        self,
        merchant_id: str,
        customer: JsonObject,
        *,
        send_webhook: bool = True,
        duplicate_delivery: bool = False,
        delay_seconds: float = 0.0,
    ) -> JsonObject:
        """Create (no `Id`) or fully replace (with `Id`) a customer, as PaySimple's POST/PUT do, and send its
        customer_created/customer_updated webhook. Returns `{"customer", "event_id", "deliveries"}`;
        deliveries are empty when delayed. Raises EmulatorRequestError (400, `field_errors`) if invalid."""
        body = {
            "customer": customer,
            "send_webhook": send_webhook,
            "duplicate_delivery": duplicate_delivery,
            "delay_seconds": delay_seconds,
        }
        result: JsonObject = self._call("POST", f"/merchants/{merchant_id}/customers", json=body)
        return result

    def delete_customer(self, merchant_id: str, customer_id: int, *, send_webhook: bool = True) -> JsonObject:
        params = {"send_webhook": "true" if send_webhook else "false"}
        result: JsonObject = self._call(
            "DELETE", f"/merchants/{merchant_id}/customers/{customer_id}", params=params
        )
        return result

    def send_event(
        self, merchant_id: str, event_type: str, data: JsonObject, *, duplicate_delivery: bool = False
    ) -> JsonObject:
        """Any event (a payment, say) through the same signed delivery path."""
        body = {"event_type": event_type, "data": data, "duplicate_delivery": duplicate_delivery}
        result: JsonObject = self._call("POST", f"/merchants/{merchant_id}/events", json=body)
        return result

    def webhook_deliveries(self, merchant_id: str) -> list[JsonObject]:
        """Every attempt: event_id, event_type, attempt, status_code, delivered, error, body, signature."""
        deliveries: list[JsonObject] = self._call("GET", f"/merchants/{merchant_id}/webhook-deliveries")[
            "deliveries"
        ]
        return deliveries

    def redeliver_failed(self) -> list[JsonObject]:
        """One more attempt for every event without a 2xx yet (PaySimple does this hourly for 72 hours)."""
        deliveries: list[JsonObject] = self._call("POST", "/webhook-deliveries/redeliver")["deliveries"]
        return deliveries

    def inject_fault(
        self,
        *,
        status: int | None = None,
        count: int = 1,
        customer_id: int | None = None,
        latency_seconds: float = 0.0,
    ) -> None:
        """The next `count` API calls (only those for `customer_id`, if given) wait `latency_seconds`, then
        answer `status` instead (502-504 as a gateway's HTML page, others in PaySimple's envelope)."""
        body = {
            "status": status,
            "count": count,
            "customer_id": customer_id,
            "latency_seconds": latency_seconds,
        }
        self._call("POST", "/faults", json=body)

    def get_customer(self, merchant_id: str, customer_id: int) -> JsonObject | None:
        try:
            customer: JsonObject = self._call("GET", f"/merchants/{merchant_id}/customers/{customer_id}")
        except EmulatorRequestError as exc:
            if exc.status_code == 404:
                return None
            raise
        return customer

    def reset(self) -> None:
        self._call("POST", "/reset")

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._session.request(
            method, f"{self._base_url}/_emulator{path}", timeout=self._timeout_seconds, **kwargs
        )
        try:
            body = response.json()
        except ValueError:
            body = response.text
        if not response.ok:
            raise EmulatorRequestError(response.status_code, body)
        return body
