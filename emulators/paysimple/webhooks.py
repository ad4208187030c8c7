"""Builds, signs and POSTs webhook events the way PaySimple does: a compact JSON envelope, hex HMAC-SHA256 of
the raw body in `PaySimple-Hmac-SHA256`, and a 2xx expected within 10 seconds. A failed event is retried on
demand (`redeliver_failed`) instead of hourly for 72 hours.

"Within 10 seconds" is the whole exchange, as .NET's HttpClient.Timeout measures it: a 2xx whose answer is
still arriving when the time is up is a failure, even though no single socket read waited that long."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import requests

from emulators.paysimple.signing import SIGNATURE_HEADER, SignatureEncoding, sign_webhook
from emulators.paysimple.state import EmulatorState, JsonObject, Merchant, WebhookEvent
from emulators.paysimple.timestamps import event_timestamp

HOURLY_RETRIES_FOR_72_HOURS = 72


class WebhookSender:
    def __init__(
        self,
        state: EmulatorState,
        *,
        clock: Callable[[], datetime],
        timeout_seconds: float = 10.0,
        signature_encoding: SignatureEncoding = "hex",
        include_deprecated_client_id: bool = True,
    ) -> None:
        self._state = state
        self._clock = clock
        self._timeout_seconds = timeout_seconds
        self._signature_encoding: SignatureEncoding = signature_encoding
        self._include_deprecated_client_id = include_deprecated_client_id
        self._timers: set[threading.Timer] = set()
        self._timers_lock = threading.Lock()

    def new_event(self, merchant: Merchant, event_type: str, data: dict[str, Any]) -> WebhookEvent:
        envelope: dict[str, Any] = {
            "event_type": event_type,
            "event_id": f"evt_{secrets.token_hex(12)}",
            "merchant_id": int(merchant.merchant_id),
        }
        if self._include_deprecated_client_id:
            # Deprecated but still sent at times; never equal to merchant_id, so mixing them up shows.
            envelope["client_id"] = deprecated_client_id(merchant.merchant_id)
        envelope["created_at"] = event_timestamp(self._clock(), ticks=secrets.randbelow(10))
        envelope["data"] = data
        # Compact, non-ASCII as raw UTF-8 like .NET's serialiser (not \u escapes): a receiver that
        # re-serialises the JSON before verifying gets other bytes.
        body = json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
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
        signature = (
            sign_webhook(event.body, merchant.webhook_signing_key, self._signature_encoding)
            if merchant
            else ""
        )
        status_code: int | None = None
        error: str | None = None
        if merchant is None or not merchant.webhook_url:
            error = "no webhook subscription"
        else:
            started = time.monotonic()
            try:
                response = requests.post(
                    merchant.webhook_url,
                    data=event.body,
                    headers={"Content-Type": "application/json", SIGNATURE_HEADER: signature},
                    timeout=self._timeout_seconds,
                    allow_redirects=False,
                )
                elapsed = time.monotonic() - started
                if elapsed > self._timeout_seconds:
                    # requests' timeout bounds each socket read, not the exchange: PaySimple gave up by now.
                    error = f"Timeout (HTTP {response.status_code} came after {elapsed:.2f} s)"
                else:
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


def deprecated_client_id(merchant_id: str) -> int:
    """The `client_id` some envelopes still carry: a stable number per merchant, never the merchant id."""
    return int(merchant_id) * 10 + 7
