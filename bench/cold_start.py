"""Cold start: how long a function's init takes in a fresh Python process (start the interpreter, import the
handler module, run its module set-up), compared with a bare process that imports boto3 and creates one
client.

Measured on what `make build` ships, the way Lambda runs it: the function's build directory and the layer's
python/ directory on the path and nothing else (`python -S`: no site-packages), everything precompiled
(`make build` runs compileall) and PYTHONDONTWRITEBYTECODE=1, so no run compiles anything. The clock stops
when the process reports that its imports are done (it then exits without tearing down, which Lambda does
not do after init either). The processes are started in turns (bare, ingest, sync, ...) so that load from
other work on the machine falls on all of them alike, several rounds; the median of each is reported.

The "libraries alone" rows import what the functions must (boto3, Powertools' Logger, Metrics and batch
processor or API resolver, pydantic) and nothing of ours: the floor under any handler built on them. They
pause Python's cyclic garbage collector while they load, as every handler module does
(customer_sync/init_phase.py). So does the last row, the bare process with the collector paused: it is not
the target's measure (that is the bare process as it is, the first row) but shows what the pause alone is
worth.

    python -m bench.cold_start [--rounds 15] [--out result.json]      (after `make build`)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from local.cfn import PROJECT_ROOT, load_template
from local.check_build import BUILD_DIR, LAYER_ID, _function_environment, check_precompiled

READY = b"ready"
_REPORT = "; import os, sys; sys.stdout.buffer.write(b'ready'); sys.stdout.flush(); os._exit(0)"
BARE = "import boto3; boto3.client('sqs')"
# What customer_sync/init_phase.py does around a handler module's imports.
_PAUSED = "import gc; gc.disable(); {code}; gc.freeze(); gc.enable()"
# In the functions' order: Powertools' batch module before pydantic (functions/sync/app.py says why), and
# pydantic's BaseModel, which any model needs (`import pydantic` alone loads almost nothing).
SYNC_LIBRARIES = (
    "import boto3; from aws_lambda_powertools import Logger, Metrics; "
    "from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor; "
    "from pydantic import BaseModel; Logger(); Metrics()"
)
INGEST_LIBRARIES = (
    "import boto3; from aws_lambda_powertools import Logger, Metrics; "
    "from aws_lambda_powertools.event_handler import APIGatewayRestResolver; "
    "import aws_lambda_powertools.utilities.parameters; from pydantic import BaseModel; Logger(); Metrics()"
)


def lambda_env(logical_id: str, *, tracing: bool = False) -> dict[str, str]:
    template = load_template()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "cold-start",
        "AWS_SECRET_ACCESS_KEY": "cold-start",
        "AWS_LAMBDA_FUNCTION_NAME": logical_id,
        **_function_environment(template, logical_id),
    }
    if tracing:
        env["LAMBDA_TASK_ROOT"] = str(BUILD_DIR / logical_id)
    else:
        env["AWS_SAM_LOCAL"] = "true"  # as `sam local`: Powertools' Tracer rule says off
    return env


def time_to_ready(code: str, env: dict[str, str], path: list[Path]) -> float:
    began = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-S", "-c", code + _REPORT],
        env={**env, "PYTHONPATH": os.pathsep.join(map(str, path))},
        cwd=path[0],
        stdout=subprocess.PIPE,
    )
    assert process.stdout is not None
    answered = process.stdout.read(len(READY))
    elapsed = time.perf_counter() - began
    process.wait()
    if answered != READY:
        raise RuntimeError(f"{code!r} did not finish its imports")
    return elapsed


def measure(rounds: int) -> dict[str, Any]:
    layer = BUILD_DIR / LAYER_ID / "python"
    problems = check_precompiled(layer / "customer_sync") if layer.is_dir() else ["no build"]
    if problems:
        raise SystemExit(f"run `make build` first ({problems[0]})")
    programs: dict[str, tuple[str, dict[str, str], list[Path]]] = {
        "bare boto3 process (import boto3, one client)": (BARE, lambda_env("SyncFunction"), [layer]),
        "IngestFunction": ("import app", lambda_env("IngestFunction"), [BUILD_DIR / "IngestFunction", layer]),
        "SyncFunction": ("import app", lambda_env("SyncFunction"), [BUILD_DIR / "SyncFunction", layer]),
        "SyncFunction, X-Ray tracing on": (
            "import app",
            lambda_env("SyncFunction", tracing=True),
            [BUILD_DIR / "SyncFunction", layer],
        ),
        "IngestFunction's libraries alone": (
            _PAUSED.format(code=INGEST_LIBRARIES),
            lambda_env("IngestFunction"),
            [layer],
        ),
        "SyncFunction's libraries alone": (
            _PAUSED.format(code=SYNC_LIBRARIES),
            lambda_env("SyncFunction"),
            [layer],
        ),
        "bare boto3 process, collector paused": (
            _PAUSED.format(code=BARE),
            lambda_env("SyncFunction"),
            [layer],
        ),
    }
    for code, env, path in programs.values():  # warm the file cache; not counted
        time_to_ready(code, env, path)
    seconds: dict[str, list[float]] = {name: [] for name in programs}
    for _ in range(rounds):
        for name, (code, env, path) in programs.items():
            seconds[name].append(time_to_ready(code, env, path))
    bare = statistics.median(next(iter(seconds.values())))
    return {
        "rounds": rounds,
        "median_ms": {name: round(statistics.median(values) * 1000) for name, values in seconds.items()},
        "ratio_to_bare": {
            name: round(statistics.median(values) / bare, 2) for name, values in seconds.items()
        },
        "all_ms": {name: [round(value * 1000) for value in values] for name, values in seconds.items()},
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--out", type=Path, default=None)
    options = parser.parse_args(argv)
    result = measure(options.rounds)
    text = json.dumps(result, indent=2)
    if options.out is not None:
        options.out.write_text(text)
    print(text)


if __name__ == "__main__":
    os.chdir(PROJECT_ROOT)
    main()
