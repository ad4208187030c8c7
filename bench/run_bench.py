"""`make bench`: everything issue 11 asks to see, measured with QBO's rate limits on, written to
BENCHMARKS.md (dated, with the machine and the commands) and as JSON to bench/results/<UTC time>/.

    .venv/bin/python -m bench.run_bench [--backlog 2000] [--outage-minutes 10] [--skip-outage] ...

1. Cold start: each function's init against a bare boto3 process (bench/cold_start.py; needs `make build`).
2. On the local stack of `make run`, the QBO emulator enforcing 500 requests a minute and 10 a second per
   company (bench/throughput.py): the drain of a 2,000-change backlog at QBO's ceiling with a second
   merchant's changes meanwhile (fairness); a burst under a low QBO limit; QBO calls per change; an outage.
3. The SyncFunction handler in one process (bench/sync_engine.py): DynamoDB and other AWS calls per change,
   alone and in batches of 10, and the engine's own overhead.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import cold_start, throughput
from bench.report import write_benchmarks_md
from local.cfn import PROJECT_ROOT
from local.settings import LocalStackSettings
from local.stack import Stack

RESULTS_DIR = PROJECT_ROOT / "bench" / "results"


def say(line: str = "") -> None:
    print(line, flush=True)


def machine() -> dict[str, Any]:
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        model = next(
            (
                line.split(":", 1)[1].strip()
                for line in cpuinfo.read_text().splitlines()
                if "model name" in line
            ),
            "",
        )
    memory_kib = 0
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        memory_kib = int(meminfo.read_text().split()[1])
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": round(memory_kib / 1024 / 1024, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_at_start": list(os.getloadavg()),
    }


def timed(name: str, run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    say(f"\n{name} ...")
    began = time.monotonic()
    result = run()
    result["took_seconds"] = round(time.monotonic() - began)
    say(json.dumps(result, indent=2))
    return result


def stack_settings(log_dir: Path) -> LocalStackSettings:
    """The local stack of `make run` on free ports, without the demo (the benchmark and the soak)."""
    return LocalStackSettings(
        gateway_port=0,
        moto_port=0,
        qbo_emulator_port=0,
        paysimple_emulator_port=0,
        demo=False,
        log_dir=log_dir,
    )


def stack_scenarios(options: argparse.Namespace, log_dir: Path) -> dict[str, Any]:
    qbo = throughput.qbo_emulator_with_limits()
    results: dict[str, Any] = {}
    with Stack(stack_settings(log_dir), out=say, qbo_emulator=qbo) as stack:
        bench = throughput.Bench(stack, qbo)
        results["ceiling_and_fairness"] = timed(
            f"Drain of {options.backlog} new customers at QBO's limits, with a second merchant meanwhile",
            lambda: throughput.ceiling_and_fairness(
                bench, backlog=options.backlog, fairness_every_seconds=options.fairness_every
            ),
        )
        results["throttled_burst"] = timed(
            f"A burst of {options.burst} new customers, QBO limited to {options.burst_limit} a minute",
            lambda: throughput.throttled_burst(
                bench, customers=options.burst, per_minute=options.burst_limit
            ),
        )
        results["calls_per_change"] = timed(
            "QBO calls per change", lambda: throughput.calls_per_change(bench, mixed=options.mixed)
        )
        if not options.skip_outage:
            results["outage"] = timed(
                f"QBO down for {options.outage_minutes} minutes",
                lambda: throughput.outage(
                    bench, minutes=options.outage_minutes, changes=options.outage_changes
                ),
            )
        results["peak_rss_mb"] = {logical_id: pool.peak_memory_mb for logical_id, pool in stack.pools.items()}
    return results


def sync_engine(changes: int, out_dir: Path) -> dict[str, Any]:
    out, profile, log = (
        out_dir / "sync_engine.json",
        out_dir / "sync_engine_profile.txt",
        out_dir / "sync_engine.log",
    )
    with log.open("wb") as handler_log:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.sync_engine",
                f"--changes={changes}",
                f"--out={out}",
                f"--profile={profile}",
            ],
            cwd=PROJECT_ROOT,
            env={
                **os.environ,
                "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT), str(PROJECT_ROOT / "layers/shared")]),
            },
            stdout=handler_log,
            stderr=subprocess.STDOUT,
            check=True,
        )
    result: dict[str, Any] = json.loads(out.read_text())
    result["profile"] = str(profile.relative_to(PROJECT_ROOT))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="customer-sync benchmark (issue 11's Must show)")
    parser.add_argument("--backlog", type=int, default=2000, help="new customers queued for one company")
    parser.add_argument(
        "--fairness-every", type=float, default=2.0, help="seconds between merchant B's saves"
    )
    parser.add_argument("--burst", type=int, default=40)
    parser.add_argument("--burst-limit", type=int, default=30, help="QBO requests a minute for the burst")
    parser.add_argument("--mixed", type=int, default=1000, help="mixed changes for the metered reads")
    parser.add_argument("--outage-minutes", type=float, default=10.0)
    parser.add_argument("--outage-changes", type=int, default=50)
    parser.add_argument("--cold-start-rounds", type=int, default=15)
    parser.add_argument("--engine-changes", type=int, default=300)
    parser.add_argument("--skip-outage", action="store_true")
    parser.add_argument("--skip-stack", action="store_true")
    parser.add_argument("--skip-engine", action="store_true")
    parser.add_argument("--skip-cold-start", action="store_true")
    parser.add_argument("--no-markdown", action="store_true", help="do not rewrite BENCHMARKS.md")
    options = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # SIGTERM stops the stack cleanly too
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out_dir = RESULTS_DIR / stamp
    out_dir.mkdir(parents=True, exist_ok=True)
    command = "make bench" + (
        f' BENCH_ARGS="{" ".join(argv or sys.argv[1:])}"' if (argv or sys.argv[1:]) else ""
    )
    results: dict[str, Any] = {"machine": machine(), "arguments": vars(options), "command": command}
    say(f"customer-sync benchmark, {results['machine']['date']}, {results['machine']['cpus']} CPUs")
    began = time.monotonic()
    if not options.skip_cold_start:
        results["cold_start"] = timed("Cold start", lambda: cold_start.measure(options.cold_start_rounds))
    if not options.skip_stack:
        results.update(stack_scenarios(options, out_dir / "logs"))
    if not options.skip_engine:
        results["sync_engine"] = timed(
            "SyncFunction handler in one process", lambda: sync_engine(options.engine_changes, out_dir)
        )
    results["took_minutes"] = round((time.monotonic() - began) / 60, 1)
    (out_dir / "results.json").write_text(json.dumps(results, indent=2))
    if not options.no_markdown:
        write_benchmarks_md(results, PROJECT_ROOT / "BENCHMARKS.md")
        say("\nBENCHMARKS.md written")
    say(f"Done in {results['took_minutes']} minutes; results in {out_dir.relative_to(PROJECT_ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
