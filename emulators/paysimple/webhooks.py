"""Builds, signs and POSTs webhook events the way PaySimple does: a compact JSON envelope, hex HMAC-SHA256 of
the raw body in `PaySimple-Hmac-SHA256`, and a 2xx expected within 10 seconds. A failed event is retried on
demand (`redeliver_failed`) instead of hourly for 72 hours."""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

import requests

from emulators.paysimple.signing import SIGNATURE_HEADER, sign_webhook
from emulators.paysimple.state import EmulatorState, JsonObject, Merchant, WebhookEvent
from emulators.paysimple.timestamps import event_timestamp

HOURLY_RETRIES_FOR_72_HOURS = 72


class WebhookSender:
    def __init__(
        self, state: EmulatorState, *, clock: Callable[[], datetime], timeout_seconds: float = 10.0
    ) -> None:
        self._state = state
        self._clock = clock
        self._timeout_seconds = timeout_seconds
        self._timers: set[threading.Timer] = set()
        self._timers_lock = threading.Lock()

    def new_event(self, merchant: Merchant, event_type: str, data: dict[str, Any]) -> WebhookEvent:
        envelope = {
            "event_type": event_type,
            "event_id": f"evt_{secrets.token_hex(12)}",
            "merchant_id": int(merchant.merchant_id),
            "created_at": event_timestamp(self._clock()),
            "data": data,
        }
        # Compact separators: a receiver that re-serialises the JSON before verifying gets other bytes.
        body = json.dumps(envelope, separators=(",", ":")).encode("utf-8")
        event = WebhookEvent(merchant.merchant_id, str(envelope["event_id"]), event_type, body)
        self._state.add_event(event)
        return event

    def deliver(self, event: WebhookEvent, *, times: int = 1) -> list[JsonObject]:
        return [self._post(event) for _ in range(times)]

    def deliver_later(self, event: WebhookEvent, delay_seconds: float, *, times: int = 1) -> None:
        timer = threading.Timer(delay_seconds, self._deliver_from_timer, args=(event, times))
        timer.daemon = True
        with self._timers_lock:
            self._timers.add(timer)
        timer.start()

    def redeliver_failed(self) -> list[JsonObject]:
        """One more attempt for every event still without a 2xx, up to PaySimple's 1 + 72 attempts."""
        pending = self._state.undelivered_events(max_attempts=1 + HOURLY_RETRIES_FOR_72_HOURS)
        return [self._post(event) for event in pending]

    def cancel_pending(self) -> None:
        with self._timers_lock:
            for timer in self._timers:
                timer.cancel()
            self._timers.clear()

    def _deliver_from_timer(self, event: WebhookEvent, times: int) -> None:
        self.deliver(event, times=times)
        with self._timers_lock:
            self._timers = {t for t in self._timers if t.is_alive() and t is not threading.current_thread()}

    def _post(self, event: WebhookEvent) -> JsonObject:
        merchant = self._state.merchant(event.merchant_id)
        signature = sign_webhook(event.body, merchant.webhook_signing_key) if merchant else ""
        status_code: int | None = None
        error: str | None = None
        if merchant is None or not merchant.webhook_url:
            error = "no webhook subscription"
        else:
            try:
                response = requests.post(
                    merchant.webhook_url,
                    data=event.body,
                    headers={"Content-Type": "application/json", SIGNATURE_HEADER: signature},
                    timeout=self._timeout_seconds,
                    allow_redirects=False,
                )
                status_code = response.status_code
            except requests.RequestException as exc:
                error = type(exc).__name__
        delivery: JsonObject = {
            "event_id": event.event_id,
            "event_type": event.event_type,
            "status_code": status_code,
            "delivered": status_code is not None and 200 <= status_code < 300,
            "error": error,
            "delivered_at": event_timestamp(self._clock()),
            "body": event.body.decode("utf-8"),
            "signature": signature,
        }
        self._state.record_delivery(event, delivery)
        return delivery
