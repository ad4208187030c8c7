"""An in-memory QBO Customer API of one realm (ports.QboCustomers) for unit tests of the sync.

It keeps the rules the sync relies on (reference/qbo-api.md): DisplayName unique across customers, vendors
and employees (inactive ones included, case-insensitive), ids of different entity types overlapping,
SyncToken checks (5010), sparse updates, 610 for unknown ids, a repeated requestid answered with the first
result (failures included), only active customers from a query unless `Active IN (true, false)`.
Every call counts in `calls_made`, as every HTTP request does for the real client. Queries understand `=`,
`IN` (for Active) and `LIKE` with `%`, case-insensitively, as the emulator does by default.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from customer_sync.errors import (
    QboBudgetExhausted,
    QboDuplicateName,
    QboError,
    QboNotFound,
    QboQueryError,
    QboStaleObject,
)
from customer_sync.models.qbo import BatchItem, BatchItemResult, QboCompanyInfo, QboCustomer

_CONDITION = re.compile(
    r"""(\w+)\s*=\s*'((?:[^'\\]|\\.)*)'|(\w+)\s+IN\s*\(([^)]*)\)|(\w+)\s+LIKE\s+'((?:[^'\\]|\\.)*)'"""
)
_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'")
_WHERE = re.compile(r"\bWHERE\b(.*?)(?:\bSTARTPOSITION\b|\bMAXRESULTS\b|$)", re.IGNORECASE | re.DOTALL)


def stale_object() -> QboStaleObject:
    return QboStaleObject("QBO error 5010 (HTTP 400): Stale Object Error", code="5010", status=400)


def not_found(entity_id: str) -> QboNotFound:
    return QboNotFound(f"QBO error 610 (HTTP 400): Object Not Found Id={entity_id}", code="610", status=400)


def duplicate_name(holder_id: str) -> QboDuplicateName:
    return QboDuplicateName(
        "QBO error 6240 (HTTP 400): Duplicate Name Exists Error",
        holder_id=holder_id,
        code="6240",
        status=400,
        detail=f"The name supplied already exists. : Id={holder_id}",
    )


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)


@dataclass
class _Call:
    operation: str
    request_id: str | None = None


class FakeQboCustomers:
    def __init__(self, realm_id: str = "9130350000000001") -> None:
        self.realm_id = realm_id
        self.customers: dict[str, dict[str, Any]] = {}
        self._other_names: dict[str, str] = {}  # DisplayName casefold -> vendor/employee id
        self._next_customer_id = 1
        self._next_other_id = 1
        self._replies: dict[str, dict[str, Any] | QboError] = {}
        self._faults: list[tuple[str | None, QboError]] = []
        self.calls: list[_Call] = []
        self.budget_used_up_for: float | None = None  # seconds: the company's QBO budget is known to be empty
        self.company_name = "Fake Company"

    # -- test controls -------------------------------------------------------------------------------------

    @property
    def calls_made(self) -> int:
        return len(self.calls)

    def operations(self) -> list[str]:
        return [call.operation for call in self.calls]

    def seed_customer(self, **fields: Any) -> dict[str, Any]:
        """A customer as if created in QBO by hand (no call counted)."""
        return copy.deepcopy(self._store_new(fields))

    def seed_vendor(self, display_name: str) -> str:
        """A vendor (or employee) holding a DisplayName; its id overlaps customer ids on purpose."""
        vendor_id = str(self._next_other_id)
        self._next_other_id += 1
        self._other_names[display_name.strip().casefold()] = vendor_id
        return vendor_id

    def edit(self, customer_id: str, **fields: Any) -> None:
        """Someone changes the customer in QBO (its SyncToken moves on)."""
        customer = self.customers[customer_id]
        customer.update(fields)
        customer["SyncToken"] = str(int(customer["SyncToken"]) + 1)

    def remove(self, customer_id: str) -> None:
        """Merged away in QBO: reads and updates answer 610 from now on."""
        del self.customers[customer_id]

    def fail_next(self, error: QboError, *, operation: str | None = None, count: int = 1) -> None:
        """The next `count` calls of `operation` (any when None) raise `error` instead of running."""
        self._faults.extend([(operation, error)] * count)

    # -- ports.QboCustomers --------------------------------------------------------------------------------

    def check_budget(self) -> None:
        if self.budget_used_up_for is not None:
            raise QboBudgetExhausted(retry_after=self.budget_used_up_for)

    def query(self, statement: str) -> dict[str, Any]:
        self._call("query")
        return self._query(statement)

    def query_customers(self, where: str, *, include_inactive: bool = False) -> list[QboCustomer]:
        conditions = f"{where} AND Active IN (true, false)" if include_inactive else where
        found = self.query(f"SELECT * FROM Customer WHERE {conditions}").get("Customer", [])
        return [QboCustomer.model_validate(raw) for raw in found]

    def company_info(self) -> QboCompanyInfo:
        self._call("company_info")
        return QboCompanyInfo(CompanyName=self.company_name, LegalName=self.company_name)

    def read_customer(self, customer_id: str) -> QboCustomer:
        self._call("read")
        customer = self.customers.get(customer_id)
        if customer is None:
            raise not_found(customer_id)
        return QboCustomer.model_validate(copy.deepcopy(customer))

    def create_customer(self, fields: Mapping[str, Any], *, request_id: str) -> QboCustomer:
        self._call("create", request_id)
        if request_id in self._replies:
            return self._replay(request_id)
        try:
            created = self._store_new(dict(fields))
        except QboError as error:
            self._replies[request_id] = error
            raise
        self._replies[request_id] = copy.deepcopy(created)
        return QboCustomer.model_validate(copy.deepcopy(created))

    def sparse_update(
        self,
        customer_id: str,
        sync_token: str,
        fields: Mapping[str, Any],
        *,
        request_id: str | None = None,
    ) -> QboCustomer:
        self._call("update", request_id)
        customer = self.customers.get(customer_id)
        if customer is None:
            raise not_found(customer_id)
        if customer["SyncToken"] != sync_token:
            raise stale_object()
        updated = {**customer, **copy.deepcopy(dict(fields))}
        if "DisplayName" in fields:
            self._check_unique(str(updated["DisplayName"]), customer_id)
        updated["SyncToken"] = str(int(customer["SyncToken"]) + 1)
        self.customers[customer_id] = updated
        return QboCustomer.model_validate(copy.deepcopy(updated))

    def customer_changes(self, changed_since: datetime) -> list[dict[str, Any]]:
        """Every customer (a fake keeps no times): enough for tests that do not page through windows."""
        self._call("cdc")
        return [copy.deepcopy(customer) for customer in self.customers.values()]

    def batch(self, items: Sequence[BatchItem], *, request_id: str | None = None) -> list[BatchItemResult]:
        results: list[BatchItemResult] = []
        for item in items:
            try:
                if item.query_statement is not None:
                    results.append(
                        BatchItemResult(bId=item.bId, query_response=self.query(item.query_statement))
                    )
                    continue
                body = dict(item.customer or {})
                if item.operation == "create":
                    customer = self.create_customer(body, request_id=f"{request_id}-{item.bId}")
                else:
                    customer_id, token = str(body.pop("Id")), str(body.pop("SyncToken"))
                    body.pop("sparse", None)
                    customer = self.sparse_update(customer_id, token, body)
                results.append(BatchItemResult(bId=item.bId, customer=customer))
            except QboError as error:
                results.append(BatchItemResult(bId=item.bId, error=error))
        return results

    # -- internals -------------------------------------------------------------------------------------------

    def _call(self, operation: str, request_id: str | None = None) -> None:
        self.calls.append(_Call(operation, request_id))
        for index, (wanted, error) in enumerate(self._faults):
            if wanted is None or wanted == operation:
                del self._faults[index]
                raise error

    def _replay(self, request_id: str) -> QboCustomer:
        reply = self._replies[request_id]
        if isinstance(reply, QboError):
            raise reply
        return QboCustomer.model_validate(copy.deepcopy(reply))

    def _store_new(self, fields: dict[str, Any]) -> dict[str, Any]:
        display_name = fields.get("DisplayName") or " ".join(
            str(fields[part]) for part in ("GivenName", "FamilyName") if fields.get(part)
        )
        customer_id = str(self._next_customer_id)
        self._check_unique(display_name, customer_id)
        self._next_customer_id += 1
        stored = {"Active": True, **copy.deepcopy(fields), "DisplayName": display_name}
        stored.update({"Id": customer_id, "SyncToken": "0"})
        self.customers[customer_id] = stored
        return stored

    def _check_unique(self, display_name: str, own_id: str) -> None:
        wanted = display_name.strip().casefold()
        if wanted in self._other_names:
            raise duplicate_name(self._other_names[wanted])
        for customer in self.customers.values():
            if customer["Id"] != own_id and str(customer["DisplayName"]).strip().casefold() == wanted:
                raise duplicate_name(customer["Id"])

    def _query(self, statement: str) -> dict[str, Any]:
        if not re.match(r"\s*SELECT \* FROM Customer\b", statement, re.IGNORECASE):
            raise QboQueryError("QBO error 4000 (HTTP 400): the fake only queries customers", code="4000")
        where = _WHERE.search(statement)
        one_of: dict[str, set[str]] = {}
        likes: dict[str, re.Pattern[str]] = {}
        include_inactive = False
        for match in _CONDITION.finditer(where.group(1) if where else ""):
            field, value, in_field, in_values, like_field, pattern = match.groups()
            if field:
                one_of[field] = {_unescape(value).casefold()}
            elif like_field:
                pieces = _unescape(pattern).split("%")
                likes[like_field] = re.compile(".*".join(map(re.escape, pieces)), re.IGNORECASE | re.DOTALL)
            elif in_field == "Active" and {v.strip() for v in in_values.split(",")} == {"true", "false"}:
                include_inactive = True
            elif in_field:
                one_of[in_field] = {_unescape(quoted).casefold() for quoted in _QUOTED.findall(in_values)}
        found = [
            copy.deepcopy(customer)
            for customer in sorted(self.customers.values(), key=lambda c: int(c["Id"]))
            if (include_inactive or customer.get("Active", True))
            and all(str(customer.get(name) or "").casefold() in values for name, values in one_of.items())
            and all(regex.fullmatch(str(customer.get(name) or "")) for name, regex in likes.items())
        ]
        return {"Customer": found, "startPosition": 1, "maxResults": len(found)} if found else {}
