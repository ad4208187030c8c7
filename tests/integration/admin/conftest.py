"""Fixtures of the AdminFunction tests: the QBO and PaySimple emulators over loopback HTTP (one each per
module, reset per test), moto with template.yaml's resources, and AdminFunction's environment."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from customer_sync.config.shared import SecretNames
from emulators.paysimple.control import PaySimpleEmulatorControl
from emulators.paysimple.server import PaySimpleEmulator
from emulators.qbo.control import QboEmulatorControl
from emulators.qbo.server import QboEmulator
from tests.support import emulators
from tests.support.admin_api import Merchants
from tests.support.onboarding import write_qbo_app_secret


@pytest.fixture
def admin_env(
    use_function_env: Callable[..., dict[str, str]],
    qbo_emulator: QboEmulator,
    paysimple_emulator: PaySimpleEmulator,
) -> dict[str, str]:
    """AdminFunction's environment from template.yaml, pointed at the emulators, with the QBO app set."""
    QboEmulatorControl(qbo_emulator.base_url).reset()
    PaySimpleEmulatorControl(paysimple_emulator.base_url).reset()
    env = use_function_env("AdminFunction", **emulators.emulator_urls(qbo_emulator, paysimple_emulator))
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
