"""Creates the tables, queues, secrets and the console's Cognito user pool (its app client and groups) that
template.yaml declares, in moto (in-process or moto_server), and gives each function the environment Lambda
would give it."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

import boto3
from mypy_boto3_sqs.literals import QueueAttributeNameType

from local.cfn import LOCAL_REGION, Resolver, load_template, parameter_defaults, resources_of_type


@dataclass(frozen=True)
class LocalStack:
    template: dict[str, Any]
    resolver: Resolver

    def function_environment(self, logical_id: str) -> dict[str, str]:
        """Globals + function variables, resolved to the local resource names."""
        global_vars = self.template.get("Globals", {}).get("Function", {}).get("Environment", {})
        function_vars = (
            self.template["Resources"][logical_id]["Properties"].get("Environment", {}).get("Variables", {})
        )
        merged = {**global_vars.get("Variables", {}), **function_vars}
        return {name: str(self.resolver.resolve(value)) for name, value in merged.items()}


def _create_tables(template: dict[str, Any], resolver: Resolver) -> None:
    dynamodb = boto3.client("dynamodb")
    for logical_id, resource in resources_of_type(template, "AWS::DynamoDB::Table").items():
        props = resolver.resolve(resource["Properties"])
        kwargs: dict[str, Any] = {
            "TableName": logical_id,
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if "GlobalSecondaryIndexes" in props:
            kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        dynamodb.create_table(**kwargs)
        ttl = props.get("TimeToLiveSpecification")
        if ttl:
            dynamodb.update_time_to_live(TableName=logical_id, TimeToLiveSpecification=ttl)
        resolver.refs[logical_id] = logical_id
        resolver.attributes[(logical_id, "Arn")] = (
            f"arn:aws:dynamodb:{resolver.pseudo('AWS::Region')}:{resolver.pseudo('AWS::AccountId')}"
            f":table/{logical_id}"
        )


def _queue_attributes(props: dict[str, Any]) -> dict[QueueAttributeNameType, str]:
    names: dict[str, QueueAttributeNameType] = {
        "FifoQueue": "FifoQueue",
        "ContentBasedDeduplication": "ContentBasedDeduplication",
        "VisibilityTimeout": "VisibilityTimeout",
        "MessageRetentionPeriod": "MessageRetentionPeriod",
        "SqsManagedSseEnabled": "SqsManagedSseEnabled",
    }
    attributes: dict[QueueAttributeNameType, str] = {}
    for prop, attribute in names.items():
        if prop in props:
            value = props[prop]
            attributes[attribute] = str(value).lower() if isinstance(value, bool) else str(value)
    return attributes


def _create_queues(template: dict[str, Any], resolver: Resolver) -> None:
    sqs = boto3.client("sqs")
    queues = resources_of_type(template, "AWS::SQS::Queue")
    # Dead-letter targets are plain queues, so create everything first and attach redrive policies after.
    for logical_id, resource in queues.items():
        props = resource["Properties"]
        name = f"{logical_id}.fifo" if props.get("FifoQueue") else logical_id
        url = sqs.create_queue(QueueName=name, Attributes=_queue_attributes(props))["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        resolver.refs[logical_id] = url
        resolver.attributes[(logical_id, "Arn")] = arn
        resolver.attributes[(logical_id, "QueueName")] = name
        resolver.attributes[(logical_id, "QueueUrl")] = url
    for logical_id, resource in queues.items():
        redrive = resource["Properties"].get("RedrivePolicy")
        if redrive:
            policy = resolver.resolve(redrive)
            sqs.set_queue_attributes(
                QueueUrl=resolver.refs[logical_id],
                Attributes={
                    "RedrivePolicy": json.dumps(
                        {
                            "deadLetterTargetArn": policy["deadLetterTargetArn"],
                            "maxReceiveCount": int(policy["maxReceiveCount"]),
                        }
                    )
                },
            )


def _generated_secret(spec: dict[str, Any]) -> str:
    value = json.loads(spec.get("SecretStringTemplate", "{}"))
    value[spec["GenerateStringKey"]] = secrets.token_urlsafe(int(spec.get("PasswordLength", 32)))
    return json.dumps(value)


def _create_secrets(template: dict[str, Any], resolver: Resolver, secret_values: dict[str, str]) -> None:
    client = boto3.client("secretsmanager")
    for logical_id, resource in resources_of_type(template, "AWS::SecretsManager::Secret").items():
        props = resolver.resolve(resource["Properties"])
        name = props["Name"]
        value = secret_values.get(logical_id) or props.get("SecretString")
        if value is None:
            value = _generated_secret(props["GenerateSecretString"])
        arn = client.create_secret(Name=name, SecretString=value)["ARN"]
        resolver.refs[logical_id] = arn


def _create_user_pools(template: dict[str, Any], resolver: Resolver) -> None:
    """The user pools, their app clients and groups; their CloudFormation properties are CreateUserPool's,
    CreateUserPoolClient's and CreateGroup's parameters but for the pool's name."""
    cognito = boto3.client("cognito-idp")
    for logical_id, resource in resources_of_type(template, "AWS::Cognito::UserPool").items():
        props = resolver.resolve(resource["Properties"])
        name = props.pop("UserPoolName", logical_id)
        pool = cognito.create_user_pool(PoolName=name, **props)["UserPool"]
        resolver.refs[logical_id] = pool["Id"]
        resolver.attributes[(logical_id, "Arn")] = pool["Arn"]
        resolver.attributes[(logical_id, "ProviderName")] = (
            f"cognito-idp.{LOCAL_REGION}.amazonaws.com/{pool['Id']}"
        )
    for logical_id, resource in resources_of_type(template, "AWS::Cognito::UserPoolClient").items():
        props = resolver.resolve(resource["Properties"])
        client = cognito.create_user_pool_client(**props)["UserPoolClient"]
        resolver.refs[logical_id] = client["ClientId"]
    for logical_id, resource in resources_of_type(template, "AWS::Cognito::UserPoolGroup").items():
        props = resolver.resolve(resource["Properties"])
        cognito.create_group(**props)
        resolver.refs[logical_id] = props["GroupName"]


def create_local_resources(
    *, parameters: dict[str, str] | None = None, secret_values: dict[str, str] | None = None
) -> LocalStack:
    """Create every table, queue and secret of template.yaml in the current (moto) AWS endpoint.

    `secret_values` overrides generated secret strings by logical id (e.g. the QBO app's client id/secret).
    """
    template = load_template()
    resolver = Resolver(parameters=parameter_defaults(template, parameters), refs={}, attributes={})
    _create_tables(template, resolver)
    _create_queues(template, resolver)
    _create_secrets(template, resolver, secret_values or {})
    _create_user_pools(template, resolver)
    return LocalStack(template=template, resolver=resolver)
