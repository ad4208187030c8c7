"""The merchant console, driven as a bookkeeper uses it: headless Chromium against the local stack. After
each step the API (with the operator's admin token) says what changed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import Console, screenshot, sign_in
from tests.support.local_stack_process import wait_for

M = "/admin/merchants/4242"


def unlinked(console: Console, merchant_id: str = "4242") -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = console.get(f"/admin/merchants/{merchant_id}/customers?status=unlinked")[
        "items"
    ]
    return items


def customer(console: Console, paysimple_customer_id: str) -> dict[str, Any]:
    found: dict[str, Any] = console.get(f"{M}/customers/{paysimple_customer_id}")["customer"]
    return found


def candidate_text(candidate: dict[str, Any]) -> str:
    """A candidate as the unlinked row shows it."""
    email = f" <{candidate['email']}>" if candidate["email"] else ""
    return f"{candidate['display_name']}{email}{'' if candidate['active'] else ' (inactive)'}"


def test_an_admin_links_an_unlinked_customer_through_the_type_ahead_then_unlinks_it(page, console):
    # Given merchant 4242's admin signed in, on Customer Matching
    sign_in(page, console, console.tenants["4242"].admin_email)
    expect(page.get_by_role("heading", name="Customer Matching")).to_be_visible()
    ann = next(item for item in unlinked(console) if item["first_name"] == "Ann")

    # and Ann's row names her two candidates, with their emails, as the list gave them
    row = page.get_by_role("row").filter(has=page.get_by_role("checkbox", name="Select Ann Smith for merge"))
    expect(row.locator(".candidates li")).to_have_text(
        [candidate_text(candidate) for candidate in ann["first_candidates"]]
    )
    assert {candidate["display_name"] for candidate in ann["first_candidates"]} == {
        "Ann Smith",
        "Ann Smith (work)",
    }

    # When they type in Ann Smith's QuickBooks Customer box, pick "Ann Smith (work)" and confirm Link?
    box = page.get_by_role("combobox", name="QuickBooks Customer for Ann Smith")
    box.fill("Ann Smith (w")
    page.get_by_role("option", name=re.compile(r"^Ann Smith \(work\)")).click()
    page.get_by_role("button", name="Link? Ann Smith").click()
    dialog = page.get_by_role("dialog", name="Link these customers?")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Link", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Ann Smith is linked to Ann Smith (work)")

    # Then the API has Ann linked to that QBO customer, by an admin
    linked = customer(console, ann["paysimple_customer_id"])
    qbo_names = {c["Id"]: c["DisplayName"] for c in console.qbo.customers(console.tenants["4242"].realm_id)}
    assert linked["status"] == "linked" and qbo_names[linked["qbo_customer_id"]] == "Ann Smith (work)"

    # When they open Linked Customers, expand Ann with +, and confirm Unlink?
    page.get_by_role("button", name="Linked Customers", exact=True).click()
    page.get_by_role("button", name="Show details of Ann Smith").click()
    page.get_by_role("button", name="Unlink? Ann Smith").click()
    page.get_by_role("dialog", name="Unlink this customer?").get_by_role(
        "button", name="Unlink", exact=True
    ).click()
    expect(page.get_by_role("status")).to_contain_text("back in Unlinked Customers")

    # Then the row is back among the unlinked
    assert customer(console, ann["paysimple_customer_id"])["status"] == "unlinked"
    assert ann["paysimple_customer_id"] in {item["paysimple_customer_id"] for item in unlinked(console)}


def test_an_unlinked_row_names_its_first_three_candidates_as_text_and_counts_the_rest(page, console):
    # Given merchant 1225's company holds four Zoe Quinns, one named like markup, and PaySimple saves a
    # Zoe Quinn: ambiguous, she waits unlinked with four candidates
    tenant = console.tenants["1225"]
    for display_name, email in (
        ("Zoe Quinn", "zoe@home.example"),
        ("Zoe Quinn <b>shop</b>", None),
        ("Zoe Quinn (studio)", "zoe@studio.example"),
        ("Zoe Quinn (garden)", None),
    ):
        fields: dict[str, Any] = {"GivenName": "Zoe", "FamilyName": "Quinn", "DisplayName": display_name}
        if email:
            fields["PrimaryEmailAddr"] = {"Address": email}
        console.qbo.seed_customer(tenant.realm_id, **fields)
    saved = console.paysimple.save_customer(
        "1225", {"FirstName": "Zoe", "LastName": "Quinn", "Email": "zoe@elsewhere.example"}
    )
    zoe_id = str(saved["customer"]["Id"])
    wait_for(
        lambda: any(
            item["paysimple_customer_id"] == zoe_id and item["candidate_count"] == 4
            for item in unlinked(console, "1225")
        ),
        what="Zoe Quinn unlinked with four candidates",
    )
    listed = next(item for item in unlinked(console, "1225") if item["paysimple_customer_id"] == zoe_id)
    expected = [candidate_text(candidate) for candidate in listed["first_candidates"]]

    # When 1225's admin opens Customer Matching, searching for her
    sign_in(page, console, tenant.admin_email)
    page.get_by_label("Search").fill("Quinn")

    # Then her row names the first three candidates the list gave, as plain text, and counts the fourth
    row = page.get_by_role("row").filter(has=page.get_by_role("checkbox", name="Select Zoe Quinn for merge"))
    expect(row.locator(".candidates li")).to_have_text([*expected, "+1 more"])
    assert len(expected) == 3
    expect(row.locator(".candidates b")).to_have_count(0)


def test_an_admin_merges_two_duplicate_unlinked_records(page, console):
    # Given the two unlinked Lena Fischers of merchant 4242
    sign_in(page, console, console.tenants["4242"].admin_email)
    lenas = [item for item in unlinked(console) if item["first_name"] == "Lena"]
    assert len(lenas) == 2

    # When the admin selects both, clicks Merge, picks the QuickBooks customer and confirms
    checkboxes = page.get_by_role("checkbox", name="Select Lena Fischer for merge")
    expect(checkboxes).to_have_count(2)  # the list is drawn (`all()` does not wait for it)
    for checkbox in checkboxes.all():
        checkbox.check()
    page.get_by_role("button", name="Merge", exact=True).click()
    dialog = page.get_by_role("dialog", name="Merge duplicates?")
    dialog.get_by_role("combobox").fill("Lena Fischer (sh")
    dialog.get_by_role("option", name=re.compile(r"^Lena Fischer \(shop\)")).click()
    dialog.get_by_role("button", name="Merge").click()
    expect(page.get_by_role("status")).to_contain_text("Merged 1 duplicate")

    # Then one is linked to "Lena Fischer (shop)" and the other merged into it
    states = {
        item["paysimple_customer_id"]: customer(console, item["paysimple_customer_id"]) for item in lenas
    }
    assert sorted(state["status"] for state in states.values()) == ["linked", "merged"]


def test_an_admin_toggles_a_field_and_saves_changes(page, console):
    before = console.get(f"{M}/mapping")
    sign_in(page, console, console.tenants["4242"].admin_email)
    page.get_by_role("link", name="Field Mapping").click()
    phone = page.get_by_role("switch", name="Sync Phone")
    expect(page.get_by_role("switch", name="Sync First name")).to_be_disabled()
    was_on = phone.is_checked()

    # When they switch Phone and click Save Changes
    phone.set_checked(not was_on)
    row = page.get_by_role("row", name=re.compile("^Phone"))
    expect(row).to_have_class("" if not was_on else "off")
    page.get_by_role("button", name="Save Changes").click()
    expect(page.get_by_role("status")).to_contain_text("applies to customers saved in PaySimple from now on")

    # Then a new mapping version holds the change
    after = console.get(f"{M}/mapping")
    assert after["version"] == before["version"] + 1
    assert next(row for row in after["fields"] if row["paysimple_field"] == "Phone")["enabled"] is (
        not was_on
    )


def test_leaving_field_mapping_with_unsaved_changes_asks_first(page, console):
    sign_in(page, console, console.tenants["4242"].admin_email)
    page.get_by_role("link", name="Field Mapping").click()
    version = console.get(f"{M}/mapping")["version"]
    page.get_by_role("switch", name="Sync Fax").click()
    page.get_by_role("link", name="Settings").click()
    dialog = page.get_by_role("dialog", name="Leave without saving?")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("heading", name="Field Mapping")).to_be_visible()
    assert console.get(f"{M}/mapping")["version"] == version


def test_an_admin_sees_a_failure_and_retries_it(page, console):
    # Given a change QBO refuses for good (a validation fault on create): parked with its reason
    realm_id = console.tenants["4242"].realm_id
    console.qbo.inject_fault(realm_id=realm_id, operation="create", status=400, code="2050")
    saved = console.paysimple.save_customer(
        "4242", {"FirstName": "Nora", "LastName": "Quinn", "Email": "nq@x.example"}
    )
    wait_for(lambda: console.get(f"{M}/failures")["parked"], what="the parked failure")

    # When the admin opens Activity, it is listed in plain words, and they click Retry
    sign_in(page, console, console.tenants["4242"].admin_email)
    page.get_by_role("link", name="Activity").click()
    failure = console.get(f"{M}/failures")["parked"][0]
    expect(page.get_by_role("row", name=re.compile(str(saved["customer"]["Id"])))).to_contain_text("too long")
    page.get_by_role("button", name=f"Retry {failure['event_id']}").click()
    expect(page.get_by_role("status")).to_contain_text("Sent 1 change")

    # Then the change goes through: the failure is gone and Nora is in QBO
    wait_for(lambda: not console.get(f"{M}/failures")["parked"], what="the failure to clear")
    wait_for(
        lambda: customer(console, str(saved["customer"]["Id"]))["status"] == "linked", what="Nora linked"
    )


def test_an_admin_downloads_the_go_live_dry_run_as_csv(page, console):
    sign_in(page, console, console.tenants["4242"].admin_email)
    page.get_by_role("link", name="Go-live").click()
    page.get_by_role("button", name="Preview go-live").click()
    expect(page.get_by_role("table", name="Go-live preview")).to_contain_text("Lena")
    with page.expect_download() as downloaded:
        page.get_by_role("button", name="Download CSV").click()
    csv_text = Path(downloaded.value.path()).read_text(encoding="utf-8")
    assert downloaded.value.suggested_filename == "go-live-4242-page-1.csv"
    assert csv_text.splitlines()[0].startswith("paysimple_customer_id")
    assert "Lena" in csv_text


def test_sign_out_forgets_the_token(page, console):
    sign_in(page, console, console.tenants["4242"].admin_email)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert page.evaluate("() => sessionStorage.length") == 0
    page.reload()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_a_first_sign_in_replaces_the_temporary_password(page, console):
    # Given an admin just invited by an operator, with a temporary password
    console.admin.ok(
        "POST",
        f"{M}/admins",
        json={"email": "new-4242@example.com", "temporary_password": "Temporary-Pass-9"},
    )
    page.goto(console.url)
    page.get_by_label("Email").fill("new-4242@example.com")
    page.get_by_label("Password").fill("Temporary-Pass-9")
    page.get_by_role("button", name="Sign in").click()
    # When they choose their own password
    page.get_by_role("textbox", name="New password").fill("Their-Own-Passw0rd")
    page.get_by_role("button", name="Set password and sign in").click()
    # Then they are in, as merchant 4242's admin
    expect(page.get_by_text("Signed in as new-4242@example.com (merchant 4242)")).to_be_visible()


def test_another_merchants_admin_is_refused_in_the_console_and_nothing_changes(page, console):
    # Given merchant 1225's admin signed in
    sign_in(page, console, console.tenants["1225"].admin_email)
    before = {path: console.get(f"{M}/{path}") for path in ("settings", "mapping")}

    # When their console client calls merchant 4242's routes
    answers = page.evaluate(
        """async () => {
            const { api } = await import('/js/api.js');
            const calls = [
              () => api.get('/admin/merchants/4242/settings'),
              () => api.put('/admin/merchants/4242/settings', { sync_enabled: false }),
              () => api.get('/admin/merchants/4242/qbo/connect'),
              () => api.put('/admin/merchants/4242/mapping', { fields: [] }),
            ];
            const out = [];
            for (const call of calls) {
              try { await call(); out.push(200); } catch (error) { out.push([error.status, error.message]); }
            }
            return out;
        }"""
    )
    # Then each is 403 with its message, and 4242 is as it was
    assert [answer[0] for answer in answers] == [403, 403, 403, 403]
    assert all("own merchant" in answer[1] for answer in answers)
    assert {path: console.get(f"{M}/{path}") for path in ("settings", "mapping")} == before


SCREENS = [
    ("Customer Matching", "matching"),
    ("Field Mapping", "mapping"),
    ("Connection", "connection"),
    ("Activity", "activity"),
    ("Go-live", "go-live"),
    ("Settings", "settings"),
]


def test_the_six_screens_have_no_serious_accessibility_violations_and_are_photographed(page, console):
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    sign_in(page, console, console.tenants["4242"].admin_email)
    problems = {}
    for name, slug in SCREENS:
        page.get_by_role("link", name=name, exact=True).click()
        expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible()
        page.wait_for_load_state("networkidle")
        screenshot(page, slug)
        results = axe.run(page)
        serious = [
            f"{violation['id']}: {violation['help']}"
            for violation in results.response["violations"]
            if violation["impact"] in ("serious", "critical")
        ]
        if serious:
            problems[name] = serious
    assert problems == {}


def test_connecting_quickbooks_from_the_console_completes_for_the_user_who_started_it(page, console):
    # Given merchant 4242's admin, and QuickBooks consenting for the merchant's own company, whose name (in
    # QBO's settings) looks like markup
    tenant = console.tenants["4242"]
    company_name = "Doe & <b>Sons</b> Plumbing"
    console.qbo.rename_company(tenant.realm_id, company_name)
    console.qbo.set_consent_realm(tenant.realm_id)
    sign_in(page, console, tenant.admin_email)
    page.get_by_role("link", name="Connection").click()

    # When they click Reconnect (QBO consents and redirects to the callback, which hands over to the console)
    page.get_by_role("button", name="Reconnect").click()

    # Then the console completes it with their token: connected, by them
    expect(page.get_by_role("status")).to_contain_text(f"QuickBooks company {tenant.realm_id} is connected")
    assert "code=" not in page.url
    status = console.get(f"{M}/status")
    assert status["connected_by"] == tenant.admin_email and status["realm_id"] == tenant.realm_id
    # and the screen names the company, as plain text, beside its realm
    assert status["company_name"] == company_name
    expect(page.locator("dt:text-is('QuickBooks company') + dd")).to_have_text(company_name)
    expect(page.locator("dt:text-is('Realm ID') + dd")).to_have_text(tenant.realm_id)
    expect(page.locator("dl.facts b")).to_have_count(0)


def test_connecting_another_quickbooks_company_asks_for_confirmation(page, console):
    # Given merchant 1225 with a linked customer, and QBO consenting for another company
    tenant = console.tenants["1225"]
    m = "/admin/merchants/1225"
    ann = next(item for item in unlinked(console, "1225") if item["first_name"] == "Ann")
    qbo_id = next(c["Id"] for c in console.qbo.customers(tenant.realm_id) if c["DisplayName"] == "Ann Smith")
    console.admin.ok(
        "POST",
        f"{m}/links",
        json={"paysimple_customer_id": ann["paysimple_customer_id"], "qbo_customer_id": qbo_id},
    )
    other_realm = str(console.qbo.create_realm()["realm_id"])
    console.qbo.set_consent_realm(other_realm)
    sign_in(page, console, tenant.admin_email)
    page.get_by_role("link", name="Connection").click()

    # When they reconnect, the console asks; Cancel leaves everything as it was
    page.get_by_role("button", name="Reconnect").click()
    dialog = page.get_by_role("dialog", name="Connect a different QuickBooks company?")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("status")).to_contain_text("Nothing changed")
    assert console.get(f"{m}/status")["realm_id"] == tenant.realm_id
    assert console.get(f"{m}/customers/{ann['paysimple_customer_id']}")["customer"]["status"] == "linked"

    # And confirming connects the other company and unlinks everyone
    page.get_by_role("button", name="Reconnect").click()
    page.get_by_role("dialog", name="Connect a different QuickBooks company?").get_by_role(
        "button", name="Connect the new company"
    ).click()
    expect(page.get_by_role("status")).to_contain_text(f"QuickBooks company {other_realm} is connected")
    assert console.get(f"{m}/status")["realm_id"] == other_realm
    assert console.get(f"{m}/customers/{ann['paysimple_customer_id']}")["customer"]["status"] == "unlinked"
