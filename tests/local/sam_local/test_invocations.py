"""What `make sam-local` accepts as each function's answer, and the template it invokes from."""

import json
from pathlib import Path
from typing import Any

import pytest

from local.cfn import PROJECT_ROOT
from local.sam_local.invocations import (
    ENDPOINT_VARIABLE,
    INVOCATIONS,
    check_batch_fully_processed,
    check_field_catalog,
    check_webhook_accepted,
    env_vars_document,
    invoke_template,
    parse_invoke_output,
)

BATCH = {"Records": [{"messageId": "m-1"}, {"messageId": "m-2"}]}


def _proxy(status: int, body: object) -> dict[str, object]:
    return {"statusCode": status, "headers": {}, "body": body if isinstance(body, str) else json.dumps(body)}


def test_an_accepted_webhook_passes():
    # Given the ingest answer DESIGN.md specifies for a valid customer event / When checked / Then no problem
    assert check_webhook_accepted(_proxy(202, {"status": "accepted", "event_id": "e-1"}), {}) == []


@pytest.mark.parametrize(
    ("response", "problem"),
    [
        (_proxy(401, {"message": "unauthorized"}), "statusCode 401, not 202"),
        (_proxy(202, {"status": "ignored", "event_id": "e-1"}), "status 'ignored', not 'accepted'"),
        (_proxy(202, "not json"), "body is not JSON"),
        (
            {"errorMessage": "boom", "errorType": "Runtime.ImportModuleError"},
            "not an API Gateway proxy response",
        ),
    ],
    ids=["rejected", "ignored", "body-not-json", "function-crashed"],
)
def test_a_webhook_answer_other_than_accepted_fails(response, problem):
    # Given a wrong ingest answer / When checked / Then the problem is named
    assert any(problem in p for p in check_webhook_accepted(response, {}))


def test_a_batch_with_no_failures_passes():
    # Given a partial-batch response with no failures / When checked / Then no problem
    assert check_batch_fully_processed({"batchItemFailures": []}, BATCH) == []


def test_a_batch_reporting_a_failed_message_fails_naming_it():
    # Given one message of the batch reported as failed / When checked / Then that message is named
    problems = check_batch_fully_processed({"batchItemFailures": [{"itemIdentifier": "m-2"}]}, BATCH)
    assert problems == ["message m-2 reported as failed"]


def test_a_failure_naming_no_message_of_the_batch_fails():
    # Given a failure whose identifier is not a message of the batch / When checked / Then it is reported
    problems = check_batch_fully_processed({"batchItemFailures": [{"itemIdentifier": "other"}]}, BATCH)
    assert problems and "names no message of the batch" in problems[0]


@pytest.mark.parametrize("response", [None, {"statusCode": 200}, {"batchItemFailures": None}])
def test_an_answer_that_is_not_a_partial_batch_response_fails(response):
    # Given anything but {"batchItemFailures": [...]} / When checked / Then it fails
    assert check_batch_fully_processed(response, BATCH)[0].startswith("not a partial-batch response")


CATALOG = {"fields": [{"paysimple_field": "FirstName"}, {"paysimple_field": "LastName"}]}


def test_a_catalog_naming_the_name_fields_passes():
    # Given a 200 JSON catalog with first and last name / When checked / Then no problem
    assert check_field_catalog(_proxy(200, CATALOG), {}) == []


@pytest.mark.parametrize(
    ("response", "problems"),
    [
        (_proxy(403, CATALOG), ["statusCode 403, not 200"]),
        (_proxy(200, "<html>"), ["body is not JSON"]),
        (_proxy(200, {"fields": []}), ["catalog does not name FirstName", "catalog does not name LastName"]),
    ],
    ids=["forbidden", "body-not-json", "empty-catalog"],
)
def test_a_catalog_answer_that_is_not_200_json_with_the_names_fails(response, problems):
    # Given a wrong admin answer / When checked / Then exactly its problems are named
    assert check_field_catalog(response, {}) == problems


def test_every_function_is_invoked_with_an_existing_event():
    # Given the invocation list / Then it covers the three functions, each with a file from events/
    events = PROJECT_ROOT / "events"
    assert {i.function for i in INVOCATIONS} == {"IngestFunction", "SyncFunction", "AdminFunction"}
    assert all((events / i.event_file).is_file() for i in INVOCATIONS)


def test_the_response_is_the_last_line_sam_prints():
    # Given SAM's stdout with a stray line before the function's answer / When parsed / Then the answer
    assert parse_invoke_output('\nsomething\n{"statusCode": 202}\n\n') == {"statusCode": 202}


def test_no_output_is_an_error():
    # Given nothing on stdout / When parsed / Then it is an error, not an empty success
    with pytest.raises(ValueError, match="no response"):
        parse_invoke_output("  \n")


def test_the_invoke_template_points_at_the_build_and_declares_the_endpoint():
    # Given a built template with relative code locations
    built: dict[str, Any] = {
        "Globals": {"Function": {"Environment": {"Variables": {"LOG": "INFO"}}}},
        "Resources": {
            "Layer": {"Type": "AWS::Serverless::LayerVersion", "Properties": {"ContentUri": "Layer"}},
            "Fn": {"Type": "AWS::Serverless::Function", "Properties": {"CodeUri": "Fn", "Handler": "app.h"}},
            "Q": {"Type": "AWS::SQS::Queue", "Properties": {}},
        },
    }
    # When made into the invoke template
    template = invoke_template(built, Path("/build"))
    # Then code locations are absolute under the build, the endpoint is declared, and the input is untouched
    assert template["Resources"]["Fn"]["Properties"]["CodeUri"] == "/build/Fn"
    assert template["Resources"]["Layer"]["Properties"]["ContentUri"] == "/build/Layer"
    assert template["Globals"]["Function"]["Environment"]["Variables"] == {
        "LOG": "INFO",
        ENDPOINT_VARIABLE: "",
    }
    assert built["Resources"]["Fn"]["Properties"]["CodeUri"] == "Fn"
    assert ENDPOINT_VARIABLE not in built["Globals"]["Function"]["Environment"]["Variables"]


def test_every_function_gets_its_environment_and_the_endpoint():
    # Given two functions' local environments / When the --env-vars document is built
    document = env_vars_document({"A": {"X": "1"}, "B": {"Y": "2"}}, "http://127.0.0.1:5000")
    # Then each keeps its own variables and gains the AWS endpoint
    assert document == {
        "A": {"X": "1", ENDPOINT_VARIABLE: "http://127.0.0.1:5000"},
        "B": {"Y": "2", ENDPOINT_VARIABLE: "http://127.0.0.1:5000"},
    }
