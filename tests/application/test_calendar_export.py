"""Calendar export: the .ics output parsed back with icalendar, and feed tokens on the real store."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from adapters.clock import FrozenClock
from application import audit
from application.errors import Forbidden, NotFound
from application.scheduling.booking import Booking, SchedulingService
from application.scheduling.calendar_export import (
    CANCELLED_KEPT,
    FEED_AHEAD,
    FEED_PAST,
    CalendarEntry,
    CalendarExportService,
    CalendarFeedService,
    Place,
    render_appointment,
    render_feed,
)
from domain.errors import IllegalTransition
from domain.scheduling.appointment_types import BUILT_IN_TYPES
from domain.scheduling.calendar_feed import calendar_feed_id_for
from domain.scheduling.consents import ConsentRecord
from tests.support import acting_as, open_practice, staff_member

NOW = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)
NAMES = {code: kind.name for code, kind in BUILT_IN_TYPES.items()}
CLIENT_FIRST, CLIENT_LAST = "Zebulon", "Quixote"


def entry(status: str = "scheduled", starts_in: timedelta = timedelta(days=1), **changes: Any) -> CalendarEntry:
    start = NOW + starts_in
    fields: dict[str, Any] = {
        "appointment_id": uuid4(), "appointment_type": "therapy_session", "modality": "telehealth",
        "starts_at": start, "ends_at": start + timedelta(minutes=53), "status": status, "changed_at": NOW,
    }
    return CalendarEntry(**{**fields, **changes})


def events_of(ics: bytes) -> list[Any]:
    return list(Calendar.from_ical(ics).walk("VEVENT"))


def by_uid(ics: bytes) -> dict[str, Any]:
    return {str(e["UID"]): e for e in events_of(ics)}


# --- rendering -----------------------------------------------------------------------------------


def test_one_appointment_round_trips_with_uid_utc_times_and_no_client() -> None:
    new_york = datetime(2026, 3, 10, 6, 0, tzinfo=ZoneInfo("America/New_York"))  # stored times may be any zone
    e = entry(starts_at=new_york, ends_at=new_york + timedelta(minutes=53))
    ics = render_appointment(e, NAMES, NOW, Place("Calm Waters Practice", "Dr Ada Byron"))
    cal = Calendar.from_ical(ics)
    assert str(cal["VERSION"]) == "2.0" and "CareLedger" in str(cal["PRODID"])
    [event] = events_of(ics)
    assert str(event["UID"]) == f"{e.appointment_id}@careledger"
    start, end = event.decoded("DTSTART"), event.decoded("DTEND")
    assert start == datetime(2026, 3, 10, 10, 0, tzinfo=UTC) and end == start + timedelta(minutes=53)
    assert start.utcoffset() == timedelta(0)
    assert b"DTSTART:20260310T100000Z" in ics and b"DTEND:20260310T105300Z" in ics
    assert event.decoded("DTSTAMP") == NOW
    assert str(event["SUMMARY"]) == "Therapy Session (telehealth)"
    assert str(event["STATUS"]) == "TENTATIVE" and event.decoded("SEQUENCE") == 0
    assert str(event["CLASS"]) == "PRIVATE"
    assert str(event["LOCATION"]) == "Telehealth (video visit)"
    description = str(event["DESCRIPTION"])
    assert "Dr Ada Byron" in description and "Calm Waters Practice" in description
    assert str(e.appointment_id) in description


def test_in_person_location_is_the_practice_and_the_feed_form_names_nobody() -> None:
    e = entry(modality="in_person", appointment_type="medication_management")
    [event] = events_of(render_appointment(e, NAMES, NOW, Place("Calm Waters Practice", "Dr Ada Byron")))
    assert str(event["LOCATION"]) == "Calm Waters Practice"
    assert str(event["SUMMARY"]) == "Medication Management (in person)"
    bare = render_appointment(e, NAMES, NOW)
    [event] = events_of(bare)
    assert "LOCATION" not in event and b"Ada" not in bare and b"Calm Waters" not in bare


def test_unknown_type_codes_get_a_readable_summary() -> None:
    [event] = events_of(render_appointment(entry(appointment_type="intake_call"), NAMES, NOW))
    assert str(event["SUMMARY"]) == "Intake call (telehealth)"


@pytest.mark.parametrize(
    ("status", "ical", "transp"),
    [
        ("scheduled", "TENTATIVE", "OPAQUE"),
        ("confirmed", "CONFIRMED", "OPAQUE"),
        ("checked_in", "CONFIRMED", "OPAQUE"),
        ("completed", "CONFIRMED", "OPAQUE"),
        ("no_show", "CONFIRMED", "OPAQUE"),
        ("cancelled", "CANCELLED", "TRANSPARENT"),
        ("rescheduled", "CANCELLED", "TRANSPARENT"),
    ],
)
def test_status_mapping(status: str, ical: str, transp: str) -> None:
    [event] = events_of(render_appointment(entry(status), NAMES, NOW))
    assert str(event["STATUS"]) == ical and str(event["TRANSP"]) == transp


@pytest.mark.parametrize(
    "path",
    [
        ["scheduled", "confirmed", "checked_in", "completed"],
        ["scheduled", "confirmed", "no_show"],
        ["scheduled", "cancelled"],
        ["scheduled", "confirmed", "checked_in", "cancelled"],
        ["scheduled", "rescheduled"],
        ["scheduled", "completed"],
    ],
)
def test_sequence_rises_with_every_change_of_an_appointment(path: list[str]) -> None:
    base = entry()
    sequences = [
        events_of(render_appointment(CalendarEntry(**{**base.__dict__, "status": s}), NAMES, NOW))[0].decoded("SEQUENCE")
        for s in path
    ]
    assert sequences == sorted(set(sequences)) and len(set(sequences)) == len(path)


def test_rescheduled_points_at_the_replacement() -> None:
    replacement = uuid4()
    [event] = events_of(render_appointment(entry("rescheduled", replacement_id=replacement), NAMES, NOW))
    assert str(replacement) in str(event["DESCRIPTION"])
    assert str(event["SUMMARY"]).startswith("Cancelled: ")


def test_feed_window_and_cancelled_appointments() -> None:
    inside = [entry(starts_in=timedelta(days=d)) for d in (-29, 0, 1, 179)]
    outside = [entry(starts_in=-FEED_PAST - timedelta(hours=1)), entry(starts_in=FEED_AHEAD + timedelta(hours=1))]
    fresh_cancel = entry("cancelled", starts_in=timedelta(days=90), changed_at=NOW - timedelta(days=2))
    old_cancel = entry("cancelled", starts_in=timedelta(days=90), changed_at=NOW - CANCELLED_KEPT - timedelta(days=1))
    moved = entry("rescheduled", starts_in=timedelta(days=3), changed_at=NOW - timedelta(days=29))
    ics = render_feed([*outside, old_cancel, fresh_cancel, moved, *reversed(inside)], NAMES, NOW, "Dr Ada Byron")
    cal = Calendar.from_ical(ics)
    assert str(cal["X-WR-CALNAME"]) == "Dr Ada Byron"
    assert cal.decoded("REFRESH-INTERVAL") == timedelta(minutes=15)
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT15M" in ics and b"X-PUBLISHED-TTL:PT15M" in ics
    events = by_uid(ics)
    expected = {f"{e.appointment_id}@careledger" for e in [*inside, fresh_cancel, moved]}
    assert set(events) == expected
    assert str(events[f"{fresh_cancel.appointment_id}@careledger"]["STATUS"]) == "CANCELLED"
    assert str(events[f"{moved.appointment_id}@careledger"]["STATUS"]) == "CANCELLED"
    starts = [e.decoded("DTSTART") for e in events_of(ics)]
    assert starts == sorted(starts)


def test_an_empty_feed_is_still_a_calendar() -> None:
    cal = Calendar.from_ical(render_feed([], NAMES, NOW, "Nobody"))
    assert cal.walk("VEVENT") == [] and str(cal["X-WR-CALNAME"]) == "Nobody"


# --- on the store ----------------------------------------------------------------------------------


class World:
    def __init__(self, container: Any) -> None:
        self.k = container
        self.clock = FrozenClock(datetime.now(UTC).replace(second=0, microsecond=0))
        slug = f"ics-{uuid4().hex[:8]}"
        self.system = audit.system("system:test")
        with audit.acting(self.system):
            self.pid = open_practice(container, "Calm Waters Practice", slug, "America/New_York")
        self.system = audit.system("system:test", practice_id=self.pid)
        with audit.acting(self.system):
            self.clinician = staff_member(container, self.pid, f"ada@{slug}.test", "clinician", "Dr Ada Byron")
            self.other_clinician = staff_member(container, self.pid, f"bob@{slug}.test", "clinician", "Dr Bob")
            self.desk = staff_member(container, self.pid, f"desk@{slug}.test", "front_desk", "Desk")
            self.client = container.clients.register(
                self.pid, "basic",
                {"first_name": CLIENT_FIRST, "last_name": CLIENT_LAST, "date_of_birth": date(1985, 5, 5)},
            ).id
            for kind in ("informed_consent", "telehealth_consent"):
                container.clients.record_consent(self.pid, self.client, ConsentRecord(
                    kind, self.clock.now() - timedelta(days=1), None, f"{CLIENT_FIRST} {CLIENT_LAST}"))
        self.scheduling = SchedulingService(container.store, self.clock)
        self.feeds = CalendarFeedService(container.store, self.clock, self.scheduling)
        self.export = CalendarExportService(
            container.store, self.clock, self.scheduling, self.feeds, container.appointment_book
        )

    def book(self, starts_in: timedelta, modality: str = "telehealth") -> UUID:
        with audit.acting(self.system):
            saved = self.scheduling.book(self.pid, Booking(
                self.client, self.clinician, "therapy_session", self.clock.now() + starts_in, modality,
                allow_outside_hours=True,
            ))
        return saved.id

    def catch_up(self) -> None:
        self.k.runner("appointments").catch_up()


@pytest.fixture
def world(container: Any) -> World:
    return World(container)


def test_the_clinician_feed_follows_the_appointment_book(world: World) -> None:
    kept = world.book(timedelta(days=2))
    cancelled = world.book(timedelta(days=3), "in_person")
    confirmed = world.book(timedelta(hours=2))
    far = world.book(FEED_AHEAD + timedelta(days=2))
    with audit.acting(world.system):
        world.scheduling.confirm(world.pid, confirmed)
        world.scheduling.cancel(world.pid, cancelled, "client", "illness")
    world.catch_up()

    ics = world.export.clinician_feed(world.pid, world.clinician)
    assert CLIENT_FIRST.encode() not in ics and CLIENT_LAST.encode() not in ics
    assert str(world.client).encode() not in ics
    cal = Calendar.from_ical(ics)
    assert str(cal["X-WR-CALNAME"]) == "Dr Ada Byron - Calm Waters Practice (CareLedger)"
    events = by_uid(ics)
    assert set(events) == {f"{a}@careledger" for a in (kept, cancelled, confirmed)}
    assert f"{far}@careledger" not in events
    assert str(events[f"{kept}@careledger"]["STATUS"]) == "TENTATIVE"
    assert str(events[f"{confirmed}@careledger"]["STATUS"]) == "CONFIRMED"
    assert str(events[f"{cancelled}@careledger"]["STATUS"]) == "CANCELLED"
    before = events[f"{confirmed}@careledger"].decoded("SEQUENCE")
    for e in events.values():
        assert e.decoded("DTSTART").utcoffset() == timedelta(0)
        assert "Therapy Session" in str(e["SUMMARY"])

    world.clock.advance(timedelta(hours=3))
    with audit.acting(world.system):
        world.scheduling.complete(world.pid, confirmed)
    world.catch_up()
    after = by_uid(world.export.clinician_feed(world.pid, world.clinician))[f"{confirmed}@careledger"]
    assert after.decoded("SEQUENCE") > before and str(after["STATUS"]) == "CONFIRMED"
    assert world.export.clinician_feed(world.pid, world.other_clinician).count(b"BEGIN:VEVENT") == 0


def test_single_appointment_ics_reads_the_store_not_the_projection(world: World) -> None:
    appointment = world.book(timedelta(days=1), "in_person")  # no catch-up: just booked
    with audit.acting(world.system):
        ics = world.export.appointment_ics(world.pid, appointment)
    [event] = events_of(ics)
    assert str(event["UID"]) == f"{appointment}@careledger"
    assert str(event["LOCATION"]) == "Calm Waters Practice" and "Dr Ada Byron" in str(event["DESCRIPTION"])
    assert CLIENT_FIRST.encode() not in ics and CLIENT_LAST.encode() not in ics
    with audit.acting(world.system), pytest.raises(NotFound):
        world.export.appointment_ics(world.pid, uuid4())


def test_feed_tokens_issue_replace_revoke(world: World, container: Any) -> None:
    with audit.acting(world.system):
        first = world.feeds.issue(world.pid, world.clinician).token
    assert world.feeds.resolve(first) == (world.pid, world.clinician)
    feed_id, secret = first.split(".", 1)
    assert UUID(feed_id) == calendar_feed_id_for(world.clinician) and len(secret) >= 40
    stored = [e.__dict__ for e in container.store.events.get(UUID(feed_id))]
    assert secret not in repr(stored)
    assert any(e.get("token_hash") == hashlib.sha256(secret.encode()).hexdigest() for e in stored)

    with audit.acting(world.system):
        second = world.feeds.issue(world.pid, world.clinician).token
    assert second != first
    assert world.feeds.resolve(second) == (world.pid, world.clinician)
    messages = set()
    for bad in (first, second[:-1] + ("A" if second[-1] != "A" else "B"), f"{uuid4()}.{secret}", "garbage",
                f"{world.client}.{secret}", ""):
        with pytest.raises(NotFound) as refused:
            world.feeds.resolve(bad)
        messages.add(refused.value.message)
    assert len(messages) == 1  # nothing tells a revoked link from one that never existed

    with audit.acting(world.system):
        world.feeds.revoke(world.pid, world.clinician, "lost_device")
    with pytest.raises(NotFound):
        world.feeds.resolve(second)
    with audit.acting(world.system), pytest.raises(IllegalTransition):
        world.feeds.revoke(world.pid, world.clinician, "lost_device")
    with audit.acting(world.system):
        third = world.feeds.issue(world.pid, world.clinician).token
    assert world.export.feed(third).startswith(b"BEGIN:VCALENDAR")


def test_who_may_manage_a_clinicians_feed(world: World) -> None:
    def person(role: str, member_id: UUID) -> Any:
        ctx = audit.AuditContext(actor_id=str(member_id), actor_role=role, practice_id=world.pid)
        return acting_as(ctx, member_id)

    with person("clinician", world.clinician):
        assert world.feeds.issue(world.pid, world.clinician).token
    with person("front_desk", world.desk):
        world.feeds.issue(world.pid, world.clinician)
        world.feeds.revoke(world.pid, world.clinician, "lost_device")
    with person("clinician", world.other_clinician), pytest.raises(Forbidden):
        world.feeds.issue(world.pid, world.clinician)
    with person("client", uuid4()), pytest.raises(Forbidden):
        world.feeds.issue(world.pid, world.clinician)
    with person("front_desk", world.desk), pytest.raises(NotFound):
        world.feeds.issue(world.pid, world.desk)  # not a clinician: there is no calendar to feed
    with person("front_desk", world.desk), pytest.raises(NotFound):
        world.feeds.issue(world.pid, uuid4())
