"""The console's part in following QBO and in the admin's choices beside linking, driven as a bookkeeper
uses it: Create in QuickBooks, Unmerge, what a person changed in QuickBooks shown on the customer, go-live
applied as links only, the connection's expiry and Disconnect, and the inactive-customer setting.

Each test works on merchants of its own (onboarded here through the API, as an operator would), so the
other browser tests' data is never touched."""

from __future__ import annotations

import itertools
import re
import time
from typing import Any

import pytest
from playwright.sync_api import expect

from local.console_users import set_permanent_password
from tests.browser.conftest import PASSWORD, Console, _onboard, _save, sign_in
from tests.support.local_stack_process import wait_for

_numbers = itertools.count(5101)


def new_merchant(console: Console, *, sync_enabled: bool = True) -> tuple[str, str, str]:
    """A merchant with a QBO company and an admin of its own: (merchant, realm, admin email)."""
    merchant_id = str(next(_numbers))
    realm_id = f"91303500000{merchant_id}"
    console.qbo.create_realm(realm_id)
    _onboard(console.admin, console.qbo, console.paysimple, console.url.rstrip("/"), merchant_id, realm_id)
    if not sync_enabled:
        console.admin.ok("PUT", f"/admin/merchants/{merchant_id}/settings", json={"sync_enabled": False})
    email = f"admin-{merchant_id}@example.com"
    console.admin.ok(
        "POST",
        f"/admin/merchants/{merchant_id}/admins",
        json={"email": email, "temporary_password": "Temporary-Pass-1"},
    )
    set_permanent_password(console.pool, email, PASSWORD)
    return merchant_id, realm_id, email


def detail(console: Console, merchant_id: str, paysimple_id: str) -> dict[str, Any]:
    found: dict[str, Any] = console.get(f"/admin/merchants/{merchant_id}/customers/{paysimple_id}")
    return found


def status_of(console: Console, merchant_id: str, paysimple_id: str) -> str:
    response = console.admin.request("GET", f"/admin/merchants/{merchant_id}/customers/{paysimple_id}")
    return str(response.json()["customer"]["status"]) if response.status_code == 200 else "unknown"


def namesakes(console: Console, realm_id: str, first: str, last: str) -> None:
    """Two QBO customers of that name: a PaySimple customer of that name waits on the unlinked list."""
    for display_name in (f"{first} {last}", f"{first} {last} (2)"):
        console.qbo.seed_customer(realm_id, DisplayName=display_name, GivenName=first, FamilyName=last)


def test_an_admin_creates_an_unlinked_customer_in_quickbooks(page, console):
    # Given Otto Berg waiting unlinked (two QuickBooks namesakes)
    merchant_id, realm_id, email = new_merchant(console)
    namesakes(console, realm_id, "Otto", "Berg")
    otto = _save(console.paysimple, merchant_id, "Otto", "Berg", "otto@example.com")
    wait_for(lambda: status_of(console, merchant_id, otto) == "unlinked", what="Otto unlinked")
    sign_in(page, console, email)

    # When the admin clicks Create in QuickBooks and confirms
    page.get_by_role("button", name="Create Otto Berg in QuickBooks").click()
    page.get_by_role("dialog", name="Create in QuickBooks?").get_by_role(
        "button", name="Create", exact=True
    ).click()
    expect(page.get_by_role("status")).to_contain_text("Otto Berg is created in QuickBooks")

    # Then Otto is linked to a new QBO customer named with the collision suffix
    customer = detail(console, merchant_id, otto)["customer"]
    assert (customer["status"], customer["reason"]) == ("linked", "created_by_admin")
    names = {c["Id"]: c["DisplayName"] for c in console.qbo.customers(realm_id)}
    assert names[customer["qbo_customer_id"]] == f"Otto Berg (PS-{otto})"


def test_an_admin_unmerges_a_merged_duplicate(page, console):
    # Given two PaySimple records of Pia Holm, the second merged into the first
    merchant_id, realm_id, email = new_merchant(console)
    namesakes(console, realm_id, "Pia", "Holm")
    first = _save(console.paysimple, merchant_id, "Pia", "Holm", "pia@one.example")
    second = _save(console.paysimple, merchant_id, "Pia", "Holm", "pia@two.example")
    for paysimple_id in (first, second):
        wait_for(lambda p=paysimple_id: status_of(console, merchant_id, p) == "unlinked", what="Pia unlinked")
    qbo_id = next(c["Id"] for c in console.qbo.customers(realm_id) if c["DisplayName"] == "Pia Holm")
    console.admin.ok(
        "POST",
        f"/admin/merchants/{merchant_id}/merges",
        json={
            "primary_paysimple_customer_id": first,
            "duplicate_paysimple_customer_ids": [second],
            "qbo_customer_id": qbo_id,
        },
    )
    sign_in(page, console, email)

    # When the admin opens Merged Customers and unmerges the duplicate
    page.get_by_role("button", name="Merged Customers", exact=True).click()
    expect(page.get_by_role("table", name="Merged Customers")).to_contain_text(f"PaySimple {first}")
    page.get_by_role("button", name="Unmerge? Pia Holm").click()
    page.get_by_role("dialog", name="Unmerge this customer?").get_by_role(
        "button", name="Unmerge", exact=True
    ).click()
    expect(page.get_by_role("status")).to_contain_text("back in Unlinked Customers")

    # Then it is unlinked again, reason unmerged
    customer = detail(console, merchant_id, second)["customer"]
    assert (customer["status"], customer["reason"]) == ("unlinked", "unmerged")


def test_a_persons_edit_in_quickbooks_shows_on_the_linked_customer(page, console):
    # Given Vera Lund synced into QuickBooks
    merchant_id, realm_id, email = new_merchant(console)
    vera = _save(console.paysimple, merchant_id, "Vera", "Lund", "vera@example.com")
    wait_for(lambda: status_of(console, merchant_id, vera) == "linked", what="Vera linked")
    qbo_id = detail(console, merchant_id, vera)["customer"]["qbo_customer_id"]

    # When, a moment later, a bookkeeper changes her last name in QuickBooks (QBO's webhook reaches us)
    time.sleep(1.1)
    console.qbo.edit_customer(realm_id, qbo_id, FamilyName="Lund-Berg")
    wait_for(lambda: detail(console, merchant_id, vera)["drift"], what="the edit to show as drift")
    sign_in(page, console, email)
    page.get_by_role("button", name="Linked Customers", exact=True).click()

    # Then the row says so, and the details show what we wrote and what QuickBooks has
    expect(page.get_by_role("table", name="Linked Customers")).to_contain_text(
        "Edited in QuickBooks: Last name"
    )
    page.get_by_role("button", name="Show details of Vera Lund").click()
    drift = page.get_by_role("table", name=re.compile("Edited in QuickBooks by a person"))
    expect(drift).to_contain_text("Lund-Berg")
    expect(drift.get_by_role("row", name=re.compile("^Last name"))).to_contain_text("Lund")


def test_go_live_links_the_matches_of_a_page_without_writing_to_quickbooks(page, console):
    # Given a merchant with sync off, and Kai Dahl in PaySimple and in QuickBooks
    merchant_id, realm_id, email = new_merchant(console, sync_enabled=False)
    console.qbo.seed_customer(realm_id, DisplayName="Kai Dahl", GivenName="Kai", FamilyName="Dahl")
    kai = _save(console.paysimple, merchant_id, "Kai", "Dahl", "kai@example.com")
    console.qbo.clear_calls(realm_id)
    sign_in(page, console, email)
    page.get_by_role("link", name="Go-live").click()

    # When the admin previews, then links the matches on the page
    page.get_by_role("button", name="Preview go-live").click()
    expect(page.get_by_role("table", name="Go-live preview")).to_contain_text("Link by name")
    page.get_by_role("button", name="Link the matches on this page").click()
    page.get_by_role("dialog", name="Link the matches on this page?").get_by_role(
        "button", name="Link the matches"
    ).click()
    expect(page.get_by_role("status")).to_contain_text("Linked 1")

    # Then Kai is linked, and QuickBooks was only read
    assert detail(console, merchant_id, kai)["customer"]["status"] == "linked"
    assert {call["operation"] for call in console.qbo.calls(realm_id)} <= {"query", "token"}


def test_the_connection_shows_when_it_expires_and_disconnect_revokes_it(page, console):
    merchant_id, realm_id, email = new_merchant(console)
    sign_in(page, console, email)
    page.get_by_role("link", name="Connection").click()
    expect(page.get_by_text(re.compile(r"expires in \d+ days"))).to_be_visible()

    page.get_by_role("button", name="Disconnect").click()
    page.get_by_role("dialog", name="Disconnect QuickBooks?").get_by_role("button", name="Disconnect").click()
    expect(page.get_by_role("status")).to_contain_text("disconnected")
    expect(page.get_by_role("button", name="Connect to QuickBooks")).to_be_visible()
    assert console.get(f"/admin/merchants/{merchant_id}/status")["connection"] == "not_connected"
    assert "revoke" in [call["operation"] for call in console.qbo.calls(realm_id)]


@pytest.mark.parametrize("choice", ["reactivate", "hold"])
def test_the_admin_chooses_what_a_save_does_to_a_customer_made_inactive_in_quickbooks(page, console, choice):
    merchant_id, _, email = new_merchant(console)
    sign_in(page, console, email)
    page.get_by_role("link", name="Settings").click()
    label = "Make it active in QuickBooks again" if choice == "reactivate" else "Hold the change"
    page.get_by_role("radio", name=re.compile(label)).check()
    page.get_by_role("button", name="Save Changes").click()
    expect(page.get_by_role("status")).to_contain_text("Settings saved")
    assert console.get(f"/admin/merchants/{merchant_id}/settings")["on_qbo_inactive"] == choice
