"""A merchant's field mapping: which PaySimple fields flow into which QBO fields.

The shapes only; the catalog and the rules live in `customer_sync.domain.mapping`.
"""

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class MappingRow(BaseModel):
    """One line of the mapping screen: `{paysimple_field, qbo_field, enabled}`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    paysimple_field: str = Field(min_length=1, max_length=64)
    qbo_field: str = Field(min_length=1, max_length=64)
    enabled: bool


class FieldMapping(BaseModel):
    """One saved version. Saving creates a new version with `effective_at = now`; version 0 is the default
    a merchant has before saving anything."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = Field(ge=0)
    effective_at: AwareDatetime
    rows: tuple[MappingRow, ...]

    def row_for(self, paysimple_field: str) -> MappingRow | None:
        return next((row for row in self.rows if row.paysimple_field == paysimple_field), None)


class CatalogEntry(BaseModel):
    """A PaySimple field and the QBO fields it may be mapped to (the first is the default target)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    paysimple_field: str
    qbo_fields: tuple[str, ...] = Field(min_length=1)
    required: bool = False
    enabled_by_default: bool = False

    @property
    def default_qbo_field(self) -> str:
        return self.qbo_fields[0]
