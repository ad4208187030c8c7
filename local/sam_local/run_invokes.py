"""`make sam-local`: `sam local invoke` every function with its sample event, offline, and check the answers.

Run after `sam build` (the Makefile target does both). Steps: a Docker engine (started here if none answers,
stopped again at the end); the local Lambda image (build_image.py; cached); a moto server on 127.0.0.1,
holding what template.yaml declares plus the sample merchant's PaySimple secret; then one
`sam local invoke --docker-network host` per function, its container on the host's network
(sam_host_network.py), so every connection stays on loopback. Exit 0 only when every answer is right.
Everything started here is stopped, on failure and Ctrl-C too.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import yaml
from moto.server import ThreadedMotoServer

from customer_sync.adapters.dynamodb_history import DynamoDbHistoryRepository
from customer_sync.config.shared import SecretNames
from customer_sync.models.messages import CustomerChangeMessage
from events.generate import TEST_MERCHANT_ID, TEST_SIGNING_KEY
from local.bootstrap import LocalStack, create_local_resources
from local.cfn import LOCAL_REGION, PROJECT_ROOT, load_template
from local.sam_local.build_image import ImageBuildFailed, ensure_image
from local.sam_local.engine import (
    EngineUnavailable,
    check_containers_reach,
    ensure_engine,
    image_ids,
    remove_images_built_since,
)
from local.sam_local.invocations import (
    INVOCATIONS,
    Invocation,
    env_vars_document,
    invoke_template,
    parse_invoke_output,
)

BUILD_DIR = PROJECT_ROOT / ".aws-sam" / "build"
EVENTS_DIR = PROJECT_ROOT / "events"
# Runs the SAM CLI with its Lambda containers on the host's network; started by the SAM CLI's own Python.
SAM_LAUNCHER = Path(__file__).resolve().parent / "sam_host_network.py"
LOOPBACK = "127.0.0.1"
WORK_DIR = PROJECT_ROOT / ".aws-sam" / "sam-local"
INVOKE_TIMEOUT_SECONDS = 300
# SAM tags the image it derives from ours (plus its emulator and the layers) under this repository.
SAM_IMAGE_PREFIX = "samcli/lambda-"
# Placeholder credentials: moto accepts any, and they keep SAM and boto3 off the instance-metadata lookup.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": LOCAL_REGION,
    "AWS_REGION": LOCAL_REGION,
    "AWS_EC2_METADATA_DISABLED": "true",
}


@dataclass(frozen=True)
class Outcome:
    invocation: Invocation
    seconds: float
    problems: list[str]


def _start_moto() -> ThreadedMotoServer:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address=LOOPBACK, port=0, verbose=False)
    server.start()
    return server


def _seed_merchant(stack: LocalStack) -> None:
    """The sample events are signed for merchant 1225 with the documented test key (events/README.md)."""
    names = SecretNames(secret_prefix=stack.function_environment("IngestFunction")["SECRET_PREFIX"])
    secret = {"api_username": "sam-local", "api_key": "sam-local", "webhook_signing_key": TEST_SIGNING_KEY}
    client = boto3.client("secretsmanager")
    client.create_secret(Name=names.paysimple(str(TEST_MERCHANT_ID)), SecretString=json.dumps(secret))
    # The ingest function reads its own copy of the signing key, as onboarding writes it.
    client.create_secret(
        Name=names.webhook_signing_key(str(TEST_MERCHANT_ID)),
        SecretString=json.dumps({"webhook_signing_key": TEST_SIGNING_KEY}),
    )


def _queued_messages(queue_url: str) -> int:
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def _history_problems(table_name: str, event: Mapping[str, Any], action: str) -> list[str]:
    """Each message of the batch must have a history entry for its event with the expected action."""
    history = DynamoDbHistoryRepository(table_name)
    problems = []
    for record in event.get("Records", []):
        change = CustomerChangeMessage.model_validate_json(record["body"])
        entries = history.list_for_customer(change.merchant_id, change.customer_id).items
        actions = [entry.action for entry in entries if entry.event_id == change.event_id]
        if action not in actions:
            problems.append(
                f"history of event {change.event_id}: {actions or 'nothing'}, expected {action!r}"
            )
    return problems


def _sam_environment() -> dict[str, str]:
    # AWS_ENDPOINT_URL stays set: SAM's one AWS call (STS, for the account id) then answers from moto at once
    # instead of timing out against the real endpoint.
    return {**os.environ, **FAKE_CREDENTIALS, "SAM_CLI_TELEMETRY": "0"}


def _invoke(
    sam_python: str, invocation: Invocation, image: str, template: Path, env_vars: Path
) -> tuple[Any, str]:
    command = [
        sam_python,
        str(SAM_LAUNCHER),
        "local",
        "invoke",
        invocation.function,
        "--template",
        str(template),
        "--event",
        str(EVENTS_DIR / invocation.event_file),
        "--env-vars",
        str(env_vars),
        "--invoke-image",
        image,
        "--skip-pull-image",
        "--docker-network",
        "host",
        # Where SAM reaches the runtime interface emulator: on loopback, not "localhost" (maybe ::1 first).
        "--container-host",
        LOOPBACK,
        "--container-host-interface",
        LOOPBACK,
        "--region",
        LOCAL_REGION,
    ]
    result = subprocess.run(  # noqa: S603 - the SAM CLI with an argument list, no shell
        command,
        capture_output=True,
        text=True,
        timeout=INVOKE_TIMEOUT_SECONDS,
        env=_sam_environment(),
        check=False,
    )
    log = result.stderr.strip()
    (WORK_DIR / f"{invocation.function}.log").write_text(result.stderr + result.stdout, encoding="utf-8")
    if result.returncode != 0:
        raise RuntimeError(f"sam local invoke exited {result.returncode}\n{log}")
    return parse_invoke_output(result.stdout), log


def _run(
    invocation: Invocation, sam_python: str, image: str, template: Path, env_vars: Path, stack: LocalStack
) -> Outcome:
    started = time.monotonic()
    event = json.loads((EVENTS_DIR / invocation.event_file).read_text(encoding="utf-8"))
    environment = stack.function_environment(invocation.function)
    queue_url = environment["CHANGES_QUEUE_URL"]
    queued_before = _queued_messages(queue_url)
    log = ""
    try:
        response, log = _invoke(sam_python, invocation, image, template, env_vars)
        problems = invocation.check(response, event)
    except (RuntimeError, ValueError, subprocess.TimeoutExpired) as error:
        problems = [str(error)]
    queued = _queued_messages(queue_url) - queued_before
    if queued != invocation.queues:
        problems.append(f"{queued} message(s) queued, expected {invocation.queues}")
    if invocation.history_action is not None:
        problems += _history_problems(environment["HISTORY_TABLE_NAME"], event, invocation.history_action)
    if problems and log and not any(log in problem for problem in problems):
        problems.append("sam local invoke said:\n" + "\n".join(log.splitlines()[-30:]))
    return Outcome(invocation, time.monotonic() - started, problems)


def _write_invoke_inputs(stack: LocalStack, endpoint_url: str) -> tuple[Path, Path]:
    built = BUILD_DIR / "template.yaml"
    if not built.exists():
        raise RuntimeError(f"{built} is missing: run `make build` (sam build) first")
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    template = WORK_DIR / "template.yaml"
    template.write_text(yaml.safe_dump(invoke_template(load_template(built), BUILD_DIR)), encoding="utf-8")
    environments = {i.function: stack.function_environment(i.function) for i in INVOCATIONS}
    env_vars = WORK_DIR / "env-vars.json"
    env_vars.write_text(json.dumps(env_vars_document(environments, endpoint_url), indent=2), encoding="utf-8")
    return template, env_vars


def _print_summary(outcomes: list[Outcome]) -> None:
    print(
        f"\nsam local invoke, offline (full output in {WORK_DIR.relative_to(PROJECT_ROOT)}/<Function>.log):"
    )
    for outcome in outcomes:
        verdict = "ok  " if not outcome.problems else "FAIL"
        invocation = outcome.invocation
        print(f"  {verdict} {invocation.function:<15} {invocation.event_file:<34} {outcome.seconds:5.1f}s")
        print(f"       expected: {invocation.expectation}")
        for problem in outcome.problems:
            print("       - " + problem.replace("\n", "\n         "))


def run(sam_python: str) -> int:
    with ExitStack() as cleanup:
        engine = ensure_engine(WORK_DIR)
        cleanup.callback(engine.stop)
        image = ensure_image(WORK_DIR)
        moto = _start_moto()
        cleanup.callback(moto.stop)
        host, port = moto.get_host_and_port()
        endpoint_url = f"http://{host}:{port}"
        check_containers_reach(image, endpoint_url)
        print(f"sam-local: engine {engine.server_version}, image {image}, moto at {endpoint_url}", flush=True)
        os.environ.update(FAKE_CREDENTIALS)
        os.environ["AWS_ENDPOINT_URL"] = endpoint_url
        stack = create_local_resources()
        _seed_merchant(stack)
        template, env_vars = _write_invoke_inputs(stack, endpoint_url)
        cleanup.callback(remove_images_built_since, image_ids(), SAM_IMAGE_PREFIX)
        outcomes = []
        for invocation in INVOCATIONS:
            print(
                f"sam-local: invoking {invocation.function} with events/{invocation.event_file}", flush=True
            )
            outcomes.append(_run(invocation, sam_python, image, template, env_vars, stack))
        _print_summary(outcomes)
    failed = [o.invocation.function for o in outcomes if o.problems]
    if failed:
        print(f"\nsam-local FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"\nsam-local passed: {len(outcomes)} functions invoked in the local Lambda image")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="sam local invoke every function offline and check the answers"
    )
    parser.add_argument(
        "--sam-python",
        default=str(PROJECT_ROOT / ".venv-tools" / "bin" / "python"),
        help="the Python of the SAM CLI's virtualenv",
    )
    args = parser.parse_args(argv)
    try:
        return run(args.sam_python)
    except EngineUnavailable as error:
        print(f"sam-local FAILED: no usable Docker engine: {error}", file=sys.stderr)
    except ImageBuildFailed as error:
        print(f"sam-local FAILED: could not build the local Lambda image: {error}", file=sys.stderr)
    except RuntimeError as error:
        print(f"sam-local FAILED: {error}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
