"""What a function's cold start imports: nothing it never uses, in an order that does not make a library build
more than it must (bench/cold_start.py measures the time; these tests keep the causes from coming back)."""

from __future__ import annotations

import json
import subprocess
import sys

from local.cfn import PROJECT_ROOT

_PROBE = "import json, sys, {module}; print(json.dumps(sorted(sys.modules)))"


def modules_loaded_by(module: str) -> set[str]:
    """Every module a fresh interpreter holds after importing `module`, with tracing off as in the tests."""
    env = {"PYTHONPATH": f"{PROJECT_ROOT}:{PROJECT_ROOT / 'layers' / 'shared'}", "AWS_SAM_LOCAL": "true"}
    answer = subprocess.run(
        [sys.executable, "-c", _PROBE.format(module=module)],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return set(json.loads(answer.stdout))


def test_the_sync_handler_never_builds_powertools_event_models():
    # Given a fresh interpreter
    # When SyncFunction's handler module is imported
    loaded = modules_loaded_by("functions.sync.app")
    # Then Powertools' batch module was imported before pydantic: had pydantic come first, the batch module
    # would have built its parser's event models (every AWS event shape, tens of ms) for type hints only
    assert "aws_lambda_powertools.utilities.batch" in loaded
    assert "aws_lambda_powertools.utilities.parser.models" not in loaded


def test_the_ingest_handler_builds_no_customer_settings_or_mapping_models():
    # Given a fresh interpreter
    # When IngestFunction's handler module is imported
    loaded = modules_loaded_by("functions.ingest.app")
    # Then it holds the webhook and signing-key models it validates, and none of those the sync uses
    assert {"customer_sync.models.webhook", "customer_sync.models.merchant_secrets"} <= loaded
    assert not loaded & {
        "customer_sync.models.paysimple",
        "customer_sync.models.settings",
        "customer_sync.models.mapping",
        "customer_sync.models.qbo_events",
    }
