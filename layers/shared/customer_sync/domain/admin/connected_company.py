"""The admin API's QBO clients reach the company the merchant is connected to now, and no other.

An AdminFunction container keeps each merchant's QBO connection loaded. After the merchant connects another
company (through this container or another), a link, a create or a dry run must not reach the company it
left: QBO ids are numbered per company, so a customer id read there names somebody else here. Each QBO
client is asked for with the company recorded for the merchant (one read, ports.RealmDirectory); a client
whose loaded connection is another company's reads the stored one again (ports.MerchantClients).
"""

from __future__ import annotations

from customer_sync.ports import MerchantClients, PaySimpleCustomers, QboCustomers, RealmDirectory


class ConnectedCompanyClients:
    """ports.MerchantClients over another one, naming the merchant's company for every QBO client."""

    def __init__(self, clients: MerchantClients, realms: RealmDirectory) -> None:
        self._clients = clients
        self._realms = realms

    def paysimple(self, merchant_id: str) -> PaySimpleCustomers:
        return self._clients.paysimple(merchant_id)

    def qbo(self, merchant_id: str, *, connected_realm_id: str | None = None) -> QboCustomers:
        realm_id = connected_realm_id or self._realms.realm_of(merchant_id)
        return self._clients.qbo(merchant_id, connected_realm_id=realm_id)
