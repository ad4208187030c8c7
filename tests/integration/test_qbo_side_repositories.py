"""The realm directory, the CDC checkpoints, the name variants and the list of onboarded merchants, run
twice: against the DynamoDB adapters (moto, the settings table of template.yaml) and against the in-memory
fakes the unit tests use, so the fakes cannot drift from the adapters."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from customer_sync.adapters.dynamodb_realms import (
    DynamoDbCdcCheckpoints,
    DynamoDbNameVariants,
    DynamoDbRealmDirectory,
)
from customer_sync.adapters.dynamodb_settings import DynamoDbSettingsRepository, DynamoDbSyncConfigs
from customer_sync.ports import (
    CdcCheckpoints,
    MerchantList,
    NameVariantsRepository,
    RealmConnection,
    RealmDirectory,
)
from tests.fakes.qbo_side import InMemoryCdcCheckpoints, InMemoryNameVariants, InMemoryRealmDirectory
from tests.fakes.repositories import InMemorySettingsRepository

T0 = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)


@dataclass
class Stores:
    realms: RealmDirectory
    checkpoints: CdcCheckpoints
    merchants: MerchantList
    onboard: InMemorySettingsRepository | DynamoDbSettingsRepository
    variants: NameVariantsRepository


@pytest.fixture(params=["dynamodb", "in-memory"])
def stores(request: pytest.FixtureRequest) -> Iterator[Stores]:
    if request.param == "in-memory":
        settings = InMemorySettingsRepository()
        yield Stores(
            InMemoryRealmDirectory(), InMemoryCdcCheckpoints(), settings, settings, InMemoryNameVariants()
        )
        return
    request.getfixturevalue("local_stack")  # moto with the template's tables
    dynamo_settings = DynamoDbSettingsRepository("SettingsTable")
    yield Stores(
        DynamoDbRealmDirectory("SettingsTable"),
        DynamoDbCdcCheckpoints("SettingsTable"),
        dynamo_settings,
        dynamo_settings,
        DynamoDbNameVariants("SettingsTable"),
    )


def test_merchants_are_found_by_their_company_and_a_company_may_serve_several(stores: Stores) -> None:
    stores.realms.register("m1", "r1")
    stores.realms.register("m2", "r1")
    stores.realms.register("m3", "r2")
    assert stores.realms.merchants_for_realm("r1") == ["m1", "m2"]
    assert stores.realms.merchants_for_realm("r2") == ["m3"]
    assert stores.realms.merchants_for_realm("r3") == []
    assert stores.realms.connections() == [
        RealmConnection("r1", "m1"),
        RealmConnection("r1", "m2"),
        RealmConnection("r2", "m3"),
    ]


def test_reconnecting_to_another_company_leaves_the_old_one(stores: Stores) -> None:
    stores.realms.register("m1", "r1")
    stores.realms.register("m1", "r1")  # registering again changes nothing
    stores.realms.register("m1", "r2")
    assert stores.realms.merchants_for_realm("r1") == []
    assert stores.realms.connections() == [RealmConnection("r2", "m1")]


def test_an_unregistered_merchant_is_in_no_company(stores: Stores) -> None:
    stores.realms.register("m1", "r1")
    stores.realms.unregister("m1")
    stores.realms.unregister("m1")  # twice is fine
    assert stores.realms.connections() == []


def test_a_checkpoint_only_moves_forward(stores: Stores) -> None:
    assert stores.checkpoints.checkpoint("r1") is None
    stores.checkpoints.save_checkpoint("r1", T0)
    stores.checkpoints.save_checkpoint("r1", T0 - timedelta(hours=1))  # a slower sweep, late
    assert stores.checkpoints.checkpoint("r1") == T0
    stores.checkpoints.save_checkpoint("r1", T0 + timedelta(seconds=1))
    assert stores.checkpoints.checkpoint("r1") == T0 + timedelta(seconds=1)
    assert stores.checkpoints.checkpoint("r2") is None


def test_every_onboarded_merchant_is_listed(stores: Stores) -> None:
    for merchant in ("m2", "m1", "m3"):
        stores.onboard.ensure_merchant(merchant, now=T0)
    assert stores.merchants.onboarded_merchants() == ["m1", "m2", "m3"]


def _customer(qbo_id: str, family: str, **more: object) -> dict[str, object]:
    return {
        "Id": qbo_id,
        "SyncToken": "0",
        "GivenName": "Sean",
        "FamilyName": family,
        "Balance": 12.5,
        **more,
    }


def test_name_variants_are_none_until_built_and_then_exactly_what_was_kept(stores: Stores) -> None:
    curly, spaced = _customer("7", "O\u2019Brien"), _customer("12", "O'Brien  ")
    stores.variants.put("m1", "r1", curly)  # kept before the first build: not a list to trust yet
    assert stores.variants.load("m1", "r1") is None and not stores.variants.is_built("m1", "r1")
    stores.variants.replace("m1", "r1", [curly, spaced], built_at=T0)
    assert stores.variants.is_built("m1", "r1")
    loaded = stores.variants.load("m1", "r1")
    assert loaded is not None and loaded.built_at == T0
    assert list(loaded.customers) == [spaced, curly]  # by Id, as text; values exactly as kept
    assert stores.variants.load("m1", "r2") is None  # another company's are its own
    assert stores.variants.load("m2", "r1") is None  # and so are another merchant's


def test_a_variant_is_replaced_dropped_and_a_rebuild_forgets_the_rest(stores: Stores) -> None:
    stores.variants.replace("m1", "r1", [_customer("7", "O\u2019Brien"), _customer("8", "Lee ")], built_at=T0)
    stores.variants.put("m1", "r1", _customer("7", "O\u2019Brien", SyncToken="3"))
    stores.variants.drop("m1", "r1", "8")
    stores.variants.drop("m1", "r1", "404")  # never kept: nothing happens
    loaded = stores.variants.load("m1", "r1")
    assert loaded is not None and [(c["Id"], c["SyncToken"]) for c in loaded.customers] == [("7", "3")]
    later = T0 + timedelta(days=40)
    many = [_customer(str(100 + n), f"Name{n} ") for n in range(30)]  # more than one batch write
    stores.variants.replace("m1", "r1", many, built_at=later)
    rebuilt = stores.variants.load("m1", "r1")
    assert rebuilt is not None and rebuilt.built_at == later
    assert sorted(str(c["Id"]) for c in rebuilt.customers) == sorted(str(c["Id"]) for c in many)


def test_the_sync_reads_the_variants_of_the_merchants_company_with_its_settings(local_stack: object) -> None:
    # Given merchant m1 connected to r1, whose variants are built, and merchant m2 with none
    realms, variants = DynamoDbRealmDirectory("SettingsTable"), DynamoDbNameVariants("SettingsTable")
    configs = DynamoDbSyncConfigs("SettingsTable")
    realms.register("m1", "r1")
    curly = _customer("7", "O\u2019Brien")
    variants.replace("m1", "r1", [curly], built_at=T0)
    # When the sync reads each merchant's settings (one Query each)
    # Then m1's bring its company's variants, and m2's none
    m1 = configs.sync_config("m1").name_variants
    assert m1 is not None and (m1.realm_id, list(m1.customers), m1.built_at) == ("r1", [curly], T0)
    assert configs.sync_config("m2").name_variants is None
    # And after m1 reconnects to another company, r1's are no longer offered, until r2's are built,
    # which forgets r1's
    realms.register("m1", "r2")
    assert configs.sync_config("m1").name_variants is None
    variants.replace("m1", "r2", [], built_at=T0 + timedelta(days=1))
    assert variants.load("m1", "r1") is None
    m1_now = configs.sync_config("m1").name_variants
    assert m1_now is not None and (m1_now.realm_id, m1_now.customers) == ("r2", ())
