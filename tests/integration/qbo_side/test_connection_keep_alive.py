"""QBO connections kept alive end to end (QboKeepAliveFunction's handler, the admin API, the sync, moto and
the QBO emulator, whose clock jumps months ahead): an idle connection survives past its refresh token's
lifetime, a hard expiry ahead is reported and alarmed, a revoked connection alarms once, and Disconnect
revokes the tokens at Intuit before clearing them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from customer_sync import composition
from customer_sync.adapters.secrets import SecretsStore
from customer_sync.config.shared import SecretNames
from tests.support.admin_api import call, secret_json
from tests.support.qbo_side import QboSide
from tests.support.sync_stack import CapturedOutput

ANN = {"FirstName": "Ann", "LastName": "Lee", "Email": "ann@example.com"}
NO_FAILURES: dict[str, list[dict[str, str]]] = {"batchItemFailures": []}
DAY = 24 * 3600


def connection_secret_name(side: QboSide) -> str:
    return SecretNames(secret_prefix=side.stack.env["SECRET_PREFIX"]).qbo_connection(side.stack.merchant_id)


def age_connection(side: QboSide, **expiries: datetime) -> None:
    """The stored connection as it would be after months without a refresh (its expiry times moved up)."""
    name = connection_secret_name(side)
    stored = secret_json(name)
    stored.update({field: moment.isoformat() for field, moment in expiries.items()})
    SecretsStore().put_json(name, stored)


def token_calls(side: QboSide) -> int:
    return sum(call["operation"] == "token" for call in side.stack.qbo_calls())


def check_of(result: dict[str, object], merchant_id: str) -> dict[str, object]:
    connections = result["connections"]
    assert isinstance(connections, list)
    return next(check for check in connections if check["merchant_id"] == merchant_id)


def test_a_connection_idle_past_the_refresh_window_stays_alive(qbo_side: QboSide) -> None:
    # Given a merchant idle for 80 days: its refresh token (100 days) has 20 left, at QBO and as stored
    now = datetime.now(UTC)
    qbo_side.later(80 * DAY)
    age_connection(qbo_side, refresh_token_expires_at=now + timedelta(days=20))
    # When the daily keep-alive runs
    result = qbo_side.run_keep_alive()
    # Then it refreshed the connection: QBO now accepts the new refresh token for another 100 days
    check = check_of(result, qbo_side.stack.merchant_id)
    assert check["outcome"] == "refreshed"
    stored = secret_json(connection_secret_name(qbo_side))
    assert datetime.fromisoformat(stored["refresh_token_expires_at"]) > now + timedelta(days=99)
    # When 40 more idle days pass (past the old refresh token's end) and a customer is saved
    qbo_side.later(40 * DAY)
    customer_id = qbo_side.stack.save_customer(**ANN)
    # Then the sync still reaches QBO (one refresh with the kept-alive token, then its calls)
    assert qbo_side.stack.sync(customer_id, event_type="customer_created") == NO_FAILURES
    assert qbo_side.stack.link(customer_id).status == "linked"


def test_without_the_keep_alive_an_idle_connection_dies(qbo_side: QboSide) -> None:
    # Given a merchant idle for 120 days, never kept alive (what the keep-alive prevents)
    qbo_side.later(120 * DAY)
    # When a customer is saved, Then QBO refuses the dead refresh token and the change is parked
    qbo_side.stack.sync(qbo_side.stack.save_customer(**ANN))
    assert [failure.reason for failure in qbo_side.stack.failures()] == ["qbo_connection_broken"]


def test_a_fresh_connection_is_left_alone(qbo_side: QboSide) -> None:
    qbo_side.stack.clear_qbo_calls()
    result = qbo_side.run_keep_alive()
    assert check_of(result, qbo_side.stack.merchant_id)["outcome"] == "alive"
    assert token_calls(qbo_side) == 0


def test_a_hard_expiry_ahead_shows_in_the_status_and_fires_the_alarm(
    qbo_side: QboSide, captured_output: CapturedOutput
) -> None:
    # Given a connection whose hard expiry (no refresh extends it) is 12 days away
    hard = datetime.now(UTC) + timedelta(days=12, hours=1)
    age_connection(qbo_side, refresh_token_hard_expires_at=hard)
    # When the keep-alive runs
    result = qbo_side.run_keep_alive()
    # Then it reports the connection as expiring, in the metric the alarm watches
    check = check_of(result, qbo_side.stack.merchant_id)
    assert (check["expiring"], check["expires_in_days"]) == (True, 12)
    assert captured_output.metric_counts()["QboConnectionsExpiring"] == 1
    # And the merchant's status says when
    status = call("GET", f"/admin/merchants/{qbo_side.stack.merchant_id}/status").json
    assert status["connection_expiry"] == "expires in 12 days"
    assert status["connection_expires_in_days"] == 12


def test_a_revoked_connection_raises_the_alarm_once_not_per_change(
    qbo_side: QboSide, captured_output: CapturedOutput
) -> None:
    # Given the merchant revoked the app in QBO (refresh token dead, access token expired)
    qbo_side.stack.qbo.revoke_refresh_tokens(qbo_side.realm_id)
    qbo_side.stack.qbo.expire_access_tokens(qbo_side.realm_id)
    # When three customers are saved, and the keep-alive runs
    for fields in (ANN, {**ANN, "FirstName": "Bo"}, {**ANN, "FirstName": "Cy"}):
        qbo_side.stack.sync(qbo_side.stack.save_customer(**fields))
    result = qbo_side.run_keep_alive()
    # Then every change is parked (nothing lost), the connection is broken, and the alarm's metric counted 1
    assert [failure.reason for failure in qbo_side.stack.failures()] == ["qbo_connection_broken"] * 3
    assert captured_output.metric_counts()["QboConnectionBroken"] == 1
    assert check_of(result, qbo_side.stack.merchant_id)["outcome"] == "broken"
    status = call("GET", f"/admin/merchants/{qbo_side.stack.merchant_id}/status").json
    assert status["connection"] == "broken"


def test_disconnect_revokes_the_tokens_at_intuit_and_clears_them(qbo_side: QboSide) -> None:
    # Given a connected merchant
    merchant_id = qbo_side.stack.merchant_id
    refresh_token = secret_json(connection_secret_name(qbo_side))["refresh_token"]
    # When the admin disconnects QuickBooks
    response = call("DELETE", f"/admin/merchants/{merchant_id}/qbo/connection")
    # Then Intuit was asked to revoke, and no token is stored any more
    assert response.status == 200, response.text
    assert response.json == {
        "status": "disconnected",
        "merchant_id": merchant_id,
        "realm_id": qbo_side.realm_id,
    }
    assert [c["operation"] for c in qbo_side.stack.qbo_calls()][-1:] == ["revoke"]
    stored = secret_json(connection_secret_name(qbo_side))
    assert set(stored) == {"realm_id", "disconnected_at"}
    assert refresh_token not in json.dumps(stored)
    # And the status says so, and a save is parked until the merchant connects again
    assert call("GET", f"/admin/merchants/{merchant_id}/status").json["connection"] == "not_connected"
    customer_id = qbo_side.stack.save_customer(**ANN)
    qbo_side.stack.sync(customer_id)
    assert [failure.reason for failure in qbo_side.stack.failures()] == ["qbo_connection_broken"]
    # And disconnecting again changes nothing
    again = call("DELETE", f"/admin/merchants/{merchant_id}/qbo/connection")
    assert again.json["status"] == "not_connected"


def test_disconnect_clears_nothing_while_intuit_cannot_be_reached(
    qbo_side: QboSide, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given Intuit's revoke endpoint is down
    monkeypatch.setenv("QBO_REVOKE_URL", "http://127.0.0.1:9/v2/oauth2/tokens/revoke")
    composition.reset()
    before = secret_json(connection_secret_name(qbo_side))
    # When the admin disconnects, Then 503 and the connection is kept (try again: nothing half-done)
    response = call("DELETE", f"/admin/merchants/{qbo_side.stack.merchant_id}/qbo/connection")
    assert response.status == 503
    assert secret_json(connection_secret_name(qbo_side)) == before
