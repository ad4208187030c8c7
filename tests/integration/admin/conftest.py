"""Fixtures of the AdminFunction tests: the QBO and PaySimple emulators over loopback HTTP (one each per
module, reset per test), moto with template.yaml's resources, and AdminFunction's environment."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from customer_sync.config import SecretNames
from emulators.paysimple.control import PaySimpleEmulatorControl
from emulators.paysimple.server import PaySimpleEmulator
from emulators.qbo.control import QboEmulatorControl
from emulators.qbo.server import QboEmulator
from tests.integration.admin.support import Merchants
from tests.support.onboarding import write_qbo_app_secret


@pytest.fixture(scope="module")
def qbo_emulator() -> Iterator[QboEmulator]:
    # A generous rate limit: these tests are about the admin API, not QBO's throttling.
    server = QboEmulator(rate_limit_per_minute=1_000_000).start(host="127.0.0.1", port=0)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def paysimple_emulator() -> Iterator[PaySimpleEmulator]:
    server = PaySimpleEmulator().start(host="127.0.0.1", port=0)
    yield server
    server.stop()


@pytest.fixture
def admin_env(
    use_function_env: Callable[..., dict[str, str]],
    qbo_emulator: QboEmulator,
    paysimple_emulator: PaySimpleEmulator,
) -> dict[str, str]:
    """AdminFunction's environment from template.yaml, pointed at the emulators, with the QBO app set."""
    QboEmulatorControl(qbo_emulator.base_url).reset()
    PaySimpleEmulatorControl(paysimple_emulator.base_url).reset()
    env = use_function_env(
        "AdminFunction",
        QBO_API_BASE_URL=qbo_emulator.base_url,
        QBO_TOKEN_URL=qbo_emulator.token_url,
        QBO_AUTHORIZE_URL=qbo_emulator.authorize_url,
        PAYSIMPLE_API_BASE_URL=paysimple_emulator.base_url,
    )
    write_qbo_app_secret(SecretNames(secret_prefix=env["SECRET_PREFIX"]))
    return env


@pytest.fixture
def qbo(qbo_emulator: QboEmulator) -> QboEmulatorControl:
    return QboEmulatorControl(qbo_emulator.base_url)


@pytest.fixture
def paysimple(paysimple_emulator: PaySimpleEmulator) -> PaySimpleEmulatorControl:
    return PaySimpleEmulatorControl(paysimple_emulator.base_url)


@pytest.fixture
def merchants(
    admin_env: dict[str, str], qbo: QboEmulatorControl, paysimple: PaySimpleEmulatorControl
) -> Merchants:
    return Merchants(qbo, paysimple)
