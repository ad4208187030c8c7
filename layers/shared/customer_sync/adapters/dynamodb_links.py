"""LinksTable: customer links, the one-owner claim on each QBO customer, and an email index.

Items (all under pk `MERCHANT#<m>`):
- link   sk `PS#<ps id>`: a CustomerLink plus `status_pk` / `name_sk` (GSI by_status) and `search_text`;
- claim  sk `QBO#<qbo id>`: `paysimple_customer_id`, the one PaySimple customer holding that QBO customer;
- email  sk `EMAIL#<email casefold>#PS#<ps id>`: `email`, `paysimple_customer_id`;
- name   sk `NAME#<sha256 of the normalised name>`: `paysimple_customer_id`, `expires_at`, `released_at`
  (epoch seconds): the claim to create the QBO customer of that name (models.links.NameClaim). It is taken
  in the create intent's transaction, and released (`released_at`) in the transaction that completes it.

A link, its claim and its email entry change together in one TransactWriteItems, conditional on the link's
version (optimistic concurrency) and on nobody else holding the claim.

Which claim and email entry a write replaces depends on the record as stored. The repository remembers the
last version of each record it read or wrote (a bounded cache): a write starting from that version needs
no read first, and one starting from another reads the record. The write's condition on the version makes
this safe: a record that moved on since fails the condition (ConcurrentModification) instead of leaving a
stale claim behind. The sync's journal (adapters/dynamodb_sync_journal.py) adds its own items to a link's
transaction through `link_transaction` and `commit`.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from botocore.exceptions import ClientError

from customer_sync.adapters.dynamodb import (
    MAX_TRANSACTION_ITEMS,
    DynamoDbTable,
    batch_get,
    cancellation_reasons,
    decode_cursor,
    from_item,
    is_condition_failure,
    merchant_pk,
    query_page,
    string_key,
    to_item,
)
from customer_sync.adapters.link_writes import LinkWrites
from customer_sync.domain.names import email_key
from customer_sync.errors import ConcurrentModification, NameClaimedElsewhere, QboCustomerAlreadyLinked
from customer_sync.models.common import Page
from customer_sync.models.links import (
    MAX_MERGE_DUPLICATES,
    NAME_CLAIM_MARGIN_SECONDS,
    CustomerLink,
    LinkStatus,
    NameClaim,
    NameClaimRelease,
    list_order_key,
    normalize_query,
    search_text,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

BY_STATUS_INDEX = "by_status"
# A merge writes up to three items per duplicate plus three for the primary, within one transaction.
assert MAX_MERGE_DUPLICATES * 3 + 3 <= MAX_TRANSACTION_ITEMS
# A filtered list reads this many index entries per round trip, and gives up after this many rounds with a
# short page and a cursor, so one search never scans a whole large merchant.
SEARCH_BATCH = 100
SEARCH_MAX_ROUNDS = 20
_BATCH_GET_SIZE = 100
# Records remembered (the last version read or written) so that a write after a read needs no second read.
_REMEMBERED_LINKS = 2000

_LINK_FIELDS = frozenset(CustomerLink.model_fields)
_LIST_KEY_NAMES = ("pk", "sk", "status_pk", "name_sk")


def link_sk(paysimple_customer_id: str) -> str:
    return f"PS#{paysimple_customer_id}"


def claim_sk(qbo_customer_id: str) -> str:
    return f"QBO#{qbo_customer_id}"


def name_claim_sk(name: str) -> str:
    """Hashed: a name can be longer than a sort key may be, and the key need not be read."""
    return f"NAME#{hashlib.sha256(name.encode()).hexdigest()}"


def name_claim_release(release: NameClaimRelease, table_name: str) -> TransactWriteItemTypeDef:
    """The item that ends a name claim, for the transaction that completes its create. Unconditional: a
    condition that failed would cancel the change's whole completion."""
    return {
        "Update": {
            "TableName": table_name,
            "Key": string_key(pk=merchant_pk(release.merchant_id), sk=name_claim_sk(release.name)),
            "UpdateExpression": "SET released_at = :at",
            "ExpressionAttributeValues": to_item({":at": release.released_at.timestamp()}),
        }
    }


def name_unclaimed_check(claim: NameClaim, table_name: str) -> TransactWriteItemTypeDef:
    """A condition that no other customer's create of the name is under way (its claim is ours, released
    or expired): a customer linked by name never takes the QBO customer another one is creating."""
    return {
        "ConditionCheck": {
            "TableName": table_name,
            "Key": string_key(pk=merchant_pk(claim.merchant_id), sk=name_claim_sk(claim.name)),
            "ConditionExpression": (
                "attribute_not_exists(pk) OR paysimple_customer_id = :me OR attribute_exists(released_at)"
                " OR expires_at < :now"
            ),
            "ExpressionAttributeValues": to_item(
                {":me": claim.paysimple_customer_id, ":now": claim.claimed_at.timestamp()}
            ),
        }
    }


def email_prefix(email: str) -> str:
    return f"EMAIL#{email_key(email)}#PS#"


def email_sk(email: str, paysimple_customer_id: str) -> str:
    return f"{email_prefix(email)}{paysimple_customer_id}"


def status_pk(merchant_id: str, status: str) -> str:
    return f"MERCHANT#{merchant_id}#STATUS#{status}"


def link_key(merchant_id: str, paysimple_customer_id: str) -> dict[str, Any]:
    return string_key(pk=merchant_pk(merchant_id), sk=link_sk(paysimple_customer_id))


class LinkTransaction:
    """Transaction items plus what a failed condition on each means; `stored` is the link as it will be
    once the transaction commits (None for a transaction without a link)."""

    def __init__(self) -> None:
        self.items: list[TransactWriteItemTypeDef] = []
        self.claims: dict[int, str] = {}  # item index → the QBO id it claims
        self.name_claim: int | None = None  # the index of the name claim's item
        self.stored: CustomerLink | None = None

    def add(
        self, item: TransactWriteItemTypeDef, *, claims: str | None = None, name_claim: bool = False
    ) -> None:
        if claims is not None:
            self.claims[len(self.items)] = claims
        if name_claim:
            self.name_claim = len(self.items)
        self.items.append(item)


class DynamoDbLinksRepository(LinkWrites):
    def __init__(
        self,
        table_name: str,
        *,
        client: DynamoDBClient | None = None,
        search_batch: int = SEARCH_BATCH,
        search_max_rounds: int = SEARCH_MAX_ROUNDS,
    ) -> None:
        self._table = DynamoDbTable(table_name, client=client)
        self._search_batch = search_batch
        self._search_max_rounds = search_max_rounds
        self._remembered: OrderedDict[tuple[str, str], CustomerLink | None] = OrderedDict()

    @property
    def table_name(self) -> str:
        return self._table.name

    # -- reads -----------------------------------------------------------------------------------------

    def get(self, merchant_id: str, paysimple_customer_id: str) -> CustomerLink | None:
        item = self._table.client.get_item(
            TableName=self._table.name,
            Key=link_key(merchant_id, paysimple_customer_id),
            ConsistentRead=True,
        ).get("Item")
        link = _link_from_item(item) if item else None
        self.remember(merchant_id, paysimple_customer_id, link)
        return link

    def link_of_item(self, item: dict[str, Any]) -> CustomerLink:
        """A link read by someone else's request (the journal's batch read), remembered like our own."""
        link = _link_from_item(item)
        self.remember(link.merchant_id, link.paysimple_customer_id, link)
        return link

    def remember(self, merchant_id: str, paysimple_customer_id: str, link: CustomerLink | None) -> None:
        """`link` is the record as stored now (None: there is none)."""
        key = (merchant_id, paysimple_customer_id)
        self._remembered[key] = link
        self._remembered.move_to_end(key)
        while len(self._remembered) > _REMEMBERED_LINKS:
            self._remembered.popitem(last=False)

    def _stored(
        self, merchant_id: str, paysimple_customer_id: str, expected_version: int
    ) -> CustomerLink | None:
        """The record at `expected_version` as remembered, or as read now when the remembered one is another
        version (or none is remembered)."""
        key = (merchant_id, paysimple_customer_id)
        if key in self._remembered:
            known = self._remembered[key]
            if (known.version if known is not None else 0) == expected_version:
                return known
        return self.get(merchant_id, paysimple_customer_id)

    def qbo_link_owner(self, merchant_id: str, qbo_customer_id: str) -> str | None:
        item = self._table.client.get_item(
            TableName=self._table.name,
            Key=string_key(pk=merchant_pk(merchant_id), sk=claim_sk(qbo_customer_id)),
            ConsistentRead=True,
        ).get("Item")
        return str(from_item(item)["paysimple_customer_id"]) if item else None

    def qbo_link_owners(self, merchant_id: str, qbo_customer_ids: Iterable[str]) -> dict[str, str]:
        wanted = sorted(set(qbo_customer_ids))
        owners: dict[str, str] = {}
        for start in range(0, len(wanted), _BATCH_GET_SIZE):
            keys = [
                string_key(pk=merchant_pk(merchant_id), sk=claim_sk(qbo_id))
                for qbo_id in wanted[start : start + _BATCH_GET_SIZE]
            ]
            for item in batch_get(self._table.client, {self._table.name: keys})[self._table.name]:
                values = from_item(item)
                owners[str(values["qbo_customer_id"])] = str(values["paysimple_customer_id"])
        return owners

    def other_customers_with_email(
        self, merchant_id: str, email: str, *, excluding_paysimple_customer_id: str
    ) -> list[str]:
        if not email.strip():
            return []
        wanted = email_key(email)
        found: set[str] = set()
        query: dict[str, Any] = {
            "TableName": self._table.name,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": to_item(
                {":pk": merchant_pk(merchant_id), ":prefix": email_prefix(email)}
            ),
            "ConsistentRead": True,
        }
        while True:
            response = self._table.client.query(**query)
            for item in response.get("Items", []):
                values = from_item(item)
                # The prefix alone could also match an email that itself contains "#PS#".
                if (
                    values.get("email") == wanted
                    and values["paysimple_customer_id"] != excluding_paysimple_customer_id
                ):
                    found.add(str(values["paysimple_customer_id"]))
            if "LastEvaluatedKey" not in response:
                return sorted(found)
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def list_customers(
        self,
        merchant_id: str,
        status: LinkStatus,
        *,
        query: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> Page[CustomerLink]:
        partition = status_pk(merchant_id, status)
        request: dict[str, Any] = {
            "TableName": self._table.name,
            "IndexName": BY_STATUS_INDEX,
            "KeyConditionExpression": "status_pk = :status_pk",
            "ExpressionAttributeValues": to_item({":status_pk": partition}),
        }
        if cursor is not None:
            request["ExclusiveStartKey"] = decode_cursor(
                cursor,
                key_names=_LIST_KEY_NAMES,
                fixed={"status_pk": partition, "pk": merchant_pk(merchant_id)},
            )
        needle = normalize_query(query)
        if needle is not None:
            request["FilterExpression"] = "contains(search_text, :needle)"
            request["ExpressionAttributeValues"] = to_item({":status_pk": partition, ":needle": needle})

        items, next_cursor = query_page(
            self._table.client,
            request,
            limit=limit,
            key_names=_LIST_KEY_NAMES,
            filtered_batch=self._search_batch if needle is not None else None,
            max_rounds=self._search_max_rounds,
        )
        return Page(items=[_link_from_item(item) for item in items], next_cursor=next_cursor)

    # -- writes (the transitions are LinkWrites'; here is how they are stored) ------------------------------

    def _save(
        self,
        link: CustomerLink,
        *,
        expected_version: int,
        current: CustomerLink | None = None,
        name_claim: NameClaim | None = None,
        name_check: NameClaim | None = None,
    ) -> CustomerLink:
        transaction = self.link_transaction(link, expected_version=expected_version, current=current)
        if name_claim is not None:
            transaction.add(self._put_name_claim(name_claim), name_claim=True)
        if name_check is not None:
            transaction.add(name_unclaimed_check(name_check, self._table.name), name_claim=True)
        self.commit(transaction)
        assert transaction.stored is not None
        return transaction.stored

    def link_transaction(
        self, link: CustomerLink, *, expected_version: int, current: CustomerLink | None = None
    ) -> LinkTransaction:
        """The items that store `link` over the record at `expected_version` (not written yet: `commit`)."""
        if current is None:
            current = self._stored(link.merchant_id, link.paysimple_customer_id, expected_version)
        found_version = current.version if current is not None else 0
        if found_version != expected_version:
            raise ConcurrentModification(f"PaySimple customer {link.paysimple_customer_id}")
        transaction = LinkTransaction()
        self._add_writes(transaction, current, link, claim_owners=[link.paysimple_customer_id])
        transaction.stored = link.model_copy(update={"version": expected_version + 1})
        return transaction

    def _save_merge(
        self,
        primary: tuple[CustomerLink, CustomerLink],
        duplicates: Sequence[tuple[CustomerLink, CustomerLink]],
        *,
        members: Sequence[str],
        qbo_customer_id: str,
    ) -> CustomerLink:
        current_primary, new_primary = primary
        transaction = LinkTransaction()
        self._add_writes(transaction, current_primary, new_primary, claim_owners=members)
        for current, new in duplicates:
            # The primary's claim put takes over a duplicate's claim on the same QBO customer.
            self._add_writes(transaction, current, new, keep_claims={qbo_customer_id})
        transaction.stored = new_primary.model_copy(update={"version": current_primary.version + 1})
        self.commit(transaction)
        for current, new in duplicates:
            self.remember(
                new.merchant_id, new.paysimple_customer_id, new.revised(version=current.version + 1)
            )
        return transaction.stored

    # -- internals -------------------------------------------------------------------------------------

    def _add_writes(
        self,
        transaction: LinkTransaction,
        current: CustomerLink | None,
        new: CustomerLink,
        *,
        claim_owners: Sequence[str] = (),
        keep_claims: frozenset[str] | set[str] = frozenset(),
    ) -> None:
        """The items that take `current` (as stored, or None) to `new`: the link, its claim, its email."""
        expected_version = current.version if current is not None else 0
        transaction.add(self._put_link(new, expected_version))
        pk = merchant_pk(new.merchant_id)
        me = new.paysimple_customer_id

        old_claim = current.claimed_qbo_customer_id if current is not None else None
        new_claim = new.claimed_qbo_customer_id
        if new_claim is not None and new_claim != old_claim:
            transaction.add(self._put_claim(pk, new_claim, me, claim_owners), claims=new_claim)
        if old_claim is not None and old_claim != new_claim and old_claim not in keep_claims:
            transaction.add(
                {
                    "Delete": {
                        "TableName": self._table.name,
                        "Key": string_key(pk=pk, sk=claim_sk(old_claim)),
                        "ConditionExpression": "attribute_not_exists(pk) OR paysimple_customer_id = :me",
                        "ExpressionAttributeValues": to_item({":me": me}),
                    }
                }
            )

        old_email = current.indexed_email if current is not None else None
        new_email = new.indexed_email
        if old_email is not None and old_email != new_email:
            transaction.add(
                {
                    "Delete": {
                        "TableName": self._table.name,
                        "Key": string_key(pk=pk, sk=email_sk(old_email, me)),
                    }
                }
            )
        if new_email is not None and new_email != old_email:
            transaction.add(
                {
                    "Put": {
                        "TableName": self._table.name,
                        "Item": to_item(
                            {
                                "pk": pk,
                                "sk": email_sk(new_email, me),
                                "email": new_email,
                                "paysimple_customer_id": me,
                            }
                        ),
                    }
                }
            )

    def _put_claim(
        self, pk: str, qbo_customer_id: str, owner: str, allowed_owners: Sequence[str]
    ) -> TransactWriteItemTypeDef:
        """Claim a QBO customer unless someone outside `allowed_owners` already holds it."""
        placeholders = {f":owner{index}": allowed for index, allowed in enumerate(allowed_owners)}
        item = {"pk": pk, "sk": claim_sk(qbo_customer_id), "paysimple_customer_id": owner}
        return {
            "Put": {
                "TableName": self._table.name,
                "Item": to_item({**item, "qbo_customer_id": qbo_customer_id}),
                "ConditionExpression": (
                    f"attribute_not_exists(pk) OR paysimple_customer_id IN ({', '.join(placeholders)})"
                ),
                "ExpressionAttributeValues": to_item(placeholders),
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    def _put_name_claim(self, claim: NameClaim) -> TransactWriteItemTypeDef:
        """Take the name's claim if NameClaim.may_replace allows it, as a condition on the stored one."""
        item = {
            "pk": merchant_pk(claim.merchant_id),
            "sk": name_claim_sk(claim.name),
            "paysimple_customer_id": claim.paysimple_customer_id,
            "expires_at": claim.expires_at(),
        }
        return {
            "Put": {
                "TableName": self._table.name,
                "Item": to_item(item),
                "ConditionExpression": (
                    "attribute_not_exists(pk) OR paysimple_customer_id = :me OR expires_at < :now"
                    " OR released_at < :fresh_before"
                ),
                "ExpressionAttributeValues": to_item(
                    {
                        ":me": claim.paysimple_customer_id,
                        ":now": claim.claimed_at.timestamp(),
                        ":fresh_before": claim.looked_up_at.timestamp() - NAME_CLAIM_MARGIN_SECONDS,
                    }
                ),
            }
        }

    def _put_link(self, link: CustomerLink, expected_version: int) -> TransactWriteItemTypeDef:
        stored = link.model_copy(update={"version": expected_version + 1})
        item = {
            **stored.model_dump(mode="json"),
            "pk": merchant_pk(link.merchant_id),
            "sk": link_sk(link.paysimple_customer_id),
            "status_pk": status_pk(link.merchant_id, link.status),
            "name_sk": list_order_key(link),
            "search_text": search_text(link),
        }
        if expected_version == 0:
            return {
                "Put": {
                    "TableName": self._table.name,
                    "Item": to_item(item),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        return {
            "Put": {
                "TableName": self._table.name,
                "Item": to_item(item),
                "ConditionExpression": "#version = :expected",
                "ExpressionAttributeNames": {"#version": "version"},
                "ExpressionAttributeValues": to_item({":expected": expected_version}),
            }
        }

    def commit(self, transaction: LinkTransaction) -> None:
        """Write the transaction's items, all or nothing; the stored link is remembered."""
        stored = transaction.stored
        what = f"PaySimple customer {stored.paysimple_customer_id}" if stored else "sync record"
        try:
            if len(transaction.items) == 1:
                self._put_alone(transaction.items[0])
            else:
                self._table.client.transact_write_items(TransactItems=transaction.items)
        except ClientError as error:
            if stored is not None:
                self._remembered.pop((stored.merchant_id, stored.paysimple_customer_id), None)
            self._raise_for(error, transaction, what=what)
        if stored is not None:
            self.remember(stored.merchant_id, stored.paysimple_customer_id, stored)

    def _raise_for(self, error: ClientError, transaction: LinkTransaction, *, what: str) -> NoReturn:
        """The repository error a failed write means."""
        if is_condition_failure(error):
            raise ConcurrentModification(what) from error
        reasons = cancellation_reasons(error)
        for index, reason in enumerate(reasons):
            if reason.get("Code") == "ConditionalCheckFailed" and index == transaction.name_claim:
                raise NameClaimedElsewhere() from error
            if reason.get("Code") == "ConditionalCheckFailed" and index in transaction.claims:
                qbo_id = transaction.claims[index]
                owner = from_item(reason.get("Item") or {}).get("paysimple_customer_id")
                raise QboCustomerAlreadyLinked(qbo_id, str(owner)) from error
        codes = {reason.get("Code") for reason in reasons}
        if codes & {"ConditionalCheckFailed", "TransactionConflict"}:
            raise ConcurrentModification(what) from error
        raise error

    def _put_alone(self, item: TransactWriteItemTypeDef) -> None:
        """A lone link write needs no transaction (half the write cost); same condition, same outcome."""
        put = item["Put"]
        kwargs: dict[str, Any] = {"TableName": put["TableName"], "Item": put["Item"]}
        for name in ("ConditionExpression", "ExpressionAttributeNames", "ExpressionAttributeValues"):
            if name in put:
                kwargs[name] = put[name]
        self._table.client.put_item(**kwargs)


def _link_from_item(item: dict[str, Any]) -> CustomerLink:
    values = from_item(item)
    return CustomerLink.model_validate(
        {name: value for name, value in values.items() if name in _LINK_FIELDS}
    )
