"""Attendance and schedule metrics (seed 001, Module 7, categories 1 and 5) per clinician and
practice, for a day, an ISO week or a month of the practice's local dates.

The definitions live in `domain.scheduling.metrics`; this read model keeps what they need:
- `attendance_appointments`: one fact per appointment (local date of its start and of its
  booking, times, coarse status, late flag, `rebooked`, `lead_counted`);
- `attendance_days`: per clinician and local date, the counts of the appointments starting that
  day, the minutes of working time they cover and the lead times of the bookings made that day.
  A day row is recomputed from its facts (never adjusted by +1/-1) whenever one of them, or the
  clinician's schedule, changes; it exists while at least one fact starts or was booked that day;
- the schedule as the metrics see it (`attendance_members`, `attendance_hours` versions,
  `attendance_closures`) and each practice's time zone.

Events are applied per batch: facts are folded in memory, then `flush` writes them and derives
what depends on other appointments (the rebook flag: a later booking or cancellation of the same
client flips the flags of the completed visits of the 30 days before it; the first occurrence of
a series) before recomputing the touched day rows. The final tables depend only on the events,
not on where batches were cut, so a rebuild equals the incremental result.

A query is one statement (so one snapshot: day rows and the schedule they were computed with
agree): it sums at most 31 day rows per clinician and fetches the schedule, from which the working
time of the period is derived; its cost does not grow with the history.
"""

from __future__ import annotations

import builtins
import json
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from domain.identity.membership import Membership
from domain.practices.practice import Practice
from domain.scheduling.appointment import Appointment, AppointmentEvent
from domain.scheduling.metrics import (
    REBOOK_WINDOW,
    MetricValue,
    average_lead_time,
    cancellation_rate,
    day_booked,
    day_capacity,
    kept_visit_rate,
    late_cancellation_rate,
    no_show_rate,
    period_bounds,
    prime_time_utilization,
    rebook_rate,
    schedule_fill_rate,
    sessions_per_working_day,
)
from domain.scheduling.schedule import ClinicianSchedule
from domain.scheduling.working_time import LocalInterval, hours_from_payload, zone
from projections.base import View

FALLBACK_ZONE = "UTC"  # only for a practice whose registration this view never saw
QUALIFYING = ("open", "completed", "no_show")  # statuses that count as a later visit for rebooking
SCHEDULE_EVENTS = (
    ClinicianSchedule.WorkingHoursSet, ClinicianSchedule.ClosureAdded, ClinicianSchedule.ClosureRemoved,
    ClinicianSchedule.HolidayAdded, ClinicianSchedule.HolidayRemoved,
)
COUNTS = (
    "scheduled", "completed", "no_shows", "cancelled", "late_cancelled", "early_cancelled", "open", "rebooked",
    "working_days", "available_minutes", "booked_minutes", "available_prime_minutes", "booked_prime_minutes",
    "bookings",
)
Key = tuple[UUID, date]  # (clinician, local date)

FACT_COLUMNS = (
    "appointment_id, practice_id, clinician_id, client_id, series_id, local_day, booked_day, starts_at, ends_at, "
    "booked_at, status, late"
)
UPSERT_FACT = (
    f"INSERT INTO attendance_appointments ({FACT_COLUMNS}, lead_counted) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (appointment_id) DO UPDATE SET status = EXCLUDED.status, late = EXCLUDED.late"
)
# Every statement of a batch reaches the facts through an index (client, series, id), never by a
# scan, so a batch costs the same with a million appointments as with a hundred. Flags are read
# here and written back by primary key, so the planner has no join to get wrong.
SERIES_FIRSTS = """
SELECT f.appointment_id, f.clinician_id, f.booked_day AS day, f.lead_counted AS old,
       (f.starts_at = min(f.starts_at) OVER (PARTITION BY f.series_id) AND f.starts_at > f.booked_at) AS new
  FROM attendance_appointments f
 WHERE f.series_id = ANY(%(series)s)
"""
REBOOK = """
WITH changed AS (
    SELECT * FROM unnest(%(clients)s::uuid[], %(starts)s::timestamptz[]) AS c(client_id, starts_at)
), targets AS (
    SELECT f.appointment_id, f.client_id, f.starts_at, f.clinician_id, f.local_day, f.rebooked
      FROM changed c JOIN attendance_appointments f
        ON f.client_id = c.client_id
       AND f.starts_at >= c.starts_at - make_interval(secs => %(window)s) AND f.starts_at < c.starts_at
     WHERE f.status = 'completed'
    UNION
    SELECT appointment_id, client_id, starts_at, clinician_id, local_day, rebooked FROM attendance_appointments
     WHERE appointment_id = ANY(%(completed)s) AND status = 'completed'
)
SELECT t.appointment_id, t.clinician_id, t.local_day AS day, t.rebooked AS old, EXISTS (
           SELECT 1 FROM attendance_appointments o
            WHERE o.client_id = t.client_id AND o.status = ANY(%(qualifying)s)
              AND o.starts_at > t.starts_at AND o.starts_at <= t.starts_at + make_interval(secs => %(window)s)
       ) AS new
  FROM targets t
"""
DAY_FACTS = """
WITH k AS (SELECT * FROM unnest(%(clinicians)s::uuid[], %(days)s::date[]) AS k(clinician_id, day))
SELECT k.clinician_id, k.day, coalesce(s.practice_id, b.practice_id) AS practice_id, s.facts, s.scheduled,
       s.completed, s.no_shows, s.cancelled, s.late_cancelled, s.rebooked, s.booked, b.lead_count, b.lead_us
  FROM k
 CROSS JOIN LATERAL (
       SELECT (array_agg(f.practice_id))[1] AS practice_id, count(*) AS facts,
              count(*) FILTER (WHERE f.status <> 'rescheduled') AS scheduled,
              count(*) FILTER (WHERE f.status = 'completed') AS completed,
              count(*) FILTER (WHERE f.status = 'no_show') AS no_shows,
              count(*) FILTER (WHERE f.status = 'cancelled') AS cancelled,
              count(*) FILTER (WHERE f.status = 'cancelled' AND f.late) AS late_cancelled,
              count(*) FILTER (WHERE f.status = 'completed' AND f.rebooked) AS rebooked,
              array_agg(tstzrange(f.starts_at, f.ends_at)) FILTER (WHERE f.status = ANY(%(qualifying)s)) AS booked
         FROM attendance_appointments f
        WHERE f.clinician_id = k.clinician_id AND f.local_day = k.day
       ) AS s
 CROSS JOIN LATERAL (
       SELECT (array_agg(f.practice_id))[1] AS practice_id, count(*) AS lead_count,
              coalesce(sum((extract(epoch FROM f.starts_at - f.booked_at) * 1000000)::bigint), 0)::bigint AS lead_us
         FROM attendance_appointments f
        WHERE f.clinician_id = k.clinician_id AND f.booked_day = k.day AND f.lead_counted
       ) AS b
"""
DAY_COLUMNS = (
    "clinician_id, local_day, practice_id, scheduled, completed, no_shows, cancelled, late_cancelled, rebooked, "
    "booked_minutes, booked_prime_minutes, lead_count, lead_us"
)
UPSERT_DAY = (
    f"INSERT INTO attendance_days ({DAY_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (clinician_id, local_day) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in DAY_COLUMNS.split(", ")[2:])
)
REPORT = """
SELECT (SELECT time_zone FROM attendance_practices WHERE practice_id = %(practice)s) AS time_zone,
       (SELECT json_agg(json_build_array(m.member_id, m.opened_on, m.first_day, m.holidays, h.effective_from,
                                         h.hours::text, h.breaks::text) ORDER BY m.member_id, h.effective_from)
          FROM attendance_hours h JOIN attendance_members m ON m.member_id = h.clinician_id
         WHERE h.practice_id = %(practice)s {hours}) AS hours,
       (SELECT json_agg(json_build_array(c.clinician_id, c.first_day, c.last_day))
          FROM attendance_closures c
         WHERE c.practice_id = %(practice)s AND c.first_day <= %(last)s AND c.last_day >= %(first)s {closures})
       AS closures,
       s.*
  FROM (SELECT coalesce(sum(scheduled), 0) AS scheduled, coalesce(sum(completed), 0) AS completed,
               coalesce(sum(no_shows), 0) AS no_shows, coalesce(sum(cancelled), 0) AS cancelled,
               coalesce(sum(late_cancelled), 0) AS late_cancelled, coalesce(sum(rebooked), 0) AS rebooked,
               coalesce(sum(booked_minutes), 0) AS booked_minutes,
               coalesce(sum(booked_prime_minutes), 0) AS booked_prime_minutes,
               coalesce(sum(lead_count), 0) AS lead_count, coalesce(sum(lead_us), 0)::bigint AS lead_us
          FROM attendance_days
         WHERE practice_id = %(practice)s AND local_day BETWEEN %(first)s AND %(last)s {days}) s
"""
PRACTICE_REPORT = REPORT.format(hours="", closures="", days="")
CLINICIAN_REPORT = REPORT.format(
    hours="AND h.clinician_id = %(clinician)s", closures="AND c.clinician_id = %(clinician)s",
    days="AND clinician_id = %(clinician)s",
)
SCHEDULES = (
    "SELECT m.member_id, m.opened_on, m.first_day, m.holidays, h.effective_from, h.hours::text, h.breaks::text "
    "FROM attendance_hours h JOIN attendance_members m ON m.member_id = h.clinician_id "
    "WHERE h.clinician_id = ANY(%s) ORDER BY m.member_id, h.effective_from"
)


@dataclass
class _Fact:
    appointment_id: UUID
    practice_id: UUID
    clinician_id: UUID
    client_id: UUID
    series_id: UUID | None
    local_day: date
    booked_day: date
    starts_at: datetime
    ends_at: datetime
    booked_at: datetime
    status: str
    late: bool

    def row(self) -> tuple[Any, ...]:
        lead_counted = self.series_id is None and self.starts_at > self.booked_at  # series: see SERIES_FIRSTS
        return (
            self.appointment_id, self.practice_id, self.clinician_id, self.client_id, self.series_id, self.local_day,
            self.booked_day, self.starts_at, self.ends_at, self.booked_at, self.status, self.late, lead_counted,
        )


@dataclass
class _Batch:
    facts: dict[UUID, _Fact] = field(default_factory=dict)
    changed: set[UUID] = field(default_factory=set)
    completed: set[UUID] = field(default_factory=set)
    windows: list[tuple[UUID, datetime]] = field(default_factory=list)  # (client, start) of a visit come or gone
    series: set[UUID] = field(default_factory=set)
    first_days: dict[UUID, tuple[UUID, date]] = field(default_factory=dict)
    days: set[Key] = field(default_factory=set)
    schedules: dict[UUID, tuple[UUID, UUID]] = field(default_factory=dict)  # schedule -> (clinician, practice)
    rescan_all: set[UUID] = field(default_factory=set)
    rescan_ranges: list[tuple[UUID, date, date]] = field(default_factory=list)


Working = tuple[tuple[LocalInterval, ...], tuple[LocalInterval, ...]]  # one weekday's (hours, breaks)


class _Week:
    """Weekly hours and breaks, parsed once per distinct payload (`_week`), with the working time
    of each kind of day memoised, so it is shared by every clinician with the same hours.

    A date whose UTC offset is the same at both of its midnights has the working time of any other
    such date with the same weekday and offset; a date with a clock change is its own kind.
    """

    def __init__(
        self, hours: dict[int, tuple[LocalInterval, ...]], breaks: dict[int, tuple[LocalInterval, ...]]
    ) -> None:
        self.working: tuple[Working | None, ...] = tuple(
            (hours[wd], breaks.get(wd, ())) if hours.get(wd) else None for wd in range(7)
        )
        self._capacities: dict[tuple[Any, str], tuple[int, int]] = {}

    def capacity(self, day: date, kind: Any, time_zone: str) -> tuple[int, int]:
        found = self._capacities.get((kind, time_zone))
        if found is None:
            working = self.working[day.weekday()]
            found = day_capacity(day, *working, time_zone) if working is not None else (0, 0)
            self._capacities[(kind, time_zone)] = found
        return found


@lru_cache(maxsize=1024)
def _week(hours: str, breaks: str) -> _Week:
    return _Week(hours_from_payload(json.loads(hours)), hours_from_payload(json.loads(breaks)))


def _day_kinds(first: date, last: date, time_zone: str) -> list[tuple[date, Any]]:
    tz = zone(time_zone)
    days = [first + timedelta(days=i) for i in range((last - first).days + 2)]
    offsets = [datetime.combine(d, time(), tz).utcoffset() for d in days]
    return [
        (d, (d.weekday(), offsets[i]) if offsets[i] == offsets[i + 1] else d) for i, d in enumerate(days[:-1])
    ]


@dataclass
class _Schedule:
    """A clinician's schedule as the metrics see it: which local dates have which working time."""

    weeks: list[tuple[date, _Week]] = field(default_factory=list)  # by the date they took effect
    ranges: list[tuple[date, date]] = field(default_factory=list)
    holidays: frozenset[tuple[int, int]] = frozenset()
    start: date | None = None  # on the schedule from this date (see the metrics module docstring)

    def week_on(self, day: date) -> _Week:
        """The hours in effect on the date; the first hours also apply before they were set."""
        if len(self.weeks) == 1:
            return self.weeks[0][1]
        index = bisect_right(self.weeks, day, key=lambda w: w[0]) - 1
        return self.weeks[max(index, 0)][1]

    def closed_between(self, first: date, last: date) -> set[date]:
        closed = {
            first + timedelta(days=i)
            for start, end in self.ranges
            for i in range((max(start, first) - first).days, (min(end, last) - first).days + 1)
        }
        if self.holidays:
            closed.update(
                d for d in (first + timedelta(days=i) for i in range((last - first).days + 1))
                if (d.month, d.day) in self.holidays
            )
        return closed

    def working(self, day: date) -> Working | None:
        """The date's (hours, breaks), or None when it has no working time at all."""
        if (self.start is not None and day < self.start) or self.closed_between(day, day):
            return None
        return self.week_on(day).working[day.weekday()]


def _build_schedules(hours: Iterable[Sequence[Any]], closures: Iterable[Sequence[Any]]) -> dict[UUID, _Schedule]:
    """From rows (member, opened on, first day, holidays, effective from, hours text, breaks text),
    ordered by member and effective date, and rows (clinician, first day, last day)."""
    found: dict[UUID, _Schedule] = {}
    for member, opened_on, first_day, holidays, effective_from, week_hours, week_breaks in hours:
        schedule = found.get(member)
        if schedule is None:
            starts = [d for d in (opened_on, first_day) if d is not None]
            schedule = found[member] = _Schedule(
                holidays=frozenset((v // 100, v % 100) for v in holidays),  # stored as month * 100 + day
                start=min(starts) if starts else None,
            )
        schedule.weeks.append((effective_from, _week(week_hours, week_breaks)))
    for clinician, first, last in closures:
        if clinician in found:
            found[clinician].ranges.append((first, last))
    return found


def _from_json(rows: list[list[Any]] | None, dates: Sequence[int]) -> list[list[Any]]:
    """Rows aggregated with json_build_array: the first column a UUID, the `dates` columns dates."""
    out = []
    for row in rows or ():
        row[0] = UUID(row[0])
        for i in dates:
            row[i] = None if row[i] is None else date.fromisoformat(row[i])
        out.append(row)
    return out


@dataclass(frozen=True)
class AttendanceReport:
    practice_id: UUID
    clinician_id: UUID | None
    period: str
    start: date
    end: date  # the last local date of the period, included
    time_zone: str
    counts: dict[str, int]
    metrics: dict[str, MetricValue]


class AttendanceMetricsView(View):
    tables = (
        "attendance_practices", "attendance_members", "attendance_hours", "attendance_closures",
        "attendance_appointments", "attendance_days",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._zones: dict[UUID, str] = {}  # a practice's zone never changes, so this cache never goes stale
        self._batch = _Batch()

    # --- queries ------------------------------------------------------------------------------

    def member_practice(self, member_id: UUID) -> UUID | None:
        rows = self.query("SELECT practice_id FROM attendance_members WHERE member_id = %s", (member_id,))
        return rows[0]["practice_id"] if rows else None

    def time_zone(self, practice_id: UUID) -> str:
        rows = self.query("SELECT time_zone FROM attendance_practices WHERE practice_id = %s", (practice_id,))
        return str(rows[0]["time_zone"]) if rows else FALLBACK_ZONE

    def report(
        self, practice_id: UUID, period: str, day: date, clinician_id: UUID | None = None
    ) -> AttendanceReport:
        """The metrics of the clinician (or, without one, of the whole practice) for the period
        (`day`, `week`, `month`) that contains `day`."""
        first, last = period_bounds(period, day)
        params = {"practice": practice_id, "clinician": clinician_id, "first": first, "last": last}
        sums = self.query(PRACTICE_REPORT if clinician_id is None else CLINICIAN_REPORT, params)[0]
        time_zone = str(sums["time_zone"] or FALLBACK_ZONE)
        schedules = _build_schedules(_from_json(sums["hours"], (1, 2, 4)), _from_json(sums["closures"], (1, 2)))
        working_days, available, available_prime = _capacity(schedules.values(), first, last, time_zone)
        counts = {name: int(sums[name]) for name in (
            "scheduled", "completed", "no_shows", "cancelled", "late_cancelled", "rebooked", "booked_minutes",
            "booked_prime_minutes",
        )}
        counts.update(
            early_cancelled=counts["cancelled"] - counts["late_cancelled"],
            open=counts["scheduled"] - counts["completed"] - counts["no_shows"] - counts["cancelled"],
            working_days=working_days, available_minutes=available, available_prime_minutes=available_prime,
            bookings=int(sums["lead_count"]),
        )
        scheduled, completed = counts["scheduled"], counts["completed"]
        metrics = {
            "kept_visit_rate": kept_visit_rate(completed, scheduled),
            "no_show_rate": no_show_rate(counts["no_shows"], scheduled),
            "cancellation_rate": cancellation_rate(counts["cancelled"], scheduled),
            "late_cancellation_rate": late_cancellation_rate(counts["late_cancelled"], scheduled),
            "rebook_rate": rebook_rate(counts["rebooked"], completed),
            "sessions_per_day": sessions_per_working_day(completed, working_days),
            "schedule_fill_rate": schedule_fill_rate(counts["booked_minutes"], available),
            "prime_time_utilization": prime_time_utilization(counts["booked_prime_minutes"], available_prime),
            "average_lead_time": average_lead_time(
                timedelta(microseconds=int(sums["lead_us"])), counts["bookings"]
            ),
        }
        return AttendanceReport(
            practice_id, clinician_id, period, first, last, time_zone, {c: counts[c] for c in COUNTS}, metrics
        )

    # --- batch: prefetch ----------------------------------------------------------------------

    def _rows(
        self, sql: str, params: Sequence[Any] | dict[str, Any], binary: bool = False
    ) -> builtins.list[DictRow]:
        """A query's rows inside the batch's transaction, on a cursor of its own: in pipeline mode
        the batch cursor, after `executemany`, may hand back that statement's status instead."""
        with self.curs.connection.cursor(binary=binary) as curs:
            curs.execute(sql, params)  # type: ignore[arg-type]
            return curs.fetchall()

    def begin_batch(self, events: Sequence[Any]) -> None:
        b = self._batch = _Batch()
        ids = [e.originator_id for e in events
               if isinstance(e, AppointmentEvent) and not isinstance(e, Appointment.Booked)]
        if ids:
            rows = self._rows(
                f"SELECT {FACT_COLUMNS} FROM attendance_appointments WHERE appointment_id = ANY(%s)", (ids,)
            )
            b.facts = {r["appointment_id"]: _Fact(**r) for r in rows}
        practices = {e.practice_id for e in events if isinstance(e, Appointment.Booked | ClinicianSchedule.Opened)}
        schedule_ids = [e.originator_id for e in events if isinstance(e, SCHEDULE_EVENTS)]
        if schedule_ids:
            for r in self._rows(
                "SELECT schedule_id, member_id, practice_id FROM attendance_members WHERE schedule_id = ANY(%s)",
                (schedule_ids,),
            ):
                b.schedules[r["schedule_id"]] = (r["member_id"], r["practice_id"])
                practices.add(r["practice_id"])
        self._load_zones(practices)

    def _load_zones(self, practices: Iterable[UUID]) -> None:
        missing = [p for p in practices if p not in self._zones]
        if missing:
            rows = self._rows(
                "SELECT practice_id, time_zone FROM attendance_practices WHERE practice_id = ANY(%s)", (missing,)
            )
            self._zones.update((r["practice_id"], r["time_zone"]) for r in rows)

    def _zone(self, practice_id: UUID) -> ZoneInfo:
        return zone(self._zones.get(practice_id, FALLBACK_ZONE))

    def _local_day(self, practice_id: UUID, at: datetime) -> date:
        return at.astimezone(self._zone(practice_id)).date()

    # --- batch: events ------------------------------------------------------------------------

    def practice_registered(self, practice_id: UUID, time_zone: str) -> None:
        self._zones[practice_id] = time_zone
        self.curs.execute(
            "INSERT INTO attendance_practices (practice_id, time_zone) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            (practice_id, time_zone),
        )

    def member_invited(self, member_id: UUID, practice_id: UUID) -> None:
        self.curs.execute(
            "INSERT INTO attendance_members (member_id, practice_id) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            (member_id, practice_id),
        )

    def booked(self, e: Appointment.Booked) -> None:
        b = self._batch
        fact = _Fact(
            e.originator_id, e.practice_id, e.clinician_id, e.client_id, e.series_id,
            self._local_day(e.practice_id, e.starts_at), self._local_day(e.practice_id, e.booked_at),
            e.starts_at, e.ends_at, e.booked_at, "open", False,
        )
        b.facts[fact.appointment_id] = fact
        b.changed.add(fact.appointment_id)
        b.days.update({(fact.clinician_id, fact.local_day), (fact.clinician_id, fact.booked_day)})
        b.windows.append((fact.client_id, fact.starts_at))
        if fact.series_id is not None:
            b.series.add(fact.series_id)
        known = b.first_days.get(fact.clinician_id)
        if known is None or fact.local_day < known[1]:
            b.first_days[fact.clinician_id] = (fact.practice_id, fact.local_day)

    def closed(self, appointment_id: UUID, status: str, late: bool = False) -> None:
        b = self._batch
        fact = b.facts.get(appointment_id)
        if fact is None:  # its booking was never seen: nothing to count
            return
        if fact.status in QUALIFYING and status not in QUALIFYING:
            b.windows.append((fact.client_id, fact.starts_at))
        fact.status, fact.late = status, late
        b.changed.add(appointment_id)
        b.days.add((fact.clinician_id, fact.local_day))
        if status == "completed":
            b.completed.add(appointment_id)

    def schedule_opened(self, schedule_id: UUID, clinician_id: UUID, practice_id: UUID, at: datetime) -> None:
        self._batch.schedules[schedule_id] = (clinician_id, practice_id)
        self.curs.execute(
            "INSERT INTO attendance_members (member_id, practice_id, schedule_id, opened_on) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (member_id) DO UPDATE SET schedule_id = EXCLUDED.schedule_id, opened_on = EXCLUDED.opened_on",
            (clinician_id, practice_id, schedule_id, self._local_day(practice_id, at)),
        )

    def hours_set(
        self, schedule_id: UUID, hours: dict[str, Any], breaks: dict[str, Any], at: datetime
    ) -> None:
        owner = self._batch.schedules.get(schedule_id)
        if owner is None:
            return
        clinician, practice = owner
        self.curs.execute(
            "INSERT INTO attendance_hours (clinician_id, effective_from, practice_id, hours, breaks) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (clinician_id, effective_from) "
            "DO UPDATE SET hours = EXCLUDED.hours, breaks = EXCLUDED.breaks",
            (clinician, self._local_day(practice, at), practice, Jsonb(hours), Jsonb(breaks)),
        )
        self._batch.rescan_all.add(clinician)

    def closure(self, schedule_id: UUID, first_day: date, last_day: date, added: bool) -> None:
        owner = self._batch.schedules.get(schedule_id)
        if owner is None:
            return
        clinician, practice = owner
        if added:
            self.curs.execute(
                "INSERT INTO attendance_closures (clinician_id, first_day, last_day, practice_id) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING", (clinician, first_day, last_day, practice),
            )
        else:
            self.curs.execute(
                "DELETE FROM attendance_closures WHERE clinician_id = %s AND first_day = %s AND last_day = %s",
                (clinician, first_day, last_day),
            )
        self._batch.rescan_ranges.append((clinician, first_day, last_day))

    def holiday(self, schedule_id: UUID, month: int, day: int, added: bool) -> None:
        owner = self._batch.schedules.get(schedule_id)
        if owner is None:
            return
        change = (
            "CASE WHEN %(v)s = ANY(holidays) THEN holidays ELSE array_append(holidays, %(v)s::smallint) END"
            if added else "array_remove(holidays, %(v)s::smallint)"
        )
        self.curs.execute(
            f"UPDATE attendance_members SET holidays = {change} WHERE member_id = %(m)s",
            {"v": month * 100 + day, "m": owner[0]},
        )
        self._batch.rescan_all.add(owner[0])

    # --- batch: write -------------------------------------------------------------------------

    def flush(self) -> None:
        b, curs = self._batch, self.curs
        if b.changed:
            curs.executemany(UPSERT_FACT, [b.facts[i].row() for i in sorted(b.changed)])
        if b.first_days:
            curs.executemany(
                "INSERT INTO attendance_members (member_id, practice_id, first_day) VALUES (%s, %s, %s) "
                "ON CONFLICT (member_id) DO UPDATE SET first_day = LEAST(attendance_members.first_day, "
                "EXCLUDED.first_day)",
                [(clinician, practice, day) for clinician, (practice, day) in sorted(b.first_days.items())],
            )
        if b.series:
            self._set_flags("lead_counted", self._rows(SERIES_FIRSTS, {"series": sorted(b.series)}))
        if b.windows or b.completed:
            self._set_flags("rebooked", self._rows(REBOOK, {
                "clients": [c for c, _ in b.windows], "starts": [s for _, s in b.windows],
                "completed": sorted(b.completed), "window": REBOOK_WINDOW.total_seconds(),
                "qualifying": list(QUALIFYING),
            }))
        if b.rescan_all:
            rows = self._rows(
                "SELECT clinician_id, local_day FROM attendance_days WHERE clinician_id = ANY(%s)",
                (sorted(b.rescan_all),),
            )
            b.days.update((r["clinician_id"], r["local_day"]) for r in rows)
        for clinician, first, last in b.rescan_ranges:
            rows = self._rows(
                "SELECT local_day FROM attendance_days WHERE clinician_id = %s AND local_day BETWEEN %s AND %s",
                (clinician, first, last),
            )
            b.days.update((clinician, r["local_day"]) for r in rows)
        if b.days:
            self._recompute(sorted(b.days))
        self._batch = _Batch()

    def _set_flags(self, column: str, rows: builtins.list[DictRow]) -> None:
        """Write the flags that changed (rows of appointment_id, clinician_id, day, old, new) and
        mark the day rows they count in for recomputing."""
        flipped = sorted((r["new"], r["appointment_id"]) for r in rows if r["old"] != r["new"])
        if flipped:
            self.curs.executemany(
                f"UPDATE attendance_appointments SET {column} = %s WHERE appointment_id = %s", flipped
            )
            self._batch.days.update((r["clinician_id"], r["day"]) for r in rows if r["old"] != r["new"])

    def _recompute(self, keys: builtins.list[Key]) -> None:
        """Recount the day rows from their facts (counted by the database; Python only measures the
        booked working time). A day left without facts loses its row."""
        days = self._rows(DAY_FACTS, {
            "clinicians": [c for c, _ in keys], "days": [d for _, d in keys], "qualifying": list(QUALIFYING),
        }, binary=True)  # arrays of ranges decode several times faster from the binary format
        self._load_zones({r["practice_id"] for r in days if r["practice_id"] is not None})
        clinicians = sorted({c for c, _ in keys})
        schedules = _build_schedules(
            (tuple(r.values()) for r in self._rows(SCHEDULES, (clinicians,))),
            (tuple(r.values()) for r in self._rows(
                "SELECT clinician_id, first_day, last_day FROM attendance_closures WHERE clinician_id = ANY(%s)",
                (clinicians,),
            )),
        )
        rows, gone = [], []
        for r in days:
            clinician, day, practice = r["clinician_id"], r["day"], r["practice_id"]
            if not r["facts"] and not r["lead_count"]:
                gone.append((clinician, day))
                continue
            minutes = prime = 0
            schedule = schedules.get(clinician)
            working = schedule.working(day) if schedule is not None and r["booked"] else None
            if working is not None:
                booked = [(span.lower, span.upper) for span in r["booked"]]
                minutes, prime = day_booked(day, *working, self._zones.get(practice, FALLBACK_ZONE), booked)
            rows.append((
                clinician, day, practice, r["scheduled"], r["completed"], r["no_shows"], r["cancelled"],
                r["late_cancelled"], r["rebooked"], minutes, prime, r["lead_count"], r["lead_us"],
            ))
        if rows:
            self.curs.executemany(UPSERT_DAY, rows)
        if gone:
            self.curs.execute(
                "DELETE FROM attendance_days d USING unnest(%s::uuid[], %s::date[]) AS g(clinician_id, day) "
                "WHERE d.clinician_id = g.clinician_id AND d.local_day = g.day",
                ([c for c, _ in gone], [d for _, d in gone]),
            )


def _capacity(
    schedules: Iterable[_Schedule], first: date, last: date, time_zone: str
) -> tuple[int, int, int]:
    """(working days, working minutes, prime working minutes) of the schedules over the dates."""
    kinds = _day_kinds(first, last, time_zone)
    working_days = minutes = prime = 0
    for schedule in schedules:
        closed = schedule.closed_between(first, last)
        for day, kind in kinds:
            if (schedule.start is not None and day < schedule.start) or day in closed:
                continue
            available, available_prime = schedule.week_on(day).capacity(day, kind, time_zone)
            if available:
                working_days += 1
                minutes += available
                prime += available_prime
    return working_days, minutes, prime


class AttendanceMetrics(Projection[AttendanceMetricsView]):
    name = "attendance_metrics"
    topics = (
        Practice.Registered.TOPIC,
        Membership.Invited.TOPIC,
        Appointment.Booked.TOPIC,
        Appointment.Completed.TOPIC,
        Appointment.MarkedNoShow.TOPIC,
        Appointment.Cancelled.TOPIC,
        Appointment.Rescheduled.TOPIC,
        ClinicianSchedule.Opened.TOPIC,
        *(cls.TOPIC for cls in SCHEDULE_EVENTS),
    )

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Events this view does not count still move its position (the runner records it)."""

    @process_event.register
    def _(self, e: Practice.Registered, tracking: Tracking) -> None:
        self.view.practice_registered(e.originator_id, e.time_zone)

    @process_event.register
    def _(self, e: Membership.Invited, tracking: Tracking) -> None:
        self.view.member_invited(e.originator_id, e.practice_id)

    @process_event.register
    def _(self, e: Appointment.Booked, tracking: Tracking) -> None:
        self.view.booked(e)

    @process_event.register
    def _(self, e: Appointment.Completed, tracking: Tracking) -> None:
        self.view.closed(e.originator_id, "completed")

    @process_event.register
    def _(self, e: Appointment.MarkedNoShow, tracking: Tracking) -> None:
        self.view.closed(e.originator_id, "no_show")

    @process_event.register
    def _(self, e: Appointment.Cancelled, tracking: Tracking) -> None:
        self.view.closed(e.originator_id, "cancelled", e.late)

    @process_event.register
    def _(self, e: Appointment.Rescheduled, tracking: Tracking) -> None:
        self.view.closed(e.originator_id, "rescheduled", e.late)

    @process_event.register
    def _(self, e: ClinicianSchedule.Opened, tracking: Tracking) -> None:
        self.view.schedule_opened(e.originator_id, e.clinician_id, e.practice_id, e.timestamp)

    @process_event.register
    def _(self, e: ClinicianSchedule.WorkingHoursSet, tracking: Tracking) -> None:
        self.view.hours_set(e.originator_id, e.hours, e.breaks, e.timestamp)

    @process_event.register
    def _(self, e: ClinicianSchedule.ClosureAdded, tracking: Tracking) -> None:
        self.view.closure(e.originator_id, e.first_day, e.last_day, added=True)

    @process_event.register
    def _(self, e: ClinicianSchedule.ClosureRemoved, tracking: Tracking) -> None:
        self.view.closure(e.originator_id, e.first_day, e.last_day, added=False)

    @process_event.register
    def _(self, e: ClinicianSchedule.HolidayAdded, tracking: Tracking) -> None:
        self.view.holiday(e.originator_id, e.month, e.day, added=True)

    @process_event.register
    def _(self, e: ClinicianSchedule.HolidayRemoved, tracking: Tracking) -> None:
        self.view.holiday(e.originator_id, e.month, e.day, added=False)

