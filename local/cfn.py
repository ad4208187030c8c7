"""Reads template.yaml (with cfn-lint's decoder): intrinsic resolution and the functions it declares.

The local stack and the tests take table/queue/secret definitions and handler paths from here, so the
template stays the single list of what exists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cfnlint.decode import decode

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = PROJECT_ROOT / "template.yaml"
LOCAL_REGION = "us-east-1"
LOCAL_ACCOUNT = "123456789012"


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    """A CloudFormation template as plain dicts, lists and scalars, read by cfn-lint's decoder (what
    `sam validate --lint` reads it with): short forms become long ones (`!Ref X` is `{"Ref": "X"}`,
    `!GetAtt A.B` is `{"Fn::GetAtt": ["A", "B"]}`, `!Sub s` is `{"Fn::Sub": "s"}`), and a duplicate key or a
    parse error is refused rather than read past."""
    template, problems = decode(str(path))
    if problems or not isinstance(template, dict):
        found = "; ".join(str(problem) for problem in problems) or "not a mapping"
        raise ValueError(f"{path} is not a CloudFormation template: {found}")
    plain: dict[str, Any] = _plain(template)
    return plain


def _plain(value: Any) -> Any:
    """cfn-lint's nodes (dict, list and str subclasses that carry line numbers) as the built-in types, so
    yaml.safe_dump, equality and copies treat them as any other value."""
    if isinstance(value, dict):
        return {_plain(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, str):
        return str(value)
    return value


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    module: str  # importable dotted path, e.g. "functions.ingest.app"
    attribute: str  # e.g. "lambda_handler"
    timeout_seconds: int


def function_spec(template: dict[str, Any], logical_id: str) -> FunctionSpec:
    resource = template["Resources"][logical_id]
    props = resource["Properties"]
    code_uri = str(props["CodeUri"]).strip("/")
    module_file, attribute = str(props["Handler"]).rsplit(".", 1)
    module = ".".join([*code_uri.split("/"), module_file])
    timeout = int(props.get("Timeout", template.get("Globals", {}).get("Function", {}).get("Timeout", 3)))
    return FunctionSpec(logical_id=logical_id, module=module, attribute=attribute, timeout_seconds=timeout)


_SUB_PATTERN = re.compile(r"\$\{([A-Za-z0-9_:.]+)\}")


@dataclass
class Resolver:
    """Resolves Ref/GetAtt/Sub against local physical names; enough for this template, not all of CFN."""

    parameters: dict[str, str]
    refs: dict[str, str]
    attributes: dict[tuple[str, str], str]

    def pseudo(self, name: str) -> str | None:
        return {
            "AWS::Region": LOCAL_REGION,
            "AWS::AccountId": LOCAL_ACCOUNT,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": "customer-sync-local",
        }.get(name)

    def ref(self, name: str) -> str:
        pseudo = self.pseudo(name)
        if pseudo is not None:
            return pseudo
        if name in self.parameters:
            return self.parameters[name]
        if name in self.refs:
            return self.refs[name]
        raise KeyError(f"unresolved Ref {name}")

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) == {"Ref"}:
                return self.ref(str(value["Ref"]))
            if set(value) == {"Fn::GetAtt"}:
                logical_id, attribute = value["Fn::GetAtt"]
                return self.attributes[(logical_id, attribute)]
            if set(value) == {"Fn::Sub"}:
                return _SUB_PATTERN.sub(lambda m: self._sub_var(m.group(1)), str(value["Fn::Sub"]))
            return {key: self.resolve(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        return value

    def _sub_var(self, name: str) -> str:
        if "." in name and not name.startswith("AWS::"):
            logical_id, attribute = name.split(".", 1)
            return self.attributes[(logical_id, attribute)]
        return self.ref(name)


def parameter_defaults(template: dict[str, Any], overrides: dict[str, str] | None = None) -> dict[str, str]:
    values = {name: str(spec.get("Default", "")) for name, spec in template.get("Parameters", {}).items()}
    values.update(overrides or {})
    return values


def resources_of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == resource_type
    }
