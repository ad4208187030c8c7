"""`make bench`'s in-process handler benchmark (bench/sync_engine.py) still runs end to end: it builds its own
emulators, moto and a connected merchant, so a change to any of them can break it long before the next
`make bench` (a QBO emulator that began refusing unregistered redirect URIs once did)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from local.cfn import PROJECT_ROOT


def test_the_handler_benchmark_runs_a_few_changes_of_every_phase(tmp_path: Path):
    # Given the benchmark, asked for three changes per phase
    out = tmp_path / "sync_engine.json"
    env = {**os.environ, "PYTHONPATH": f"{PROJECT_ROOT}:{PROJECT_ROOT / 'layers' / 'shared'}"}
    # When it runs as `make bench` runs it
    subprocess.run(
        [sys.executable, "-m", "bench.sync_engine", "--changes=3", f"--out={out}"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        check=True,
        timeout=300,
    )
    # Then every phase (batched, and the fixed 20 changes one per invocation) synced without a failure,
    # creates with one QBO create each
    result = json.loads(out.read_text())
    phases = {phase["phase"]: phase for phase in result["handler"]}
    assert {"create", "linked update", "unchanged", "create, 1 per invocation"} <= set(phases)
    assert phases["create"]["changes"] == 3
    assert all(phase["changes"] > 0 and phase["failed"] == 0 for phase in result["handler"])
    assert phases["create"]["qbo_calls_per_change"]["create"] == 1.0
