"""template.yaml holds the production safety rules: queue semantics, encryption, least privilege, auth,
data retention, logs and alarms. These tests read the template as CloudFormation does (short-form tags
included) and pin each rule."""

from __future__ import annotations

import ast
import fnmatch
import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from customer_sync.adapters.dynamodb_connection import CONNECTION_BROKEN_METRIC
from customer_sync.config.admin import AdminSettings
from customer_sync.config.dead_letters import DeadLetterSettings
from customer_sync.config.ingest import IngestSettings
from customer_sync.config.qbo_follow import QboChangesSettings, QboFollowSettings
from customer_sync.config.qbo_keep_alive import QboKeepAliveSettings
from customer_sync.config.qbo_webhook import QboWebhookSettings
from customer_sync.config.shared import SecretNames
from customer_sync.config.sync import SyncSettings
from customer_sync.domain.sync.retry_delay import JITTER, RetryDelays
from customer_sync.errors import MerchantSecretInvalid
from customer_sync.handlers.dead_letter_batch import DEAD_LETTER_ARRIVALS_METRIC
from customer_sync.handlers.ingest_api import QUEUE_UNAVAILABLE_METRIC, REJECTIONS
from local.cfn import PROJECT_ROOT, Resolver, function_spec, load_template, resources_of_type
from tests.support.settings import sync_settings

TEMPLATE = load_template()
RESOURCES: dict[str, dict[str, Any]] = TEMPLATE["Resources"]
PARAMETERS: dict[str, dict[str, Any]] = TEMPLATE["Parameters"]
FUNCTIONS = resources_of_type(TEMPLATE, "AWS::Serverless::Function")
QUEUES = resources_of_type(TEMPLATE, "AWS::SQS::Queue")
TABLES = resources_of_type(TEMPLATE, "AWS::DynamoDB::Table")
SETTINGS_OF_FUNCTION: dict[str, type[BaseModel]] = {
    "IngestFunction": IngestSettings,
    "SyncFunction": SyncSettings,
    "AdminFunction": AdminSettings,
    "QboWebhookFunction": QboWebhookSettings,
    "QboChangesFunction": QboChangesSettings,
    "QboCdcFunction": QboFollowSettings,
    "QboKeepAliveFunction": QboKeepAliveSettings,
    "DeadLetterFunction": DeadLetterSettings,
}
PUBLIC_ROUTES = {("/webhooks/paysimple", "post"), ("/webhooks/qbo", "post"), ("/oauth/qbo/callback", "get")}


def props(logical_id: str) -> dict[str, Any]:
    return dict(RESOURCES[logical_id]["Properties"])


def parameter_default(value: Any) -> Any:
    """A literal, or the default of the parameter it references."""
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return PARAMETERS[value["Ref"]]["Default"]
    return value


def api_events() -> list[tuple[str, str, dict[str, Any]]]:
    """(function, event name, event properties) for every API Gateway event in the template."""
    return [
        (function_id, event_name, event["Properties"])
        for function_id, function in FUNCTIONS.items()
        for event_name, event in function["Properties"].get("Events", {}).items()
        if event["Type"] == "Api"
    ]


def policy_entries(function_id: str) -> list[Any]:
    policies = props(function_id).get("Policies", [])
    return policies if isinstance(policies, list) else [policies]


def statement_actions(statement: dict[str, Any]) -> list[str]:
    actions = statement.get("Action", [])
    return [actions] if isinstance(actions, str) else list(actions)


def function_environment_names(function_id: str) -> set[str]:
    global_vars = TEMPLATE.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    function_vars = props(function_id).get("Environment", {}).get("Variables", {})
    return {*global_vars, *function_vars}


def sync_sqs_event() -> dict[str, Any]:
    events = props("SyncFunction")["Events"]
    (event,) = (event["Properties"] for event in events.values() if event["Type"] == "SQS")
    return dict(event)


# --- CustomerChangesQueue and its DLQ -------------------------------------------------------------------


def test_changes_queue_is_fifo_so_changes_to_one_customer_stay_in_order() -> None:
    # Given the queue between ingest and sync
    queue = props("CustomerChangesQueue")

    # Then it is a FIFO queue (ordering per MessageGroupId "<merchant>:<customer>")
    assert queue["FifoQueue"] is True


def test_changes_queue_deduplicates_by_event_id_not_by_content() -> None:
    # Given the queue: ingest sets MessageDeduplicationId = event_id itself
    queue = props("CustomerChangesQueue")

    # Then content-based deduplication is off (two distinct events may carry identical bodies)
    assert queue["ContentBasedDeduplication"] is False


def test_changes_queue_moves_a_change_to_the_dlq_after_max_receive_count() -> None:
    # Given the queue's redrive policy
    redrive = props("CustomerChangesQueue")["RedrivePolicy"]

    # Then poison messages go to CustomerChangesDLQ after a bounded number of receives
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["CustomerChangesDLQ", "Arn"]}
    assert int(parameter_default(redrive["maxReceiveCount"])) >= 1


def test_a_day_long_qbo_outage_fits_in_the_receive_count_and_the_retention() -> None:
    # Given the waits between deliveries of a failing change (SyncSettings' defaults, at their shortest)
    settings = sync_settings()
    delays = RetryDelays(settings.retry_delay_first_seconds, settings.retry_delay_max_seconds)
    shortest_wait = delays.nominal(10**6) * (1 - JITTER)
    queue = props("CustomerChangesQueue")
    max_receive_count = int(parameter_default(queue["RedrivePolicy"]["maxReceiveCount"]))

    # When QBO is down for a day: waits of 1, 2, 4 ... s, then at least 88 s each
    day = 24 * 3600
    deliveries = sum(1 for delivery in range(1, 20) if delays.nominal(delivery) < delays.max_seconds)
    deliveries += math.ceil(day / shortest_wait)

    # Then the change is still in the queue (not dead-lettered, not expired) when QBO is back
    assert deliveries < max_receive_count <= 1000
    assert int(queue["MessageRetentionPeriod"]) >= 2 * day
    # And every change lands within two minutes of QBO's return: no wait is longer than that
    assert settings.retry_delay_max_seconds < 120


def test_sync_may_do_what_its_journal_budget_and_hand_backs_need() -> None:
    # Given the sync's statements
    statements = [statement for entry in policy_entries("SyncFunction") for statement in entry["Statement"]]

    def granted(action: str, resource: Any) -> bool:
        return any(
            action in statement_actions(statement)
            and resource
            in (statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]])
            for statement in statements
        )

    # Then it may read a batch's links and outcomes at once, draw on the QBO budget and take its waiter
    # lease, hand records back to the queue with their own wait, and dead-letter a message that can never
    # succeed; and build a company's name variants the first time it looks a name up
    assert granted("dynamodb:BatchGetItem", {"Fn::GetAtt": ["LinksTable", "Arn"]})
    assert granted("dynamodb:BatchGetItem", {"Fn::GetAtt": ["IdempotencyTable", "Arn"]})
    assert granted("dynamodb:BatchWriteItem", {"Fn::GetAtt": ["SettingsTable", "Arn"]})
    budget = {"Fn::GetAtt": ["QboBudgetTable", "Arn"]}
    assert all(
        granted(action, budget)
        for action in ("dynamodb:UpdateItem", "dynamodb:PutItem", "dynamodb:DeleteItem")
    )
    assert granted("sqs:ChangeMessageVisibility", {"Fn::GetAtt": ["CustomerChangesQueue", "Arn"]})
    assert granted("sqs:SendMessage", {"Fn::GetAtt": ["CustomerChangesDLQ", "Arn"]})


def test_the_admin_api_draws_on_the_same_qbo_budget() -> None:
    statements = [statement for entry in policy_entries("AdminFunction") for statement in entry["Statement"]]
    budget = {"Fn::GetAtt": ["QboBudgetTable", "Arn"]}
    assert any(
        "dynamodb:UpdateItem" in statement_actions(statement) and statement["Resource"] == budget
        for statement in statements
    )


def test_dead_letter_queue_is_fifo_as_sqs_requires_for_a_fifo_source() -> None:
    # Given the DLQ of a FIFO queue
    dlq = props("CustomerChangesDLQ")

    # Then it is FIFO itself (SQS rejects a standard DLQ for a FIFO queue)
    assert dlq["FifoQueue"] is True
    assert dlq.get("ContentBasedDeduplication", False) is False


@pytest.mark.parametrize("queue_id", sorted(QUEUES))
def test_every_queue_is_encrypted_at_rest(queue_id: str) -> None:
    # Given a queue
    queue = props(queue_id)

    # Then it uses SQS-managed or KMS server-side encryption
    assert queue.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in queue


def test_changes_queue_visibility_timeout_is_at_least_six_times_the_sync_timeout() -> None:
    # Given the sync function's timeout (AWS recommends visibility >= 6x for SQS event sources)
    sync_timeout = function_spec(TEMPLATE, "SyncFunction").timeout_seconds

    # When reading the queue's visibility timeout
    visibility = int(props("CustomerChangesQueue")["VisibilityTimeout"])

    # Then a message cannot reappear while a batch holding it may still be running
    assert visibility >= 6 * sync_timeout


def test_sync_timeout_is_at_least_twice_one_records_worst_case() -> None:
    # Given the time one record may need at worst with the default settings (a record starts only while that
    # much of the invocation is left, and the handler caps it at half the invocation)
    defaults = sync_settings()

    # When reading the sync function's timeout
    sync_timeout = function_spec(TEMPLATE, "SyncFunction").timeout_seconds

    # Then a record that starts can finish (the cap never shortens the margin), and a healthy batch has the
    # other half of the invocation to start its records
    assert sync_timeout >= 2 * defaults.record_margin


# --- SyncFunction's SQS event source ----------------------------------------------------------------------


def test_sync_reads_the_changes_queue() -> None:
    # Given the SQS event of SyncFunction
    event = sync_sqs_event()

    # Then it polls CustomerChangesQueue
    assert event["Queue"] == {"Fn::GetAtt": ["CustomerChangesQueue", "Arn"]}


def test_sync_reports_partial_batch_failures() -> None:
    # Given the SQS event of SyncFunction
    event = sync_sqs_event()

    # Then one failing message does not make SQS redeliver the whole batch
    assert "ReportBatchItemFailures" in event["FunctionResponseTypes"]


def test_sync_concurrency_is_capped_within_qbo_limits() -> None:
    # Given the event source's maximum concurrency (QBO allows about 10 concurrent requests per realm)
    maximum = sync_sqs_event()["ScalingConfig"]["MaximumConcurrency"]

    # When it is a parameter, its whole allowed range counts, not just its default
    if isinstance(maximum, dict):
        spec = PARAMETERS[maximum["Ref"]]
        low, high, default = int(spec["MinValue"]), int(spec["MaxValue"]), int(spec["Default"])
    else:
        low = high = default = int(maximum)

    # Then it is set, between AWS's minimum of 2 and 10
    assert 2 <= low <= default <= high <= 10


# --- DynamoDB tables --------------------------------------------------------------------------------------


@pytest.mark.parametrize("table_id", sorted(TABLES))
def test_every_table_has_point_in_time_recovery(table_id: str) -> None:
    # Given a table
    table = props(table_id)

    # Then it can be restored to any second of the last 35 days
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


@pytest.mark.parametrize("table_id", sorted(TABLES))
def test_every_table_is_encrypted_at_rest_with_kms(table_id: str) -> None:
    # Given a table
    table = props(table_id)

    # Then server-side encryption is explicitly on
    assert table["SSESpecification"]["SSEEnabled"] is True


def test_idempotency_records_expire_through_ttl() -> None:
    # Given the idempotency table (the sync's outcomes of changes done carry an "expiration" epoch)
    table = props("IdempotencyTable")

    # Then DynamoDB deletes expired records by themselves
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}


@pytest.mark.parametrize("table_id", ["LinksTable", "SettingsTable", "HistoryTable"])
def test_application_tables_are_keyed_by_pk_and_sk(table_id: str) -> None:
    # Given an application table (the adapters build "pk"/"sk" keys)
    key_schema = props(table_id)["KeySchema"]

    # Then its key is exactly pk (hash) + sk (range)
    assert key_schema == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]


def test_links_table_has_the_by_status_index_for_the_customer_matching_lists() -> None:
    # Given the links table
    indexes = props("LinksTable")["GlobalSecondaryIndexes"]

    # Then the linked/unlinked lists can be queried without a scan
    assert "by_status" in {index["IndexName"] for index in indexes}


# --- IAM --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("function_id", sorted(FUNCTIONS))
def test_function_permissions_are_inline_statements_that_can_be_audited(function_id: str) -> None:
    # Given the function's Policies (SAM policy templates and managed policies hide their actions)
    entries = policy_entries(function_id)

    # Then each one is an inline policy document
    assert entries, f"{function_id} has no policy"
    assert all(isinstance(entry, dict) and set(entry) == {"Statement"} for entry in entries), entries


@pytest.mark.parametrize("function_id", sorted(FUNCTIONS))
def test_no_function_is_granted_a_wildcard_action(function_id: str) -> None:
    # Given every statement the function is granted
    statements = [statement for entry in policy_entries(function_id) for statement in entry["Statement"]]

    # When collecting their actions
    actions = [action for statement in statements for action in statement_actions(statement)]

    # Then each names one API call: no "*", no "service:*", and no NotAction (which grants everything else)
    assert actions
    assert not [action for action in actions if "*" in action], actions
    assert not [statement for statement in statements if "NotAction" in statement]


# --- API Gateway ------------------------------------------------------------------------------------------


def test_admin_api_requires_iam_auth_by_default() -> None:
    # Given the admin API
    auth = props("AdminApi")["Auth"]

    # Then every method on it needs a SigV4-signed request
    assert auth["DefaultAuthorizer"] == "AWS_IAM"


def test_every_api_event_names_its_api_so_no_implicit_public_api_appears() -> None:
    # Given every API event (one without RestApiId lands on SAM's implicit, unauthenticated API)
    events = api_events()

    # Then each one names WebhookApi, AdminApi or ConsoleApi
    assert events
    apis = ({"Ref": "WebhookApi"}, {"Ref": "AdminApi"}, {"Ref": "ConsoleApi"})
    assert all(event.get("RestApiId") in apis for _, _, event in events)


def test_every_admin_route_is_on_the_iam_api_or_the_cognito_console_api() -> None:
    # Given every route under /admin
    admin_events = [event for _, _, event in api_events() if str(event["Path"]).startswith("/admin")]

    # Then each is on AdminApi (IAM) or ConsoleApi (Cognito), and none opts out of its API's authorizer
    assert {str(event["RestApiId"]["Ref"]) for event in admin_events} == {"AdminApi", "ConsoleApi"}
    for event in admin_events:
        default = "AWS_IAM" if event["RestApiId"] == {"Ref": "AdminApi"} else "ConsoleCognitoAuthorizer"
        assert event.get("Auth", {}).get("Authorizer", default) == default, event


@pytest.mark.parametrize(("path", "method"), sorted(PUBLIC_ROUTES))
def test_webhook_and_oauth_callback_are_on_the_public_api(path: str, method: str) -> None:
    # Given the routes PaySimple and Intuit call (they cannot sign requests with our IAM credentials)
    routes = {
        (event["Path"], str(event["Method"]).lower()): event["RestApiId"] for _, _, event in api_events()
    }

    # Then each is served by WebhookApi
    assert routes.get((path, method)) == {"Ref": "WebhookApi"}


def test_public_api_serves_nothing_but_the_webhook_and_oauth_callback() -> None:
    # Given every route on the unauthenticated API
    public = {
        (event["Path"], str(event["Method"]).lower())
        for _, _, event in api_events()
        if event["RestApiId"] == {"Ref": "WebhookApi"}
    }

    # Then nothing else is reachable without IAM
    assert public == PUBLIC_ROUTES


# --- Functions --------------------------------------------------------------------------------------------


def _top_level_names(module_file: Path) -> set[str]:
    tree = ast.parse(module_file.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(target.id for target in node.targets if isinstance(target, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


@pytest.mark.parametrize("function_id", sorted(FUNCTIONS))
def test_each_function_handler_exists_in_its_code_directory(function_id: str) -> None:
    # Given the function's CodeUri and Handler ("app.lambda_handler")
    module_name, attribute = str(props(function_id)["Handler"]).rsplit(".", 1)
    module_file = PROJECT_ROOT / str(props(function_id)["CodeUri"]) / f"{module_name.replace('.', '/')}.py"

    # Then the module file exists and defines the handler at top level
    assert module_file.is_file(), f"{module_file} is missing"
    assert attribute in _top_level_names(module_file)


@pytest.mark.parametrize("function_id", sorted(FUNCTIONS))
def test_each_function_bundles_only_its_own_directory(function_id: str) -> None:
    # Given the function's CodeUri (shared code comes from the layer)
    code_uri = Path(str(props(function_id)["CodeUri"]).strip("/"))

    # Then it is one directory under functions/, never the repository
    assert code_uri.parent == Path("functions")
    assert (PROJECT_ROOT / code_uri).is_dir()


@pytest.mark.parametrize("function_id", sorted(FUNCTIONS))
def test_every_function_loads_the_shared_layer(function_id: str) -> None:
    # Given the function's layers (its own, or the Globals' when it declares none)
    layers = props(function_id).get("Layers", TEMPLATE["Globals"]["Function"].get("Layers", []))

    # Then customer_sync is on its path through SharedLayer
    assert {"Ref": "SharedLayer"} in layers


def test_shared_layer_is_built_for_python_3_11() -> None:
    # Given the layer
    layer = RESOURCES["SharedLayer"]

    # Then sam build installs its requirements for the functions' runtime
    assert layer["Metadata"]["BuildMethod"] == "python3.11"
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.11"]
    assert (PROJECT_ROOT / str(layer["Properties"]["ContentUri"]) / "requirements.txt").is_file()


@pytest.mark.parametrize("function_id", sorted(SETTINGS_OF_FUNCTION))
def test_template_provides_every_required_setting_of_each_function(function_id: str) -> None:
    # Given the settings model the function validates at cold start
    model = SETTINGS_OF_FUNCTION[function_id]
    required = {name.upper() for name, field in model.model_fields.items() if field.is_required()}

    # When reading the environment the template gives the function
    provided = function_environment_names(function_id)

    # Then no required variable is missing (a missing one would fail every cold start)
    assert required, f"{model.__name__} has no required field: the mapping is wrong"
    assert required <= provided, sorted(required - provided)


def test_settings_models_cover_every_function() -> None:
    # Given the functions the template declares
    declared = set(FUNCTIONS)

    # Then each one has its settings model checked above
    assert declared == set(SETTINGS_OF_FUNCTION)


def test_ingest_times_out_before_paysimples_ten_second_deadline() -> None:
    # Given PaySimple's rule: a 2xx within 10 s, or the delivery is retried
    timeout = function_spec(TEMPLATE, "IngestFunction").timeout_seconds

    # Then the ingest function never runs past it
    assert timeout < 10


# --- Secrets ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("secret_id", "expected_name"),
    [
        ("QboAppSecret", SecretNames(secret_prefix="test/").qbo_app()),
        ("OAuthStateKeySecret", "test/oauth-state-key"),
        ("QboWebhookVerifierSecret", SecretNames(secret_prefix="test/").qbo_webhook_verifier()),
    ],
)
def test_secret_names_come_from_the_prefix_parameter(secret_id: str, expected_name: str) -> None:
    # Given a SecretPrefix of "test/"
    resolver = Resolver(parameters={"SecretPrefix": "test/"}, refs={}, attributes={})

    # When resolving the secret's name
    name = resolver.resolve(props(secret_id)["Name"])

    # Then it is the name the code builds from the same prefix
    assert name == expected_name


def secret_arn(name: str) -> str:
    """The ARN Secrets Manager gives a secret: its name plus "-" and six random characters."""
    return f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}-AbC123"


def secrets_readable_by(function_id: str) -> list[str]:
    """The resource patterns of every statement granting the function secretsmanager:GetSecretValue."""
    resolver = Resolver(parameters={"SecretPrefix": "test/"}, refs={}, attributes={})
    patterns: list[str] = []
    for entry in policy_entries(function_id):
        for statement in entry["Statement"]:
            if "secretsmanager:GetSecretValue" in statement_actions(statement):
                resources = resolver.resolve(statement["Resource"])
                patterns.extend([resources] if isinstance(resources, str) else resources)
    return patterns


def readable(patterns: list[str], name: str) -> bool:
    # IAM's wildcards: "*" any run of characters (slashes included), "?" exactly one.
    return any(fnmatch.fnmatchcase(secret_arn(name), pattern) for pattern in patterns)


def test_ingest_reads_the_merchants_signing_keys_and_no_other_secret() -> None:
    # Given the secrets the internet-facing ingest function may read, and the names the code builds
    patterns = secrets_readable_by("IngestFunction")
    names = SecretNames(secret_prefix="test/")

    # Then it reads any merchant's signing-key secret
    assert readable(patterns, names.webhook_signing_key("1225"))
    assert readable(patterns, names.webhook_signing_key("merchant_77-b"))
    # and never a PaySimple secret (with its API key), a QBO connection, the QBO app or another stack's keys
    for name in [
        names.paysimple("1225"),
        names.qbo_connection("1225"),
        names.qbo_app(),
        names.oauth_state_key(),
        SecretNames(secret_prefix="other/").webhook_signing_key("1225"),
    ]:
        assert not readable(patterns, name), name


# --- Alarms and outputs -----------------------------------------------------------------------------------


ALARMS = resources_of_type(TEMPLATE, "AWS::CloudWatch::Alarm")
GLOBAL_ENV = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
APPLICATION_METRIC_DIMENSIONS = [{"Name": "service", "Value": GLOBAL_ENV["POWERTOOLS_SERVICE_NAME"]}]


def metric_stats(alarm: dict[str, Any]) -> list[dict[str, Any]]:
    """Every metric an alarm reads: its own, or each MetricStat of its metric math."""
    if "MetricName" in alarm:
        keys = ("Namespace", "MetricName", "Dimensions")
        return [{key: alarm[key] for key in keys if key in alarm}]
    return [query["MetricStat"]["Metric"] for query in alarm["Metrics"] if "MetricStat" in query]


def alarms_reading(namespace: str, metric_name: str) -> list[dict[str, Any]]:
    return [
        dict(alarm["Properties"])
        for alarm in ALARMS.values()
        if any(
            (stat["Namespace"], stat["MetricName"]) == (namespace, metric_name)
            for stat in metric_stats(alarm["Properties"])
        )
    ]


def only_alarm_reading(namespace: str, metric_name: str) -> dict[str, Any]:
    (alarm,) = alarms_reading(namespace, metric_name)
    return alarm


def returned_expression(alarm: dict[str, Any]) -> str:
    (query,) = [query for query in alarm["Metrics"] if query.get("ReturnData")]
    return str(query["Expression"])


def alarm_states(alarm: dict[str, Any], values: list[int]) -> list[str]:
    """ALARM or OK per period, for an alarm on one value per period (EvaluationPeriods 1)."""
    assert alarm["EvaluationPeriods"] == 1 and alarm["ComparisonOperator"] == "GreaterThanThreshold"
    return ["ALARM" if value > float(alarm["Threshold"]) else "OK" for value in values]


def notifications(states: list[str]) -> int:
    """SNS is notified on each change into ALARM (AlarmActions)."""
    return sum(1 for before, now in zip(["OK", *states], states, strict=False) if now == "ALARM" != before)


@pytest.mark.parametrize("alarm_id", sorted(ALARMS))
def test_every_alarm_notifies_the_alarm_topic(alarm_id: str) -> None:
    # Given an alarm / Then it notifies AlarmTopic, and no data (a quiet night) is not an alarm
    alarm = props(alarm_id)
    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    assert alarm["TreatMissingData"] == "notBreaching"
    assert alarm["AlarmDescription"]


def test_the_alarm_email_is_an_optional_parameter_subscribed_to_the_topic() -> None:
    # Given the AlarmEmail parameter and the subscription
    parameter = PARAMETERS["AlarmEmail"]
    subscription = RESOURCES["AlarmEmailSubscription"]

    # Then it may be left empty, takes an address, and is subscribed by email only when given
    pattern = re.compile(parameter["AllowedPattern"])
    assert parameter["Default"] == ""
    assert pattern.fullmatch("") and pattern.fullmatch("oncall@example.com")
    assert not pattern.fullmatch("oncall") and not pattern.fullmatch("a b@example.com")
    assert TEMPLATE["Conditions"][subscription["Condition"]] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]
    }
    assert subscription["Type"] == "AWS::SNS::Subscription"
    assert subscription["Properties"] == {
        "TopicArn": {"Ref": "AlarmTopic"},
        "Protocol": "email",
        "Endpoint": {"Ref": "AlarmEmail"},
    }


def test_a_change_arriving_in_the_dlq_notifies_each_time_not_once() -> None:
    # Given the alarm on the arrivals DeadLetterFunction counts (the DLQ itself stays near empty: the
    # function moves each change into the failures table at once)
    namespace = GLOBAL_ENV["POWERTOOLS_METRICS_NAMESPACE"]
    alarm = only_alarm_reading(namespace, DEAD_LETTER_ARRIVALS_METRIC)
    assert alarm["Dimensions"] == APPLICATION_METRIC_DIMENSIONS
    assert (alarm["Statistic"], alarm["Period"], float(alarm["Threshold"])) == ("Sum", 60, 0.0)
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"

    # When one change arrives, then another two minutes later, then a third two minutes after that
    arrivals_per_minute = [1, 0, 0, 1, 0, 1, 0]
    states = ["ALARM" if count > 0 else "OK" for count in arrivals_per_minute]

    # Then on-call is notified of each arrival, and the alarm is back to OK in between and at the end
    assert notifications(states) == 3
    assert states[-1] == "OK"


def test_the_dlq_consumer_reads_the_dlq_and_writes_failures_and_nothing_else() -> None:
    # Given DeadLetterFunction's event source and permissions
    function = props("DeadLetterFunction")
    [event] = function["Events"].values()
    statements = function["Policies"][0]["Statement"]

    # Then it consumes CustomerChangesDLQ, reporting failed records (they stay in the DLQ)
    assert event["Properties"]["Queue"] == {"Fn::GetAtt": ["CustomerChangesDLQ", "Arn"]}
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    # and may do exactly that: receive and delete from the DLQ, read and write HistoryTable (the failure,
    # the sync's last error); no other queue, table or secret
    granted = {
        (action, json.dumps(statement["Resource"], sort_keys=True))
        for statement in statements
        for action in statement["Action"]
    }
    dlq = json.dumps({"Fn::GetAtt": ["CustomerChangesDLQ", "Arn"]})
    history = json.dumps({"Fn::GetAtt": ["HistoryTable", "Arn"]})
    assert granted == {
        ("sqs:ReceiveMessage", dlq),
        ("sqs:DeleteMessage", dlq),
        ("sqs:GetQueueAttributes", dlq),
        ("sqs:ChangeMessageVisibility", dlq),
        ("dynamodb:GetItem", history),
        ("dynamodb:PutItem", history),
        ("dynamodb:Query", history),
    }


def test_the_admin_api_never_receives_from_the_dlq() -> None:
    # Given every permission AdminFunction has on the DLQ
    dlq = {"Fn::GetAtt": ["CustomerChangesDLQ", "Arn"]}
    actions = {
        action
        for statement in props("AdminFunction")["Policies"][0]["Statement"]
        if statement["Resource"] == dlq
        for action in statement["Action"]
    }
    # Then it can read the DLQ's depth (the status route) and nothing more: listing has no side effects
    assert actions == {"sqs:GetQueueAttributes"}


def test_a_change_waiting_too_long_on_the_queue_alarms() -> None:
    # Given the alarm on the changes queue's oldest message
    alarm = only_alarm_reading("AWS/SQS", "ApproximateAgeOfOldestMessage")

    # Then it watches CustomerChangesQueue with the QueueAgeAlarmSeconds threshold (30 minutes by default)
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["CustomerChangesQueue", "QueueName"]}}
    ]
    assert alarm["Statistic"] == "Maximum"
    assert alarm["Threshold"] == {"Ref": "QueueAgeAlarmSeconds"}
    assert PARAMETERS["QueueAgeAlarmSeconds"]["Default"] == 1800


@pytest.mark.parametrize(
    "metric_name",
    [
        # f"Sync{action.capitalize()}" for a parked change (handlers/sync_batch.py)
        "SyncParked",
        CONNECTION_BROKEN_METRIC,
        REJECTIONS[MerchantSecretInvalid][1],
        QUEUE_UNAVAILABLE_METRIC,
    ],
)
def test_parked_changes_broken_connections_and_malformed_secrets_alarm_on_the_metric_the_code_emits(
    metric_name: str,
) -> None:
    # Given the application metric the code emits (Powertools: the namespace and service of the Globals)
    namespace = GLOBAL_ENV["POWERTOOLS_METRICS_NAMESPACE"]

    # When finding the alarm on it
    alarm = only_alarm_reading(namespace, metric_name)

    # Then it reads the metric under the dimension Powertools gives it, and one occurrence is enough
    assert alarm["Dimensions"] == APPLICATION_METRIC_DIMENSIONS
    assert (alarm["Statistic"], float(alarm["Threshold"]), alarm["ComparisonOperator"]) == (
        "Sum",
        0.0,
        "GreaterThanThreshold",
    )


@pytest.mark.parametrize("function_id", sorted(FUNCTIONS))
def test_each_function_has_an_alarm_on_its_error_rate(function_id: str) -> None:
    # Given the alarms on the function's Lambda metrics
    function = [{"Name": "FunctionName", "Value": {"Ref": function_id}}]
    (alarm,) = [
        dict(alarm["Properties"])
        for alarm in ALARMS.values()
        if any(stat["Dimensions"] == function for stat in metric_stats(alarm["Properties"]))
    ]

    # Then it divides errors by invocations, in percent, against the ErrorRateAlarmPercent threshold
    ids = {
        query["Id"]: query["MetricStat"]["Metric"]["MetricName"]
        for query in alarm["Metrics"]
        if "MetricStat" in query
    }
    assert ids == {"errors": "Errors", "invocations": "Invocations"}
    assert returned_expression(alarm) == "IF(invocations > 0, 100 * errors / invocations, 0)"
    assert alarm["Threshold"] == {"Ref": "ErrorRateAlarmPercent"}
    # e.g. one failed invocation in 50 is 2 %: above the default 1 %
    assert PARAMETERS["ErrorRateAlarmPercent"]["Default"] < 100 * 1 / 50


@pytest.mark.parametrize("function_id", sorted(FUNCTIONS))
def test_every_function_logs_to_its_own_log_group_which_expires_its_logs(function_id: str) -> None:
    # Given the function's logging configuration
    log_group_ref = props(function_id)["LoggingConfig"]["LogGroup"]

    # Then it is a log group of this template, with the LogRetentionDays retention
    log_group = RESOURCES[log_group_ref["Ref"]]
    assert log_group["Type"] == "AWS::Logs::LogGroup"
    assert log_group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert PARAMETERS["LogRetentionDays"]["Default"] in PARAMETERS["LogRetentionDays"]["AllowedValues"]
    # and no two functions share one
    other_groups = [props(other)["LoggingConfig"]["LogGroup"] for other in FUNCTIONS if other != function_id]
    assert log_group_ref not in other_groups


@pytest.mark.parametrize(
    "resource_id", sorted([*TABLES, *resources_of_type(TEMPLATE, "AWS::SecretsManager::Secret")])
)
def test_tables_and_secrets_survive_a_stack_deletion_or_replacement(resource_id: str) -> None:
    # Given a table or a secret
    resource = RESOURCES[resource_id]

    # Then deleting the stack, or an update that would replace it, keeps it
    assert resource["DeletionPolicy"] == "Retain"
    assert resource["UpdateReplacePolicy"] == "Retain"


@pytest.mark.parametrize("table_id", sorted(TABLES))
def test_every_table_has_deletion_protection(table_id: str) -> None:
    # Given a table / Then it cannot be deleted until that protection is turned off
    assert props(table_id)["DeletionProtectionEnabled"] is True


def test_the_on_call_dashboard_shows_every_alarm_and_is_valid_json() -> None:
    # Given the dashboard body, with every ${...} placeholder filled in as CloudFormation would
    body = str(props("OnCallDashboard")["DashboardBody"]["Fn::Sub"])
    filled = re.sub(
        r"\$\{([^}]+)\}", lambda match: "1" if match[1] == "QueueAgeAlarmSeconds" else match[1], body
    )

    # When it is read as JSON
    dashboard = json.loads(filled)

    # Then its alarm widget lists every alarm of the template, and it charts the queue, DLQ and functions
    (alarm_widget,) = [widget for widget in dashboard["widgets"] if widget["type"] == "alarm"]
    assert sorted(alarm_widget["properties"]["alarms"]) == sorted(f"{alarm}.Arn" for alarm in ALARMS)
    charted = json.dumps(dashboard)
    for name in ["CustomerChangesQueue.QueueName", "CustomerChangesDLQ.QueueName", *FUNCTIONS]:
        assert name in charted, name
    assert "OnCallDashboardUrl" in TEMPLATE["Outputs"]


def test_alarm_topic_is_one_cloudwatch_can_publish_to() -> None:
    # Given the topic alarms publish to
    topic = props("AlarmTopic")

    # Then it is not under the AWS-managed aws/sns key, whose policy does not admit CloudWatch
    assert topic.get("KmsMasterKeyId") != "alias/aws/sns"


@pytest.mark.parametrize(
    ("output", "api", "path"),
    [
        ("WebhookUrl", "WebhookApi", "/webhooks/paysimple"),
        ("QboWebhookUrl", "WebhookApi", "/webhooks/qbo"),
        ("AdminApiUrl", "AdminApi", "/admin"),
    ],
)
def test_outputs_give_the_url_of_each_entry_point(output: str, api: str, path: str) -> None:
    # Given the API's stage
    stage = props(api)["StageName"]

    # When reading the output
    value = str(TEMPLATE["Outputs"][output]["Value"]["Fn::Sub"])

    # Then it is the https URL of that API, stage and path
    assert value.startswith(f"https://${{{api}}}.execute-api.")
    assert value.endswith(f"/{stage}{path}")
