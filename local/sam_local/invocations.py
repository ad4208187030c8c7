"""What `make sam-local` invokes and what each answer must be; and the template SAM invokes from.

Pure: no Docker, no network. run_invokes.py does the I/O.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# SAM passes a function only the variables its template declares, and the SDK's endpoint variable is not
# (nor should be) in template.yaml; the invoke template declares it so --env-vars can set it.
ENDPOINT_VARIABLE = "AWS_ENDPOINT_URL"

Check = Callable[[Any, Mapping[str, Any]], list[str]]


@dataclass(frozen=True)
class Invocation:
    function: str  # logical id in template.yaml
    event_file: str  # under events/
    expectation: str  # shown in the summary
    check: Check  # (response, event) -> problems; empty means success
    queues: int  # messages the invocation adds to CustomerChangesQueue
    # The history action every message of an SQS batch must end with (read back through the project's
    # history repository), or None for invocations that record no history.
    history_action: str | None


def _json_body(response: Mapping[str, Any]) -> tuple[Any, list[str]]:
    try:
        return json.loads(response.get("body") or ""), []
    except (TypeError, ValueError):
        return None, ["body is not JSON"]


def _http_problems(response: Any, status: int) -> tuple[Any, list[str]]:
    if not isinstance(response, dict) or "statusCode" not in response:
        return None, [f"not an API Gateway proxy response: {str(response)[:200]}"]
    problems = (
        [] if response["statusCode"] == status else [f"statusCode {response['statusCode']}, not {status}"]
    )
    body, body_problems = _json_body(response)
    return body, problems + body_problems


def check_webhook_accepted(response: Any, event: Mapping[str, Any]) -> list[str]:
    """202 `{"status": "accepted", "event_id": ...}` (DESIGN.md, ingest)."""
    body, problems = _http_problems(response, 202)
    if isinstance(body, dict):
        if body.get("status") != "accepted":
            problems.append(f"status {body.get('status')!r}, not 'accepted'")
        if not body.get("event_id"):
            problems.append("no event_id")
    return problems


def check_batch_fully_processed(response: Any, event: Mapping[str, Any]) -> list[str]:
    """`{"batchItemFailures": []}`: every message of the batch acknowledged (partial-batch response)."""
    if not isinstance(response, dict) or not isinstance(response.get("batchItemFailures"), list):
        return [f"not a partial-batch response: {str(response)[:200]}"]
    message_ids = {record.get("messageId") for record in event.get("Records", [])}
    problems = []
    for failure in response["batchItemFailures"]:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else failure
        if identifier in message_ids:
            problems.append(f"message {identifier} reported as failed")
        else:
            problems.append(f"failure {failure!r} names no message of the batch")
    return problems


def check_field_catalog(response: Any, event: Mapping[str, Any]) -> list[str]:
    """200 with a JSON catalog naming at least the two always-on fields (DESIGN.md, field mapping)."""
    body, problems = _http_problems(response, 200)
    if body is not None:
        text = json.dumps(body)
        problems += [
            f"catalog does not name {field}" for field in ("FirstName", "LastName") if field not in text
        ]
    return problems


INVOCATIONS: tuple[Invocation, ...] = (
    Invocation(
        function="IngestFunction",
        event_file="webhook_customer_created.json",
        expectation="202 accepted, one message queued",
        check=check_webhook_accepted,
        queues=1,
        history_action=None,
    ),
    Invocation(
        function="SyncFunction",
        event_file="sqs_customer_changes_batch.json",
        expectation="no batchItemFailures; sync is off for the merchant: each change recorded as skipped",
        check=check_batch_fully_processed,
        queues=0,
        history_action="skipped",
    ),
    Invocation(
        function="AdminFunction",
        event_file="admin_get_field_catalog.json",
        expectation="200 with the field catalog",
        check=check_field_catalog,
        queues=0,
        history_action=None,
    ),
)


def parse_invoke_output(stdout: str) -> Any:
    """The function's answer `sam local invoke` prints: the last non-empty line of its stdout, as JSON."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    if not lines:
        raise ValueError("sam local invoke printed no response")
    return json.loads(lines[-1])


def invoke_template(built: Mapping[str, Any], build_dir: Path) -> dict[str, Any]:
    """The built template (`sam build`'s output) made invocable from another directory, with the SDK's
    endpoint variable declared for every function (empty: --env-vars gives the value)."""
    template = copy.deepcopy(dict(built))
    for resource in template.get("Resources", {}).values():
        props = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str) and not Path(props[key]).is_absolute():
                props[key] = str(build_dir / props[key])
    function_globals = template.setdefault("Globals", {}).setdefault("Function", {})
    variables = function_globals.setdefault("Environment", {}).setdefault("Variables", {})
    variables[ENDPOINT_VARIABLE] = ""
    return template


def env_vars_document(environments: Mapping[str, Mapping[str, str]], endpoint_url: str) -> dict[str, Any]:
    """`sam local invoke --env-vars` content: each function's local environment plus the AWS endpoint."""
    return {
        function: {**environment, ENDPOINT_VARIABLE: endpoint_url}
        for function, environment in environments.items()
    }
