"""End to end over HTTP against `python -m local.run`: PaySimple's signed webhooks in at the gateway, the SQS
poller and SyncFunction, QBO written, and the admin API through the gateway."""

import math
import time

import pytest
import requests

from tests.support.local_stack_process import HTTP_TIMEOUT_SECONDS, wait_for


def customer_detail(admin, merchant, paysimple_customer_id):
    response = admin.request(
        "GET", f"/admin/merchants/{merchant.merchant_id}/customers/{paysimple_customer_id}"
    )
    return response.json() if response.status_code == 200 else None


def wait_for_status(admin, merchant, paysimple_customer_id, status, event_id=None):
    """The customer's detail once it has `status` and (the link is written before the history) the event's
    history entry."""

    def reached():
        detail = customer_detail(admin, merchant, paysimple_customer_id)
        if not detail or detail["customer"]["status"] != status:
            return None
        recorded = {entry["event_id"] for entry in detail["history"]}
        return detail if event_id is None or event_id in recorded else None

    return wait_for(reached, what=f"customer {paysimple_customer_id} to be {status}")


def save(paysimple, merchant, first, last, email):
    saved = paysimple.save_customer(
        merchant.merchant_id, {"FirstName": first, "LastName": last, "Email": email}
    )
    [delivery] = saved["deliveries"]
    assert delivery["status_code"] == 202, delivery
    return saved


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/admin/field-catalog", {}),
        ("/admin/field-catalog", {"Authorization": "Bearer not-the-token"}),
        ("/admin/merchants/1225/settings", {"Authorization": "Basic YWRtaW46YWRtaW4="}),
    ],
)
def test_the_gateway_refuses_admin_calls_without_the_admin_token(running_stack, path, headers):
    response = requests.get(running_stack.gateway_url + path, headers=headers, timeout=HTTP_TIMEOUT_SECONDS)

    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized"}


def test_the_admin_token_opens_the_admin_api(admin):
    catalog = admin.ok("GET", "/admin/field-catalog")

    assert {"FirstName", "LastName"} <= {field["paysimple_field"] for field in catalog["fields"]}


def test_a_signed_webhook_ends_as_the_matching_qbo_customer_a_link_and_a_history_entry(
    onboard, paysimple, admin, qbo
):
    # Given a merchant whose QBO company already has Jane Roe
    seeded = {}

    def seed(realm_id):
        seeded["jane"] = qbo.seed_customer(
            realm_id, GivenName="Jane", FamilyName="Roe", DisplayName="Jane Roe"
        )

    merchant = onboard(seed)

    # When Jane Roe is saved in PaySimple (its signed webhook goes through the gateway)
    saved = save(paysimple, merchant, "Jane", "Roe", "jane.roe@example.com")
    customer_id = saved["customer"]["Id"]

    # Then she is linked to the existing QBO customer by name, with a history entry for that event
    detail = wait_for_status(admin, merchant, customer_id, "linked", saved["event_id"])
    assert detail["customer"]["qbo_customer_id"] == seeded["jane"]["Id"]
    assert detail["customer"]["reason"] == "name"
    assert saved["event_id"] in {entry["event_id"] for entry in detail["history"]}
    [jane] = [found for found in qbo.customers(merchant.realm_id) if found["Id"] == seeded["jane"]["Id"]]
    assert jane["PrimaryEmailAddr"]["Address"] == "jane.roe@example.com"


def test_a_new_customer_is_created_in_qbo_and_linked(onboard, paysimple, admin, qbo):
    # Given a merchant with an empty QBO company
    merchant = onboard()

    # When a customer nobody in QBO has is saved in PaySimple
    saved = save(paysimple, merchant, "Brand", "Newcomer", "brand@example.com")

    # Then QBO has a new customer "Brand Newcomer", linked, and the history says it was created
    detail = wait_for_status(admin, merchant, saved["customer"]["Id"], "linked", saved["event_id"])
    [created] = [
        found for found in qbo.customers(merchant.realm_id) if found["DisplayName"] == "Brand Newcomer"
    ]
    assert detail["customer"]["qbo_customer_id"] == created["Id"]
    assert detail["customer"]["reason"] == "created"
    assert [entry["action"] for entry in detail["history"]] == ["created"]


def test_admin_link_unlink_and_merge_through_the_gateway(onboard, paysimple, admin, qbo):
    # Given two QBO "Sam Lee"s, and two PaySimple "Sam Lee"s whose emails match neither (both left unlinked)
    seeded = {}

    def seed(realm_id):
        for label in ("home", "work"):
            seeded[label] = qbo.seed_customer(
                realm_id,
                GivenName="Sam",
                FamilyName="Lee",
                DisplayName=f"Sam Lee ({label})",
                PrimaryEmailAddr={"Address": f"sam@{label}.example"},
            )

    merchant = onboard(seed)
    saves = [save(paysimple, merchant, "Sam", "Lee", f"sam.lee@{n}.example") for n in ("one", "two")]
    first, second = (saved["customer"]["Id"] for saved in saves)
    for saved in saves:
        detail = wait_for_status(admin, merchant, saved["customer"]["Id"], "unlinked", saved["event_id"])
        assert detail["customer"]["reason"] == "ambiguous"
        assert {candidate["qbo_customer_id"] for candidate in detail["candidates"]} == {
            seeded["home"]["Id"],
            seeded["work"]["Id"],
        }
    base = f"/admin/merchants/{merchant.merchant_id}"

    # When the admin links the first to the "work" one
    admin.ok(
        "POST",
        f"{base}/links",
        json={"paysimple_customer_id": str(first), "qbo_customer_id": seeded["work"]["Id"]},
    )

    # Then it is linked
    linked = customer_detail(admin, merchant, first)["customer"]
    assert (linked["status"], linked["qbo_customer_id"]) == ("linked", seeded["work"]["Id"])

    # When the admin unlinks it again
    response = admin.request("DELETE", f"{base}/links/{first}")

    # Then it is back on the unlinked list
    assert response.status_code in (200, 204)
    unlinked = admin.ok("GET", f"{base}/customers", params={"status": "unlinked"})
    assert {str(first), str(second)} <= {item["paysimple_customer_id"] for item in unlinked["items"]}

    # When the admin merges the second into the first, linking the first to the "home" one
    merged = admin.ok(
        "POST",
        f"{base}/merges",
        json={
            "primary_paysimple_customer_id": str(first),
            "duplicate_paysimple_customer_ids": [str(second)],
            "qbo_customer_id": seeded["home"]["Id"],
        },
    )

    # Then the first is linked to "home" and the second is merged into it
    assert merged["primary"]["status"] == "linked"
    assert merged["primary"]["qbo_customer_id"] == seeded["home"]["Id"]
    assert merged["merged_paysimple_customer_ids"] == [str(second)]
    duplicate = customer_detail(admin, merchant, second)["customer"]
    assert (duplicate["status"], duplicate["merged_into"]) == ("merged", str(first))


def test_a_change_qbo_fails_for_a_while_waits_in_the_queue_and_lands_once_qbo_is_back(
    onboard, paysimple, admin, qbo
):
    # Given a merchant, and QBO answering 503 to every call of its company until told otherwise
    merchant = onboard()
    qbo.inject_fault(realm_id=merchant.realm_id, status=503, count=10**9)
    try:
        # When a customer is saved in PaySimple, and QBO stays down for a few of its retries
        saved = save(paysimple, merchant, "Una", "Available", "una@example.com")
        customer_id = saved["customer"]["Id"]
        wait_for(
            lambda: [call for call in qbo.calls(merchant.realm_id) if call["status"] == 503][2:],
            timeout_seconds=30,
            what="three failed attempts",
        )
    finally:
        qbo.clear_faults()

    # Then the change was never dead-lettered: it waited in the queue, and lands once QBO is back
    detail = wait_for_status(admin, merchant, customer_id, "linked", event_id=saved["event_id"])
    assert [entry["action"] for entry in reversed(detail["history"])] == ["retried", "created"]
    failures = admin.ok("GET", f"/admin/merchants/{merchant.merchant_id}/failures")
    assert [item for item in failures["dead_letter"] if item["event_id"] == saved["event_id"]] == []


@pytest.mark.timeout(300)  # the bound below is up to 2 x 95 s
def test_a_burst_under_a_low_qbo_limit_arrives_within_twice_the_time_the_limit_requires(
    onboard, paysimple, admin, qbo
):
    # Given a merchant whose QBO company allows only 12 requests a minute (our budget assumes QBO's 500),
    # so QBO answers 429 past them and the sync must recover from it
    merchant = onboard()
    burst = 16
    # One create each, about one name query per batch of up to ten, and the listing that builds the
    # company's name variants at its first lookup
    calls_needed = burst + math.ceil(burst / 10) + 1
    limit_per_minute = 12
    required_seconds = 60 * calls_needed / limit_per_minute
    qbo.set_rate_limits(per_minute=limit_per_minute)
    try:
        # When 16 new customers are saved in PaySimple at once
        began = time.monotonic()
        saved = [
            save(paysimple, merchant, "Burst", f"Customer{number}", f"burst{number}@example.com")
            for number in range(burst)
        ]

        # Then every one of them is created in QBO within twice the time the limit requires
        def all_created():
            statuses = [customer_detail(admin, merchant, item["customer"]["Id"]) for item in saved]
            return all(detail and detail["customer"]["status"] == "linked" for detail in statuses)

        wait_for(all_created, timeout_seconds=2 * required_seconds, interval_seconds=1, what="the burst")
        elapsed = time.monotonic() - began
    finally:
        qbo.set_rate_limits()
    assert elapsed <= 2 * required_seconds
    assert len(qbo.customers(merchant.realm_id)) == burst
