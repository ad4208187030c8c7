"""Intuit's webhooks as QBO sends them (reference/qbo-api.md "Webhooks"), from the emulator to one endpoint.

- Every change to a Customer, Vendor or Employee, whoever made it (the app's own API writes included), is
  an event in the CloudEvents format: `qbo.<entity>.<created|updated|deleted|merged>.v1`, with ids only
  (`intuitaccountid` = realm, `intuitentityid` = entity) and `data` empty, except a merge, which comes on
  the surviving customer with `{"deletedid": <the merged-away id>}`.
- Making a name inactive is announced as `deleted` by default (list entities are never deleted, so that is
  what a "delete" of one means); `inactivation_event="updated"` chooses the other documented possibility.
- One POST holds a JSON array of the events pending at that moment, of any number of companies. Its
  `intuit-signature` header is base64(HMAC-SHA256(verifier token, raw body)).
- A delivery that is not answered 200 within `timeout_seconds` (Intuit wants 3 s) failed. It is retried
  after 10 s, 20 s, 30 s, 5 min, 20 min, 2 h, 4 h, 6 h, then every 6 h (`time_scale` shrinks these for
  tests), and later events wait behind it: nothing is delivered past an unacknowledged delivery.
- `auto_deliver=False` sends nothing by itself: the control API's "deliver" makes one attempt at a time, so
  a test decides exactly when a delivery happens and what the endpoint answers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
import uuid
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import requests

from emulators.qbo.entities import JsonObject

SIGNATURE_HEADER = "intuit-signature"
# Intuit's documented retry schedule, in seconds after the failed attempt; the last one then repeats.
INTUIT_RETRY_DELAYS_SECONDS = (10.0, 20.0, 30.0, 300.0, 1200.0, 7200.0, 14400.0, 21600.0)
_DELIVERY_LOG_LIMIT = 1000

Operation = Literal["created", "updated", "deleted", "merged"]


def sign(body: bytes, verifier_token: str) -> str:
    """The `intuit-signature` header for `body`."""
    digest = hmac.new(verifier_token.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def event_time(epoch_seconds: float) -> str:
    """CloudEvents `time` as Intuit writes it: UTC, whole seconds, e.g. 2025-12-04T15:25:05Z."""
    return datetime.fromtimestamp(int(epoch_seconds), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def cloud_event(
    realm_id: str,
    entity_name: str,
    operation: Operation,
    entity_id: str,
    at_epoch: float,
    data: JsonObject | None = None,
) -> JsonObject:
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "intuit." + secrets.token_urlsafe(24),
        "type": f"qbo.{entity_name.lower()}.{operation}.v1",
        "datacontenttype": "application/json",
        "time": event_time(at_epoch),
        "intuitentityid": entity_id,
        "intuitaccountid": realm_id,
        "data": data or {},
    }


@dataclass(frozen=True)
class Subscription:
    url: str
    verifier_token: str
    auto_deliver: bool = True
    # Events pending this long are sent together (so one POST may carry several companies' events).
    batch_window_seconds: float = 0.2
    retry_delays_seconds: tuple[float, ...] = INTUIT_RETRY_DELAYS_SECONDS
    time_scale: float = 1.0
    timeout_seconds: float = 3.0
    max_events_per_delivery: int = 1000
    inactivation_event: Literal["deleted", "updated"] = "deleted"

    @classmethod
    def from_json(cls, body: JsonObject) -> Subscription:
        values = dict(body)
        if "retry_delays_seconds" in values:
            values["retry_delays_seconds"] = tuple(float(delay) for delay in values["retry_delays_seconds"])
        subscription = cls(**values)
        if not subscription.url.startswith(("http://", "https://")) or not subscription.verifier_token:
            raise ValueError("a subscription needs an http(s) url and a verifier_token")
        if subscription.inactivation_event not in ("deleted", "updated"):
            raise ValueError("inactivation_event is deleted or updated")
        return subscription

    def delay_after(self, attempt: int) -> float:
        """Seconds until the retry that follows failed attempt `attempt` (1-based)."""
        delays = self.retry_delays_seconds or INTUIT_RETRY_DELAYS_SECONDS
        return delays[min(attempt, len(delays)) - 1] * self.time_scale


@dataclass
class Delivery:
    attempt: int
    event_ids: list[str]
    realm_ids: list[str]
    at: float
    status: int | None = None  # the endpoint's HTTP status; None when it did not answer in time
    error: str | None = None

    @property
    def acknowledged(self) -> bool:
        return self.status == 200


@dataclass
class _InFlight:
    events: list[JsonObject]
    attempt: int = 0
    due_at: float = 0.0  # time.monotonic() of the next attempt


@dataclass
class _Outbox:
    pending: deque[JsonObject] = field(default_factory=deque)
    pending_since: float | None = None
    in_flight: _InFlight | None = None
    deliveries: list[Delivery] = field(default_factory=list)


class WebhookSender:
    """The pending events and their deliveries. Thread-safe; `start()` runs the sender thread."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._attempting = threading.Lock()  # one delivery attempt at a time, thread or control API
        self._subscription: Subscription | None = None
        self._outbox = _Outbox()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._session = requests.Session()

    # -- configuration ---------------------------------------------------------------------------------

    @property
    def subscription(self) -> Subscription | None:
        with self._condition:
            return self._subscription

    def subscribe(self, subscription: Subscription) -> None:
        with self._condition:
            self._subscription = subscription
            self._condition.notify_all()

    def unsubscribe(self) -> None:
        """No endpoint any more: pending events are dropped, as for an app whose webhooks are turned off."""
        with self._condition:
            self._subscription = None
            self._outbox = _Outbox()
            self._condition.notify_all()

    def reset(self) -> None:
        self.unsubscribe()

    # -- events ----------------------------------------------------------------------------------------

    def publish(self, event: JsonObject) -> None:
        """Queue an event; dropped when nobody is subscribed (no endpoint is registered)."""
        with self._condition:
            if self._subscription is None:
                return
            if not self._outbox.pending:
                self._outbox.pending_since = time.monotonic()
            self._outbox.pending.append(event)
            self._condition.notify_all()

    def snapshot(self) -> JsonObject:
        with self._condition:
            in_flight = self._outbox.in_flight
            return {
                "subscription": _public(self._subscription),
                "pending": list(self._outbox.pending),
                "in_flight": None
                if in_flight is None
                else {
                    "events": in_flight.events,
                    "attempts": in_flight.attempt,
                    "next_attempt_in_seconds": max(0.0, in_flight.due_at - time.monotonic()),
                },
                "deliveries": [asdict(delivery) for delivery in self._outbox.deliveries],
            }

    # -- delivery --------------------------------------------------------------------------------------

    def deliver_now(self) -> Delivery | None:
        """One attempt now, whatever the schedule: the held delivery again, else the pending events."""
        with self._attempting:
            with self._condition:
                batch = self._batch_to_attempt(force=True)
            return self._attempt(batch) if batch is not None else None

    def start(self) -> None:
        if self._thread is None:
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="qbo-emulator-webhooks", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._thread = None

    def _run(self) -> None:
        while True:
            with self._condition:
                batch = self._batch_to_attempt(force=False)
                while batch is None and not self._stopping:
                    self._condition.wait(timeout=self._seconds_to_next())
                    batch = self._batch_to_attempt(force=False)
                if self._stopping or batch is None:
                    return
            with self._attempting:
                self._attempt(batch)

    def _seconds_to_next(self) -> float:
        outbox, subscription = self._outbox, self._subscription
        if subscription is None or not subscription.auto_deliver:
            return 1.0
        now = time.monotonic()
        if outbox.in_flight is not None:
            return max(0.001, outbox.in_flight.due_at - now)
        if outbox.pending and outbox.pending_since is not None:
            return max(0.001, outbox.pending_since + subscription.batch_window_seconds - now)
        return 1.0

    def _batch_to_attempt(self, *, force: bool) -> tuple[Subscription, _InFlight] | None:
        """Under the condition: what to attempt now, or None (nothing due)."""
        subscription, outbox = self._subscription, self._outbox
        if subscription is None or (not force and not subscription.auto_deliver):
            return None
        now = time.monotonic()
        if outbox.in_flight is not None:
            return (subscription, outbox.in_flight) if force or now >= outbox.in_flight.due_at else None
        if not outbox.pending:
            return None
        waited = now - (outbox.pending_since or now)
        if not force and waited < subscription.batch_window_seconds:
            return None
        events = [
            outbox.pending.popleft()
            for _ in range(min(len(outbox.pending), subscription.max_events_per_delivery))
        ]
        outbox.pending_since = now if outbox.pending else None
        outbox.in_flight = _InFlight(events=events)
        return subscription, outbox.in_flight

    def _attempt(self, batch: tuple[Subscription, _InFlight]) -> Delivery:
        subscription, in_flight = batch
        in_flight.attempt += 1
        body = json.dumps(in_flight.events).encode("utf-8")
        delivery = Delivery(
            attempt=in_flight.attempt,
            event_ids=[str(event["id"]) for event in in_flight.events],
            realm_ids=sorted({str(event["intuitaccountid"]) for event in in_flight.events}),
            at=time.time(),
        )
        try:
            response = self._session.post(
                subscription.url,
                data=body,
                headers={
                    "Content-Type": "application/json",
                    SIGNATURE_HEADER: sign(body, subscription.verifier_token),
                },
                timeout=subscription.timeout_seconds,
            )
            delivery.status = response.status_code
        except requests.RequestException as error:
            delivery.error = type(error).__name__
        with self._condition:
            if self._outbox.in_flight is in_flight:
                if delivery.acknowledged:
                    self._outbox.in_flight = None
                else:
                    in_flight.due_at = time.monotonic() + subscription.delay_after(in_flight.attempt)
            self._outbox.deliveries.append(delivery)
            del self._outbox.deliveries[:-_DELIVERY_LOG_LIMIT]
            self._condition.notify_all()
        return delivery


def _public(subscription: Subscription | None) -> JsonObject | None:
    if subscription is None:
        return None
    values: dict[str, Any] = asdict(subscription)
    values["verifier_token"] = "***"  # the control API never hands the token back
    values["retry_delays_seconds"] = list(subscription.retry_delays_seconds)
    return values
