"""The repositories' behaviour, run twice: against the DynamoDB adapters (moto, tables from template.yaml)
and against the in-memory fakes the unit tests use. The same test passing on both keeps the fakes honest."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from customer_sync.adapters.dynamodb_history import DynamoDbFailuresRepository, DynamoDbHistoryRepository
from customer_sync.adapters.dynamodb_links import DynamoDbLinksRepository
from customer_sync.adapters.dynamodb_settings import (
    DynamoDbMappingRepository,
    DynamoDbOAuthStateRepository,
    DynamoDbSettingsRepository,
    DynamoDbSyncConfigs,
)
from customer_sync.adapters.dynamodb_sync_journal import DynamoDbSyncJournal
from customer_sync.config import load_settings
from customer_sync.config.sync import SyncSettings
from customer_sync.domain.mapping import default_mapping
from customer_sync.domain.sync.outcomes import SyncAction, SyncOutcome
from customer_sync.domain.sync.records import Completion, LinkWrite
from customer_sync.errors import ConcurrentModification, InvalidCursor, LinkNotFound, QboCustomerAlreadyLinked
from customer_sync.models.history import FieldChange, HistoryEntry, ParkedFailure, Truncation
from customer_sync.models.links import CustomerLink, LinkCandidate
from customer_sync.models.mapping import FieldMapping, MappingRow
from customer_sync.models.messages import CustomerChangeMessage
from customer_sync.models.settings import MerchantSettings, OAuthState, SettingsChanges
from customer_sync.ports import (
    FailuresRepository,
    HistoryRepository,
    LinksRepository,
    MappingRepository,
    OAuthStateRepository,
    SettingsRepository,
    SyncConfigSource,
    SyncJournal,
)
from local.bootstrap import LocalStack, create_local_resources
from tests.fakes.repositories import (
    InMemoryFailuresRepository,
    InMemoryHistoryRepository,
    InMemoryLinksRepository,
    InMemoryMappingRepository,
    InMemoryOAuthStateRepository,
    InMemorySettingsRepository,
    InMemorySyncConfigs,
    InMemorySyncJournal,
)
from tests.support.aws_environment import FAKE_AWS_ENV

MERCHANT = "m-100"
OTHER_MERCHANT = "m-200"
T0 = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


@dataclass
class Repositories:
    links: LinksRepository
    settings: SettingsRepository
    mappings: MappingRepository
    oauth_states: OAuthStateRepository
    history: HistoryRepository
    failures: FailuresRepository
    sync_configs: SyncConfigSource
    journal: SyncJournal


@pytest.fixture(scope="module")
def module_stack() -> Iterator[LocalStack]:
    """The tables of template.yaml in moto, created once per module: creating the whole stack is most of a
    test's time, so each test empties the tables instead (see `table_names`)."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in FAKE_AWS_ENV.items():
            patch.setenv(name, value)
        patch.delenv("AWS_ENDPOINT_URL", raising=False)
        with mock_aws():
            yield create_local_resources()


@pytest.fixture
def table_names(module_stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> SyncSettings:
    """Empty tables, and the names the sync function gets from template.yaml."""
    for name, value in module_stack.function_environment("SyncFunction").items():
        monkeypatch.setenv(name, value)
    load_settings.cache_clear()
    names: SyncSettings = load_settings(SyncSettings)
    for table_name in (names.links_table_name, names.settings_table_name, names.history_table_name):
        empty_table(table_name)
    empty_table(names.idempotency_table_name, key=("id",))
    return names


def empty_table(table_name: str, key: tuple[str, ...] = ("pk", "sk")) -> None:
    table = boto3.resource("dynamodb").Table(table_name)
    with table.batch_writer() as batch:
        for item in table.scan(ProjectionExpression=", ".join(key))["Items"]:
            batch.delete_item(Key={name: item[name] for name in key})


def dynamodb_repositories(names: SyncSettings) -> Repositories:
    links = DynamoDbLinksRepository(names.links_table_name)
    return Repositories(
        links=links,
        settings=DynamoDbSettingsRepository(names.settings_table_name),
        mappings=DynamoDbMappingRepository(names.settings_table_name),
        oauth_states=DynamoDbOAuthStateRepository(names.settings_table_name),
        history=DynamoDbHistoryRepository(names.history_table_name),
        failures=DynamoDbFailuresRepository(names.history_table_name),
        sync_configs=DynamoDbSyncConfigs(names.settings_table_name),
        journal=DynamoDbSyncJournal(
            links=links,
            history_table_name=names.history_table_name,
            settings_table_name=names.settings_table_name,
            idempotency_table_name=names.idempotency_table_name,
            epoch_clock=time.time,
        ),
    )


def in_memory_repositories() -> Repositories:
    links, settings, mappings = (
        InMemoryLinksRepository(),
        InMemorySettingsRepository(),
        InMemoryMappingRepository(),
    )
    history, failures = InMemoryHistoryRepository(), InMemoryFailuresRepository()
    return Repositories(
        links=links,
        settings=settings,
        mappings=mappings,
        oauth_states=InMemoryOAuthStateRepository(),
        history=history,
        failures=failures,
        sync_configs=InMemorySyncConfigs(settings, mappings),
        journal=InMemorySyncJournal(links=links, history=history, failures=failures, settings=settings),
    )


@pytest.fixture(params=["dynamodb", "in_memory"])
def repos(request: pytest.FixtureRequest) -> Repositories:
    if request.param == "dynamodb":
        return dynamodb_repositories(request.getfixturevalue("table_names"))
    return in_memory_repositories()


def a_link(
    ps_id: str,
    *,
    status: str = "unlinked",
    first: str = "Ada",
    last: str = "Lovelace",
    email: str | None = None,
    qbo_id: str | None = None,
    merchant_id: str = MERCHANT,
    **fields: Any,
) -> CustomerLink:
    return CustomerLink.model_validate(
        {
            "merchant_id": merchant_id,
            "paysimple_customer_id": ps_id,
            "status": status,
            "qbo_customer_id": qbo_id,
            "first_name": first,
            "last_name": last,
            "email": email,
            "updated_at": T0,
            **fields,
        }
    )


def linked(ps_id: str, qbo_id: str, **fields: Any) -> CustomerLink:
    return a_link(
        ps_id, status="linked", qbo_id=qbo_id, **{"reason": "name", "qbo_sync_token": "0", **fields}
    )


# -- links: storage and optimistic concurrency -----------------------------------------------------------


def test_a_saved_link_reads_back_exactly_with_the_next_version(repos: Repositories) -> None:
    # Given a linked customer with a snapshot holding nested values, numbers and a cleared field
    link = linked(
        "1",
        "58",
        email="ada@example.com",
        snapshot={
            "GivenName": "Ada",
            "BillAddr": {"Line1": "1 Main St", "Lat": 12.5},
            "Balance": 3,
            "Fax": None,
        },
        candidates=[
            LinkCandidate(qbo_customer_id="58", display_name="Ada Lovelace", email=None, active=True)
        ],
        last_event_at=T0 - timedelta(seconds=3),
        last_synced_at=T0,
    )

    # When it is saved as a new record
    stored = repos.links.save_linked(link, expected_version=0)

    # Then it reads back as saved, at version 1
    assert stored.version == 1
    assert repos.links.get(MERCHANT, "1") == link.model_copy(update={"version": 1})


def test_changing_a_returned_record_changes_nothing_stored(repos: Repositories) -> None:
    # Given a stored snapshot
    repos.links.save_linked(linked("1", "58", snapshot={"Notes": "a"}), expected_version=0)

    # When a caller mutates what it read
    repos.links.get(MERCHANT, "1").snapshot["Notes"] = "b"  # type: ignore[union-attr]

    # Then the store still holds what was saved
    assert repos.links.get(MERCHANT, "1").snapshot == {"Notes": "a"}  # type: ignore[union-attr]


def test_an_unknown_customer_has_no_record(repos: Repositories) -> None:
    assert repos.links.get(MERCHANT, "404") is None


def test_two_writers_creating_the_same_record_conflict(repos: Repositories) -> None:
    # Given one writer created the record
    repos.links.save_unlinked(a_link("1", reason="ambiguous"), expected_version=0)

    # When another writer, who also saw no record, creates it
    # Then it is told about the conflict
    with pytest.raises(ConcurrentModification):
        repos.links.save_unlinked(a_link("1", reason="name_collision"), expected_version=0)
    assert repos.links.get(MERCHANT, "1").reason == "ambiguous"  # type: ignore[union-attr]


def test_a_write_based_on_a_stale_version_changes_nothing(repos: Repositories) -> None:
    # Given a record at version 2
    first = repos.links.save_unlinked(a_link("1", reason="ambiguous"), expected_version=0)
    repos.links.save_linked(linked("1", "58"), expected_version=first.version)

    # When a writer that read version 1 saves
    with pytest.raises(ConcurrentModification):
        repos.links.save_linked(linked("1", "77"), expected_version=1)

    # Then the record and the claims are as the winner left them
    assert repos.links.get(MERCHANT, "1").qbo_customer_id == "58"  # type: ignore[union-attr]
    assert repos.links.qbo_link_owner(MERCHANT, "58") == "1"
    assert repos.links.qbo_link_owner(MERCHANT, "77") is None


def test_save_linked_and_save_unlinked_refuse_the_wrong_status(repos: Repositories) -> None:
    with pytest.raises(ValueError):
        repos.links.save_linked(a_link("1"), expected_version=0)
    with pytest.raises(ValueError):
        repos.links.save_unlinked(linked("1", "58"), expected_version=0)


def test_update_snapshot_stores_the_sync_token_and_payload_together(repos: Repositories) -> None:
    # Given a linked customer at version 1
    repos.links.save_linked(linked("1", "58", snapshot={"GivenName": "Ada"}), expected_version=0)

    # When a QBO update returned SyncToken 4
    later = T0 + timedelta(minutes=5)
    updated = repos.links.update_snapshot(
        MERCHANT,
        "1",
        sync_token="4",
        snapshot={"GivenName": "Ada", "Notes": "VIP"},
        expected_version=1,
        synced_at=later,
        event_at=later - timedelta(seconds=2),
    )

    # Then token, payload and times are stored in one new version
    assert repos.links.get(MERCHANT, "1") == updated
    assert (updated.version, updated.qbo_sync_token, updated.snapshot) == (
        2,
        "4",
        {"GivenName": "Ada", "Notes": "VIP"},
    )
    assert (updated.last_synced_at, updated.last_event_at) == (later, later - timedelta(seconds=2))
    # And a writer still holding version 1 is refused
    with pytest.raises(ConcurrentModification):
        repos.links.update_snapshot(
            MERCHANT, "1", sync_token="5", snapshot={}, expected_version=1, synced_at=later
        )


# -- links: the one-owner claim on QBO customers ----------------------------------------------------------


def test_a_second_paysimple_customer_cannot_link_the_same_qbo_customer(repos: Repositories) -> None:
    # Given PaySimple customer 1 is linked to QBO customer 58
    repos.links.save_linked(linked("1", "58", email="ada@example.com"), expected_version=0)

    # When PaySimple customer 2 is linked to QBO customer 58
    with pytest.raises(QboCustomerAlreadyLinked) as raised:
        repos.links.save_linked(linked("2", "58", email="other@example.com"), expected_version=0)

    # Then it is refused, naming the holder, and nothing of customer 2 was written
    assert (raised.value.qbo_customer_id, raised.value.linked_to) == ("58", "1")
    assert repos.links.get(MERCHANT, "2") is None
    assert repos.links.qbo_link_owner(MERCHANT, "58") == "1"
    assert (
        repos.links.other_customers_with_email(
            MERCHANT, "other@example.com", excluding_paysimple_customer_id="x"
        )
        == []
    )


def test_the_same_qbo_id_can_be_linked_in_another_merchant(repos: Repositories) -> None:
    repos.links.save_linked(linked("1", "58"), expected_version=0)
    repos.links.save_linked(linked("1", "58", merchant_id=OTHER_MERCHANT), expected_version=0)

    assert repos.links.qbo_link_owner(OTHER_MERCHANT, "58") == "1"


def test_linking_to_another_qbo_customer_releases_the_first(repos: Repositories) -> None:
    # Given customer 1 is linked to QBO 58
    first = repos.links.save_linked(linked("1", "58"), expected_version=0)

    # When an admin links it to QBO 77 instead
    repos.links.save_linked(linked("1", "77", reason="manual"), expected_version=first.version)

    # Then 77 is claimed by it and 58 is free for someone else
    assert repos.links.qbo_link_owners(MERCHANT, ["58", "77", "99"]) == {"77": "1"}
    repos.links.save_linked(linked("2", "58"), expected_version=0)
    assert repos.links.qbo_link_owner(MERCHANT, "58") == "2"


def test_an_unlinked_record_holds_no_qbo_customer(repos: Repositories) -> None:
    # Given a linked customer
    first = repos.links.save_linked(linked("1", "58"), expected_version=0)

    # When the sync records it as unlinked (e.g. its QBO customer was merged away in QBO)
    repos.links.save_unlinked(a_link("1", reason="ambiguous"), expected_version=first.version)

    # Then the QBO customer is free
    assert repos.links.qbo_link_owner(MERCHANT, "58") is None


def test_unlink_frees_the_qbo_customer_so_it_can_be_linked_again(repos: Repositories) -> None:
    # Given customer 1 is linked to QBO 58 with a snapshot
    repos.links.save_linked(linked("1", "58", snapshot={"GivenName": "Ada"}), expected_version=0)

    # When an admin unlinks it
    unlinked = repos.links.unlink(MERCHANT, "1", now=T0 + timedelta(hours=1))

    # Then it is back on the unlinked list, without QBO id, token or snapshot
    assert (unlinked.status, unlinked.reason, unlinked.version) == ("unlinked", "unlinked_by_admin", 2)
    assert (unlinked.qbo_customer_id, unlinked.qbo_sync_token, unlinked.snapshot) == (None, None, {})
    assert repos.links.get(MERCHANT, "1") == unlinked
    assert [
        link.paysimple_customer_id for link in repos.links.list_customers(MERCHANT, "unlinked").items
    ] == ["1"]
    # And QBO 58 can be linked to another PaySimple customer
    repos.links.save_linked(linked("2", "58"), expected_version=0)
    assert repos.links.qbo_link_owner(MERCHANT, "58") == "2"


def test_unlinking_an_unlinked_customer_changes_nothing(repos: Repositories) -> None:
    stored = repos.links.save_unlinked(a_link("1", reason="ambiguous"), expected_version=0)

    assert repos.links.unlink(MERCHANT, "1", now=T0) == stored


def test_unlinking_an_unknown_customer_is_an_error(repos: Repositories) -> None:
    with pytest.raises(LinkNotFound):
        repos.links.unlink(MERCHANT, "404", now=T0)


def test_a_customer_deleted_at_the_source_keeps_its_qbo_customer_until_unlinked(repos: Repositories) -> None:
    # Given customer 1 linked to QBO 58
    repos.links.save_linked(linked("1", "58"), expected_version=0)

    # When it is deleted in PaySimple
    deleted = repos.links.mark_source_deleted(
        MERCHANT, "1", expected_version=1, event_at=T0, now=T0 + timedelta(seconds=1)
    )

    # Then it is source_deleted and QBO 58 stays taken (never auto-linked to a newcomer)
    assert (deleted.status, deleted.qbo_customer_id, deleted.version) == ("source_deleted", "58", 2)
    assert repos.links.qbo_link_owner(MERCHANT, "58") == "1"
    # And an admin unlink frees QBO 58 but leaves the record deleted
    after = repos.links.unlink(MERCHANT, "1", now=T0 + timedelta(minutes=1))
    assert (after.status, after.qbo_customer_id) == ("source_deleted", None)
    assert repos.links.qbo_link_owner(MERCHANT, "58") is None


def test_marking_an_unknown_customer_deleted_is_an_error(repos: Repositories) -> None:
    with pytest.raises(LinkNotFound):
        repos.links.mark_source_deleted(MERCHANT, "404", expected_version=0, event_at=T0, now=T0)


# -- links: merge -----------------------------------------------------------------------------------------


def test_merge_links_the_primary_and_folds_the_duplicates_into_it(repos: Repositories) -> None:
    # Given three unlinked records of one person, one of them linked to QBO 12 by an earlier sync
    repos.links.save_unlinked(a_link("1", email="ada@example.com", reason="ambiguous"), expected_version=0)
    repos.links.save_unlinked(a_link("2", email="ada@example.com", reason="ambiguous"), expected_version=0)
    repos.links.save_linked(linked("3", "12", email="ada@example.com"), expected_version=0)

    # When an admin merges 2 and 3 into 1, linked to QBO 58
    primary = repos.links.merge(MERCHANT, "1", ["2", "3"], "58", now=T0 + timedelta(hours=1))

    # Then the primary is linked to 58 and the duplicates point at it
    assert (primary.status, primary.qbo_customer_id, primary.reason, primary.version) == (
        "linked",
        "58",
        "merge",
        2,
    )
    assert repos.links.get(MERCHANT, "1") == primary
    for duplicate_id in ("2", "3"):
        duplicate = repos.links.get(MERCHANT, duplicate_id)
        assert duplicate is not None
        assert (duplicate.status, duplicate.merged_into, duplicate.qbo_customer_id) == ("merged", "1", None)
    # And QBO 12 is free, and the duplicates no longer count as other customers with the email
    assert repos.links.qbo_link_owners(MERCHANT, ["12", "58"]) == {"58": "1"}
    assert (
        repos.links.other_customers_with_email(
            MERCHANT, "ada@example.com", excluding_paysimple_customer_id="1"
        )
        == []
    )
    assert [link.paysimple_customer_id for link in repos.links.list_customers(MERCHANT, "merged").items] == [
        "2",
        "3",
    ]


def test_merge_can_take_over_the_qbo_customer_a_duplicate_held(repos: Repositories) -> None:
    # Given duplicate 2 is linked to QBO 58
    repos.links.save_unlinked(a_link("1", reason="ambiguous"), expected_version=0)
    repos.links.save_linked(linked("2", "58", snapshot={"GivenName": "Ada"}), expected_version=0)

    # When 2 is merged into 1 with QBO 58
    primary = repos.links.merge(MERCHANT, "1", ["2"], "58", now=T0)

    # Then the primary holds 58; its snapshot is empty because it was never pushed for this QBO customer
    assert repos.links.qbo_link_owner(MERCHANT, "58") == "1"
    assert (primary.snapshot, primary.qbo_sync_token) == ({}, None)


def test_merge_refuses_a_qbo_customer_linked_outside_the_merge_and_writes_nothing(
    repos: Repositories,
) -> None:
    # Given QBO 58 is linked to customer 9, who is not part of the merge
    repos.links.save_linked(linked("9", "58"), expected_version=0)
    repos.links.save_unlinked(a_link("1", reason="ambiguous"), expected_version=0)
    repos.links.save_unlinked(a_link("2", reason="ambiguous"), expected_version=0)

    # When 2 is merged into 1 with QBO 58
    with pytest.raises(QboCustomerAlreadyLinked) as raised:
        repos.links.merge(MERCHANT, "1", ["2"], "58", now=T0)

    # Then it is refused and neither record changed
    assert raised.value.linked_to == "9"
    assert repos.links.get(MERCHANT, "1").status == "unlinked"  # type: ignore[union-attr]
    assert repos.links.get(MERCHANT, "2").status == "unlinked"  # type: ignore[union-attr]


def test_merge_of_an_unknown_customer_is_an_error(repos: Repositories) -> None:
    repos.links.save_unlinked(a_link("1", reason="ambiguous"), expected_version=0)

    with pytest.raises(LinkNotFound) as raised:
        repos.links.merge(MERCHANT, "1", ["404"], "58", now=T0)
    assert raised.value.paysimple_customer_id == "404"
    assert repos.links.get(MERCHANT, "1").status == "unlinked"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("primary", "duplicates", "qbo_id"),
    [("1", ["1"], "58"), ("1", [], "58"), ("1", ["2"], ""), ("1", [str(n) for n in range(2, 40)], "58")],
    ids=["primary-is-a-duplicate", "no-duplicates", "no-qbo-customer", "too-many-duplicates"],
)
def test_a_merge_request_that_cannot_be_right_is_refused(
    repos: Repositories, primary: str, duplicates: list[str], qbo_id: str
) -> None:
    with pytest.raises(ValueError):
        repos.links.merge(MERCHANT, primary, duplicates, qbo_id, now=T0)


# -- links: the email index -------------------------------------------------------------------------------


def test_other_customers_with_an_email_are_found_case_insensitively(repos: Repositories) -> None:
    # Given two customers sharing an email in different case, and one in another merchant
    repos.links.save_unlinked(a_link("1", email="Ada@Example.com", reason="ambiguous"), expected_version=0)
    repos.links.save_linked(linked("2", "58", email="ada@example.COM"), expected_version=0)
    repos.links.save_linked(
        linked("3", "58", email="ada@example.com", merchant_id=OTHER_MERCHANT), expected_version=0
    )

    # When customer 1 asks who else has its email
    others = repos.links.other_customers_with_email(
        MERCHANT, " ADA@example.com ", excluding_paysimple_customer_id="1"
    )

    # Then only customer 2 of the same merchant is named
    assert others == ["2"]


def test_a_changed_email_leaves_the_old_one(repos: Repositories) -> None:
    first = repos.links.save_linked(linked("1", "58", email="old@example.com"), expected_version=0)

    repos.links.save_linked(linked("1", "58", email="new@example.com"), expected_version=first.version)

    assert (
        repos.links.other_customers_with_email(
            MERCHANT, "old@example.com", excluding_paysimple_customer_id="x"
        )
        == []
    )
    assert repos.links.other_customers_with_email(
        MERCHANT, "new@example.com", excluding_paysimple_customer_id="x"
    ) == ["1"]


# -- links: the Customer Matching lists -------------------------------------------------------------------

PEOPLE = [
    ("1", "Grace", "Hopper", "grace@navy.mil"),
    ("2", "Ada", "Lovelace", "ada@engine.org"),
    ("3", "Alan", "Turing", "alan@bletchley.uk"),
    ("4", "Barbara", "Liskov", "barbara@mit.edu"),
    ("5", "Edsger", "Dijkstra", "ewd@utexas.edu"),
]


def save_people(repos: Repositories) -> None:
    for ps_id, first, last, email in PEOPLE:
        repos.links.save_unlinked(
            a_link(ps_id, first=first, last=last, email=email, reason="ambiguous"), expected_version=0
        )
    repos.links.save_linked(linked("6", "58", first="Linus", last="Torvalds"), expected_version=0)


def all_pages(
    repos: Repositories, status: Any, *, query: str | None = None, limit: int = 2
) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        page = repos.links.list_customers(MERCHANT, status, query=query, cursor=cursor, limit=limit)
        pages.append([link.paysimple_customer_id for link in page.items])
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor


def test_a_status_list_pages_through_customers_by_last_name(repos: Repositories) -> None:
    # Given five unlinked customers and one linked
    save_people(repos)

    # When the unlinked list is read two at a time
    pages = all_pages(repos, "unlinked", limit=2)

    # Then every unlinked customer appears once, by last name, and the last page says there is no more
    assert pages == [["5", "1"], ["4", "2"], ["3"]]


def test_a_list_ends_without_a_cursor_when_the_last_page_is_full(repos: Repositories) -> None:
    save_people(repos)

    assert all_pages(repos, "unlinked", limit=5) == [["5", "1", "4", "2", "3"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("ov", ["4", "2"]),  # a substring of Liskov and Lovelace
        ("LOVELACE", ["2"]),  # case-insensitive
        ("ada love", ["2"]),  # "first last"
        ("lovelace ada", ["2"]),  # "last first"
        ("bletchley", ["3"]),  # email substring
        ("  grace   hopper ", ["1"]),  # whitespace as typed
        ("torvalds", []),  # linked, so not on the unlinked list
    ],
)
def test_a_list_search_matches_names_and_email(repos: Repositories, query: str, expected: list[str]) -> None:
    save_people(repos)

    found = [
        link.paysimple_customer_id
        for link in repos.links.list_customers(MERCHANT, "unlinked", query=query).items
    ]

    assert found == expected


def test_a_search_pages_with_its_cursor(repos: Repositories) -> None:
    # Given customers of whom three have an .edu or .org email
    save_people(repos)

    # When searching for "e" a page at a time
    pages = all_pages(repos, "unlinked", query="e", limit=1)

    # Then the matches come one per page in list order
    assert [ps_id for page in pages for ps_id in page] == ["5", "1", "4", "2", "3"]
    assert all(len(page) <= 1 for page in pages)


def test_a_cursor_only_works_for_the_list_that_issued_it(repos: Repositories) -> None:
    save_people(repos)
    cursor = repos.links.list_customers(MERCHANT, "unlinked", limit=1).next_cursor
    assert cursor is not None

    with pytest.raises(InvalidCursor):
        repos.links.list_customers(MERCHANT, "linked", cursor=cursor)
    with pytest.raises(InvalidCursor):
        repos.links.list_customers(OTHER_MERCHANT, "unlinked", cursor=cursor)
    with pytest.raises(InvalidCursor):
        repos.links.list_customers(MERCHANT, "unlinked", cursor="not a cursor!")


# -- settings ---------------------------------------------------------------------------------------------


def test_a_merchant_exists_once_onboarded(repos: Repositories) -> None:
    assert not repos.settings.merchant_exists(MERCHANT)

    assert repos.settings.ensure_merchant(MERCHANT, now=T0) is True
    assert repos.settings.ensure_merchant(MERCHANT, now=T0 + timedelta(days=1)) is False

    assert repos.settings.merchant_exists(MERCHANT)
    assert not repos.settings.merchant_exists(OTHER_MERCHANT)


def test_a_new_merchant_has_sync_disabled_and_the_default_collision_suffix(repos: Repositories) -> None:
    settings = repos.settings.get_settings(MERCHANT)

    assert settings == MerchantSettings()
    assert settings.collision_display_name("Ada", "Lovelace", "17") == "Ada Lovelace (PS-17)"


def test_enabling_sync_records_when_and_only_the_switch_on_counts(repos: Repositories) -> None:
    # When sync is enabled, saved again while on, switched off, and switched on again
    on = repos.settings.update_settings(MERCHANT, SettingsChanges(sync_enabled=True), now=T0)
    still_on = repos.settings.update_settings(
        MERCHANT, SettingsChanges(sync_enabled=True), now=T0 + timedelta(hours=1)
    )
    off = repos.settings.update_settings(
        MERCHANT, SettingsChanges(sync_enabled=False), now=T0 + timedelta(hours=2)
    )
    on_again = repos.settings.update_settings(
        MERCHANT, SettingsChanges(sync_enabled=True), now=T0 + timedelta(hours=3)
    )

    # Then enabled_at is the latest switch-on, and disabled_at the switch-off
    assert (on.sync_enabled, on.enabled_at) == (True, T0)
    assert still_on.enabled_at == T0
    assert (off.sync_enabled, off.enabled_at, off.disabled_at) == (False, T0, T0 + timedelta(hours=2))
    assert (on_again.sync_enabled, on_again.enabled_at) == (True, T0 + timedelta(hours=3))
    assert repos.settings.get_settings(MERCHANT) == on_again


def test_a_partial_settings_update_leaves_the_rest(repos: Repositories) -> None:
    repos.settings.update_settings(
        MERCHANT, SettingsChanges(sync_enabled=True, deactivate_on_delete=True), now=T0
    )

    updated = repos.settings.update_settings(
        MERCHANT, SettingsChanges(collision_suffix="{last}, {first} #{id}"), now=T0 + timedelta(minutes=1)
    )

    assert (updated.sync_enabled, updated.deactivate_on_delete, updated.enabled_at) == (True, True, T0)
    assert updated.collision_display_name("Ada", "Lovelace", "17") == "Lovelace, Ada #17"
    assert repos.settings.get_settings(MERCHANT).updated_at == T0 + timedelta(minutes=1)
    assert repos.settings.get_settings(OTHER_MERCHANT) == MerchantSettings()


def test_the_last_successful_sync_only_moves_forward(repos: Repositories) -> None:
    assert repos.settings.last_successful_sync(MERCHANT) is None

    repos.settings.record_successful_sync(MERCHANT, T0 + timedelta(minutes=2))
    repos.settings.record_successful_sync(MERCHANT, T0)  # a slower Lambda finishing late

    assert repos.settings.last_successful_sync(MERCHANT) == T0 + timedelta(minutes=2)


# -- mappings ---------------------------------------------------------------------------------------------

ROWS_V1 = (
    MappingRow(paysimple_field="FirstName", qbo_field="GivenName", enabled=True),
    MappingRow(paysimple_field="LastName", qbo_field="FamilyName", enabled=True),
    MappingRow(paysimple_field="Email", qbo_field="PrimaryEmailAddr", enabled=True),
)
ROWS_V2 = (*ROWS_V1[:2], MappingRow(paysimple_field="Email", qbo_field="PrimaryEmailAddr", enabled=False))


def test_a_merchant_without_a_saved_mapping_has_the_default(repos: Repositories) -> None:
    assert repos.mappings.current_mapping(MERCHANT) == default_mapping()
    assert repos.mappings.mapping_in_effect_at(MERCHANT, T0) == default_mapping()


def test_each_save_is_a_new_version_effective_from_then(repos: Repositories) -> None:
    # When a mapping is saved twice
    first = repos.mappings.save_mapping(MERCHANT, ROWS_V1, now=T0)
    second = repos.mappings.save_mapping(MERCHANT, ROWS_V2, now=T0 + timedelta(days=1))

    # Then the versions count up and the newest is current
    assert (first.version, second.version) == (1, 2)
    assert repos.mappings.current_mapping(MERCHANT) == FieldMapping(
        version=2, effective_at=T0 + timedelta(days=1), rows=ROWS_V2
    )
    assert repos.mappings.current_mapping(OTHER_MERCHANT) == default_mapping()


def test_the_mapping_in_effect_at_a_time_is_the_newest_saved_by_then(repos: Repositories) -> None:
    repos.mappings.save_mapping(MERCHANT, ROWS_V1, now=T0)
    repos.mappings.save_mapping(MERCHANT, ROWS_V2, now=T0 + timedelta(days=1))

    assert repos.mappings.mapping_in_effect_at(MERCHANT, T0 - timedelta(microseconds=1)) == default_mapping()
    assert repos.mappings.mapping_in_effect_at(MERCHANT, T0).version == 1
    assert repos.mappings.mapping_in_effect_at(MERCHANT, T0 + timedelta(hours=23)).version == 1
    assert repos.mappings.mapping_in_effect_at(MERCHANT, T0 + timedelta(days=2)).rows == ROWS_V2


# -- OAuth state ------------------------------------------------------------------------------------------


def oauth_state(nonce: str = "n" * 32, *, expires_in: timedelta = timedelta(minutes=10)) -> OAuthState:
    return OAuthState(nonce=nonce, merchant_id=MERCHANT, created_at=T0, expires_at=T0 + expires_in)


def test_an_oauth_state_can_be_consumed_exactly_once(repos: Repositories) -> None:
    repos.oauth_states.save_oauth_state(oauth_state())

    assert repos.oauth_states.consume_oauth_state("n" * 32, now=T0 + timedelta(minutes=1)) == oauth_state()
    assert repos.oauth_states.consume_oauth_state("n" * 32, now=T0 + timedelta(minutes=1)) is None


def test_an_expired_or_unknown_oauth_state_is_refused(repos: Repositories) -> None:
    repos.oauth_states.save_oauth_state(oauth_state())

    assert repos.oauth_states.consume_oauth_state("n" * 32, now=T0 + timedelta(minutes=10)) is None
    assert repos.oauth_states.consume_oauth_state("u" * 32, now=T0) is None


# -- history ----------------------------------------------------------------------------------------------


def an_entry(event_id: str, *, at: datetime, action: Any = "updated", ps_id: str = "1") -> HistoryEntry:
    return HistoryEntry(
        merchant_id=MERCHANT,
        paysimple_customer_id=ps_id,
        event_id=event_id,
        event_type="customer_updated",
        occurred_at=at - timedelta(seconds=1),
        recorded_at=at,
        action=action,
        qbo_customer_id="58",
        changes={
            "Notes": FieldChange(before=None, after="VIP"),
            "PrimaryPhone": FieldChange(before="1", after="2"),
        },
        truncations=[Truncation(field="Notes", original_length=4200, limit=4000)],
        qbo_calls=1,
    )


def test_a_history_entry_reads_back_as_recorded(repos: Repositories) -> None:
    entry = an_entry("ev-1", at=T0)

    assert repos.history.append(entry) is True

    assert repos.history.list_for_customer(MERCHANT, "1").items == [entry]


def test_recording_an_event_outcome_twice_keeps_one_entry(repos: Repositories) -> None:
    # Given an event's outcome was recorded
    repos.history.append(an_entry("ev-1", at=T0))

    # When the redelivered event records the same outcome a second later
    again = repos.history.append(an_entry("ev-1", at=T0 + timedelta(seconds=1)))

    # Then nothing more is recorded; a different outcome of the same event is
    assert again is False
    assert repos.history.append(an_entry("ev-1", at=T0 + timedelta(seconds=2), action="failed")) is True
    actions = [entry.action for entry in repos.history.list_for_customer(MERCHANT, "1").items]
    assert actions == ["failed", "updated"]


def test_history_lists_newest_first_a_page_at_a_time(repos: Repositories) -> None:
    # Given five entries for customer 1, recorded out of order, and one for customer 2
    for minute in (3, 1, 4, 0, 2):
        repos.history.append(an_entry(f"ev-{minute}", at=T0 + timedelta(minutes=minute)))
    repos.history.append(an_entry("ev-other", at=T0, ps_id="2"))

    # When listed two at a time
    first = repos.history.list_for_customer(MERCHANT, "1", limit=2)
    second = repos.history.list_for_customer(MERCHANT, "1", limit=2, cursor=first.next_cursor)
    third = repos.history.list_for_customer(MERCHANT, "1", limit=2, cursor=second.next_cursor)

    # Then they come newest first and the last page has no cursor
    ids = [[entry.event_id for entry in page.items] for page in (first, second, third)]
    assert ids == [["ev-4", "ev-3"], ["ev-2", "ev-1"], ["ev-0"]]
    assert third.next_cursor is None
    with pytest.raises(InvalidCursor):
        repos.history.list_for_customer(MERCHANT, "2", cursor=first.next_cursor)


# -- parked failures --------------------------------------------------------------------------------------


def a_failure(ps_id: str, event_id: str, *, attempts: int = 1) -> ParkedFailure:
    message = CustomerChangeMessage(
        merchant_id=MERCHANT,
        customer_id=ps_id,
        event_type="customer_updated",
        event_id=event_id,
        occurred_at=T0,
    )
    return ParkedFailure(
        merchant_id=MERCHANT,
        paysimple_customer_id=ps_id,
        event_id=event_id,
        message=message,
        reason="QBO rejected the email address",
        code="2050",
        parked_at=T0,
        attempts=attempts,
    )


def test_a_parked_failure_can_be_read_listed_and_removed(repos: Repositories) -> None:
    # Given two parked failures
    repos.failures.park(a_failure("1", "ev-1"))
    repos.failures.park(a_failure("2", "ev-2"))

    # Then each reads back, and the list pages through both
    assert repos.failures.get_failure(MERCHANT, "1", "ev-1") == a_failure("1", "ev-1")
    first = repos.failures.list_failures(MERCHANT, limit=1)
    second = repos.failures.list_failures(MERCHANT, limit=1, cursor=first.next_cursor)
    assert [first.items, second.items, second.next_cursor] == [
        [a_failure("1", "ev-1")],
        [a_failure("2", "ev-2")],
        None,
    ]

    # When one is removed
    assert repos.failures.remove_failure(MERCHANT, "1", "ev-1") is True

    # Then it is gone, and removing it again reports there was nothing
    assert repos.failures.get_failure(MERCHANT, "1", "ev-1") is None
    assert repos.failures.remove_failure(MERCHANT, "1", "ev-1") is False
    assert repos.failures.list_failures(MERCHANT).items == [a_failure("2", "ev-2")]
    assert repos.failures.list_failures(OTHER_MERCHANT).items == []


def test_parking_the_same_event_again_replaces_the_failure(repos: Repositories) -> None:
    repos.failures.park(a_failure("1", "ev-1"))

    repos.failures.park(a_failure("1", "ev-1", attempts=2))

    assert repos.failures.list_failures(MERCHANT).items == [a_failure("1", "ev-1", attempts=2)]


# -- DynamoDB only: the stored layout other tools rely on, and races a fake cannot stage -------------------


def raw_items(table_name: str) -> dict[tuple[str, str], dict[str, Any]]:
    table = boto3.resource("dynamodb").Table(table_name)
    return {(item["pk"], item["sk"]): item for item in table.scan()["Items"]}  # type: ignore[misc]


def test_a_link_is_stored_as_the_data_model_says(table_names: SyncSettings) -> None:
    # Given a linked customer saved through the adapter
    repos = dynamodb_repositories(table_names)
    repos.links.save_linked(
        linked("17", "58", first="Ada", last="Lovelace", email="Ada@Example.com", snapshot={"Lat": 1.5}),
        expected_version=0,
    )

    # Then the link, the claim and the email index item are there, keyed as documented
    items = raw_items(table_names.links_table_name)
    assert set(items) == {
        ("MERCHANT#m-100", "PS#17"),
        ("MERCHANT#m-100", "QBO#58"),
        ("MERCHANT#m-100", "EMAIL#ada@example.com#PS#17"),
    }
    link = items[("MERCHANT#m-100", "PS#17")]
    assert link["status_pk"] == "MERCHANT#m-100#STATUS#linked"
    assert link["name_sk"] == "lovelace ada#17"
    assert link["version"] == 1
    assert link["updated_at"] == "2025-03-01T09:30:00.000000Z"
    assert str(link["snapshot"]["Lat"]) == "1.5"
    assert items[("MERCHANT#m-100", "QBO#58")]["paysimple_customer_id"] == "17"


def test_settings_and_mappings_are_stored_as_the_data_model_says(table_names: SyncSettings) -> None:
    repos = dynamodb_repositories(table_names)
    repos.settings.ensure_merchant(MERCHANT, now=T0)
    repos.settings.update_settings(MERCHANT, SettingsChanges(sync_enabled=True), now=T0)
    repos.mappings.save_mapping(MERCHANT, ROWS_V1, now=T0)
    repos.oauth_states.save_oauth_state(oauth_state())

    items = raw_items(table_names.settings_table_name)

    assert items[("MERCHANT#m-100", "PROFILE")]["created_at"] == "2025-03-01T09:30:00.000000Z"
    assert items[("MERCHANT#m-100", "SETTINGS")]["enabled_at"] == "2025-03-01T09:30:00.000000Z"
    assert items[("MERCHANT#m-100", "MAPPING#0000000001")]["version"] == 1
    state = items[("OAUTHSTATE#" + "n" * 32, "OAUTHSTATE")]
    assert state["ttl"] == int((T0 + timedelta(minutes=10)).timestamp())


def test_two_concurrent_mapping_saves_get_distinct_versions(table_names: SyncSettings) -> None:
    # Given a second admin saves version 1 after our save read "no mapping yet"
    other_admin = DynamoDbMappingRepository(table_names.settings_table_name)

    class ReadsBeforeTheOtherSave(DynamoDbMappingRepository):
        raced = False

        def current_mapping(self, merchant_id: str) -> FieldMapping:
            seen = super().current_mapping(merchant_id)
            if not self.raced:
                self.raced = True
                other_admin.save_mapping(merchant_id, ROWS_V1, now=T0)
            return seen

    # When our save goes ahead
    ours = ReadsBeforeTheOtherSave(table_names.settings_table_name).save_mapping(MERCHANT, ROWS_V2, now=T0)

    # Then it did not overwrite version 1 but became version 2
    assert ours.version == 2
    assert other_admin.mapping_in_effect_at(MERCHANT, T0 - timedelta(seconds=1)) == default_mapping()
    assert [other_admin.current_mapping(MERCHANT).rows, ours.version] == [ROWS_V2, 2]
    assert raw_items(table_names.settings_table_name)[("MERCHANT#m-100", "MAPPING#0000000001")]["rows"][2][
        "enabled"
    ]


def test_two_concurrent_settings_updates_both_apply(table_names: SyncSettings) -> None:
    # Given another admin enables sync after our update read the settings
    other_admin = DynamoDbSettingsRepository(table_names.settings_table_name)

    class ReadsBeforeTheOtherUpdate(DynamoDbSettingsRepository):
        raced = False

        def _read_settings(self, merchant_id: str) -> tuple[MerchantSettings, int]:
            seen = super()._read_settings(merchant_id)
            if not self.raced:
                self.raced = True
                other_admin.update_settings(merchant_id, SettingsChanges(sync_enabled=True), now=T0)
            return seen

    # When our update of another setting goes ahead
    ReadsBeforeTheOtherUpdate(table_names.settings_table_name).update_settings(
        MERCHANT, SettingsChanges(deactivate_on_delete=True), now=T0 + timedelta(seconds=1)
    )

    # Then neither change is lost
    settings = other_admin.get_settings(MERCHANT)
    assert (settings.sync_enabled, settings.enabled_at, settings.deactivate_on_delete) == (True, T0, True)


def test_a_claim_taken_between_read_and_write_is_reported_as_already_linked(
    table_names: SyncSettings,
) -> None:
    # Given customer 2 links QBO 58 after our pre-read of customer 1 (so only the transaction can notice)
    rival = DynamoDbLinksRepository(table_names.links_table_name)

    class RacedLinks(DynamoDbLinksRepository):
        def get(self, merchant_id: str, paysimple_customer_id: str) -> CustomerLink | None:
            seen = super().get(merchant_id, paysimple_customer_id)
            rival.save_linked(linked("2", "58"), expected_version=0)
            return seen

    # When customer 1 is linked to QBO 58
    with pytest.raises(QboCustomerAlreadyLinked) as raised:
        RacedLinks(table_names.links_table_name).save_linked(linked("1", "58"), expected_version=0)

    # Then the transaction refused it, naming the winner, and wrote nothing for customer 1
    assert raised.value.linked_to == "2"
    assert rival.get(MERCHANT, "1") is None


def test_a_search_that_reads_too_far_returns_a_short_page_to_continue_from(table_names: SyncSettings) -> None:
    # Given a search budget of two index reads (of two entries each, for a page of one), and the only match
    # fifth in the list
    links = DynamoDbLinksRepository(table_names.links_table_name, search_batch=1, search_max_rounds=2)
    for ps_id, first, last, email in PEOPLE:
        links.save_unlinked(
            a_link(ps_id, first=first, last=last, email=email, reason="ambiguous"), expected_version=0
        )

    # When searching for Turing (last in name order)
    page = links.list_customers(MERCHANT, "unlinked", query="turing", limit=1)
    pages = [page]
    while page.next_cursor is not None:
        page = links.list_customers(MERCHANT, "unlinked", query="turing", limit=1, cursor=page.next_cursor)
        pages.append(page)

    # Then the first pages come back short but with a cursor, and following them finds the match once
    assert pages[0].items == []
    assert pages[0].next_cursor is not None
    assert [link.paysimple_customer_id for page in pages for link in page.items] == ["3"]


# -- the fakes' own test hook -----------------------------------------------------------------------------


def test_a_fake_can_be_told_to_fail_its_next_write() -> None:
    links = InMemoryLinksRepository()
    links.fail_next_write(ConcurrentModification("PaySimple customer 1"))

    with pytest.raises(ConcurrentModification):
        links.save_unlinked(a_link("1", reason="ambiguous"), expected_version=0)
    assert links.get(MERCHANT, "1") is None
    assert links.save_unlinked(a_link("1", reason="ambiguous"), expected_version=0).version == 1


# -- the sync's config and journal ---------------------------------------------------------------------------


def a_change(ps_id: str, event_id: str, *, redrive_attempt: int = 0) -> CustomerChangeMessage:
    return CustomerChangeMessage(
        merchant_id=MERCHANT,
        customer_id=ps_id,
        event_type="customer_updated",
        event_id=event_id,
        occurred_at=T0,
        redrive_attempt=redrive_attempt,
    )


def a_completion(
    change: CustomerChangeMessage,
    *,
    action: SyncAction = "updated",
    link: LinkWrite | None = None,
    parked: ParkedFailure | None = None,
    resolves: bool = False,
) -> Completion:
    outcome = SyncOutcome(
        action=action,
        merchant_id=change.merchant_id,
        paysimple_customer_id=change.customer_id,
        event_id=change.event_id,
        qbo_calls=1,
    )
    entry = HistoryEntry(
        merchant_id=change.merchant_id,
        paysimple_customer_id=change.customer_id,
        event_id=change.event_id,
        event_type=change.event_type,
        occurred_at=change.occurred_at,
        recorded_at=T0 + timedelta(seconds=1 + change.redrive_attempt),
        action=action,
        qbo_calls=1,
    )
    return Completion(
        message=change,
        outcome=outcome,
        history=entry,
        link=link,
        successful_sync_at=T0 + timedelta(seconds=1) if action != "parked" else None,
        parked=parked,
        resolves_parked_failure=resolves,
    )


def test_a_merchants_sync_config_is_its_settings_and_every_mapping_version_newest_first(
    repos: Repositories,
) -> None:
    # Given a merchant with sync on and two saved mappings, and another merchant with nothing saved
    repos.settings.update_settings(MERCHANT, SettingsChanges(sync_enabled=True), now=T0)
    repos.mappings.save_mapping(MERCHANT, ROWS_V1, now=T0)
    repos.mappings.save_mapping(MERCHANT, ROWS_V2, now=T0 + timedelta(days=1))
    # When their sync configs are read
    config = repos.sync_configs.sync_config(MERCHANT)
    other = repos.sync_configs.sync_config(OTHER_MERCHANT)
    # Then one holds the settings and both versions, newest first; the other the defaults and none
    assert config.settings == repos.settings.get_settings(MERCHANT)
    assert [(mapping.version, mapping.rows) for mapping in config.mappings] == [(2, ROWS_V2), (1, ROWS_V1)]
    assert (other.settings, other.mappings) == (MerchantSettings(), ())


def test_a_completed_change_stores_its_link_history_outcome_and_last_sync_together(
    repos: Repositories,
) -> None:
    # Given a linked customer and a change of it
    stored = repos.links.save_linked(linked("1", "58"), expected_version=0)
    change = a_change("1", "evt_1")
    updated = stored.revised(qbo_sync_token="1", snapshot={"GivenName": "Ada"})
    # When the change is completed
    written = repos.journal.complete(a_completion(change, link=LinkWrite(updated, stored.version)))
    # Then the link, the history entry, the last successful sync and the outcome are all stored
    assert written == updated.model_copy(update={"version": 2})
    assert repos.links.get(MERCHANT, "1") == written
    assert [entry.action for entry in repos.history.list_for_customer(MERCHANT, "1").items] == ["updated"]
    assert repos.settings.last_successful_sync(MERCHANT) == T0 + timedelta(seconds=1)
    prefetch = repos.journal.prefetch([change, a_change("2", "evt_2")])
    assert prefetch.outcomes[(MERCHANT, "evt_1", 0)].action == "updated"
    assert (MERCHANT, "evt_2", 0) not in prefetch.outcomes
    assert prefetch.links == {(MERCHANT, "1"): written, (MERCHANT, "2"): None}


def test_a_completion_whose_link_moved_on_meanwhile_stores_nothing(repos: Repositories) -> None:
    # Given a link read at version 1 that someone else saved again since
    stored = repos.links.save_linked(linked("1", "58"), expected_version=0)
    repos.links.save_linked(stored.revised(reason="name+email"), expected_version=1)
    change = a_change("1", "evt_1")
    # When a change completes from the version it read
    with pytest.raises(ConcurrentModification):
        repos.journal.complete(a_completion(change, link=LinkWrite(stored.revised(qbo_sync_token="9"), 1)))
    # Then nothing of it was stored: no history entry, no outcome
    assert repos.history.list_for_customer(MERCHANT, "1").items == []
    assert repos.journal.prefetch([change]).outcomes == {}
    assert repos.links.get(MERCHANT, "1").reason == "name+email"  # type: ignore[union-attr]


def test_a_change_is_completed_at_most_once(repos: Repositories) -> None:
    # Given a change that was completed
    change = a_change("1", "evt_1")
    repos.journal.complete(a_completion(change, action="skipped"))
    # When it is completed again (a second invocation that ran the same change)
    with pytest.raises(ConcurrentModification):
        repos.journal.complete(a_completion(change, action="skipped"))
    # Then it has one history entry; a redrive of it (the next attempt) is a change of its own
    repos.journal.complete(a_completion(a_change("1", "evt_1", redrive_attempt=1), action="skipped"))
    assert len(repos.history.list_for_customer(MERCHANT, "1").items) == 2


def test_a_parked_change_stores_its_failure_and_the_redrive_that_succeeds_removes_it(
    repos: Repositories,
) -> None:
    # Given a change parked with its reason
    change = a_change("1", "evt_1")
    failure = ParkedFailure(
        merchant_id=MERCHANT,
        paysimple_customer_id="1",
        event_id="evt_1",
        message=change,
        reason="qbo_validation_error",
        code="2050",
        parked_at=T0,
        attempts=1,
    )
    repos.journal.complete(a_completion(change, action="parked", parked=failure))
    assert [parked.reason for parked in repos.failures.list_failures(MERCHANT).items] == [
        "qbo_validation_error"
    ]
    assert repos.settings.last_successful_sync(MERCHANT) is None
    # When its redrive succeeds
    repos.journal.complete(a_completion(a_change("1", "evt_1", redrive_attempt=1), resolves=True))
    # Then the failure is gone
    assert repos.failures.list_failures(MERCHANT).items == []
