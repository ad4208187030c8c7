"""Drift: what a person changed in QBO after our last write, and what the next PaySimple save does with it
(domain/drift.py), read as tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from customer_sync.domain.drift import changes_over_drift, detect_drift
from customer_sync.models.history import FieldChange
from customer_sync.models.links import DriftedField

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SNAPSHOT: dict[str, Any] = {
    "GivenName": "Ann",
    "FamilyName": "Lee",
    "PrimaryPhone": {"FreeFormNumber": "3035550101"},
    "Notes": "",
    "BillAddr": {"Line1": "1 Main St", "City": "Denver", "Country": "US"},
}
IN_QBO: dict[str, Any] = {
    "Id": "7",
    "SyncToken": "3",
    "GivenName": "Ann",
    "FamilyName": "Lee",
    "PrimaryPhone": {"FreeFormNumber": "3035550101"},
    "BillAddr": {"Id": "9", "Line1": "1 Main St", "City": "Denver", "Country": "USA", "Lat": "INVALID"},
    "Active": True,
}


def drifted(field: str, ours: Any, theirs: Any, at: datetime = NOW) -> DriftedField:
    return DriftedField(field=field, ours=ours, theirs=theirs, detected_at=at)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        pytest.param({}, [], id="nothing changed"),
        pytest.param(
            {"BillAddr": {**IN_QBO["BillAddr"], "Lat": "39.7"}}, [], id="QBO's own extras are no edit"
        ),
        pytest.param(
            {"Notes": "called twice"}, [drifted("Notes", "", "called twice")], id="a field we left empty"
        ),
        pytest.param(
            {"PrimaryPhone": {"FreeFormNumber": "7205550199"}},
            [drifted("PrimaryPhone", {"FreeFormNumber": "3035550101"}, {"FreeFormNumber": "7205550199"})],
            id="a phone",
        ),
        pytest.param(
            {"GivenName": "Annie", "FamilyName": "Lee-Smith"},
            [drifted("GivenName", "Ann", "Annie"), drifted("FamilyName", "Lee", "Lee-Smith")],
            id="the names",
        ),
        pytest.param({"GivenName": None}, [drifted("GivenName", "Ann", "")], id="a value removed"),
        pytest.param({"Active": False}, [], id="made inactive: a flag of its own, not drift"),
        pytest.param(
            {"Notes": "card 4111 1111 1111 1111"},
            [drifted("Notes", "", "card [redacted]")],
            id="what QBO holds is scrubbed before it is kept",
        ),
    ],
)
def test_a_persons_edit_of_a_field_we_write_is_drift(
    edit: dict[str, Any], expected: list[DriftedField]
) -> None:
    # Given the snapshot of our last write and QBO's record after a person's edit
    current = {**IN_QBO, **edit}
    # When drift is detected, Then each field we write that QBO now holds otherwise is drift
    assert detect_drift(SNAPSHOT, current, earlier=[], now=NOW) == expected


def test_drift_seen_before_keeps_when_it_was_first_seen_unless_it_changed_again() -> None:
    earlier = [drifted("Notes", "", "called", NOW - timedelta(days=2)), drifted("GivenName", "Ann", "Annie")]
    current = {**IN_QBO, "Notes": "called", "GivenName": "Anne"}

    drift = detect_drift(SNAPSHOT, current, earlier=earlier, now=NOW + timedelta(days=1))

    assert [(entry.field, entry.theirs, entry.detected_at) for entry in drift] == [
        ("GivenName", "Anne", NOW + timedelta(days=1)),
        ("Notes", "called", NOW - timedelta(days=2)),
    ]


def test_a_field_reverted_by_the_person_is_no_longer_drift() -> None:
    earlier = [drifted("GivenName", "Ann", "Annie")]

    assert detect_drift(SNAPSHOT, IN_QBO, earlier=earlier, now=NOW) == []


PAYLOAD = {key: value for key, value in SNAPSHOT.items()}


@pytest.mark.parametrize(
    ("drift", "payload", "changes", "overwritten", "kept"),
    [
        pytest.param(
            [drifted("GivenName", "Ann", "Annie")],
            PAYLOAD,
            {"GivenName": FieldChange(before="Annie", after="Ann")},
            ("GivenName",),
            (),
            id="PaySimple unchanged: its value still wins",
        ),
        pytest.param(
            [drifted("GivenName", "Ann", "Annie")],
            {**PAYLOAD, "GivenName": "Anna"},
            {"GivenName": FieldChange(before="Annie", after="Anna")},
            ("GivenName",),
            (),
            id="PaySimple changed too: before is what QBO holds",
        ),
        pytest.param(
            [drifted("GivenName", "Ann", "Anna")],
            {**PAYLOAD, "GivenName": "Anna"},
            {},
            (),
            (),
            id="QBO already holds PaySimple's new value",
        ),
        pytest.param(
            [drifted("Notes", "", "called twice")],
            PAYLOAD,
            {},
            (),
            (drifted("Notes", "", "called twice"),),
            id="a field PaySimple has nothing for and we never wrote: kept",
        ),
        pytest.param(
            [drifted("PrimaryPhone", {"FreeFormNumber": "3035550101"}, {"FreeFormNumber": "7205550199"})],
            {**PAYLOAD, "PrimaryPhone": {"FreeFormNumber": ""}},
            {
                "PrimaryPhone": FieldChange(
                    before={"FreeFormNumber": "7205550199"}, after={"FreeFormNumber": ""}
                )
            },
            ("PrimaryPhone",),
            (),
            id="PaySimple cleared a value we wrote: cleared over the edit",
        ),
        pytest.param(
            [drifted("Fax", {"FreeFormNumber": "1"}, {"FreeFormNumber": "2"})],
            PAYLOAD,
            {},
            (),
            (),
            id="a field no longer mapped is not ours any more",
        ),
        pytest.param(
            [],
            {**PAYLOAD, "Notes": "vip"},
            {"Notes": FieldChange(before="", after="vip")},
            (),
            (),
            id="no drift: the plain diff",
        ),
    ],
)
def test_the_next_paysimple_save_overwrites_drift(
    drift: list[DriftedField],
    payload: dict[str, Any],
    changes: dict[str, FieldChange],
    overwritten: tuple[str, ...],
    kept: tuple[DriftedField, ...],
) -> None:
    # Given our snapshot, the drift recorded since, and the payload of a new PaySimple save
    # When the save's changes are worked out
    over = changes_over_drift(SNAPSHOT, drift, payload)
    # Then they are the table's
    assert (over.changes, over.overwritten, over.kept) == (changes, overwritten, kept)
