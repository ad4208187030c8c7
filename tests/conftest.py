"""Shared fixtures: moto with the resources template.yaml declares, and a function's Lambda environment."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest
from moto import mock_aws

from customer_sync import composition
from local.bootstrap import LocalStack, create_local_resources

FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "CustomerSync",
    "POWERTOOLS_SERVICE_NAME": "customer-sync",
}

# Powertools' Logger and Metrics read these when a handler module is imported, before any fixture runs.
for _name in ("POWERTOOLS_TRACE_DISABLED", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_SERVICE_NAME"):
    os.environ.setdefault(_name, FAKE_AWS_ENV[_name])


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
    with mock_aws():
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
