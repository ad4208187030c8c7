"""samconfig.toml: each deploy environment is its own stack, with parameter values the template accepts."""

from __future__ import annotations

import re
import shlex
import tomllib
from typing import Any

import pytest

from local.cfn import PROJECT_ROOT, load_template

SAMCONFIG: dict[str, Any] = tomllib.loads((PROJECT_ROOT / "samconfig.toml").read_text(encoding="utf-8"))
PARAMETERS: dict[str, dict[str, Any]] = load_template()["Parameters"]
ENVIRONMENTS = ("default", "prod")


def deploy_parameters(environment: str) -> dict[str, Any]:
    return dict(SAMCONFIG[environment]["deploy"]["parameters"])


def parameter_overrides(environment: str) -> dict[str, str]:
    """`Key="value" Key2="value"` as the SAM CLI splits it."""
    pairs = (
        item.split("=", 1) for item in shlex.split(deploy_parameters(environment)["parameter_overrides"])
    )
    return {key: value for key, value in pairs}


def stack_name(environment: str) -> str:
    return str(SAMCONFIG[environment]["global"]["parameters"]["stack_name"])


def test_default_and_prod_deploy_to_different_stacks() -> None:
    # Given both environments
    names = {stack_name(environment) for environment in ENVIRONMENTS}

    # Then a prod deploy can never update the default stack, and the default one is "customer-sync"
    assert len(names) == len(ENVIRONMENTS)
    assert stack_name("default") == "customer-sync"


def test_each_environment_has_its_own_secret_prefix() -> None:
    # Given the secrets have fixed names built from SecretPrefix
    prefixes = {parameter_overrides(environment)["SecretPrefix"] for environment in ENVIRONMENTS}

    # Then two stacks in one account never fight over the same secret
    assert len(prefixes) == len(ENVIRONMENTS)


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_parameter_override_is_a_value_the_template_accepts(environment: str) -> None:
    # Given the environment's parameter overrides
    overrides = parameter_overrides(environment)

    # Then each names a template parameter and satisfies its constraints
    for name, value in overrides.items():
        spec = PARAMETERS[name]
        if "AllowedValues" in spec:
            assert value in spec["AllowedValues"], (name, value)
        if "AllowedPattern" in spec:
            assert re.fullmatch(spec["AllowedPattern"], value), (name, value)
        if "MinValue" in spec:
            assert float(value) >= float(spec["MinValue"]), (name, value)
        if "MaxValue" in spec:
            assert float(value) <= float(spec["MaxValue"]), (name, value)


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_deploys_show_the_changeset_and_acknowledge_iam(environment: str) -> None:
    # Given the environment's deploy settings
    deploy = deploy_parameters(environment)

    # Then a deploy stops for confirmation, may create the functions' roles, and brings its own bucket
    assert deploy["confirm_changeset"] is True
    assert deploy["capabilities"] == "CAPABILITY_IAM"
    assert deploy["resolve_s3"] is True


def test_prod_logs_at_info_and_sets_sync_concurrency() -> None:
    # Given the prod overrides
    overrides = parameter_overrides("prod")

    # Then debug logging is off and the QBO concurrency cap is chosen explicitly
    assert overrides["LogLevel"] == "INFO"
    assert "SyncMaxConcurrency" in overrides


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_builds_are_cached_and_parallel_and_validate_lints(environment: str) -> None:
    # Given the environment's build and validate settings
    build = SAMCONFIG[environment]["build"]["parameters"]
    validate = SAMCONFIG[environment]["validate"]["parameters"]

    # Then `sam build` reuses unchanged artifacts and `sam validate` runs cfn-lint
    assert build == {"cached": True, "parallel": True}
    assert validate == {"lint": True}
