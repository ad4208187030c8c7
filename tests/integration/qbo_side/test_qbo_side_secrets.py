"""Following QBO never lets a secret out: the webhook verifier token, the QBO tokens revoked at Disconnect
and refreshed by the keep-alive appear in no log line, metric or answer."""

from __future__ import annotations

import json
from collections.abc import Callable

import requests

from customer_sync.config.shared import SecretNames
from tests.support.admin_api import call, secret_json
from tests.support.qbo_side import QboSide

ANN = {"FirstName": "Ann", "LastName": "Lee", "Email": "ann@example.com", "Phone": "3035550101"}


def test_no_verifier_token_or_qbo_token_is_ever_logged_or_answered(
    qbo_side: QboSide, log_text: Callable[[], str]
) -> None:
    # Given a merchant's tokens and the app's verifier token
    names = SecretNames(secret_prefix=qbo_side.stack.env["SECRET_PREFIX"])
    stored = secret_json(names.qbo_connection(qbo_side.stack.merchant_id))
    secrets_seen = {qbo_side.verifier_token, stored["access_token"], stored["refresh_token"]}
    # When webhooks are delivered (good and forged), the daily jobs run, and the admin disconnects
    qbo_side.subscribe()
    customer_id = qbo_side.stack.save_customer(**ANN)
    qbo_side.stack.sync(customer_id, event_type="customer_created")
    qbo_id = str(qbo_side.stack.link(customer_id).qbo_customer_id)
    qbo_side.person_edits(qbo_id, GivenName="Annie")
    qbo_side.deliver_and_apply()
    forged = requests.post(qbo_side.webhook_url, data=b"[]", headers={"intuit-signature": "AAAA"}, timeout=10)
    assert forged.status_code == 401
    answers = [
        json.dumps(qbo_side.run_cdc_sweep()),
        json.dumps(qbo_side.run_keep_alive()),
        call("DELETE", f"/admin/merchants/{qbo_side.stack.merchant_id}/qbo/connection").text,
        forged.text,
    ]
    # Then none of those secrets is in any log line, metric or answer
    text = log_text() + "\n".join(answers)
    assert "QBO change applied" in text  # the logs were captured
    leaked = [secret for secret in secrets_seen if secret in text]
    assert leaked == []
