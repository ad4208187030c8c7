"""Following QBO end to end over HTTP against `python -m local.run`: the QBO emulator's signed webhooks in at
the gateway's /webhooks/qbo, the SQS poller and QboChangesFunction, the daily jobs run now through the
gateway's /_local/schedules/, and Disconnect through the admin API."""

import time

import requests

from tests.support.local_stack_process import HTTP_TIMEOUT_SECONDS, wait_for


def run_schedule(running_stack, function):
    response = requests.post(
        f"{running_stack.gateway_url}/_local/schedules/{function}",
        headers={"Authorization": f"Bearer {running_stack.admin_token}"},
        timeout=120,
    )
    assert response.status_code == 200, response.text
    return response.json()["result"]


def linked_jane(onboard, paysimple, admin):
    merchant = onboard()
    saved = paysimple.save_customer(
        merchant.merchant_id, {"FirstName": "Jane", "LastName": "Roe", "Phone": "3035550101"}
    )
    customer_id = saved["customer"]["Id"]

    def linked():
        response = admin.request("GET", f"/admin/merchants/{merchant.merchant_id}/customers/{customer_id}")
        detail = response.json() if response.status_code == 200 else None
        return detail if detail and detail["customer"]["status"] == "linked" else None

    detail = wait_for(linked, what="Jane to be linked")
    return merchant, customer_id, detail["customer"]["qbo_customer_id"]


def test_a_persons_edit_in_qbo_reaches_the_customer_as_drift_through_the_webhook(
    onboard, paysimple, admin, qbo
):
    # Given Jane synced into QBO
    merchant, customer_id, qbo_id = linked_jane(onboard, paysimple, admin)
    # When, a moment later (QBO's times are whole seconds), a bookkeeper edits her phone in QBO
    time.sleep(1.1)
    qbo.edit_customer(merchant.realm_id, qbo_id, PrimaryPhone={"FreeFormNumber": "7205550199"})

    # Then QBO's signed webhook reaches the gateway and the edit shows on Jane as drift
    def drifted():
        response = admin.request("GET", f"/admin/merchants/{merchant.merchant_id}/customers/{customer_id}")
        detail = response.json()
        return detail if detail["customer"]["drifted_fields"] else None

    detail = wait_for(drifted, what="the QBO edit to show as drift")
    assert detail["drift"][0]["theirs"] == {"FreeFormNumber": "7205550199"}
    assert detail["history"][0]["action"] == "qbo_edited"
    delivered = qbo.webhooks()["deliveries"]
    assert delivered and delivered[-1]["status"] == 200


def test_the_daily_jobs_run_on_request_and_disconnect_revokes(running_stack, onboard, paysimple, admin, qbo):
    # Given Jane synced into QBO
    merchant, _, _ = linked_jane(onboard, paysimple, admin)
    # When the CDC sweep and the keep-alive are run now
    swept = run_schedule(running_stack, "QboCdcFunction")
    kept = run_schedule(running_stack, "QboKeepAliveFunction")
    # Then the merchant's company was swept and its connection checked
    assert any(entry["realm_id"] == merchant.realm_id for entry in swept["companies"])
    [check] = [entry for entry in kept["connections"] if entry["merchant_id"] == merchant.merchant_id]
    assert check["outcome"] == "alive"
    status = admin.ok("GET", f"/admin/merchants/{merchant.merchant_id}/status")
    assert status["connection_expiry"].startswith("expires in ")
    # When the admin disconnects QuickBooks
    disconnected = admin.ok("DELETE", f"/admin/merchants/{merchant.merchant_id}/qbo/connection")
    # Then Intuit (the emulator) was asked to revoke, and the merchant is not connected any more
    assert disconnected["status"] == "disconnected"
    assert "revoke" in [call["operation"] for call in qbo.calls(merchant.realm_id)]
    assert admin.ok("GET", f"/admin/merchants/{merchant.merchant_id}/status")["connection"] == "not_connected"


def test_an_unknown_schedule_and_a_caller_without_the_admin_token_are_refused(running_stack):
    url = f"{running_stack.gateway_url}/_local/schedules/"
    headers = {"Authorization": f"Bearer {running_stack.admin_token}"}
    assert (
        requests.post(url + "NoSuchFunction", headers=headers, timeout=HTTP_TIMEOUT_SECONDS).status_code
        == 404
    )
    assert requests.post(url + "QboCdcFunction", timeout=HTTP_TIMEOUT_SECONDS).status_code == 401
