"""Typed configuration: every environment variable is read here, once, and validated at cold start.

Each function's settings are a frozen pydantic model whose field names are the variables' names (matched
without regard to case, `SECRET_PREFIX` → `secret_prefix`); pydantic converts and checks the values. The
variables are read by `from_environment`, not by pydantic-settings: its import costs the functions' cold
start about 30 ms (its sources, python-dotenv), and these settings are flat strings and numbers.

One module per function, as in composition/, and the parts several of them share, so that a function
defines only its own settings classes: defining all thirteen cost the ingest function about 6 ms of its
cold start (tests/unit/test_cold_start_imports.py keeps it to its own).

| module | settings |
|---|---|
| shared | SecretNames, TableNames, ServiceUrls |
| clients | QboBudgetSettings, and ClientSettings: what building merchants' QBO and PaySimple clients needs |
| ingest, sync, admin, qbo_webhook, qbo_follow, qbo_keep_alive, dead_letters | each function's own |
"""

import os
from collections.abc import Mapping
from functools import lru_cache
from typing import TypeVar

from pydantic import BaseModel, ConfigDict

ModelT = TypeVar("ModelT", bound=BaseModel)


def from_environment(
    kind: type[ModelT], *, prefix: str = "", environ: Mapping[str, str] | None = None
) -> ModelT:
    """`kind` validated from the variables named `prefix` + a field's name, in any case; a variable that is
    not a field is ignored. Raises pydantic's ValidationError, which names the field."""
    variables = {name.lower(): value for name, value in (os.environ if environ is None else environ).items()}
    return kind.model_validate(
        {
            field: variables[(prefix + field).lower()]
            for field in kind.model_fields
            if (prefix + field).lower() in variables
        }
    )


class EnvironmentSettings(BaseModel):
    """The base of every function's settings and of their shared parts."""

    # Built at first use: a function reads one of these classes, and building the others at import would
    # cost every cold start about 15 ms.
    model_config = ConfigDict(frozen=True, extra="ignore", defer_build=True)


SettingsT = TypeVar("SettingsT", bound=EnvironmentSettings)


@lru_cache
def load_settings(kind: type[SettingsT]) -> SettingsT:
    """The one place the functions read the environment; cached so each model is built once per cold start."""
    return from_environment(kind)
