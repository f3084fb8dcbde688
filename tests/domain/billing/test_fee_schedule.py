"""The FeeSchedule aggregate: fees by code and modifier with effective dates (past service dates
keep their price), appointment types mapped to codes, and the charge-on-completion policy."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import uuid4

import pytest

from domain.billing.fee_schedule import FeeSchedule, fee_schedule_id
from domain.errors import InvalidCommand
from tests.gwt import given, then_events, then_no_new_events

AT = datetime(2026, 3, 10, 15, tzinfo=UTC)
BY = uuid4()
D = Decimal


def schedule() -> FeeSchedule:
    return given(FeeSchedule.open(uuid4()))


def test_one_schedule_per_practice() -> None:
    practice = uuid4()
    opened = FeeSchedule.open(practice)
    assert opened.id == fee_schedule_id(practice) == fee_schedule_id(practice)
    assert (opened.practice_id, opened.charge_on_completion, opened.type_codes, opened.fees) == (
        practice, False, {}, {})


def test_the_fee_in_force_on_the_service_date() -> None:
    s = schedule()
    s.set_fee("90837", D("150.00"), date(2026, 1, 1), at=AT, by=BY)
    s.set_fee("90837", D("160.00"), date(2026, 3, 1), at=AT, by=BY)
    s.set_fee("90837", D("175.00"), date(2026, 3, 1), modifier="95", at=AT, by=BY)
    assert then_events(s) == ["FeeSet", "FeeSet", "FeeSet"]
    assert s.fee_for("90837", (), date(2025, 12, 31)) is None
    assert s.fee_for("90837", (), date(2026, 2, 28)) == D("150.00")
    assert s.fee_for("90837", (), date(2026, 3, 1)) == D("160.00")
    assert s.fee_for("90837", ("HO", "95"), date(2026, 3, 5)) == D("175.00")  # the modifier's own fee first
    assert s.fee_for("90837", ("95",), date(2026, 2, 1)) == D("150.00")  # none for 95 yet: the plain fee
    s.set_fee("90837", D("165.00"), date(2026, 3, 1), at=AT, by=BY)  # same start date: replaces
    assert s.fee_for("90837", (), date(2026, 3, 2)) == D("165.00")
    assert [f.amount for f in s.current_fees(date(2026, 3, 2))] == [D("165.00"), D("175.00")]


@pytest.mark.parametrize(("cpt", "amount", "modifier"), [
    ("9083", D("10.00"), None), ("90837", D("0.00"), None), ("90837", D("1.005"), None), ("90837", D(1), "9"),
])
def test_bad_fees_are_refused(cpt: str, amount: Decimal, modifier: str | None) -> None:
    s = schedule()
    with pytest.raises(InvalidCommand):
        s.set_fee(cpt, amount, date(2026, 1, 1), modifier=modifier, at=AT, by=BY)
    then_no_new_events(s)


def test_types_map_to_codes_and_the_policy_changes_once() -> None:
    s = schedule()
    s.map_type("therapy_session", "90837", ["95"], at=AT, by=BY)
    assert (s.type_codes["therapy_session"].cpt, s.type_codes["therapy_session"].modifiers) == ("90837", ("95",))
    with pytest.raises(InvalidCommand):
        s.map_type("intake", None, ["95"], at=AT, by=BY)
    s.map_type("therapy_session", None, [], at=AT, by=BY)
    assert "therapy_session" not in s.type_codes
    s.set_policy(charge_on_completion=True, at=AT, by=BY)
    s.set_policy(charge_on_completion=True, at=AT, by=BY)
    assert then_events(s) == ["TypeCodeSet", "TypeCodeSet", "PolicySet"]
    assert s.charge_on_completion is True
