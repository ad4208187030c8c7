"""QboEmulatorControl: a small requests-based client of the emulator's /_emulator/ control API."""

from __future__ import annotations

from typing import Any

import requests

from emulators.qbo.entities import JsonObject

_TIMEOUT_SECONDS = 10


class QboEmulatorControl:
    """Drive a running emulator (in this process or another). Failed requests raise requests.HTTPError."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._session = requests.Session()

    def create_realm(self, realm_id: str | None = None) -> JsonObject:
        """Connect a company: {"realm_id", "access_token", "refresh_token", "access_token_expires_in",
        "refresh_token_expires_in"}."""
        return self._json("POST", "/_emulator/realms", {"realm_id": realm_id})

    def seed_customer(self, realm_id: str, **fields: Any) -> JsonObject:
        """Create a Customer from QBO JSON fields (DisplayName=..., Active=False, ...) as a create would."""
        return self._json("POST", f"/_emulator/realms/{realm_id}/customers", fields)

    def seed_job(self, realm_id: str, parent_id: str, *, project: bool = False, **fields: Any) -> JsonObject:
        """A job (sub-customer) of customer `parent_id`, or a project of it (`project=True`)."""
        body = {**fields, "Job": True, "ParentRef": {"value": parent_id}, "IsProject": project}
        return self._json("POST", f"/_emulator/realms/{realm_id}/customers", body)

    def edit_customer(self, realm_id: str, customer_id: str, **fields: Any) -> JsonObject:
        """A person edits the customer in QBO's UI (`Active=False` makes it inactive): a new SyncToken and a
        webhook event, as for any change."""
        return self._json("PATCH", f"/_emulator/realms/{realm_id}/customers/{customer_id}", fields)

    def merge_customers(self, realm_id: str, merged_id: str, survivor_id: str) -> JsonObject:
        """A person merges `merged_id` into `survivor_id`; returns the survivor."""
        body = {"merged_id": merged_id, "survivor_id": survivor_id}
        return self._json("POST", f"/_emulator/realms/{realm_id}/merges", body)

    def rename_company(self, realm_id: str, company_name: str, legal_name: str | None = None) -> JsonObject:
        """A person renames the company in QBO's settings; returns its CompanyInfo."""
        body = {"CompanyName": company_name, "LegalName": legal_name}
        return self._json("PUT", f"/_emulator/realms/{realm_id}/company-info", body)

    def subscribe_webhooks(self, url: str, verifier_token: str, **options: Any) -> None:
        """Register the app's webhook endpoint (options: auto_deliver, batch_window_seconds,
        retry_delays_seconds, time_scale, timeout_seconds, max_events_per_delivery, inactivation_event)."""
        self._send("PUT", "/_emulator/webhooks", {"url": url, "verifier_token": verifier_token, **options})

    def unsubscribe_webhooks(self) -> None:
        self._send("DELETE", "/_emulator/webhooks")

    def webhooks(self) -> JsonObject:
        """{"subscription", "pending": [events], "in_flight": {...} | None, "deliveries": [...]}."""
        return self._json("GET", "/_emulator/webhooks")

    def deliver_webhooks(self) -> JsonObject | None:
        """One delivery attempt now; the delivery record ({"attempt", "status", "event_ids", ...}) or None."""
        delivery: JsonObject | None = self._json("POST", "/_emulator/webhooks/deliver")["delivery"]
        return delivery

    def seed_vendor(self, realm_id: str, display_name: str, active: bool = True) -> JsonObject:
        body = {"DisplayName": display_name, "Active": active}
        return self._json("POST", f"/_emulator/realms/{realm_id}/vendors", body)

    def seed_employee(self, realm_id: str, display_name: str, active: bool = True) -> JsonObject:
        body = {"DisplayName": display_name, "Active": active}
        return self._json("POST", f"/_emulator/realms/{realm_id}/employees", body)

    def customers(self, realm_id: str, include_inactive: bool = True) -> list[JsonObject]:
        return self._list(realm_id, "customers", include_inactive)

    def vendors(self, realm_id: str, include_inactive: bool = True) -> list[JsonObject]:
        return self._list(realm_id, "vendors", include_inactive)

    def employees(self, realm_id: str, include_inactive: bool = True) -> list[JsonObject]:
        return self._list(realm_id, "employees", include_inactive)

    def _list(self, realm_id: str, kind: str, include_inactive: bool) -> list[JsonObject]:
        flag = "true" if include_inactive else "false"
        found: list[JsonObject] = self._json(
            "GET", f"/_emulator/realms/{realm_id}/{kind}?include_inactive={flag}"
        )[kind]
        return found

    def calls(self, realm_id: str) -> list[JsonObject]:
        """The call log: {"at", "method", "path", "query", "operation", "status", "requestid", "replayed"}
        (`at`: the emulator's clock, epoch seconds, when the call was answered)."""
        found: list[JsonObject] = self._json("GET", f"/_emulator/realms/{realm_id}/calls")["calls"]
        return found

    def clear_calls(self, realm_id: str) -> None:
        self._send("DELETE", f"/_emulator/realms/{realm_id}/calls")

    def inject_fault(
        self,
        *,
        realm_id: str | None = None,
        operation: str | None = None,
        status: int,
        count: int = 1,
        code: str | None = None,
        body: str | None = None,
        latency_ms: int = 0,
        applied: bool = False,
        seconds: float | None = None,
    ) -> None:
        """The next `count` matching calls fail with `status` after `latency_ms` (operation None: any API
        call, not token). `applied`: each is carried out first and only its answer is lost (a 504 after the
        save, or a `latency_ms` past the client's timeout). `seconds`: the rule ends by itself after that
        long, used up or not (an outage that heals)."""
        rule = {
            "applied": applied,
            "seconds": seconds,
            "realm_id": realm_id,
            "operation": operation,
            "status": status,
            "count": count,
            "code": code,
            "body": body,
            "latency_ms": latency_ms,
        }
        self._send("POST", "/_emulator/faults", rule)

    def clear_faults(self) -> None:
        """Drop every injected fault that has not been used up (e.g. an outage of `count=10**9` ends)."""
        self._send("DELETE", "/_emulator/faults")

    def set_rate_limits(
        self,
        *,
        per_minute: int | None = 500,
        per_second: int | None = 10,
        batches_per_minute: int | None = 40,
    ) -> JsonObject:
        """Enforce QBO's per-realm limits (its own by default; None lifts one) from now on."""
        body = {"per_minute": per_minute, "per_second": per_second, "batches_per_minute": batches_per_minute}
        return self._json("PUT", "/_emulator/rate-limits", body)

    def lift_rate_limits(self) -> None:
        self._send("PUT", "/_emulator/rate-limits", {"enabled": False})

    def rate_limits(self) -> JsonObject:
        return self._json("GET", "/_emulator/rate-limits")

    def set_latency(self, latency_ms: int) -> None:
        self._send("PUT", "/_emulator/latency", {"latency_ms": latency_ms})

    def expire_access_tokens(self, realm_id: str) -> None:
        self._send("POST", f"/_emulator/realms/{realm_id}/expire-access-tokens")

    def revoke_refresh_tokens(self, realm_id: str) -> None:
        self._send("POST", f"/_emulator/realms/{realm_id}/revoke-refresh-tokens")

    def issue_authorization_code(self, realm_id: str, redirect_uri: str) -> str:
        body = {"redirect_uri": redirect_uri}
        code: str = self._json("POST", f"/_emulator/realms/{realm_id}/authorization-codes", body)["code"]
        return code

    def set_consent_realm(self, realm_id: str) -> None:
        """The realm the authorize URL consents for when no `realm_id` query parameter is given."""
        self._send("PUT", "/_emulator/consent-realm", {"realm_id": realm_id})

    def reset(self) -> None:
        self._send("POST", "/_emulator/reset")

    def _json(self, method: str, path: str, body: JsonObject | None = None) -> JsonObject:
        payload: JsonObject = self._send(method, path, body).json()
        return payload

    def _send(self, method: str, path: str, body: JsonObject | None = None) -> requests.Response:
        response = self._session.request(method, self.base_url + path, json=body, timeout=_TIMEOUT_SECONDS)
        response.raise_for_status()
        return response
