"""`make bench`: the local stack under load, and the sync engine's own overhead.

    .venv/bin/python -m bench.run_bench [--changes 1000] [--realistic-changes 200] [--engine-changes 1000]

1. End to end, QBO and PaySimple answering at once: N customers saved in the PaySimple emulator (N signed
   webhooks through the gateway, IngestFunction, the FIFO queue, the poller and SyncFunction into the QBO
   emulator), then a changed phone on each (linked updates), then a save that changes nothing QBO holds,
   then new customers at half the measured rate (latency without a backlog).
2. The same with both emulators answering after a realistic delay (150 ms), fewer changes.
3. Sync-engine overhead on one core (bench/sync_engine.py, in a process of its own).

Prints throughput, QBO calls per change by kind, p50/p99 latency from webhook accepted to QBO written, and
the peak memory (RSS high-water mark) of the SyncFunction processes; writes everything as JSON to
bench/results/ (and a cProfile report of the handler there too).
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.end_to_end import RunResult, run_end_to_end
from bench.qbo_timing import TimedQboEmulator
from local.cfn import PROJECT_ROOT
from local.settings import LocalStackSettings
from local.stack import Stack

RESULTS_DIR = PROJECT_ROOT / "bench" / "results"
NO_RATE_LIMIT = 10**9


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
    }


def end_to_end(label: str, changes: int, latency_ms: int, log_dir: Path) -> tuple[RunResult, dict[str, int]]:
    """One run on a stack of its own (latency applies to every later call of the emulators)."""
    settings = LocalStackSettings(
        gateway_port=0,
        moto_port=0,
        qbo_emulator_port=0,
        paysimple_emulator_port=0,
        demo=False,
        log_dir=log_dir,
    )
    # QBO allows 500 calls/min and 10/s per realm; the emulator enforces that by default. Lifted here to
    # measure this system rather than Intuit's limit (one merchant's changes are capped by it in production).
    qbo = TimedQboEmulator(
        rate_limit_per_minute=NO_RATE_LIMIT,
        rate_limit_per_second=None,
        batch_rate_limit_per_minute=NO_RATE_LIMIT,
    )
    with Stack(settings, out=say, qbo_emulator=qbo) as stack:
        result = run_end_to_end(
            stack,
            qbo,
            label=label,
            changes=changes,
            merchant_id="5150",
            realm_id="9130350000005150",
            qbo_latency_ms=latency_ms,
            paysimple_latency_ms=latency_ms,
        )
        memory = {logical_id: pool.peak_memory_mb for logical_id, pool in stack.pools.items()}
    return result, memory


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


def print_run(run: RunResult, memory: dict[str, int]) -> None:
    latency = f"QBO latency {run.qbo_latency_ms} ms, PaySimple latency {run.paysimple_latency_ms} ms"
    say(f"\n{run.label}  ({latency})")
    columns = f"{'changes':>7} {'seconds':>8} {'changes/s':>9} {'p50 ms':>8} {'p99 ms':>8}"
    say(f"  {'phase':24} {columns}  QBO calls/change")
    for phase in run.phases:
        calls = ", ".join(f"{kind} {count}" for kind, count in phase.qbo_calls_per_change.items()) or "none"
        p50 = f"{phase.latency_ms['p50']:.0f}" if phase.latency_ms else "-"
        p99 = f"{phase.latency_ms['p99']:.0f}" if phase.latency_ms else "-"
        say(
            f"  {phase.name:24} {phase.changes:>7} {phase.seconds:>8.1f} {phase.changes_per_second:>9.1f}"
            f" {p50:>8} {p99:>8}  {calls}"
        )
    refused = sum(phase.webhooks_refused for phase in run.phases)
    say(f"  webhooks refused: {refused}; dead letters: {run.dead_letters}; parked failures: {run.parked}")
    say("  peak RSS (MB) per function process: " + ", ".join(f"{k} {v}" for k, v in memory.items()))


def print_engine(result: dict[str, Any]) -> None:
    say(f"\nSync-engine overhead, one core (core {result['core']}), zero-latency QBO")
    titles = {
        "engine": "SyncService alone (time inside the in-memory fake ports taken out)",
        "handler": "SyncFunction handler, with moto in-process and the emulators on the same core",
    }
    for kind, title in titles.items():
        say(f"  {title}:")
        for phase in result[kind]:
            rate = f"{phase['changes_per_second']:>8.1f}/s  {phase['ms_per_change']:>7} ms/change"
            say(f"    {phase['phase']:16} {phase['changes']:>6} changes  {rate}")
    shares = result.get("handler_time_shares") or {}
    if shares:
        say(
            f"  handler time: {shares['inside_moto']:.0%} inside moto, {shares['waiting']:.0%} waiting on the"
            f" emulators, {shares['own_code']:.0%} SyncFunction's own code (boto3 client side included)"
        )
    say(f"  profile: {result['profile']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="customer-sync benchmark")
    parser.add_argument("--changes", type=int, default=1000, help="changes per phase, zero latency")
    parser.add_argument("--realistic-changes", type=int, default=200, help="changes per phase at 150 ms")
    parser.add_argument("--latency-ms", type=int, default=150, help="the realistic QBO/PaySimple latency")
    parser.add_argument("--engine-changes", type=int, default=1000)
    parser.add_argument("--skip-end-to-end", action="store_true")
    parser.add_argument("--skip-engine", action="store_true")
    options = parser.parse_args(argv)
    # SIGTERM stops the stacks cleanly too (Stack.__exit__ runs on KeyboardInterrupt).
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out_dir = RESULTS_DIR / stamp
    out_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"machine": machine(), "arguments": vars(options)}
    say(f"customer-sync benchmark, {results['machine']['date']}, {results['machine']['cpus']} CPUs")
    began = time.monotonic()
    if not options.skip_end_to_end:
        runs = [("End to end, zero latency", options.changes, 0)]
        if options.realistic_changes:
            runs.append(
                (
                    f"End to end, {options.latency_ms} ms latency",
                    options.realistic_changes,
                    options.latency_ms,
                )
            )
        results["end_to_end"] = []
        for number, (label, changes, latency_ms) in enumerate(runs):
            say(f"\n{label}: {changes} changes per phase ...")
            run, memory = end_to_end(label, changes, latency_ms, out_dir / f"logs-{number}")
            print_run(run, memory)
            results["end_to_end"].append({**run.as_dict(), "peak_rss_mb": memory})
    if not options.skip_engine:
        say(f"\nSync-engine overhead: {options.engine_changes} changes per phase ...")
        results["sync_engine"] = sync_engine(options.engine_changes, out_dir)
        print_engine(results["sync_engine"])
    (out_dir / "results.json").write_text(json.dumps(results, indent=2))
    say(f"\nDone in {time.monotonic() - began:.0f} s; results in {out_dir.relative_to(PROJECT_ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
