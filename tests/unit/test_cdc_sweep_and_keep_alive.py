"""The daily jobs' rules with in-memory fakes: the CDC sweep's windows, checkpoints and failures
(domain/cdc_sweep.py), the keep-alive's refresh and expiry rules (domain/keep_alive.py), and Disconnect
(domain/admin/qbo_disconnect.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from customer_sync.domain.admin.qbo_disconnect import QboDisconnect
from customer_sync.domain.cdc_sweep import CdcSweep
from customer_sync.domain.keep_alive import KeepAlive, days_until
from customer_sync.domain.qbo_changes import QboChangeOutcome
from customer_sync.errors import QboConnectionBroken, QboTransientError
from customer_sync.models.qbo_events import QboChangeMessage
from tests.fakes.merchant_clients import SettableClock
from tests.fakes.qbo_side import (
    FakeConnectionState,
    FakeQboConnections,
    FakeRefresher,
    InMemoryCdcCheckpoints,
    InMemoryNameVariants,
    InMemoryRealmDirectory,
    RecordingRevoker,
    connection,
)
from tests.fakes.repositories import InMemorySettingsRepository

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def at(minutes: int) -> str:
    return (NOW - timedelta(hours=2) + timedelta(minutes=minutes)).isoformat()


class ScriptedCdc:
    """A QBO client whose CDC answers with what changed since the asked time, at most `limit` objects,
    oldest first (as the emulator does); counts its calls and remembers what it was asked."""

    def __init__(self, changed: list[dict[str, Any]], *, limit: int) -> None:
        self.changed = changed
        self.limit = limit
        self.calls_made = 0
        self.asked: list[datetime] = []
        self.fail = False
        self.listed: list[dict[str, Any]] = []  # the company's active customers, for a name-variants build

    def query_customers(self, where: str, *, include_inactive: bool = False) -> list[Any]:
        assert (where, include_inactive) == ("", False)  # every active customer, once
        self.calls_made += 1
        return [type("Listed", (), {"raw": customer})() for customer in self.listed]

    def customer_changes(self, changed_since: datetime) -> list[dict[str, Any]]:
        self.calls_made += 1
        self.asked.append(changed_since)
        if self.fail:
            raise QboTransientError("QBO is down")
        since = [
            c
            for c in self.changed
            if datetime.fromisoformat(c["MetaData"]["LastUpdatedTime"]) >= changed_since
        ]
        return sorted(since, key=lambda c: c["MetaData"]["LastUpdatedTime"])[: self.limit]


class Clients:
    def __init__(self, by_merchant: dict[str, ScriptedCdc], broken: set[str] | None = None) -> None:
        self._by_merchant = by_merchant
        self._broken = broken or set()

    def paysimple(self, merchant_id: str) -> Any:
        raise AssertionError("not used")

    def qbo(self, merchant_id: str, *, connected_realm_id: str | None = None) -> Any:
        if merchant_id in self._broken:
            raise QboConnectionBroken("broken", code="invalid_grant")
        return self._by_merchant[merchant_id]


class RecordingChanges:
    """Stands in for QboChangeService.observe: records each object; an id in `applies` changes something the
    first time it is seen (seen again, it is what the links already hold)."""

    def __init__(self, applies: set[str] | None = None) -> None:
        self.seen: list[tuple[str, str]] = []
        self.applies = applies or set()

    def observe(self, realm_id: str, customer: dict[str, Any]) -> list[QboChangeOutcome]:
        first = (realm_id, customer["Id"]) not in self.seen
        self.seen.append((realm_id, customer["Id"]))
        return [QboChangeOutcome("edited" if first and customer["Id"] in self.applies else "echo")]

    def process(self, change: QboChangeMessage) -> list[QboChangeOutcome]:
        raise AssertionError("the sweep never processes webhook changes")


def customers(count: int) -> list[dict[str, Any]]:
    return [
        {"Id": str(n), "SyncToken": "1", "MetaData": {"LastUpdatedTime": at(n)}} for n in range(1, count + 1)
    ]


def sweep(
    clients: Clients,
    realms: InMemoryRealmDirectory,
    checkpoints: InMemoryCdcCheckpoints,
    changes: RecordingChanges,
    limit: int = 1000,
    variants: InMemoryNameVariants | None = None,
) -> CdcSweep:
    if variants is None:  # built already, as after the first sweep
        variants = InMemoryNameVariants()
        for connection in realms.connections():
            variants.replace(
                connection.merchant_id, connection.realm_id, [], built_at=NOW - timedelta(days=3)
            )
    return CdcSweep(
        realms=realms,
        checkpoints=checkpoints,
        variants=variants,
        clients=clients,
        changes=changes,  # type: ignore[arg-type]
        clock=SettableClock(NOW),
        answer_limit=limit,
    )


def test_full_answers_are_followed_from_the_newest_change_until_one_is_not_full() -> None:
    # Given 7 changes and CDC answering at most 3 at a time
    realms, checkpoints = InMemoryRealmDirectory(), InMemoryCdcCheckpoints()
    realms.register("m1", "r1")
    cdc = ScriptedCdc(customers(7), limit=3)
    changes = RecordingChanges(applies={"5"})
    # When the sweep runs
    [result] = sweep(Clients({"m1": cdc}), realms, checkpoints, changes, limit=3).sweep_all(lambda: 600.0)
    # Then every change was seen (those at a window's edge twice, harmlessly), in 4 calls, one day back first
    assert sorted({customer for _, customer in changes.seen}, key=int) == [str(n) for n in range(1, 8)]
    assert cdc.calls_made == 4 == result.qbo_calls
    assert cdc.asked[0] == NOW - timedelta(days=1)
    assert (result.outcome, result.applied, result.incomplete) == ("swept", 1, False)
    # And the checkpoint is the newest change, saved after each answer
    assert checkpoints.checkpoint("r1") == datetime.fromisoformat(at(7)) == result.checkpoint


def test_the_next_sweep_resumes_from_the_checkpoint() -> None:
    realms, checkpoints = InMemoryRealmDirectory(), InMemoryCdcCheckpoints()
    realms.register("m1", "r1")
    checkpoints.save_checkpoint("r1", datetime.fromisoformat(at(5)))
    cdc = ScriptedCdc(customers(7), limit=1000)
    changes = RecordingChanges()
    sweep(Clients({"m1": cdc}), realms, checkpoints, changes).sweep_all(lambda: 600.0)
    assert cdc.asked == [datetime.fromisoformat(at(5))]
    assert [customer for _, customer in changes.seen] == ["5", "6", "7"]


def test_a_checkpoint_older_than_cdcs_30_days_is_moved_up_and_the_gap_reported() -> None:
    realms, checkpoints = InMemoryRealmDirectory(), InMemoryCdcCheckpoints()
    realms.register("m1", "r1")
    checkpoints.save_checkpoint("r1", NOW - timedelta(days=45))
    cdc = ScriptedCdc([], limit=1000)
    [result] = sweep(Clients({"m1": cdc}), realms, checkpoints, RecordingChanges()).sweep_all(lambda: 600.0)
    assert result.gap is True
    assert NOW - timedelta(days=30) < cdc.asked[0] < NOW - timedelta(days=29)


def test_a_company_without_name_variants_has_them_built_first_and_a_gap_builds_them_again() -> None:
    # Given a company whose variants were never built, with two customers, one typed with a curly quote
    realms, checkpoints, variants = InMemoryRealmDirectory(), InMemoryCdcCheckpoints(), InMemoryNameVariants()
    realms.register("m1", "r1")
    cdc = ScriptedCdc([], limit=1000)
    curly = {"Id": "7", "GivenName": "Sean", "FamilyName": "O\u2019Brien", "Active": True}
    cdc.listed = [curly, {"Id": "8", "GivenName": "Ann", "FamilyName": "Lee"}]
    # When the sweep runs
    [first] = sweep(
        Clients({"m1": cdc}), realms, checkpoints, RecordingChanges(), variants=variants
    ).sweep_all(lambda: 600.0)
    # Then one listing built them (the curly one only) before the CDC call: 2 calls in all
    built = variants.load("m1", "r1")
    assert built is not None and list(built.customers) == [curly] and built.built_at == NOW
    assert (first.name_variants, first.qbo_calls, cdc.calls_made) == (1, 2, 2)
    # And the next sweep lists nothing again
    [second] = sweep(
        Clients({"m1": cdc}), realms, checkpoints, RecordingChanges(), variants=variants
    ).sweep_all(lambda: 600.0)
    assert (second.name_variants, second.qbo_calls) == (None, 1)
    # But after a gap (over 30 days without a sweep) changes may have been missed: they are built again
    long_ago = InMemoryCdcCheckpoints()
    long_ago.save_checkpoint("r1", NOW - timedelta(days=45))
    [after_gap] = sweep(
        Clients({"m1": cdc}), realms, long_ago, RecordingChanges(), variants=variants
    ).sweep_all(lambda: 600.0)
    assert (after_gap.gap, after_gap.name_variants, after_gap.qbo_calls) == (True, 1, 2)


def test_a_failing_company_keeps_its_checkpoint_and_the_others_are_swept() -> None:
    realms, checkpoints = InMemoryRealmDirectory(), InMemoryCdcCheckpoints()
    realms.register("m1", "r1")
    realms.register("m2", "r2")
    failing, working = ScriptedCdc(customers(2), limit=1000), ScriptedCdc(customers(2), limit=1000)
    failing.fail = True
    results = sweep(
        Clients({"m1": failing, "m2": working}), realms, checkpoints, RecordingChanges()
    ).sweep_all(lambda: 600.0)
    assert [(r.realm_id, r.outcome) for r in results] == [("r1", "failed"), ("r2", "swept")]
    assert checkpoints.checkpoint("r1") is None
    assert checkpoints.checkpoint("r2") is not None


def test_a_company_is_swept_through_any_merchant_whose_connection_works() -> None:
    realms, checkpoints = InMemoryRealmDirectory(), InMemoryCdcCheckpoints()
    realms.register("m1", "r1")
    realms.register("m2", "r1")
    cdc = ScriptedCdc(customers(1), limit=1000)
    [result] = sweep(Clients({"m2": cdc}, broken={"m1"}), realms, checkpoints, RecordingChanges()).sweep_all(
        lambda: 600.0
    )
    assert (result.outcome, cdc.calls_made) == ("swept", 1)


def test_the_sweep_stops_before_the_invocation_runs_out_of_time() -> None:
    realms = InMemoryRealmDirectory()
    realms.register("m1", "r1")
    results = sweep(Clients({}), realms, InMemoryCdcCheckpoints(), RecordingChanges()).sweep_all(lambda: 5.0)
    assert results == []


# -- keep-alive ------------------------------------------------------------------------------------------


class KeepAliveWorld:
    def __init__(self) -> None:
        self.settings = InMemorySettingsRepository()
        self.connections = FakeQboConnections()
        self.state = FakeConnectionState()
        self.refresher = FakeRefresher(self.connections, NOW)
        self.realms = InMemoryRealmDirectory()
        self.keep_alive = KeepAlive(
            merchants=self.settings,
            connections=self.connections,
            connection_state=self.state,
            refresher=self.refresher,
            realms=self.realms,
            clock=SettableClock(NOW),
        )

    def merchant(self, merchant_id: str, **expiry: float) -> None:
        self.settings.ensure_merchant(merchant_id, now=NOW)
        self.connections.stored[merchant_id] = connection(f"r{merchant_id}", NOW, **expiry)


@pytest.mark.parametrize(
    ("rolling_days", "outcome"),
    [(90, "alive"), (61, "alive"), (59, "refreshed"), (1, "refreshed"), (-1, "refreshed")],
)
def test_a_refresh_token_within_60_days_of_its_end_is_refreshed(rolling_days: float, outcome: str) -> None:
    world = KeepAliveWorld()
    world.merchant("m1", rolling_days=rolling_days)
    [check] = world.keep_alive.run(lambda: 600.0)
    assert check.outcome == outcome
    assert world.refresher.refreshed == (["m1"] if outcome == "refreshed" else [])
    assert world.realms.merchants_for_realm("rm1") == ["m1"]


@pytest.mark.parametrize(("hard_days", "expiring"), [(400, False), (31, False), (30, True), (3, True)])
def test_a_hard_expiry_within_30_days_is_reported(hard_days: float, expiring: bool) -> None:
    world = KeepAliveWorld()
    world.merchant("m1", hard_days=hard_days)
    [check] = world.keep_alive.run(lambda: 600.0)
    assert (check.expiring, check.expires_in_days) == (expiring, int(hard_days))


def test_broken_and_disconnected_connections_are_not_refreshed_and_one_failure_stops_nobody() -> None:
    world = KeepAliveWorld()
    for merchant in ("m1", "m2", "m3", "m4", "m5"):
        world.merchant(merchant, rolling_days=10)
    world.state.mark_broken("m1", "invalid_grant")
    world.refresher.dead.add("m2")
    world.refresher.unreachable.add("m3")
    del world.connections.stored["m4"]
    world.realms.register("m4", "old")
    checks = {check.merchant_id: check.outcome for check in world.keep_alive.run(lambda: 600.0)}
    assert checks == {
        "m1": "broken",
        "m2": "broken",
        "m3": "failed",
        "m4": "not_connected",
        "m5": "refreshed",
    }
    assert world.refresher.refreshed == ["m5"]
    assert world.realms.merchants_for_realm("old") == []


@pytest.mark.parametrize(
    ("delta", "days"), [(timedelta(days=12, hours=1), 12), (timedelta(hours=5), 0), (-timedelta(hours=5), -1)]
)
def test_days_until_counts_whole_days_left(delta: timedelta, days: int) -> None:
    assert days_until(NOW + delta, NOW) == days
    assert days_until(None, NOW) is None


# -- Disconnect ------------------------------------------------------------------------------------------


def disconnect_world() -> tuple[QboDisconnect, FakeQboConnections, RecordingRevoker, InMemoryRealmDirectory]:
    connections, revoker, realms = FakeQboConnections(), RecordingRevoker(), InMemoryRealmDirectory()
    flow = QboDisconnect(connections=connections, revoker=revoker, realms=realms, clock=SettableClock(NOW))
    return flow, connections, revoker, realms


def test_disconnect_revokes_at_intuit_then_clears_and_leaves_the_company() -> None:
    flow, connections, revoker, realms = disconnect_world()
    connections.stored["m1"] = connection("r1", NOW)
    realms.register("m1", "r1")
    answer = flow.disconnect("m1")
    assert (answer.status, answer.realm_id) == ("disconnected", "r1")
    assert revoker.revoked == ["refresh-r1"]
    assert connections.stored == {} and realms.connections() == []


def test_disconnect_clears_nothing_when_intuit_cannot_be_reached() -> None:
    flow, connections, revoker, realms = disconnect_world()
    connections.stored["m1"] = connection("r1", NOW)
    realms.register("m1", "r1")
    revoker.down = True
    with pytest.raises(QboTransientError):
        flow.disconnect("m1")
    assert "m1" in connections.stored
    assert realms.merchants_for_realm("r1") == ["m1"]


def test_disconnect_without_a_connection_revokes_nothing() -> None:
    flow, connections, revoker, _ = disconnect_world()
    connections.unreadable.add("m2")
    assert flow.disconnect("m1").status == "not_connected"
    assert flow.disconnect("m2").status == "not_connected"
    assert revoker.revoked == [] and connections.cleared == ["m2"]
