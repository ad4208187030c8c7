"""customer_sync.config.from_environment: how the functions, the local stack and the contract tests read
their variables into a settings model."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field, ValidationError

from customer_sync.config import from_environment


class Example(BaseModel):
    queue_url: str = Field(min_length=1)
    per_minute: int = Field(default=500, ge=1)
    enabled: bool = True


def test_variables_are_the_fields_names_in_any_case_and_values_are_converted():
    # Given the variables upper-cased, as template.yaml names them, and one in lower case
    environ = {"QUEUE_URL": "https://sqs.invalid/q.fifo", "per_minute": "30", "ENABLED": "false"}
    # When the model is read
    settings = from_environment(Example, environ=environ)
    # Then every field has its variable's value, converted
    assert settings == Example(queue_url="https://sqs.invalid/q.fifo", per_minute=30, enabled=False)


def test_a_prefix_selects_the_variables_and_others_are_ignored():
    # Given prefixed variables beside unprefixed ones and unrelated ones
    environ = {"SANDBOX_QUEUE_URL": "prefixed", "QUEUE_URL": "unprefixed", "PATH": "/usr/bin"}
    # When the model is read with the prefix
    settings = from_environment(Example, prefix="SANDBOX_", environ=environ)
    # Then only the prefixed variable counts, and a field without one keeps its default
    assert (settings.queue_url, settings.per_minute) == ("prefixed", 500)


@pytest.mark.parametrize(
    ("environ", "field"),
    [
        ({}, "queue_url"),
        ({"QUEUE_URL": ""}, "queue_url"),
        ({"QUEUE_URL": "q", "PER_MINUTE": "0"}, "per_minute"),
    ],
)
def test_a_missing_or_invalid_variable_fails_naming_its_field(environ: dict[str, str], field: str):
    # Given a required variable missing, empty, or a value out of range
    # When the model is read
    with pytest.raises(ValidationError) as failure:
        from_environment(Example, environ=environ)
    # Then reading fails, naming the field
    assert [error["loc"] for error in failure.value.errors()] == [(field,)]
