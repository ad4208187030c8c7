"""The e2e fixtures: one local stack (tests/support/local_stack_process.py) serves the whole session, driven
only over HTTP; every test onboards its own merchant."""

import itertools
import secrets

import pytest
import requests

from emulators.paysimple import PaySimpleEmulatorControl
from emulators.qbo.control import QboEmulatorControl
from tests.support.local_stack_process import HTTP_TIMEOUT_SECONDS, Admin, Merchant, local_stack_process


@pytest.fixture(scope="session")
def running_stack(tmp_path_factory):
    with local_stack_process(tmp_path_factory.mktemp("local-stack")) as stack:
        yield stack


@pytest.fixture(scope="session")
def admin(running_stack):
    return Admin(running_stack)


@pytest.fixture(scope="session")
def qbo(running_stack):
    return QboEmulatorControl(running_stack.info["qbo_emulator_url"])


@pytest.fixture(scope="session")
def paysimple(running_stack):
    return PaySimpleEmulatorControl(running_stack.info["paysimple_emulator_url"])


# PaySimple merchant ids are numbers; each test gets its own merchant (and QBO company) in the one stack.
_merchant_ids = itertools.count(7001)


@pytest.fixture
def onboard(running_stack, admin, qbo, paysimple):
    """Onboard a merchant as production does: PaySimple credentials through the admin API, the QBO connect
    flow (the emulator consents at once and redirects to the gateway's callback), sync switched on. The
    QBO company is created (and can be seeded) first."""

    def onboard_merchant(seed_qbo=lambda realm_id: None) -> Merchant:
        merchant_id = str(next(_merchant_ids))
        realm_id = f"91303500000{merchant_id}"
        qbo.create_realm(realm_id)
        seed_qbo(realm_id)
        signing_key = secrets.token_urlsafe(24)
        credentials = {"api_username": f"user-{merchant_id}", "api_key": secrets.token_urlsafe(16)}
        paysimple.add_merchant(
            merchant_id,
            credentials["api_username"],
            credentials["api_key"],
            signing_key,
            webhook_url=running_stack.gateway_url + "/webhooks/paysimple",
        )
        admin.ok(
            "PUT",
            f"/admin/merchants/{merchant_id}",
            json={"paysimple": {**credentials, "webhook_signing_key": signing_key}},
        )
        authorize_url = admin.ok("GET", f"/admin/merchants/{merchant_id}/qbo/connect")["authorize_url"]
        qbo.set_consent_realm(realm_id)
        consent = requests.get(authorize_url, allow_redirects=False, timeout=HTTP_TIMEOUT_SECONDS)
        assert consent.status_code == 302
        callback = requests.get(consent.headers["Location"], timeout=HTTP_TIMEOUT_SECONDS)
        assert callback.status_code == 200, callback.text
        admin.ok("PUT", f"/admin/merchants/{merchant_id}/settings", json={"sync_enabled": True})
        return Merchant(merchant_id, realm_id)

    return onboard_merchant
