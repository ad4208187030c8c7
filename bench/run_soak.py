"""`make soak`: the soak of bench/soak.py on the local stack of `make run`, written to SOAK.md (dated, with
the machine and the command) and as JSON to bench/results/soak-<UTC time>/. Exits 1 when a check fails.

    .venv/bin/python -m bench.run_soak [--changes 3000] [--customers 600] [--outage-seconds 180] ...
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.run_bench import RESULTS_DIR, machine, say, stack_settings
from bench.soak import Soak, SoakChecks, SoakPlan, summary
from bench.throughput import qbo_emulator_with_limits
from local.cfn import PROJECT_ROOT
from local.stack import Stack


def soak(plan: SoakPlan, log_dir: Path) -> dict[str, Any]:
    """The whole soak on a fresh stack: its summary, checks included."""
    qbo = qbo_emulator_with_limits()
    with Stack(stack_settings(log_dir), out=say, qbo_emulator=qbo) as stack:
        run = Soak(stack, qbo, plan, say)
        say(f"soak: {plan.changes} changes, {plan.customers} customers, {plan.merchants} merchants")
        figures = run.run()
        say("checking ...")
        checks = SoakChecks(run).run()
        return summary(run, figures, checks)


def write_soak_md(results: dict[str, Any], path: Path) -> None:
    soak_result = results["soak"]
    host = results["machine"]
    webhooks = soak_result["webhooks"]
    crashes = soak_result["crashes"]
    load = ", ".join(f"{x:.1f}" for x in host["load_average_at_start"])
    lines = [
        "# Soak",
        "",
        "`make soak` (bench/run_soak.py, bench/soak.py) runs thousands of PaySimple changes through the",
        "local stack of `make run` while QBO fails, webhooks arrive twice and out of order, and SyncFunction",
        "dies between the QBO write and the link write; then it checks every customer. A short version runs",
        "in CI (tests/e2e/test_soak.py). How it works: the docstring of bench/soak.py.",
        "",
        f"## Run of {host['date']}",
        "",
        f"Machine: {host['cpus']} CPUs ({host['cpu_model']}), {host['memory_gib']} GiB RAM,",
        f"{host['platform']}, Python {host['python']}; load average at start {load}.",
        f"Command: `{results['command']}`. Result: **{'PASSED' if results['passed'] else 'FAILED'}**.",
        "",
        "| | |",
        "|---|---:|",
        f"| merchants (QBO companies, QBO's rate limits on) | {soak_result['merchants']} |",
        f"| PaySimple customers | {soak_result['customers']} |",
        f"| changes (saves in PaySimple) | {soak_result['saves']} ({soak_result['creates']} creates, "
        f"{soak_result['updates']} updates) |",
        f"| sending took | {soak_result['sending_seconds']:.0f} s |",
        f"| until drained and checked | {results['took_seconds'] / 60:.1f} min |",
        "",
        "### Faults injected",
        "",
        "| fault | count |",
        "|---|---:|",
    ]
    outage = f"QBO outage ({soak_result['plan']['outage_seconds']:.0f} s, every company)"
    lines += [
        f"| {outage if name == 'QBO outage' else name} | {count} |"
        for name, count in sorted(soak_result["faults_injected"].items())
    ]
    lines += [
        f"| webhooks delivered twice at once | {webhooks['duplicated_at_once']} |",
        f"| webhooks redelivered later by PaySimple (of which after SQS's 5-minute dedup window) | "
        f"{webhooks['redelivered_later']} ({webhooks['redelivered_after_dedup_window']}) |",
        f"| webhooks reordered (an older one arriving after a newer one) | {webhooks['reordered']} |",
        f"| SyncFunction processes killed after QBO saved their write | {len(crashes['crashed'])} |",
        f"| webhook deliveries without a 202 at first (PaySimple's retry delivered them) | "
        f"{len(webhooks['refused'])} |",
        "",
        "What QBO answered over the run (operation and status, every company):",
        "",
        "| answer | calls |",
        "|---|---:|",
    ]
    lines += [f"| {answer} | {count} |" for answer, count in soak_result["qbo_answers"].items()]
    lines += ["", "### Checks", "", "| check | outcome | detail |", "|---|---|---|"]
    for check in soak_result["checks"]:
        outcome = "pass" if check["passed"] else "**FAIL**"
        detail = check["detail"].replace("|", "\\|")
        lines.append(f"| {check['name']} | {outcome} | {detail} |")
    if crashes["crashed"]:
        lines += ["", "Crashed writes: " + "; ".join(crashes["crashed"]) + "."]
    if webhooks["refused"]:
        lines += ["", "Deliveries without a 202 at first: " + "; ".join(webhooks["refused"]) + "."]
    lines.append("")
    path.write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    defaults = SoakPlan()
    parser = argparse.ArgumentParser(description="customer-sync soak (issue 13)")
    for plan_field in fields(SoakPlan):
        default = getattr(defaults, plan_field.name)
        parser.add_argument("--" + plan_field.name.replace("_", "-"), type=type(default), default=default)
    parser.add_argument("--no-markdown", action="store_true", help="do not rewrite SOAK.md")
    parser.add_argument("--out-dir", type=Path, help="where results.json and the logs go")
    options = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # SIGTERM stops the stack cleanly too
    plan = SoakPlan(**{f.name: getattr(options, f.name) for f in fields(SoakPlan)})
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out_dir: Path = options.out_dir or RESULTS_DIR / f"soak-{stamp}"
    out_dir.mkdir(parents=True, exist_ok=True)
    arguments = argv if argv is not None else sys.argv[1:]
    command = "make soak" + (f' SOAK_ARGS="{" ".join(arguments)}"' if arguments else "")
    results: dict[str, Any] = {"machine": machine(), "command": command}
    began = time.monotonic()
    results["soak"] = soak(plan, out_dir / "logs")
    results["took_seconds"] = round(time.monotonic() - began)
    results["passed"] = all(check["passed"] for check in results["soak"]["checks"])
    (out_dir / "results.json").write_text(json.dumps(results, indent=2))
    for check in results["soak"]["checks"]:
        say(f"{'PASS' if check['passed'] else 'FAIL'}  {check['name']}: {check['detail']}")
    if not options.no_markdown:
        write_soak_md(results, PROJECT_ROOT / "SOAK.md")
        say("SOAK.md written")
    outcome = "PASSED" if results["passed"] else "FAILED"
    say(f"{outcome} in {results['took_seconds'] / 60:.1f} minutes; results in {out_dir}")
    return 0 if results["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
