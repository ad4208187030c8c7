"""What a function's cold start imports: nothing it never uses, in an order that does not make a library build
more than it must (bench/cold_start.py measures the time; these tests keep the causes from coming back)."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from local.cfn import PROJECT_ROOT
from tests.support.fresh_interpreter import run_fresh

_PROBE = "import json, sys, {module}; print(json.dumps(sorted(sys.modules)))"


def modules_loaded_by(module: str) -> set[str]:
    """Every module a fresh interpreter holds after importing `module`."""
    return set(run_fresh(_PROBE.format(module=module)))


def test_the_sync_handler_never_builds_powertools_event_models():
    # Given a fresh interpreter
    # When SyncFunction's handler module is imported
    loaded = modules_loaded_by("functions.sync.app")
    # Then Powertools' batch module was imported before pydantic: had pydantic come first, the batch module
    # would have built its parser's event models (every AWS event shape, tens of ms) for type hints only
    assert "aws_lambda_powertools.utilities.batch" in loaded
    assert "aws_lambda_powertools.utilities.parser.models" not in loaded


def test_the_ingest_handler_loads_only_the_models_and_ports_it_uses():
    # Given a fresh interpreter
    # When IngestFunction's handler module is imported
    loaded = modules_loaded_by("functions.ingest.app")
    # Then it holds the webhook and signing-key models it validates, and none of those the sync uses, nor the
    # shared pages and leases, nor the ports of concerns other than its own
    assert {"customer_sync.models.webhook", "customer_sync.models.merchant_secrets"} <= loaded
    assert not loaded & {
        "customer_sync.models.paysimple",
        "customer_sync.models.settings",
        "customer_sync.models.mapping",
        "customer_sync.models.qbo_events",
        "customer_sync.models.common",
    }
    assert {name for name in loaded if name.startswith("customer_sync.ports.")} == {
        "customer_sync.ports.ingest"
    }


@pytest.mark.parametrize(
    ("handler", "settings_modules"),
    [
        ("functions.ingest.app", {"shared", "ingest"}),
        ("functions.sync.app", {"shared", "clients", "sync"}),
    ],
)
def test_the_ingest_and_sync_handlers_define_only_their_own_settings(
    handler: str, settings_modules: set[str]
):
    # Given a fresh interpreter
    # When the handler module is imported
    loaded = modules_loaded_by(handler)
    # Then of customer_sync.config it loaded the reader, the shared parts and its own function's module, and
    # no other function's settings classes (all thirteen cost the ingest function about 6 ms)
    assert {name for name in loaded if name.startswith("customer_sync.config.")} == {
        f"customer_sync.config.{module}" for module in settings_modules
    }


_HANDLER_MODULES = sorted((PROJECT_ROOT / "functions").glob("*/app.py"))


@pytest.mark.parametrize("app", _HANDLER_MODULES, ids=lambda path: path.parent.name)
def test_every_handler_module_pauses_the_collector_first_and_ends_the_pause_last(app: Path):
    # Given a function's handler module
    tree = ast.parse(app.read_text())
    statements = [node for node in tree.body if not (isinstance(node, ast.Expr) and node is tree.body[0])]
    # Then its first import after `from __future__` is the init phase, and its last statement ends it:
    # whatever loads before the pause pays for collections, whatever loads after the end is not frozen
    first_import = next(
        node for node in statements if isinstance(node, ast.ImportFrom) and node.module != "__future__"
    )
    assert ast.unparse(first_import) == "from customer_sync import init_phase"
    assert ast.unparse(statements[-1]) == "init_phase.done()"


def test_a_cold_start_loads_with_the_collector_paused_and_freezes_what_it_loaded():
    # Given a fresh interpreter that records how many collections ran
    probe = (
        "import gc, json; runs = []; gc.callbacks.append(lambda phase, info: runs.append(phase))\n"
        "import functions.sync.app\n"
        "print(json.dumps({'collections': runs.count('start'), 'enabled': gc.isenabled(),"
        " 'frozen': gc.get_freeze_count()}))"
    )
    # When SyncFunction's handler module is imported
    loaded: dict[str, Any] = run_fresh(probe)
    # Then no collection ran while it loaded, the collector runs again afterwards, and what was loaded is in
    # the permanent generation, which later collections skip
    assert loaded["collections"] == 0
    assert loaded["enabled"] is True
    assert loaded["frozen"] > 10_000


def test_a_second_handler_module_in_the_same_process_leaves_the_collector_alone():
    # Given a process (a test run, say) that already loaded one handler module
    probe = (
        "import gc, json, functions.sync.app\n"
        "frozen = gc.get_freeze_count(); gc.unfreeze(); runs = []\n"
        "gc.callbacks.append(lambda phase, info: runs.append(phase)); gc.set_threshold(10)\n"
        "import functions.ingest.app\n"
        "print(json.dumps({'collections': runs.count('start'), 'enabled': gc.isenabled(),"
        " 'frozen': gc.get_freeze_count()}))"
    )
    # When another one is imported
    loaded: dict[str, Any] = run_fresh(probe)
    # Then the collector kept running while it loaded, and nothing was frozen again
    assert loaded["collections"] > 0
    assert loaded["enabled"] is True
    assert loaded["frozen"] == 0
