"""Create in QuickBooks: the admin's other choice for an unlinked customer, besides linking it — a new QBO
customer made from the PaySimple record, linked to it.

It is the sync's create, started by a person:
- the current PaySimple record, scrubbed, mapped with the mapping in effect now, DisplayName "First Last";
- idempotent as the sync's creates are: the customer's record becomes an intent (unlinked, reason
  "creating") before QBO is called, and the `requestid` comes from that intent's version
  (domain.sync.request_ids). A repeated click, a retry after a timeout, or the sync meeting the intent
  meanwhile all send the same requestid, and QBO answers them with the one customer it made;
- when QBO says the name is taken (6240: by anyone, a vendor, an employee or an inactive customer), the
  merchant's collision suffix is used ("First Last (PS-<id>)" by default), with a requestid of its own: the
  admin asked for a new customer, so no namesake holds it back. If that name is taken too, nothing is
  created and the admin is told (409);
- QBO refusing the record for good (validation) releases the intent, so a fixed record starts afresh.
Only an unlinked customer (or one the sync has not seen yet) can be created; a linked, merged or deleted
one is refused (409) before anything is written.
"""

from __future__ import annotations

from typing import Any

from customer_sync.domain.mapping import without_empty_values
from customer_sync.domain.matching import collision_display_name, display_name_for
from customer_sync.domain.qbo_values import in_payload_shape
from customer_sync.domain.sync.outcomes import REASON_CREATE_REJECTED, REASON_CREATING
from customer_sync.domain.sync.request_ids import CreateVariant, create_request_id
from customer_sync.domain.sync.run import SyncSource, last_updated
from customer_sync.errors import (
    Conflict,
    CustomerNotFound,
    QboAuthorizationFailed,
    QboConnectionBroken,
    QboDuplicateName,
    QboError,
)
from customer_sync.models.history import FieldChange, HistoryEntry
from customer_sync.models.links import CustomerLink
from customer_sync.models.qbo import QboCustomer
from customer_sync.ports import (
    Clock,
    HistoryRepository,
    LinksRepository,
    MappingRepository,
    MerchantClients,
    QboCustomers,
    SettingsRepository,
)

REASON_CREATED_BY_ADMIN = "created_by_admin"
ADMIN_EVENT_CREATE = "admin_create"


class CreateInQbo:
    def __init__(
        self,
        *,
        links: LinksRepository,
        mappings: MappingRepository,
        settings: SettingsRepository,
        history: HistoryRepository,
        clients: MerchantClients,
        clock: Clock,
    ) -> None:
        self._links = links
        self._mappings = mappings
        self._settings = settings
        self._history = history
        self._clients = clients
        self._clock = clock

    def create(self, merchant_id: str, current: CustomerLink) -> CustomerLink:
        """`current`: the customer's stored record, or a first one (version 0) for a customer the sync has
        not seen. Returns the linked record."""
        if current.status != "unlinked":
            raise Conflict(
                f"PaySimple customer {current.paysimple_customer_id} is {current.status}: only an unlinked "
                "customer can be created in QuickBooks"
            )
        fetched = self._clients.paysimple(merchant_id).get_customer(current.paysimple_customer_id)
        if fetched is None:
            raise CustomerNotFound(current.paysimple_customer_id)
        qbo = self._clients.qbo(merchant_id)  # QboConnectionBroken (409) before anything is written
        calls_before = qbo.calls_made
        now = self._clock.now()
        source = SyncSource.build(fetched, self._mappings.mapping_in_effect_at(merchant_id, now))
        intent = current
        if current.reason != REASON_CREATING or current.version == 0:
            intent = self._links.save_unlinked(
                current.revised(reason=REASON_CREATING, candidates=[], updated_at=now, **source.identity()),
                expected_version=current.version,
            )
        body: dict[str, Any] = {
            **without_empty_values(source.payload),
            "DisplayName": display_name_for(source.customer),
        }
        try:
            created = self._create_once(qbo, intent, body, "display_name")
        except QboDuplicateName:
            suffix = self._settings.get_settings(merchant_id).collision_suffix
            body = {**body, "DisplayName": collision_display_name(source.customer, suffix)}
            try:
                created = self._create_once(qbo, intent, body, "collision_suffix")
            except QboDuplicateName:
                raise Conflict(
                    f'QuickBooks already has a name "{display_name_for(source.customer)}", and '
                    f'"{body["DisplayName"]}" too: change the collision suffix in Settings, or link the '
                    "customer instead"
                ) from None
        linked = self._links.save_linked(
            intent.revised(
                status="linked",
                qbo_customer_id=created.Id,
                qbo_sync_token=created.SyncToken,
                qbo_updated_at=last_updated(created),
                snapshot=in_payload_shape(created.raw, source.payload),
                reason=REASON_CREATED_BY_ADMIN,
                candidates=[],
                last_synced_at=now,
                updated_at=now,
            ),
            expected_version=intent.version,
        )
        self._history.append(
            HistoryEntry(
                merchant_id=merchant_id,
                paysimple_customer_id=linked.paysimple_customer_id,
                event_id=f"{ADMIN_EVENT_CREATE}-{intent.version}",
                event_type=ADMIN_EVENT_CREATE,
                occurred_at=now,
                recorded_at=now,
                action="created",
                qbo_customer_id=created.Id,
                changes={field: FieldChange(before=None, after=value) for field, value in body.items()},
                qbo_calls=qbo.calls_made - calls_before,
                detail=f'created in QuickBooks by an admin as "{created.DisplayName}"',
            )
        )
        return linked

    def _create_once(
        self, qbo: QboCustomers, intent: CustomerLink, body: dict[str, Any], variant: CreateVariant
    ) -> QboCustomer:
        request_id = create_request_id(
            intent.merchant_id, intent.paysimple_customer_id, intent.version, variant
        )
        try:
            return qbo.create_customer(body, request_id=request_id)
        except QboDuplicateName:
            raise
        except QboError as error:
            # As the sync does: QBO replays a refused requestid, so a record refused for good releases the
            # intent and the next attempt starts afresh. A broken connection never reached QBO.
            if error.permanent and not isinstance(error, QboConnectionBroken | QboAuthorizationFailed):
                self._links.save_unlinked(
                    intent.revised(reason=REASON_CREATE_REJECTED, updated_at=self._clock.now()),
                    expected_version=intent.version,
                )
            raise
