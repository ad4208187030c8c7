"""Who holds a DisplayName decides what a 6240 on create leads to (domain/name_collision.py)."""

from __future__ import annotations

import pytest

from customer_sync.domain.name_collision import (
    FlagInactiveHolder,
    FlagUnmatchedHolder,
    RetryWithSuffix,
    customers_holding,
    decide_collision,
)


def customer(customer_id: str, display_name: str = "Ann Lee", *, active: bool = True) -> dict[str, object]:
    return {"Id": customer_id, "DisplayName": display_name, "Active": active, "SyncToken": "0"}


def job(customer_id: str, *, active: bool = True, **flags: object) -> dict[str, object]:
    return {**customer(customer_id, active=active), "Job": True, "ParentRef": {"value": "1"}, **flags}


@pytest.mark.parametrize(
    ("found", "claimed", "expected"),
    [
        pytest.param([], set(), RetryWithSuffix, id="nobody among customers: a vendor or employee holds it"),
        pytest.param([customer("3", active=False)], set(), FlagInactiveHolder, id="an inactive customer"),
        pytest.param([customer("3")], set(), FlagUnmatchedHolder, id="an active customer nobody linked"),
        pytest.param([customer("3")], {"3"}, RetryWithSuffix, id="an active customer linked to someone else"),
        pytest.param(
            [customer("3"), customer("4", active=False)], {"3"}, FlagInactiveHolder, id="inactive wins"
        ),
        pytest.param(
            [customer("3", "Ann Leeson")], set(), RetryWithSuffix, id="a different name is no holder"
        ),
        pytest.param([customer("3", " ann LEE ")], set(), FlagUnmatchedHolder, id="case and spaces ignored"),
        pytest.param([job("3")], set(), RetryWithSuffix, id="a job holds it: never a candidate"),
        pytest.param([job("3", active=False)], set(), RetryWithSuffix, id="an inactive job holds it"),
        pytest.param([job("3", IsProject=True)], set(), RetryWithSuffix, id="a project holds it"),
    ],
)
def test_the_holder_decides(found, claimed, expected):
    # Given the customers a DisplayName query returned and which are linked to other PaySimple customers
    holders = customers_holding("Ann Lee", found)
    # When the collision is decided, then the outcome is the table's
    assert isinstance(decide_collision(holders, claimed_ids=claimed), expected)
