"""The tracer is built, and aws_xray_sdk imported (about 150 ms of a cold start), only where tracing is on."""

from __future__ import annotations

import pytest

from customer_sync.observability import tracer, tracing_enabled
from tests.support.fresh_interpreter import run_fresh

IN_LAMBDA = {"LAMBDA_TASK_ROOT": "/var/task"}


@pytest.mark.parametrize(
    ("environ", "enabled"),
    [
        ({}, False),  # not in Lambda
        (IN_LAMBDA, True),
        ({**IN_LAMBDA, "POWERTOOLS_TRACE_DISABLED": "true"}, False),
        ({**IN_LAMBDA, "AWS_SAM_LOCAL": "true"}, False),  # sam local and the local stack
        ({**IN_LAMBDA, "POWERTOOLS_TRACE_DISABLED": "false"}, True),
    ],
)
def test_tracing_is_on_only_in_lambda_and_only_when_not_disabled(environ: dict[str, str], enabled: bool):
    assert tracing_enabled(environ) is enabled


def test_with_tracing_off_the_handler_is_left_as_it_is():
    def handler(event: dict[str, str], context: object) -> str:
        return "done"

    # (The tests run with POWERTOOLS_TRACE_DISABLED=true.)
    assert tracer.capture_lambda_handler(capture_response=False)(handler) is handler


def test_importing_a_function_without_tracing_never_loads_the_xray_sdk():
    # Given a fresh interpreter with tracing off, as the local stack and sam local run the functions
    # When both handler modules are imported
    loaded = run_fresh(
        "import json, sys, functions.sync.app, functions.ingest.app\n"
        "print(json.dumps('aws_xray_sdk' in sys.modules))"
    )
    # Then the X-Ray SDK was not loaded
    assert loaded is False
