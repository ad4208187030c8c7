"""EventBridge Scheduler's part: the functions template.yaml schedules (`Schedule`/`ScheduleV2` events: the
daily CDC sweep and the QBO connection keep-alive) are invoked locally

- every SCHEDULE_INTERVAL_SECONDS (600 by default; 0 turns the timer off): a daily job runs every few
  minutes, so what it does shows while you watch;
- at once on `POST /_local/schedules/<FunctionLogicalId>` to the gateway, with the admin token (scripts and
  the e2e tests); the answer is the function's own result.

Each invocation gets the event an EventBridge Scheduler schedule without an input sends (`{}`), and runs in
the function's own processes like any other (local/invoker.py).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from local.apigw_events import HttpRequest, HttpResponse, gateway_answer
from local.invoker import InvocationResult

CONTROL_PREFIX = "/_local/schedules/"
_SCHEDULE_EVENTS = ("Schedule", "ScheduleV2")

Invoke = Callable[[str, dict[str, Any]], InvocationResult]
Say = Callable[[str], None]


@dataclass(frozen=True)
class ScheduledFunction:
    function_logical_id: str
    expression: str  # as in the template, e.g. "rate(1 day)"


def scheduled_functions(template: dict[str, Any]) -> list[ScheduledFunction]:
    found: list[ScheduledFunction] = []
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for event in resource["Properties"].get("Events", {}).values():
            if event["Type"] in _SCHEDULE_EVENTS:
                props = event["Properties"]
                found.append(
                    ScheduledFunction(logical_id, str(props.get("ScheduleExpression") or props["Schedule"]))
                )
    return found


class Scheduler:
    def __init__(
        self,
        schedules: list[ScheduledFunction],
        invoke: Invoke,
        *,
        interval_seconds: float,
        say: Say | None = None,
    ) -> None:
        self.schedules = schedules
        self._invoke = invoke
        self._interval_seconds = interval_seconds
        self._say = say
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Scheduler:
        if self._interval_seconds > 0 and self.schedules:
            self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._thread = None

    def run_now(self, function_logical_id: str) -> InvocationResult:
        if function_logical_id not in {schedule.function_logical_id for schedule in self.schedules}:
            raise KeyError(function_logical_id)
        result = self._invoke(function_logical_id, {})
        if self._say is not None:
            self._say(f"  schedule {function_logical_id}: {'ok' if result.ok else 'FAILED'}")
        return result

    def control(self, request: HttpRequest, request_id: str) -> HttpResponse:
        """`POST /_local/schedules/<FunctionLogicalId>` (the gateway checks the admin token first)."""
        name = request.path.removeprefix(CONTROL_PREFIX)
        if request.method != "POST":
            return gateway_answer(405, {"message": "POST to run a schedule now"}, request_id)
        try:
            result = self.run_now(name)
        except KeyError:
            known = ", ".join(schedule.function_logical_id for schedule in self.schedules)
            return gateway_answer(404, {"message": f"no schedule for {name}; scheduled: {known}"}, request_id)
        if not result.ok:
            return gateway_answer(502, {"message": "the function failed", **(result.error or {})}, request_id)
        body = json.dumps({"function": name, "result": result.payload}).encode()
        return HttpResponse(200, [("Content-Type", "application/json")], body)

    def _run(self) -> None:
        while not self._stop.wait(self._interval_seconds):
            for schedule in self.schedules:
                if self._stop.is_set():
                    return
                self.run_now(schedule.function_logical_id)
