"""A supervision session: logged with checked hours, format and topics, edited until the named
supervisor signs it, signed once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest

from domain.errors import IllegalTransition, InvalidCommand
from domain.supervision.session import NotTheSupervisor, SupervisionSession
from tests.gwt import given, then_events, then_no_new_events

PRACTICE, SUPERVISEE, SUPERVISOR = uuid4(), uuid4(), uuid4()
TODAY = date(2026, 3, 10)
NOW = datetime(2026, 3, 10, 18, tzinfo=UTC)


def log(**overrides: Any) -> SupervisionSession:
    values: dict[str, Any] = {
        "practice_id": PRACTICE, "supervisee_id": SUPERVISEE, "supervisor_id": SUPERVISOR,
        "session_date": date(2026, 3, 9), "hours": Decimal("1.5"), "format": "individual",
        "topics": ["ethics", " treatment planning "], "today": TODAY, "logged_at": NOW, "by": SUPERVISEE,
    }
    values.update(overrides)
    return SupervisionSession.log(**values)


def test_logging_records_every_field() -> None:
    session = log()
    [event] = session.collect_events()
    assert isinstance(event, SupervisionSession.Logged)
    assert event.TOPIC == "careledger/supervision-session/logged"
    assert (event.practice_id, event.supervisee_id, event.supervisor_id, event.session_date, event.hours,
            event.format, event.topics, event.logged_at, event.by) == (
        PRACTICE, SUPERVISEE, SUPERVISOR, date(2026, 3, 9), Decimal("1.5"), "individual",
        ["ethics", "treatment planning"], NOW, SUPERVISEE)
    assert event.phi_fields == () and event.subject_field is None
    assert session.signed is False and session.signed_at is None


def test_a_given_id_is_kept() -> None:
    sid = uuid4()
    assert log(session_id=sid).id == sid


@pytest.mark.parametrize(("overrides", "field"), [
    ({"hours": Decimal(0)}, "hours"),
    ({"hours": Decimal("-1")}, "hours"),
    ({"hours": Decimal("8.25")}, "hours"),
    ({"hours": Decimal("0.1")}, "hours"),
    ({"hours": Decimal("Infinity")}, "hours"),
    ({"format": "triadic"}, "format"),
    ({"topics": ["x" * 81]}, "topics"),
    ({"topics": [" "]}, "topics"),
    ({"topics": [f"t{i}" for i in range(11)]}, "topics"),
    ({"session_date": TODAY + timedelta(days=1)}, "session_date"),
    ({"supervisor_id": SUPERVISEE}, "supervisor_id"),
])
def test_bad_input_is_refused(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidCommand) as e:
        log(**overrides)
    assert e.value.details["field"] == field


@pytest.mark.parametrize("hours", [Decimal("0.25"), Decimal("8"), Decimal("3.75")])
def test_quarter_hours_up_to_eight(hours: Decimal) -> None:
    assert log(hours=hours).hours == hours


def test_today_is_allowed() -> None:
    assert log(session_date=TODAY).session_date == TODAY


def test_editing_before_signing() -> None:
    session = given(log())
    later = NOW + timedelta(hours=1)
    assert session.edit(today=TODAY, at=later, by=SUPERVISOR, hours=Decimal(2), format="group") is True
    [event] = session.collect_events()
    assert isinstance(event, SupervisionSession.Edited)
    assert event.TOPIC == "careledger/supervision-session/edited"
    assert (event.session_date, event.hours, event.format, event.topics, event.at, event.by) == (
        date(2026, 3, 9), Decimal(2), "group", ["ethics", "treatment planning"], later, SUPERVISOR)
    assert session.edit(today=TODAY, at=later, by=SUPERVISOR, hours=Decimal("2.00")) is False
    then_no_new_events(session)


def test_a_bad_edit_changes_nothing() -> None:
    session = given(log())
    with pytest.raises(InvalidCommand):
        session.edit(today=TODAY, at=NOW, by=SUPERVISEE, hours=Decimal("1.5"), format="seminar")
    with pytest.raises(InvalidCommand):
        session.edit(today=TODAY, at=NOW, by=SUPERVISEE, session_date=TODAY + timedelta(days=2))
    then_no_new_events(session)
    assert (session.hours, session.format, session.session_date) == (Decimal("1.5"), "individual", date(2026, 3, 9))


def test_only_the_named_supervisor_signs_once() -> None:
    session = given(log())
    with pytest.raises(NotTheSupervisor):
        session.sign(SUPERVISEE, NOW)
    with pytest.raises(NotTheSupervisor):
        session.sign(uuid4(), NOW)
    then_no_new_events(session)
    session.sign(SUPERVISOR, NOW + timedelta(days=1))
    [event] = session.collect_events()
    assert isinstance(event, SupervisionSession.Signed)
    assert event.TOPIC == "careledger/supervision-session/signed"
    assert (event.by, event.at) == (SUPERVISOR, NOW + timedelta(days=1))
    assert session.signed and session.signed_by == SUPERVISOR
    with pytest.raises(IllegalTransition):
        session.sign(SUPERVISOR, NOW + timedelta(days=2))
    then_no_new_events(session)


def test_a_signed_session_is_not_edited() -> None:
    session = log()
    session.sign(SUPERVISOR, NOW)
    assert then_events(session) == ["Logged", "Signed"]
    with pytest.raises(IllegalTransition):
        session.edit(today=TODAY, at=NOW, by=SUPERVISOR, hours=Decimal(1))
    then_no_new_events(session)
    assert session.hours == Decimal("1.5")


def test_replay() -> None:
    session = log()
    session.edit(today=TODAY, at=NOW, by=SUPERVISEE, topics=["risk assessment"])
    session.sign(SUPERVISOR, NOW)
    replayed = None
    for e in session.collect_events():
        replayed = e.mutate(replayed)
    assert replayed is not None
    assert (replayed.topics, replayed.signed_by, replayed.signed_at) == (["risk assessment"], SUPERVISOR, NOW)
