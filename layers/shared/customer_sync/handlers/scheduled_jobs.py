"""The daily jobs as EventBridge schedules invoke them: the CDC sweep (QboCdcFunction) and the connection
keep-alive (QboKeepAliveFunction). Each runs its domain job within the invocation's time, then reports
what it did in metrics (what the alarms watch) and one log line per company or merchant, ids only.

Metrics: CdcObjects, CdcApplied (changes the webhooks had missed), CdcCalls, CdcGaps; QboConnectionsRefreshed,
QboConnectionsExpiring (the alarm before a hard expiry), QboConnectionsBroken; DailyJobFailures (a company
or a connection the job could not handle today; its alarm).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from customer_sync.composition.qbo_follow import qbo_cdc_components
from customer_sync.composition.qbo_keep_alive import qbo_keep_alive_components
from customer_sync.observability import logger, metrics


def _summary(result: Any) -> dict[str, Any]:
    """A job's result as Lambda must return it: JSON (times as ISO 8601 text)."""
    return {
        name: value.isoformat() if isinstance(value, datetime) else value
        for name, value in asdict(result).items()
    }


def _seconds_left(context: LambdaContext) -> Any:
    return lambda: context.get_remaining_time_in_millis() / 1000


def _count(name: str, value: int) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def run_cdc_sweep(context: LambdaContext) -> dict[str, Any]:
    results = qbo_cdc_components().sweep.sweep_all(_seconds_left(context))
    for result in results:
        logger.info("CDC sweep of a company", extra=asdict(result))
    _count("CdcObjects", sum(result.objects for result in results))
    _count("CdcApplied", sum(result.applied for result in results))
    _count("CdcCalls", sum(result.qbo_calls for result in results))
    _count("DailyJobFailures", sum(result.outcome == "failed" for result in results))
    _count("CdcGaps", sum(result.gap for result in results))
    return {"companies": [_summary(result) for result in results]}


def run_keep_alive(context: LambdaContext) -> dict[str, Any]:
    checks = qbo_keep_alive_components().keep_alive.run(_seconds_left(context))
    for check in checks:
        line = "QBO connection expires soon: reconnect" if check.expiring else "QBO connection checked"
        (logger.warning if check.expiring else logger.info)(line, extra=asdict(check))
    _count("QboConnectionsRefreshed", sum(check.outcome == "refreshed" for check in checks))
    _count("QboConnectionsExpiring", sum(check.expiring for check in checks))
    _count("QboConnectionsBroken", sum(check.outcome == "broken" for check in checks))
    _count("DailyJobFailures", sum(check.outcome == "failed" for check in checks))
    return {"connections": [_summary(check) for check in checks]}
