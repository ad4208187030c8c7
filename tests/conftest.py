"""Shared fixtures: moto with the resources template.yaml declares, and a function's Lambda environment;
the fixture plugins of tests/support."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from moto import mock_aws

from customer_sync import composition
from local.bootstrap import LocalStack, create_local_resources
from local.moto_fidelity import moto_as_strict_as_aws
from tests.support.aws_environment import FAKE_AWS_ENV

# Powertools' Logger and Metrics read these when a handler module is imported, before any fixture runs (and
# before the plugins below import the handlers).
for _name in ("POWERTOOLS_TRACE_DISABLED", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_SERVICE_NAME"):
    os.environ.setdefault(_name, FAKE_AWS_ENV[_name])

# Fixtures used in more than one directory. pytest takes pytest_plugins from the root conftest only; a
# directory's conftest may still override one of them (tests/security overrides qbo_emulator).
pytest_plugins = [
    "tests.support.emulators",  # qbo_emulator, paysimple_emulator: once per module, on 127.0.0.1
    "tests.support.sync_stack",  # sync_stack, just_connected_sync_stack, captured_output, log_text
]

TESTS_DIR = Path(__file__).resolve().parent
# Each test's tier is its directory's (README.md, "Development"); `make test-<tier>` runs one tier.
TIER_OF_DIRECTORY = {
    "unit": "unit",  # the application's logic: in-memory fakes or moto's in-process mock, no sockets
    "template": "unit",  # template.yaml, samconfig.toml and events/ read as files
    "integration": "integration",  # handlers and adapters against moto and the emulators over loopback
    "security": "integration",
    "emulators": "integration",
    "contract": "integration",
    "e2e": "e2e",  # `make run` in its own processes, driven over HTTP
    "fuzz": "fuzz",  # the admin API fuzzed from its OpenAPI document, the webhook endpoint by hypothesis
    "browser": "browser",  # the console in Debian's chromium (Playwright) against `make run`
    "local": "tooling",  # the project's tooling: the local stack, moto patches, make sam-local
}


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Marks every test with its tier; a test in a directory without one is an error, not an unrun test."""
    for item in items:
        directory = item.path.relative_to(TESTS_DIR).parts[0] if TESTS_DIR in item.path.parents else None
        tier = TIER_OF_DIRECTORY.get(directory or "")
        if tier is None:
            raise pytest.UsageError(
                f"{item.nodeid}: its directory has no test tier (TIER_OF_DIRECTORY in tests/conftest.py)"
            )
        item.add_marker(tier)


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test ever talks to a real AWS account, and settings are re-read per test."""
    for name, value in FAKE_AWS_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    composition.reset()
    yield
    composition.reset()


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws(), moto_as_strict_as_aws():
        yield


@pytest.fixture
def local_stack(aws: None) -> LocalStack:
    """Every table, queue and secret of template.yaml, created in moto."""
    return create_local_resources()


@pytest.fixture
def use_function_env(
    local_stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., dict[str, str]]:
    """Give the test process the environment template.yaml gives a function (plus overrides)."""

    def apply(logical_id: str, **overrides: str) -> dict[str, str]:
        env = {**local_stack.function_environment(logical_id), **overrides}
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        composition.reset()
        return env

    return apply
