"""Fuzzing AdminFunction from its own OpenAPI document: schemathesis generates valid and invalid requests for
every operation, each is sent as an API Gateway REST proxy event to the handler (in-process, moto for AWS,
the QBO and PaySimple emulators over loopback HTTP), and no answer may be a 5xx.

Half of the generated merchant ids are swapped for an onboarded, connected merchant, so requests get past
the "unknown merchant" check into the routes' own logic. The run is seeded (derandomized) so it is the same
every time, and it sends at least MIN_REQUESTS requests.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings, strategies as st
from schemathesis import GenerationMode
from schemathesis.core.result import Err

from emulators.paysimple.control import PaySimpleEmulatorControl
from emulators.paysimple.server import PaySimpleEmulator
from emulators.qbo.control import QboEmulatorControl
from functions.admin.openapi import generated as openapi_json
from tests.support.admin_api import admin_event, invoke
from tests.support.emulators import emulator_urls, unthrottled_qbo_emulator
from tests.support.onboarding import onboard_merchant

MERCHANT = "1225"
MIN_REQUESTS = 1000
EXAMPLES = 1100

SCHEMA = schemathesis.openapi.from_dict(json.loads(openapi_json()))


@SCHEMA.hook
def flatmap_path_parameters(
    context: Any, path_parameters: dict[str, Any]
) -> st.SearchStrategy[dict[str, Any]]:
    if not path_parameters or "merchant_id" not in path_parameters:
        return st.just(path_parameters)
    return st.sampled_from([path_parameters, {**path_parameters, "merchant_id": MERCHANT}])


def _operations() -> list[Any]:
    operations = []
    for result in SCHEMA.get_all_operations():
        if isinstance(result, Err):
            raise result.err()  # the document itself is broken: fail loudly
        operations.append(result.ok())
    return operations


OPERATIONS = _operations()
CASES = st.one_of(
    [
        operation.as_strategy(generation_mode=mode)
        for operation in OPERATIONS
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    ]
)


def event_for(case: Any) -> dict[str, Any]:
    """The generated request as API Gateway would hand it over: text bodies, string query values."""
    body = case.body
    if type(body).__name__ == "NotSet":
        raw_body = None
    elif isinstance(body, bytes):
        raw_body = body.decode("utf-8", errors="replace")  # API Gateway passes non-binary bodies as text
    else:
        raw_body = json.dumps(body)
    query: dict[str, str] = {}
    for name, value in (case.query or {}).items():
        values = list(value) if isinstance(value, list | tuple) else [value]
        if values:
            query[name] = str(values[-1])  # API Gateway's single-value map keeps the last one
    headers = {name: str(value) for name, value in (case.headers or {}).items()}
    return admin_event(
        case.method.upper(),
        unquote(case.formatted_path),
        raw_body=raw_body,
        query=query or None,
        headers=headers,
    )


@pytest.fixture
def fuzz_stack(use_function_env) -> Iterator[None]:
    with unthrottled_qbo_emulator() as qbo, PaySimpleEmulator() as paysimple:
        env = use_function_env("AdminFunction", **emulator_urls(qbo, paysimple))
        qbo_control = QboEmulatorControl(qbo.base_url)
        paysimple_control = PaySimpleEmulatorControl(paysimple.base_url)
        realm = onboard_merchant(env, MERCHANT, qbo=qbo_control, paysimple=paysimple_control).realm_id
        qbo_control.seed_customer(realm, DisplayName="Ann Lee", GivenName="Ann", FamilyName="Lee")
        paysimple_control.save_customer(MERCHANT, {"FirstName": "Ann", "LastName": "Lee"}, send_webhook=False)
        yield


def test_no_generated_request_gets_a_5xx(fuzz_stack):
    statuses: Counter[int] = Counter()

    @given(case=CASES)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def send(case: Any) -> None:
        response = invoke(event_for(case))
        statuses[response.status] += 1
        assert response.status < 500, (
            f"{case.method} {case.formatted_path} -> {response.status}: {response.text}"
        )
        if response.headers.get("Content-Type") == "application/json":
            json.loads(response.text)

    send()

    assert sum(statuses.values()) >= MIN_REQUESTS
    # The run reached the routes' own logic, not only the validation and 404 layers.
    assert statuses[200] > 50
