"""Validation errors described without their input. A module of its own, with no model in it: the ingest
function reports invalid secrets and messages without building the shared models of models/common.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError


def invalid_fields(error: ValidationError, *, whole: str = "(root)") -> str:
    """Where validation failed, as `a.b, c` (sorted, each once; `whole` when the value itself is wrong).
    Locations only: pydantic's own message quotes the input, which may hold secrets or card numbers."""
    locations = {".".join(str(part) for part in issue["loc"]) or whole for issue in error.errors()}
    return ", ".join(sorted(locations))
