"""The pieces one sync run works with: the message being processed (with the QBO calls it made), the
scrubbed PaySimple record and its QBO payload, and what a step decided."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from customer_sync.domain.diff import changed_fields_from_qbo
from customer_sync.domain.mapping import FIELD_CATALOG, PayloadValue, build_qbo_payload, is_empty_value
from customer_sync.domain.scrub import scrub_customer
from customer_sync.domain.sync.outcomes import SyncAction
from customer_sync.models.history import FieldChange, Truncation
from customer_sync.models.links import CustomerLink
from customer_sync.models.mapping import FieldMapping, MappingRow
from customer_sync.models.messages import CustomerChangeMessage
from customer_sync.models.paysimple import PaySimpleCustomer
from customer_sync.models.qbo import QboCustomer
from customer_sync.ports import MerchantClients, QboCustomers

if TYPE_CHECKING:
    from customer_sync.domain.sync.records import LinkWrite

# QBO's Active flag: not a mapped field, but the snapshot remembers that we deactivated the customer.
ACTIVE: Final = "Active"


def aware(moment: datetime) -> datetime:
    """Event times without a zone are UTC (the queue contract writes `Z`)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


class SyncRun:
    """One message being processed: its times, and the merchant's QBO client with the calls made so far."""

    def __init__(self, message: CustomerChangeMessage, now: datetime, clients: MerchantClients) -> None:
        self.message = message
        self.now = now
        self.occurred_at = aware(message.occurred_at)
        self._clients = clients
        self._connected_realm_id: str | None = None
        self._qbo: QboCustomers | None = None
        self._calls_at_start = 0
        self.truncations: tuple[Truncation, ...] = ()
        # The normalised name this change holds the claim on while its create is under way (NameClaim).
        self.name_claim: str | None = None

    @property
    def merchant_id(self) -> str:
        return self.message.merchant_id

    @property
    def customer_id(self) -> str:
        return self.message.customer_id

    def qbo(self) -> QboCustomers:
        """The client, obtained on first use (raises QboConnectionBroken for a merchant not connected, and
        QboCompanyChanging while the stored connection is not the company `works_in` named)."""
        if self._qbo is None:
            self._qbo = self._clients.qbo(self.merchant_id, connected_realm_id=self._connected_realm_id)
            self._calls_at_start = self._qbo.calls_made
        return self._qbo

    def works_in(self, realm_id: str | None) -> None:
        """The QBO company the merchant is connected to now (its sync config), named before the run's first
        QBO call: every call goes to that company or to none, whatever connection this container loaded
        earlier. A client obtained before (for the budget check, which calls nothing) is obtained again."""
        self._connected_realm_id = realm_id
        self._qbo = None

    @property
    def qbo_calls(self) -> int:
        """HTTP requests made to QBO during this run, retries included."""
        return self._qbo.calls_made - self._calls_at_start if self._qbo is not None else 0


@dataclass(frozen=True)
class SyncSource:
    """The scrubbed PaySimple record and the QBO payload built from it."""

    customer: PaySimpleCustomer
    payload: dict[str, PayloadValue]
    truncations: tuple[Truncation, ...] = ()

    @classmethod
    def build(cls, fetched: PaySimpleCustomer, mapping: FieldMapping) -> SyncSource:
        """Scrub first, then map: nothing unscrubbed goes any further."""
        customer, _ = scrub_customer(fetched)
        built = build_qbo_payload(customer, with_names_on(mapping))
        return cls(customer=customer, payload=built.fields, truncations=built.truncations)

    def identity(self) -> dict[str, Any]:
        """The fields our links table keeps for the Customer Matching lists and the shared-email check."""
        email = (self.customer.Email or "").strip()
        return {
            "first_name": self.customer.FirstName.strip(),
            "last_name": self.customer.LastName.strip(),
            "email": email or None,
        }


@dataclass(frozen=True)
class StepResult:
    """What a step decided and did, before it is recorded; `store` is the link write that goes with the
    record (domain.sync.records.Completion), if the customer's record changes."""

    action: SyncAction
    link: CustomerLink | None = None
    qbo_customer_id: str | None = None
    reason: str | None = None
    detail: str | None = None
    changes: Mapping[str, FieldChange] | None = None
    store: LinkWrite | None = None


def with_names_on(mapping: FieldMapping) -> tuple[MappingRow, ...]:
    """The mapping's rows with every required field (first and last name) enabled on its own target,
    whatever a stored mapping says: names cannot be disabled."""
    rows = {row.paysimple_field: row for row in mapping.rows}
    for entry in FIELD_CATALOG.values():
        row = rows.get(entry.paysimple_field)
        if entry.required and (row is None or not row.enabled or row.qbo_field not in entry.qbo_fields):
            rows[entry.paysimple_field] = MappingRow(
                paysimple_field=entry.paysimple_field, qbo_field=entry.default_qbo_field, enabled=True
            )
    return tuple(rows.values())


def last_updated(customer: QboCustomer) -> datetime | None:
    """QBO's LastUpdatedTime of the record as a write or read returned it."""
    return customer.MetaData.LastUpdatedTime if customer.MetaData is not None else None


def first_write_changes(
    qbo_customer: Mapping[str, Any], payload: Mapping[str, Any]
) -> dict[str, FieldChange]:
    """What the first write to a QBO customer we did not create must change: the non-empty payload values
    QBO does not already hold (an empty PaySimple value never clears data the merchant keeps in QBO)."""
    wanted = {field: value for field, value in payload.items() if not is_empty_value(value)}
    return changed_fields_from_qbo(qbo_customer, wanted)
