"""JSON secrets by name (adapters/secrets.py: Secrets Manager through Powertools parameters)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class SecretStore(Protocol):
    """JSON secrets by name. `max_age_seconds=0` (or `force_fetch`) reads the current value."""

    def get_json(
        self, name: str, *, max_age_seconds: int | None = None, force_fetch: bool = False
    ) -> dict[str, Any]: ...

    def put_json(self, name: str, value: Mapping[str, Any]) -> None: ...
