"""A probe run in a fresh Python interpreter, with the project and the layer on its path and tracing off as in
the tests: for what only a first import shows (which modules load, what the collector did)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from local.cfn import PROJECT_ROOT


def run_fresh(probe: str) -> Any:
    """What `probe` prints as JSON in a fresh interpreter."""
    env = {"PYTHONPATH": f"{PROJECT_ROOT}:{PROJECT_ROOT / 'layers' / 'shared'}", "AWS_SAM_LOCAL": "true"}
    answer = subprocess.run(
        [sys.executable, "-c", probe], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    return json.loads(answer.stdout)
