"""The console in a real browser: Debian's chromium driven by Playwright against the `make run` stack
(DEMO=0, free ports, started once for the session by tests/e2e's fixture), with two merchants onboarded as
an operator would (4242 and 1225, each with its own QBO company) and their admins invited through the API.

Screenshots go to .test-artifacts/browser/ (gitignored); set BROWSER_ARTIFACTS to put them elsewhere.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from emulators.paysimple import PaySimpleEmulatorControl
from emulators.qbo.control import QboEmulatorControl
from local.cognito_tokens import UserPool
from local.console_users import create_operator, id_token, set_permanent_password
from tests.support.local_stack_process import (
    HTTP_TIMEOUT_SECONDS,
    PROJECT_ROOT,
    Admin,
    local_stack_process,
    wait_for,
)

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
ARTIFACTS = Path(os.environ.get("BROWSER_ARTIFACTS", PROJECT_ROOT / ".test-artifacts" / "browser"))
PASSWORD = "Browser-Test-Pass-1"


@dataclass
class Tenant:
    merchant_id: str
    realm_id: str
    admin_email: str


@dataclass
class Console:
    url: str
    pool: UserPool
    admin: Admin
    qbo: QboEmulatorControl
    paysimple: PaySimpleEmulatorControl
    operator_email: str
    tenants: dict[str, Tenant]

    def token(self, email: str) -> str:
        return id_token(self.pool, email, PASSWORD)

    def as_user(self, email: str) -> requests.Session:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.token(email)}"
        return session

    def get(self, path: str) -> dict[str, Any]:
        found: dict[str, Any] = self.admin.ok("GET", path)
        return found


def _save(paysimple: PaySimpleEmulatorControl, merchant_id: str, first: str, last: str, email: str) -> str:
    saved = paysimple.save_customer(merchant_id, {"FirstName": first, "LastName": last, "Email": email})
    assert [d.get("status_code") for d in saved["deliveries"]] == [202]
    return str(saved["customer"]["Id"])


def _onboard(admin: Admin, qbo, paysimple, gateway_url: str, merchant_id: str, realm_id: str) -> None:
    signing_key = secrets.token_urlsafe(24)
    api_user, api_key = f"user-{merchant_id}", secrets.token_urlsafe(16)
    paysimple.add_merchant(
        merchant_id, api_user, api_key, signing_key, webhook_url=gateway_url + "/webhooks/paysimple"
    )
    admin.ok(
        "PUT",
        f"/admin/merchants/{merchant_id}",
        json={
            "paysimple": {"api_username": api_user, "api_key": api_key, "webhook_signing_key": signing_key}
        },
    )
    qbo.set_consent_realm(realm_id)
    authorize_url = admin.ok("GET", f"/admin/merchants/{merchant_id}/qbo/connect")["authorize_url"]
    consent = requests.get(authorize_url, allow_redirects=False, timeout=HTTP_TIMEOUT_SECONDS)
    assert requests.get(consent.headers["Location"], timeout=HTTP_TIMEOUT_SECONDS).status_code == 200
    admin.ok("PUT", f"/admin/merchants/{merchant_id}/settings", json={"sync_enabled": True})


@pytest.fixture(scope="session")
def console(tmp_path_factory) -> Iterator[Console]:
    with local_stack_process(tmp_path_factory.mktemp("console-stack")) as stack:
        info = stack.info
        pool = UserPool(info["user_pool_id"], info["user_pool_client_id"], info["aws_endpoint_url"])
        admin = Admin(stack)
        qbo = QboEmulatorControl(info["qbo_emulator_url"])
        paysimple = PaySimpleEmulatorControl(info["paysimple_emulator_url"])
        tenants = {}
        for merchant_id, realm_id in (("4242", "9130350000004242"), ("1225", "9130350000001225")):
            qbo.create_realm(realm_id)
            for display_name, email in (
                ("Ann Smith", "ann@home.example"),
                ("Ann Smith (work)", "ann@work.example"),
                ("Lena Fischer", None),
                ("Lena Fischer (shop)", None),
            ):
                fields: dict[str, Any] = {
                    "GivenName": display_name.split()[0],
                    "FamilyName": display_name.split()[1],
                    "DisplayName": display_name,
                }
                if email:
                    fields["PrimaryEmailAddr"] = {"Address": email}
                qbo.seed_customer(realm_id, **fields)
            _onboard(admin, qbo, paysimple, stack.gateway_url, merchant_id, realm_id)
            # Left unlinked (ambiguous): one Ann Smith, and two Lena Fischers (duplicates to merge)
            _save(paysimple, merchant_id, "Ann", "Smith", "ann@elsewhere.example")
            _save(paysimple, merchant_id, "Lena", "Fischer", "lena@one.example")
            _save(paysimple, merchant_id, "Lena", "Fischer", "lena@two.example")
            email = f"admin-{merchant_id}@example.com"
            admin.ok(
                "POST",
                f"/admin/merchants/{merchant_id}/admins",
                json={"email": email, "temporary_password": "Temporary-Pass-1"},
            )
            set_permanent_password(pool, email, PASSWORD)
            tenants[merchant_id] = Tenant(merchant_id, realm_id, email)
        create_operator(pool, "operator@example.com", PASSWORD)
        for merchant_id in tenants:
            wait_for(
                lambda m=merchant_id: (
                    len(
                        admin.ok("GET", f"/admin/merchants/{m}/customers", params={"status": "unlinked"})[
                            "items"
                        ]
                    )
                    == 3
                ),
                what=f"three unlinked customers of {merchant_id}",
            )
        yield Console(stack.gateway_url + "/", pool, admin, qbo, paysimple, "operator@example.com", tenants)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    yield opened
    context.close()


def sign_in(page, console: Console, email: str) -> None:
    page.goto(console.url)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text(f"Signed in as {email}").wait_for()


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
