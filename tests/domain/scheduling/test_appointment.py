from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID, uuid4

import pytest

from domain.errors import IllegalTransition, InvalidCommand
from domain.events import Audited
from domain.scheduling.appointment import Appointment, NotYetStarted
from tests.domain.scheduling.replay import replayed
from tests.gwt import given, then_events, then_no_new_events

PRACTICE, CLIENT, CLINICIAN = uuid4(), uuid4(), uuid4()
START = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
END = START + timedelta(minutes=53)
H24 = timedelta(hours=24)


def booked(**overrides: object) -> Appointment:
    values: dict[str, object] = {
        "practice_id": PRACTICE, "client_id": CLIENT, "clinician_id": CLINICIAN,
        "appointment_type": "therapy_session", "modality": "in_person", "starts_at": START, "ends_at": END,
        "booked_at": START - timedelta(days=7),
    }
    values.update(overrides)
    return given(Appointment.book(**values))  # type: ignore[arg-type]


def test_booking_records_the_visit_in_utc() -> None:
    eastern = timezone(timedelta(hours=-5))
    appt = Appointment.book(
        PRACTICE, CLIENT, CLINICIAN, "therapy_session", "telehealth",
        datetime(2026, 3, 10, 10, tzinfo=eastern), datetime(2026, 3, 10, 10, 53, tzinfo=eastern),
        series_id=(series := uuid4()), booked_at=START - timedelta(days=7),
    )
    [event] = appt.collect_events()
    assert isinstance(event, Appointment.Booked)
    assert event.starts_at == START and event.starts_at.utcoffset() == timedelta(0)
    assert event.client_id == CLIENT and event.series_id == series and event.rescheduled_from is None
    assert appt.status == "scheduled" and appt.modality == "telehealth"


def test_a_given_id_is_used() -> None:
    wanted = uuid4()
    assert booked(appointment_id=wanted).id == wanted


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"starts_at": datetime(2026, 3, 10, 15)}, "starts_at"),
        ({"ends_at": START}, "ends_at"),
        ({"ends_at": START - timedelta(minutes=1)}, "ends_at"),
        ({"ends_at": START + timedelta(hours=13)}, "ends_at"),
        ({"modality": "carrier_pigeon"}, "modality"),
        ({"appointment_type": "Therapy Session"}, "appointment_type"),
    ],
)
def test_bad_bookings_are_refused(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidCommand) as info:
        booked(**overrides)
    assert info.value.details["field"] == field


def test_the_full_lifecycle() -> None:
    appt = booked()
    appt.confirm()
    appt.check_in(now=START - timedelta(minutes=10))
    appt.complete(now=END)
    assert then_events(appt) == ["Confirmed", "CheckedIn", "Completed"]
    assert appt.status == "completed" and appt.closed


def test_the_front_desk_may_record_a_completion_without_check_in_but_not_before_the_start() -> None:
    appt = booked()
    with pytest.raises(NotYetStarted):
        appt.complete(now=START - timedelta(seconds=1))
    then_no_new_events(appt)
    appt.complete(now=START)
    assert then_events(appt) == ["Completed"]


def test_a_no_show_is_recorded_only_from_the_start_on() -> None:
    appt = booked()
    appt.confirm()
    appt.collect_events()
    with pytest.raises(NotYetStarted) as info:
        appt.mark_no_show(now=START - timedelta(minutes=1))
    assert isinstance(info.value, IllegalTransition)
    then_no_new_events(appt)
    appt.mark_no_show(now=START)
    assert then_events(appt) == ["MarkedNoShow"] and appt.status == "no_show"


def test_a_checked_in_client_is_no_no_show() -> None:
    appt = booked()
    appt.check_in(now=START)
    appt.collect_events()
    with pytest.raises(IllegalTransition, match="checked_in"):
        appt.mark_no_show(now=END)
    then_no_new_events(appt)


def _completed() -> Appointment:
    appt = booked()
    appt.complete(now=END)
    return given(appt)


@pytest.mark.parametrize(
    "command",
    [
        lambda a: a.confirm(),
        lambda a: a.check_in(now=END),
        lambda a: a.complete(now=END),
        lambda a: a.mark_no_show(now=END),
        lambda a: a.cancel("client", "illness", now=END, late_window=H24),
        lambda a: a.reschedule(uuid4(), "client", "illness", now=END, late_window=H24),
    ],
)
def test_nothing_follows_a_completion(command: object) -> None:
    appt = _completed()
    with pytest.raises(IllegalTransition) as info:
        command(appt)  # type: ignore[operator]
    assert "completed" in info.value.message and info.value.details["status"] == "completed"
    then_no_new_events(appt)


def test_confirming_twice_is_illegal() -> None:
    appt = booked()
    appt.confirm()
    with pytest.raises(IllegalTransition, match="confirmed"):
        appt.confirm()


@pytest.mark.parametrize(
    ("before_start", "late"),
    [
        (timedelta(hours=48), False),
        (timedelta(hours=24), False),
        (timedelta(hours=23, minutes=59), True),
        (timedelta(hours=1), True),
    ],
)
def test_a_cancellation_inside_the_late_window_is_flagged(before_start: timedelta, late: bool) -> None:
    appt = booked()
    appt.cancel("client", "illness", now=START - before_start, late_window=H24)
    [event] = appt.collect_events()
    assert isinstance(event, Appointment.Cancelled)
    assert event.late is late and event.by == "client" and event.at == START - before_start
    assert appt.status == "cancelled" and appt.late is late


def test_the_window_is_the_practice_s() -> None:
    appt = booked()
    appt.cancel("practice", "clinician_unavailable", now=START - timedelta(hours=30), late_window=timedelta(hours=48))
    assert appt.late is True and appt.cancelled_by == "practice"


@pytest.mark.parametrize(
    ("by", "reason_code", "field"),
    [("clinician", "illness", "by"), ("client", "she was sick, see notes", "reason_code"), ("client", "", "reason_code")],
)
def test_a_cancellation_names_a_party_and_a_coded_reason(by: str, reason_code: str, field: str) -> None:
    appt = booked()
    with pytest.raises(InvalidCommand) as info:
        appt.cancel(by, reason_code, now=START - H24, late_window=H24)
    assert info.value.details["field"] == field
    then_no_new_events(appt)


def test_cancelling_twice_is_illegal() -> None:
    appt = booked()
    appt.cancel("client", "illness", now=START - H24, late_window=H24)
    with pytest.raises(IllegalTransition, match="cancelled"):
        appt.cancel("client", "illness", now=START - H24, late_window=H24)


def test_rescheduling_links_the_replacement() -> None:
    old = booked()
    new = Appointment.book(
        PRACTICE, CLIENT, CLINICIAN, "therapy_session", "in_person",
        START + timedelta(days=7), END + timedelta(days=7), rescheduled_from=old.id, booked_at=START,
    )
    old.reschedule(new.id, "client", "schedule_conflict", now=START - timedelta(hours=2), late_window=H24)
    [event] = old.collect_events()
    assert isinstance(event, Appointment.Rescheduled)
    assert event.replacement_id == new.id and event.late is True
    assert old.status == "rescheduled" and old.replacement_id == new.id and new.rescheduled_from == old.id
    with pytest.raises(IllegalTransition, match="rescheduled"):
        old.cancel("client", "illness", now=START - H24, late_window=H24)


def test_an_appointment_does_not_replace_itself() -> None:
    appt = booked()
    with pytest.raises(InvalidCommand):
        appt.reschedule(appt.id, "client", "schedule_conflict", now=START - H24, late_window=H24)
    then_no_new_events(appt)
    with pytest.raises(InvalidCommand):
        booked(appointment_id=(same := uuid4()), rescheduled_from=same)


def test_checked_in_cannot_be_rescheduled_but_can_be_cancelled() -> None:
    appt = booked()
    appt.check_in(now=START)
    with pytest.raises(IllegalTransition, match="checked_in"):
        appt.reschedule(uuid4(), "practice", "clinician_unavailable", now=START, late_window=H24)
    appt.cancel("practice", "clinician_unavailable", now=START, late_window=H24)
    assert appt.status == "cancelled" and appt.late is True


def test_every_event_belongs_to_the_client_s_history_and_carries_no_phi() -> None:
    appt = Appointment.book(PRACTICE, CLIENT, CLINICIAN, "follow_up", "in_person", START, END, booked_at=START - timedelta(days=7))
    appt.confirm()
    appt.check_in(now=START)
    appt.complete(now=END)
    other = Appointment.book(PRACTICE, CLIENT, CLINICIAN, "follow_up", "in_person", START, END, booked_at=START - timedelta(days=7))
    other.cancel("client", "illness", now=START, late_window=H24)
    for e in [*appt.collect_events(), *other.collect_events()]:
        assert isinstance(e, Audited)
        assert type(e).subject_field == "client_id" and e.client_id == CLIENT  # type: ignore[attr-defined]
        assert type(e).phi_fields == ()


def test_every_event_has_its_own_stable_topic() -> None:
    classes = [v for v in vars(Appointment).values() if isinstance(v, type) and issubclass(v, Appointment.Event)]
    topics = [c.TOPIC for c in classes if c is not Appointment.Event]  # type: ignore[attr-defined]
    assert Appointment.TOPIC == "careledger/appointment"
    assert len(topics) == len(set(topics)) == 9
    assert all(t.startswith("careledger/appointment/") for t in topics)


def test_stored_events_rebuild_the_same_appointment() -> None:
    appt = Appointment.book(PRACTICE, CLIENT, CLINICIAN, "follow_up", "telehealth", START, END, booked_at=START - timedelta(days=7))
    replacement = uuid4()
    appt.confirm()
    appt.reschedule(replacement, "practice", "clinician_unavailable", now=START - H24, late_window=H24)
    copy = replayed(appt.collect_events())
    assert isinstance(copy, Appointment) and isinstance(copy.id, UUID)
    assert (copy.id, copy.status, copy.replacement_id, copy.starts_at, copy.late) == (
        appt.id, "rescheduled", replacement, START, False,
    )


def test_an_open_visit_is_flagged_once_a_day_after_it_began() -> None:
    appt = booked()
    assert appt.flag_unrecorded(START + timedelta(hours=23, minutes=59)) is False
    assert appt.flag_unrecorded(START + H24) is True
    assert appt.flag_unrecorded(START + 2 * H24) is False
    [event] = appt.collect_events()
    assert isinstance(event, Appointment.AttendanceUnrecorded) and event.client_id == CLIENT


def test_a_closed_visit_is_never_flagged() -> None:
    appt = booked()
    appt.complete(START + timedelta(hours=1))
    appt.collect_events()
    assert appt.flag_unrecorded(START + 3 * H24) is False
    assert appt.collect_events() == []
