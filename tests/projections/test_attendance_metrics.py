"""Attendance and schedule metrics: a scripted week with known counts gives exact values, rebooking
follows later bookings and cancellations, local dates follow the practice's clock across
daylight-saving changes, and a rebuild from zero equals the incremental result."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import psycopg
import pytest

from application import audit
from domain.errors import InvalidCommand
from domain.practices.practice import practice_id_for
from domain.scheduling.appointment import Appointment
from domain.scheduling.metrics import (
    MetricValue,
    average_lead_time,
    day_booked,
    day_capacity,
    period_bounds,
)
from domain.scheduling.schedule import ClinicianSchedule
from domain.scheduling.working_time import LocalInterval
from projections.attendance_metrics import AttendanceMetricsView, AttendanceReport

CHICAGO = ZoneInfo("America/Chicago")
NEW_YORK = ZoneInfo("America/New_York")
LATE_WINDOW = timedelta(hours=24)
TABLES = (
    "attendance_practices", "attendance_members", "attendance_hours", "attendance_closures",
    "attendance_appointments", "attendance_days",
)
EIGHT_TO_SIX = [(time(8), time(18))]
LUNCH = [(time(12), time(13))]


class Script:
    """Writes a practice's history through the aggregates, with explicit times."""

    def __init__(self, k: Any, slug: str, zone: ZoneInfo) -> None:
        self.k, self.zone = k, zone
        self.practice_id = practice_id_for(slug)
        with self.acting():
            k.practices.register(f"Practice {slug}", slug, zone.key)

    def acting(self) -> Any:
        return audit.acting(audit.system("system:test", practice_id=self.practice_id))

    def at(self, day: date, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), self.zone)

    def schedule(
        self, hours: dict[int, list[LocalInterval]], breaks: dict[int, list[LocalInterval]] | None = None,
        closed: Sequence[date] = (),
    ) -> UUID:
        clinician = uuid4()
        schedule = ClinicianSchedule.open(self.practice_id, clinician)
        schedule.set_working_hours(hours, breaks)
        for day in closed:
            schedule.close(day)
        self.save(schedule)
        return clinician

    def change(self, clinician: UUID, act: Any) -> None:
        with self.acting():
            schedule = self.k.store.load(ClinicianSchedule.create_id(clinician), ClinicianSchedule)
            act(schedule)
            self.k.store.save(schedule)

    def visit(
        self, clinician: UUID, client: UUID, starts_at: datetime, minutes: int, booked_at: datetime,
        series_id: UUID | None = None, rescheduled_from: UUID | None = None, appointment_id: UUID | None = None,
    ) -> Appointment:
        appointment = Appointment.book(
            self.practice_id, client, clinician, "therapy_session", "in_person", starts_at,
            starts_at + timedelta(minutes=minutes), series_id=series_id, rescheduled_from=rescheduled_from,
            appointment_id=appointment_id, booked_at=booked_at,
        )
        self.save(appointment)
        return appointment

    def save(self, *aggregates: Any) -> None:
        with self.acting():
            self.k.store.save(*aggregates)

    def completed(self, *args: Any, **kwargs: Any) -> Appointment:
        appointment = self.visit(*args, **kwargs)
        appointment.complete(now=appointment.ends_at)
        self.save(appointment)
        return appointment

    def no_show(self, *args: Any, **kwargs: Any) -> Appointment:
        appointment = self.visit(*args, **kwargs)
        appointment.mark_no_show(now=appointment.starts_at + timedelta(minutes=15))
        self.save(appointment)
        return appointment

    def cancel(self, appointment: Appointment, at: datetime, by: str = "client") -> None:
        appointment.cancel(by, "illness", now=at, late_window=LATE_WINDOW)
        self.save(appointment)


def report(k: Any, script: Script, period: str, day: date, clinician: UUID | None = None) -> AttendanceReport:
    k.runner("attendance_metrics").catch_up()
    view: AttendanceMetricsView = k.attendance_metrics
    return view.report(script.practice_id, period, day, clinician)


def value(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def mv(text: str | None, numerator: Any, denominator: Any, benchmark: str, status: str) -> MetricValue:
    return MetricValue(value(text), numerator, denominator, benchmark, status)


# --- the scripted week: Monday 12 to Sunday 18 October 2026, Chicago (CDT all week) ----------------

MON, TUE, WED, THU, FRI, SAT = (date(2026, 10, d) for d in range(12, 18))


class Week:
    """Clinician A: Monday to Friday 08:00-18:00, lunch 12:00-13:00, closed Thursday. Clinician B:
    Monday to Thursday 09:00-17:00, first appointment on Tuesday (so on the schedule from Tuesday)."""

    def __init__(self, k: Any, slug: str = "metrics-week") -> None:
        s = self.s = Script(k, slug, CHICAGO)
        weekdays = {d: EIGHT_TO_SIX for d in range(5)}
        self.a = s.schedule(weekdays, {d: LUNCH for d in range(5)}, closed=[THU])
        self.b = s.schedule({d: [(time(9), time(17))] for d in range(4)})
        a, b = self.a, self.b
        early = s.at(date(2026, 10, 5), 9)  # booked the week before
        c = self.clients = [uuid4() for _ in range(16)]

        s.completed(a, c[1], s.at(MON, 9), 50, early)                      # 1
        s.completed(a, c[2], s.at(MON, 10), 50, early)                     # 2
        s.no_show(a, c[3], s.at(MON, 11), 50, early)                       # 3
        s.cancel(s.visit(a, c[4], s.at(MON, 13), 50, early), s.at(MON, 11))  # 4: late (2 h before)
        s.completed(a, c[5], s.at(MON, 17), 50, early)                     # 5: after prime time
        s.completed(a, c[6], s.at(TUE, 8), 50, early)                      # 6: before prime time
        s.completed(a, c[7], s.at(TUE, 9), 90, early)                      # 7: a 90-minute visit
        s.cancel(s.visit(a, c[8], s.at(TUE, 14), 50, early), s.at(date(2026, 10, 11), 10), by="practice")  # 8
        moved = s.visit(a, c[9], s.at(TUE, 15), 50, early)                 # 9: rescheduled ...
        replacement = uuid4()
        moved.reschedule(replacement, "client", "schedule_conflict", now=s.at(MON, 12), late_window=LATE_WINDOW)
        s.save(moved)
        s.completed(a, c[9], s.at(WED, 15), 50, s.at(MON, 12), rescheduled_from=moved.id,
                    appointment_id=replacement)                            # 10: ... to Wednesday
        s.completed(a, c[10], s.at(WED, 11, 30), 60, early)                # 11: runs into lunch
        s.completed(a, c[13], s.at(THU, 10), 50, early)                    # 15: on the closed day
        s.completed(a, c[1], s.at(FRI, 9), 50, early)                      # 12: C1 again, within 30 days
        s.visit(a, c[11], s.at(FRI, 10), 50, early)                        # 13: still open
        s.visit(a, c[14], s.at(FRI, 10, 30), 30, early)                    # 16: overlaps 13
        s.completed(a, c[12], s.at(SAT, 10), 50, early)                    # 14: no hours on Saturday
        s.completed(b, c[15], s.at(TUE, 9), 60, s.at(date(2026, 10, 6), 9))  # B's only visit this week

        # Bookings made during the week, for later visits
        self.f2 = s.visit(a, c[2], s.at(date(2026, 11, 2), 10), 50, s.at(MON, 11))  # 21 days exactly
        s.visit(a, c[5], s.at(date(2026, 11, 20), 17), 50, s.at(MON, 18))  # 39 days: too late to rebook
        f6 = s.visit(a, c[6], s.at(date(2026, 10, 20), 8), 50, s.at(TUE, 9))  # 6 days 23 hours ...
        s.cancel(f6, s.at(WED, 10))                                        # ... then cancelled
        s.no_show(a, c[7], s.at(date(2026, 10, 27), 10, 30), 50, s.at(TUE, 10, 30))  # 14 days; a no-show still counts
        s.visit(b, c[10], s.at(date(2026, 10, 21), 10), 50, s.at(WED, 12, 30))  # C10 rebooked, with B
        self.leads_a = [timedelta(days=2, hours=3), timedelta(days=21), timedelta(days=39),
                        timedelta(days=6, hours=23), timedelta(days=14)]
        self.lead_b = timedelta(days=6, hours=21, minutes=30)


@pytest.fixture
def week(isolated_container: Any) -> tuple[Any, Week]:
    return isolated_container, Week(isolated_container)


def test_a_scripted_week_gives_exact_values(week: tuple[Any, Week]) -> None:
    k, w = week
    r = report(k, w.s, "week", WED, w.a)
    assert (r.period, r.start, r.end, r.time_zone, r.clinician_id) == ("week", MON, date(2026, 10, 18),
                                                                       "America/Chicago", w.a)
    assert r.counts == {
        "scheduled": 15, "completed": 10, "no_shows": 1, "cancelled": 2, "late_cancelled": 1, "early_cancelled": 1,
        "open": 2, "rebooked": 4, "working_days": 4, "available_minutes": 2160, "booked_minutes": 530,
        "available_prime_minutes": 1260, "booked_prime_minutes": 320, "bookings": 5,
    }
    lead = sum(w.leads_a, timedelta(0))
    assert lead == timedelta(days=83, hours=2)
    assert r.metrics == {
        "kept_visit_rate": mv("66.7", 10, 15, ">= 85%", "alert"),
        "no_show_rate": mv("6.7", 1, 15, "<= 10%", "on_target"),
        "cancellation_rate": mv("13.3", 2, 15, "<= 15%", "on_target"),
        "late_cancellation_rate": mv("6.7", 1, 15, "none in seed 001", "no_benchmark"),
        "rebook_rate": mv("40.0", 4, 10, ">= 75%", "alert"),
        "sessions_per_day": mv("2.5", 10, 4, "5-7 sessions", "alert"),
        "schedule_fill_rate": mv("24.5", 530, 2160, ">= 85%", "alert"),
        "prime_time_utilization": mv("25.4", 320, 1260, ">= 90%", "alert"),
        "average_lead_time": mv("16.6", Decimal("83.08333333333333333333333333"), 5, "7-14 days", "watch"),
    }
    assert r.metrics["average_lead_time"] == average_lead_time(lead, 5)


def test_the_day_month_and_practice_views_of_the_same_history(week: tuple[Any, Week]) -> None:
    k, w = week
    monday = report(k, w.s, "day", MON, w.a)
    assert (monday.start, monday.end) == (MON, MON)
    assert {c: monday.counts[c] for c in ("scheduled", "completed", "no_shows", "late_cancelled", "working_days",
                                          "available_minutes", "booked_minutes", "available_prime_minutes",
                                          "booked_prime_minutes", "bookings")} == {
        "scheduled": 5, "completed": 3, "no_shows": 1, "late_cancelled": 1, "working_days": 1,
        "available_minutes": 540, "booked_minutes": 200, "available_prime_minutes": 420, "booked_prime_minutes": 150,
        "bookings": 3,
    }
    assert monday.metrics["average_lead_time"] == mv("20.7", Decimal("62.125"), 3, "7-14 days", "watch")
    thursday = report(k, w.s, "day", THU, w.a)  # closed: the visit counts, the time does not
    assert (thursday.counts["completed"], thursday.counts["working_days"], thursday.counts["booked_minutes"]) == (1, 0, 0)
    assert thursday.metrics["sessions_per_day"] == mv(None, 1, 0, "5-7 sessions", "no_data")

    october = report(k, w.s, "month", date(2026, 10, 31), w.a)
    assert (october.start, october.end) == (date(2026, 10, 1), date(2026, 10, 31))
    assert {c: october.counts[c] for c in ("scheduled", "completed", "no_shows", "cancelled", "late_cancelled")} == {
        "scheduled": 17, "completed": 10, "no_shows": 2, "cancelled": 3, "late_cancelled": 1,
    }
    assert october.counts["working_days"] == 14  # from Monday 12th (the first visit), less the closed Thursday

    practice = report(k, w.s, "week", SAT)
    assert practice.clinician_id is None
    assert practice.counts == {
        "scheduled": 16, "completed": 11, "no_shows": 1, "cancelled": 2, "late_cancelled": 1, "early_cancelled": 1,
        "open": 2, "rebooked": 4, "working_days": 7, "available_minutes": 3600, "booked_minutes": 590,
        "available_prime_minutes": 2700, "booked_prime_minutes": 380, "bookings": 6,
    }
    m = practice.metrics
    assert (m["kept_visit_rate"].value, m["no_show_rate"].value, m["cancellation_rate"].value) == (
        Decimal("68.8"), Decimal("6.3"), Decimal("12.5"))
    assert (m["rebook_rate"].value, m["sessions_per_day"].value) == (Decimal("36.4"), Decimal("1.6"))
    assert (m["schedule_fill_rate"].value, m["prime_time_utilization"].value) == (Decimal("16.4"), Decimal("14.1"))
    assert m["average_lead_time"] == average_lead_time(sum(w.leads_a, w.lead_b), 6)
    # B joined the schedule on Tuesday: Monday is none of B's working days.
    b_week = report(k, w.s, "week", MON, w.b)
    assert (b_week.counts["working_days"], b_week.counts["available_minutes"]) == (3, 1440)


def test_rebooking_follows_later_bookings_and_cancellations(week: tuple[Any, Week]) -> None:
    k, w = week
    s = w.s
    assert report(k, s, "week", MON, w.a).metrics["rebook_rate"].numerator == 4
    s.cancel(w.f2, s.at(date(2026, 10, 20), 9))  # C2's follow-up is cancelled: Monday's visit is no longer rebooked
    after_cancel = report(k, s, "week", MON, w.a)
    assert after_cancel.metrics["rebook_rate"] == mv("30.0", 3, 10, ">= 75%", "alert")
    assert report(k, s, "day", MON, w.a).counts["rebooked"] == 1  # only C1's Monday visit now
    # C5 books again, within 30 days this time (booked the week after, so this week's lead times stay)
    s.visit(w.a, w.clients[5], s.at(date(2026, 11, 10), 9), 50, s.at(date(2026, 10, 19), 9))
    again = report(k, s, "week", MON, w.a)
    assert again.metrics["rebook_rate"] == mv("40.0", 4, 10, ">= 75%", "alert")
    assert again.counts["bookings"] == 5
    # A later visit that is not "later": one starting before the completed visit never rebooks it.
    s.visit(w.a, w.clients[12], s.at(date(2026, 10, 16), 16), 30, s.at(date(2026, 10, 19), 9))
    assert report(k, s, "week", MON, w.a).counts["rebooked"] == 4
    # The edge of the window: exactly 720 hours after the start still counts, a minute more does not.
    c9_visit = s.at(WED, 15).astimezone(UTC)  # real hours: the clocks go back on 1 November
    edge = s.visit(w.b, w.clients[9], c9_visit + timedelta(hours=720, minutes=1), 30, s.at(date(2026, 10, 19), 9))
    assert report(k, s, "week", MON, w.a).counts["rebooked"] == 4
    s.cancel(edge, s.at(date(2026, 10, 20), 9))
    s.visit(w.b, w.clients[9], c9_visit + timedelta(hours=720), 30, s.at(date(2026, 10, 19), 9))
    assert report(k, s, "week", MON, w.a).counts["rebooked"] == 5


def test_schedule_changes_recompute_booked_time(week: tuple[Any, Week]) -> None:
    k, w = week
    s = w.s
    before = report(k, s, "week", MON, w.a).counts
    s.change(w.a, lambda sched: sched.reopen(THU))  # Thursday's 50-minute visit now lies in working time
    reopened = report(k, s, "week", MON, w.a).counts
    assert (reopened["working_days"], reopened["available_minutes"], reopened["booked_minutes"]) == (
        5, before["available_minutes"] + 540, before["booked_minutes"] + 50)
    assert reopened["available_prime_minutes"] == before["available_prime_minutes"] + 420
    s.change(w.a, lambda sched: sched.add_holiday(10, 12))  # Monday 12 October, every year
    holiday = report(k, s, "week", MON, w.a).counts
    assert (holiday["working_days"], holiday["booked_minutes"]) == (4, reopened["booked_minutes"] - 200)
    s.change(w.a, lambda sched: sched.remove_holiday(10, 12))
    assert report(k, s, "week", MON, w.a).counts == reopened


def test_a_series_is_one_booking_and_after_the_fact_records_have_no_lead_time(isolated_container: Any) -> None:
    k = isolated_container
    s = Script(k, "metrics-series", CHICAGO)
    clinician = s.schedule({d: EIGHT_TO_SIX for d in range(5)})
    client, series = uuid4(), uuid4()
    booked = s.at(MON, 9)
    for week in range(4):  # weekly, booked in one go on Monday: one booking, 7 days ahead
        s.visit(clinician, client, s.at(date(2026, 10, 19) + timedelta(weeks=week), 10), 50, booked, series_id=series)
    s.completed(clinician, uuid4(), s.at(MON, 8), 50, s.at(MON, 9))  # recorded after the fact
    r = report(k, s, "week", MON, clinician)
    assert r.metrics["average_lead_time"] == mv("7.0", Decimal("7.041666666666666666666666667"), 1, "7-14 days",
                                                 "on_target")
    # An earlier occurrence added to the series later becomes its first: still one booking.
    s.visit(clinician, client, s.at(date(2026, 10, 14), 10), 50, booked, series_id=series)
    r = report(k, s, "week", MON, clinician)
    assert (r.counts["bookings"], r.metrics["average_lead_time"].numerator) == (1, Decimal("2.041666666666666666666666667"))


def test_local_dates_follow_the_practice_clock_across_daylight_saving(isolated_container: Any) -> None:
    """New York: clocks go forward at 02:00 on Sunday 8 March 2026 and back on Sunday 1 November."""
    k = isolated_container
    s = Script(k, "metrics-dst", NEW_YORK)
    clinician = s.schedule({6: [(time(1), time(4))], 0: [(time(9), time(17))]})
    c = uuid4()
    booked = s.at(date(2026, 2, 20), 12)
    utc = UTC
    s.completed(clinician, c, datetime(2026, 3, 8, 4, 30, tzinfo=utc), 50, booked)   # Sat 7th 23:30 EST
    s.completed(clinician, c, datetime(2026, 3, 8, 6, 30, tzinfo=utc), 60, booked)   # Sun 01:30 EST - 03:30 EDT
    s.completed(clinician, c, datetime(2026, 3, 9, 3, 30, tzinfo=utc), 50, booked)   # Sun 8th 23:30 EDT
    s.no_show(clinician, c, datetime(2026, 3, 9, 4, 30, tzinfo=utc), 50, booked)     # Mon 9th 00:30 EDT
    s.cancel(s.visit(clinician, c, datetime(2026, 3, 16, 3, tzinfo=utc), 50, booked),
             datetime(2026, 3, 1, tzinfo=utc))                                       # Sun 15th 23:00 EDT
    s.completed(clinician, c, datetime(2026, 3, 16, 4, 15, tzinfo=utc), 50, booked)  # Mon 16th 00:15 EDT
    s.completed(clinician, c, datetime(2026, 11, 1, 5, 30, tzinfo=utc), 30, booked)  # 01:30 EDT, the first one
    s.completed(clinician, c, datetime(2026, 11, 1, 6, 30, tzinfo=utc), 60, booked)  # 01:30 EST, the second

    before = report(k, s, "week", date(2026, 3, 8), clinician)
    assert (before.start, before.end) == (date(2026, 3, 2), date(2026, 3, 8))
    assert {c: before.counts[c] for c in ("scheduled", "completed", "working_days", "available_minutes",
                                          "booked_minutes", "available_prime_minutes")} == {
        "scheduled": 3, "completed": 3, "working_days": 1, "available_minutes": 120, "booked_minutes": 60,
        "available_prime_minutes": 0,
    }  # on the schedule from Saturday 7th; Sunday 01:00-04:00 lasts two hours that night
    assert before.metrics["prime_time_utilization"].status == "no_data"
    spring = report(k, s, "day", date(2026, 3, 8), clinician)
    assert (spring.counts["scheduled"], spring.counts["available_minutes"], spring.counts["booked_minutes"]) == (2, 120, 60)

    after = report(k, s, "week", date(2026, 3, 9), clinician)
    assert {c: after.counts[c] for c in ("scheduled", "completed", "no_shows", "cancelled", "working_days",
                                         "available_minutes", "available_prime_minutes", "booked_minutes")} == {
        "scheduled": 2, "completed": 0, "no_shows": 1, "cancelled": 1, "working_days": 2,
        "available_minutes": 480 + 180, "available_prime_minutes": 480, "booked_minutes": 0,
    }
    assert report(k, s, "day", date(2026, 3, 9), clinician).counts["scheduled"] == 1
    assert report(k, s, "day", date(2026, 3, 16), clinician).counts["completed"] == 1

    autumn = report(k, s, "day", date(2026, 11, 1), clinician)
    assert (autumn.counts["scheduled"], autumn.counts["available_minutes"], autumn.counts["booked_minutes"]) == (
        2, 240, 90)  # 01:00 EDT to 04:00 EST is four hours; both 01:30s are on the 1st


def snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    with psycopg.connect(url) as conn:
        return {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in TABLES}


def test_rebuild_from_zero_equals_incremental(week: tuple[Any, Week]) -> None:
    k, w = week
    s = w.s
    runner = k.runner("attendance_metrics")
    runner.reset()
    runner.batch_size = 7  # many small batches, cut in arbitrary places
    runner.catch_up()
    s.cancel(w.f2, s.at(date(2026, 10, 20), 9))
    s.change(w.a, lambda sched: sched.reopen(THU))
    s.change(w.b, lambda sched: sched.add_holiday(10, 14))
    s.visit(w.a, w.clients[5], s.at(date(2026, 11, 10), 9), 50, s.at(date(2026, 10, 19), 9))
    series = uuid4()
    for i in range(3):
        s.visit(w.b, w.clients[15], s.at(date(2026, 10, 20) + timedelta(weeks=i), 9), 50, s.at(TUE, 10),
                series_id=series)
    runner.catch_up()
    s.change(w.a, lambda sched: sched.set_working_hours({d: [(time(9), time(17))] for d in range(4)}))
    s.change(w.b, lambda sched: sched.remove_holiday(10, 14))
    runner.catch_up()
    incremental = snapshot(k.database_url)
    assert len(incremental["attendance_appointments"]) == 26
    assert any(row for row in incremental["attendance_days"])
    shown = k.attendance_metrics.report(s.practice_id, "month", MON)

    runner.batch_size = 500
    assert runner.rebuild() == runner.status().head
    assert snapshot(k.database_url) == incremental
    assert k.attendance_metrics.report(s.practice_id, "month", MON) == shown


# --- the pure helpers the read model relies on --------------------------------------------------------


def test_periods_contain_the_date_they_are_asked_for() -> None:
    assert period_bounds("day", THU) == (THU, THU)
    assert period_bounds("week", date(2026, 10, 18)) == (MON, date(2026, 10, 18))  # a Sunday ends its week
    assert period_bounds("month", date(2028, 2, 29)) == (date(2028, 2, 1), date(2028, 2, 29))
    assert period_bounds("month", date(2026, 12, 1)) == (date(2026, 12, 1), date(2026, 12, 31))
    for period, day in (("year", MON), ("month", date(9999, 12, 1))):
        with pytest.raises(InvalidCommand):
            period_bounds(period, day)


def test_booked_time_is_the_union_of_visits_within_working_time() -> None:
    hours, breaks = ((time(8), time(18)),), ((time(12), time(13)),)
    assert day_capacity(MON, hours, breaks, CHICAGO.key) == (540, 420)
    visits = [(datetime.combine(MON, time(h, m), CHICAGO), datetime.combine(MON, time(h2, m2), CHICAGO))
              for h, m, h2, m2 in ((7, 30, 8, 30), (8, 0, 9, 0), (11, 30, 13, 30), (16, 45, 18, 30))]
    # 08:00-09:00 once, 11:30-12:00 and 13:00-13:30 around lunch, 16:45-18:00; prime is 09:00-17:00
    assert day_booked(MON, hours, breaks, CHICAGO.key, visits) == (60 + 60 + 75, 60 + 15)
    assert day_booked(FRI, hours, breaks, CHICAGO.key, visits) == (0, 0)  # visits on another date
    # On the spring-forward night the hour 02:00-03:00 does not exist: 01:00-03:30 lasts 1.5 hours.
    spring = date(2026, 3, 8)
    assert day_capacity(spring, ((time(1), time(3, 30)),), ((time(2), time(2, 30)),), NEW_YORK.key) == (90, 0)
