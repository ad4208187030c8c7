"""template.yaml's part in following QBO: the webhook's queue and deadline, the daily schedules, and the
alarms on what the code counts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from local.cfn import PROJECT_ROOT, function_spec, load_template, resources_of_type

TEMPLATE = load_template()
RESOURCES: dict[str, dict[str, Any]] = TEMPLATE["Resources"]
ALARMS = resources_of_type(TEMPLATE, "AWS::CloudWatch::Alarm")
LAYER = PROJECT_ROOT / "layers" / "shared" / "customer_sync"


def props(logical_id: str) -> dict[str, Any]:
    return dict(RESOURCES[logical_id]["Properties"])


def events_of(function_id: str, kind: str) -> list[dict[str, Any]]:
    events = props(function_id).get("Events", {}).values()
    return [event["Properties"] for event in events if event["Type"] == kind]


def test_the_qbo_webhook_answers_within_intuits_three_seconds() -> None:
    assert function_spec(TEMPLATE, "QboWebhookFunction").timeout_seconds <= 3


def test_qbo_changes_are_queued_in_order_per_company_deduplicated_by_event_id() -> None:
    queue = props("QboChangesQueue")
    assert queue["FifoQueue"] is True
    assert queue["ContentBasedDeduplication"] is False
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["QboChangesDLQ", "Arn"]}
    assert props("QboChangesDLQ")["FifoQueue"] is True


def test_the_qbo_changes_function_reads_that_queue_reporting_partial_failures() -> None:
    (event,) = events_of("QboChangesFunction", "SQS")
    assert event["Queue"] == {"Fn::GetAtt": ["QboChangesQueue", "Arn"]}
    assert "ReportBatchItemFailures" in event["FunctionResponseTypes"]
    timeout = function_spec(TEMPLATE, "QboChangesFunction").timeout_seconds
    assert int(props("QboChangesQueue")["VisibilityTimeout"]) >= 6 * timeout


@pytest.mark.parametrize("function_id", ["QboCdcFunction", "QboKeepAliveFunction"])
def test_the_cdc_sweep_and_the_keep_alive_run_daily(function_id: str) -> None:
    (schedule,) = events_of(function_id, "ScheduleV2")
    assert schedule["ScheduleExpression"] == "rate(1 day)"
    assert events_of(function_id, "Api") == []


def _source_of_layer() -> str:
    return "\n".join(path.read_text() for path in sorted(Path(LAYER).rglob("*.py")))


@pytest.mark.parametrize(
    ("alarm_id", "metric"),
    [
        ("QboConnectionExpiryAlarm", "QboConnectionsExpiring"),
        ("QboDailyJobsFailedAlarm", "DailyJobFailures"),
    ],
)
def test_alarms_watch_metrics_the_code_emits_and_notify(alarm_id: str, metric: str) -> None:
    # Given the alarm on one of the application's own metrics
    alarm = props(alarm_id)
    # Then it watches that metric in the application's namespace, fires on the first one, and notifies
    assert (alarm["Namespace"], alarm["MetricName"]) == ("CustomerSync", metric)
    assert float(alarm["Threshold"]) == 0 and alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    assert {"Name": "service", "Value": "customer-sync"} in alarm["Dimensions"]
    # And the code emits a metric of that name
    assert f'"{metric}"' in _source_of_layer()


def test_each_qbo_change_arriving_in_its_dead_letter_queue_notifies() -> None:
    dimension = {"Name": "QueueName", "Value": {"Fn::GetAtt": ["QboChangesDLQ", "QueueName"]}}
    alarm = props("QboChangesDeadLetterArrivalsAlarm")
    watched = [query["MetricStat"]["Metric"] for query in alarm["Metrics"] if "MetricStat" in query]
    assert all(dimension in metric["Dimensions"] for metric in watched)
    assert [query["Expression"] for query in alarm["Metrics"] if "Expression" in query] == [
        "DIFF(visible + inflight)"
    ]
    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
