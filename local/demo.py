"""The `make run` demo: a QBO company with some history, a PaySimple merchant onboarded through the admin API
and the QBO connect flow (as in production), a handful of customers saved in PaySimple (so real signed
webhooks reach the gateway), and a table of what the sync did with each, read back from the admin API.

A second merchant (4242, with its own QBO company) shows the console's tenant isolation: the console has a
demo operator and one admin per merchant, each admin invited through the admin API as an operator would.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from emulators.paysimple import PaySimpleEmulatorControl
from emulators.qbo.control import QboEmulatorControl
from events.generate import TEST_MERCHANT_ID, TEST_SIGNING_KEY
from local.console_users import create_operator, set_permanent_password
from local.stack import Stack

# The merchant and key of events/ (events/README.md), so `sam local invoke -e events/...` works here too.
DEMO_MERCHANT_ID = str(TEST_MERCHANT_ID)
DEMO_SIGNING_KEY = TEST_SIGNING_KEY
DEMO_REALM_ID = "9130350000000001"
SECOND_MERCHANT_ID = "4242"
SECOND_REALM_ID = "9130350000004242"
SECOND_SIGNING_KEY = "customer-sync-demo-webhook-key-4242"
DEMO_OPERATOR = "operator@example.com"
DEMO_PASSWORD = "Console-Demo-2026"  # local demo only; meets the pool's password policy
_TIMEOUT_SECONDS = 30

Output = Callable[[str], None]


class DemoError(RuntimeError):
    """A demo step failed; the message names the step and what came back."""


class AdminApi:
    """The admin API through the gateway, with the admin token (as an operator's script would call it)."""

    def __init__(self, gateway_url: str, admin_token: str) -> None:
        self.gateway_url = gateway_url.rstrip("/")
        self._session = requests.Session()
        self._session.headers["Authorization"] = f"Bearer {admin_token}"

    def call(self, method: str, path: str, json: Any = None, expect: tuple[int, ...] = (200,)) -> Any:
        response = self._session.request(method, self.gateway_url + path, json=json, timeout=_TIMEOUT_SECONDS)
        if response.status_code not in expect:
            raise DemoError(f"{method} {path} answered {response.status_code}: {response.text[:300]}")
        return response.json() if response.content else None

    def connect_qbo(self, merchant_id: str) -> dict[str, Any]:
        """The QBO connect flow as a browser follows it: the authorize URL (QBO consents and redirects back
        with a code) then the OAuth callback on the public API, which has no admin token."""
        authorize_url = self.call("GET", f"/admin/merchants/{merchant_id}/qbo/connect")["authorize_url"]
        consent = requests.get(authorize_url, allow_redirects=False, timeout=_TIMEOUT_SECONDS)
        callback_url = consent.headers.get("Location", "")
        if consent.status_code != 302 or not callback_url.startswith(self.gateway_url):
            raise DemoError(f"QBO consent answered {consent.status_code}, not a redirect to the callback")
        callback = requests.get(callback_url, timeout=_TIMEOUT_SECONDS)
        if callback.status_code != 200:
            raise DemoError(f"the OAuth callback answered {callback.status_code}: {callback.text[:300]}")
        result: dict[str, Any] = callback.json()
        return result


@dataclass(frozen=True)
class DemoCustomer:
    first_name: str
    last_name: str
    email: str
    story: str  # what the QBO company already had

    def paysimple_record(self) -> dict[str, Any]:
        return {"FirstName": self.first_name, "LastName": self.last_name, "Email": self.email}


DEMO_CUSTOMERS = [
    DemoCustomer("John", "Doe", "john.doe@example.com", "one John Doe"),
    DemoCustomer("Ann", "Smith", "ann.smith@work.example", "two Ann Smiths, one with this email"),
    DemoCustomer("Ann", "Smith", "ann@elsewhere.example", "two Ann Smiths, other emails"),
    DemoCustomer("Bob", "Jones", "bob.jones@example.com", "no Bob Jones"),
    DemoCustomer("Maria", "Garcia", "maria@example.com", "a vendor named Maria Garcia"),
    DemoCustomer("Peter", "Parker", "peter@example.com", "an inactive Peter Parker"),
]


def seed_qbo_company(qbo: QboEmulatorControl) -> str:
    """A company with history: the names DEMO_CUSTOMERS run into."""
    realm_id = str(qbo.create_realm(DEMO_REALM_ID)["realm_id"])
    customers: list[dict[str, Any]] = [
        {"GivenName": "John", "FamilyName": "Doe", "DisplayName": "John Doe"},
        {"GivenName": "Ann", "FamilyName": "Smith", "DisplayName": "Ann Smith",
         "PrimaryEmailAddr": {"Address": "ann.smith@home.example"}},
        {"GivenName": "Ann", "FamilyName": "Smith", "DisplayName": "Ann Smith (work)",
         "PrimaryEmailAddr": {"Address": "ann.smith@work.example"}},
        {"GivenName": "Peter", "FamilyName": "Parker", "DisplayName": "Peter Parker", "Active": False},
        {"CompanyName": "Acme Supplies", "DisplayName": "Acme Supplies"},
    ]  # fmt: skip
    for customer in customers:
        qbo.seed_customer(realm_id, **customer)
    qbo.seed_vendor(realm_id, "Maria Garcia")
    qbo.seed_employee(realm_id, "Sam Taylor")
    return realm_id


def onboard_merchant(
    admin: AdminApi,
    paysimple: PaySimpleEmulatorControl,
    qbo: QboEmulatorControl,
    *,
    merchant_id: str,
    realm_id: str,
    signing_key: str,
    webhook_url: str,
) -> None:
    """As production onboards a merchant: PaySimple credentials through the admin API, the QBO connect flow
    (the emulator consents for `realm_id`), then sync switched on. The PaySimple emulator gets the same
    merchant, subscribed to `webhook_url`."""
    api_username = f"merchant-{merchant_id}"
    api_key = secrets.token_urlsafe(24)
    paysimple.add_merchant(merchant_id, api_username, api_key, signing_key, webhook_url=webhook_url)
    credentials = {"api_username": api_username, "api_key": api_key, "webhook_signing_key": signing_key}
    admin.call("PUT", f"/admin/merchants/{merchant_id}", {"paysimple": credentials}, expect=(200, 201))
    qbo.set_consent_realm(realm_id)
    admin.connect_qbo(merchant_id)
    admin.call("PUT", f"/admin/merchants/{merchant_id}/settings", {"sync_enabled": True})


def save_customer(
    paysimple: PaySimpleEmulatorControl, record: dict[str, Any], merchant_id: str = DEMO_MERCHANT_ID
) -> dict[str, Any]:
    """Save in PaySimple; its webhook must have been accepted (202) by the gateway."""
    saved = paysimple.save_customer(merchant_id, record)
    statuses = [delivery.get("status_code") for delivery in saved["deliveries"]]
    if statuses != [202]:
        raise DemoError(f"the webhook for customer {saved['customer']['Id']} got {statuses}, not [202]")
    customer: dict[str, Any] = saved["customer"]
    return customer


_LINK_REASONS = {
    "name": "matched by name",
    "name+email": "matched by name + email",
    "ambiguous": "left unlinked: ambiguous",
    "inactive_name_holder": "left unlinked: an inactive QBO customer has the name",
    "display_name_taken": "left unlinked: an active QBO customer has the name",
    "already_linked": "left unlinked: its match is linked to someone else",
}
_DETAILS = {"created_with_collision_suffix": "created under another name (the name is taken)"}


def describe(entry: dict[str, Any], customer: dict[str, Any], candidates: int) -> str:
    """One history entry in words. Link reasons come from the customer's current link."""
    action = str(entry["action"])
    detail = entry.get("detail")
    if detail in _DETAILS:
        return _DETAILS[detail]
    changed = ", ".join(entry.get("changes") or {})
    if action in ("linked", "unlinked") and customer.get("reason") in _LINK_REASONS:
        text = _LINK_REASONS[customer["reason"]]
        if action == "unlinked" and candidates:
            text += f" ({candidates} candidate{'s' if candidates != 1 else ''})"
        return text + (f"; set {changed}" if action == "linked" and changed else "")
    if action == "created":
        return "created in QBO"
    if action == "updated":
        return f"updated {changed}"
    if action == "unchanged":
        return "nothing QBO holds changed"
    return action + (f" ({detail})" if detail else "")


def outcome_rows(
    admin: AdminApi, qbo: QboEmulatorControl, realm_id: str, saved: list[tuple[dict[str, Any], str]]
) -> list[list[str]]:
    """A row per event each customer went through, oldest first."""
    qbo_names = {str(found["Id"]): str(found["DisplayName"]) for found in qbo.customers(realm_id)}
    rows = []
    for customer, story in saved:
        detail = admin.call("GET", f"/admin/merchants/{DEMO_MERCHANT_ID}/customers/{customer['Id']}")
        link, candidates = detail["customer"], len(detail.get("candidates", []))
        for number, entry in enumerate(reversed(detail.get("history", []))):
            qbo_id = entry.get("qbo_customer_id")
            first = number == 0
            rows.append(
                [
                    f"{customer['Id']} {customer['FirstName']} {customer['LastName']}" if first else "",
                    story if first else "",
                    str(entry["event_type"]).removeprefix("customer_"),
                    describe(entry, link, candidates),
                    f"{qbo_id} {qbo_names.get(str(qbo_id), '?')}" if qbo_id else "-",
                    str(entry.get("qbo_calls", 0)),
                ]
            )
    return rows


def render_table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  " + " | ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))

    return [line(header), "  " + "-+-".join("-" * width for width in widths), *(line(row) for row in rows)]


def admin_email(merchant_id: str) -> str:
    return f"admin-{merchant_id}@example.com"


def create_console_users(stack: Stack, admin: AdminApi, merchant_ids: list[str]) -> list[tuple[str, str]]:
    """The demo operator, and an admin per merchant invited through the admin API; (email, role) rows."""
    pool = stack.user_pool
    create_operator(pool, DEMO_OPERATOR, DEMO_PASSWORD)
    users = [(DEMO_OPERATOR, "operator, every merchant")]
    for merchant_id in merchant_ids:
        email = admin_email(merchant_id)
        invite = {"email": email, "temporary_password": "Temporary-Pass-1"}
        admin.call("POST", f"/admin/merchants/{merchant_id}/admins", invite, expect=(201,))
        set_permanent_password(pool, email, DEMO_PASSWORD)
        users.append((email, f"admin of merchant {merchant_id}"))
    return users


def seed_second_merchant(
    stack: Stack, admin: AdminApi, qbo: QboEmulatorControl, paysimple: PaySimpleEmulatorControl
) -> None:
    """Merchant 4242: its own QBO company and customers, one of them left unlinked."""
    realm_id = str(qbo.create_realm(SECOND_REALM_ID)["realm_id"])
    for display_name in ("Lena Fischer", "Lena Fischer (shop)"):
        qbo.seed_customer(realm_id, GivenName="Lena", FamilyName="Fischer", DisplayName=display_name)
    onboard_merchant(
        admin,
        paysimple,
        qbo,
        merchant_id=SECOND_MERCHANT_ID,
        realm_id=realm_id,
        signing_key=SECOND_SIGNING_KEY,
        webhook_url=stack.gateway_url + "/webhooks/paysimple",
    )
    for first, last, email in (("Lena", "Fischer", "lena@example.com"), ("Tom", "Becker", "tom@example.com")):
        save_customer(paysimple, {"FirstName": first, "LastName": last, "Email": email}, SECOND_MERCHANT_ID)


def run_demo(stack: Stack, say: Output) -> None:
    if stack.paysimple_emulator is None or stack.qbo_emulator is None:
        say("The demo needs both emulators (PAYSIMPLE_API_BASE_URL or QBO_* is set): skipped.")
        return
    qbo = QboEmulatorControl(stack.qbo_emulator.base_url)
    paysimple = PaySimpleEmulatorControl(stack.paysimple_emulator.base_url)
    admin = AdminApi(stack.gateway_url, stack.admin_token)
    say("")
    say("Demo")
    realm_id = seed_qbo_company(qbo)
    say(f"  QBO company {realm_id}: John Doe, two Ann Smiths, Peter Parker (inactive), vendor Maria Garcia")
    onboard_merchant(
        admin,
        paysimple,
        qbo,
        merchant_id=DEMO_MERCHANT_ID,
        realm_id=realm_id,
        signing_key=DEMO_SIGNING_KEY,
        webhook_url=stack.gateway_url + "/webhooks/paysimple",
    )
    say(f"  PaySimple merchant {DEMO_MERCHANT_ID} onboarded through the admin API; QBO connected; sync on")
    saved = [(save_customer(paysimple, demo.paysimple_record()), demo.story) for demo in DEMO_CUSTOMERS]
    say(f"  Saved {len(saved)} customers in PaySimple; their signed webhooks went through the gateway")
    if not stack.wait_until_drained(timeout_seconds=60):
        raise DemoError("the sync did not finish within 60 s (see the SyncFunction log)")
    john = saved[0][0]
    save_customer(paysimple, {**john, "Phone": "5551234567"})
    if not stack.wait_until_drained(timeout_seconds=60):
        raise DemoError("the sync did not finish within 60 s (see the SyncFunction log)")
    say(f"  Then changed {john['FirstName']} {john['LastName']}'s phone in PaySimple (a linked update)")
    say("")
    header = ["PaySimple customer", "QBO had", "event", "what the sync did", "QBO customer", "QBO calls"]
    for line in render_table(header, outcome_rows(admin, qbo, realm_id, saved)):
        say(line)
    say("")
    unlinked = f"{stack.gateway_url}/admin/merchants/{DEMO_MERCHANT_ID}/customers?status=unlinked"
    say(f"  The unlinked ones wait for an admin: GET {unlinked}")
    seed_second_merchant(stack, admin, qbo, paysimple)
    if not stack.wait_until_drained(timeout_seconds=60):
        raise DemoError("the sync did not finish within 60 s (see the SyncFunction log)")
    say(f"  PaySimple merchant {SECOND_MERCHANT_ID} onboarded too (its own QBO company {SECOND_REALM_ID})")
    users = create_console_users(stack, admin, [DEMO_MERCHANT_ID, SECOND_MERCHANT_ID])
    say("")
    say(f"  Merchant console: {stack.gateway_url}/   (sign in with one of these; password {DEMO_PASSWORD})")
    for email, role in users:
        say(f"    {email.ljust(28)}{role}")
