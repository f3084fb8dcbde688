"""Twelve weeks of appointment history for the demo practice, made through the application layer.

The booking service runs on a clock moved by hand: each booking happens at its booking time and
each outcome (check-in and completion, no-show, cancellation) at its own time, in time order,
so every rule (notice, working hours, late cancellation, no double booking) applies as it would
have. Events are stored now (their envelope says so); the business times inside them are the
replayed ones. The history is loaded once: a demo clinician's schedule holding more than its
opening and working hours says it was (an interrupted load is not resumed).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from uuid import UUID, uuid5

from adapters.clock import FrozenClock
from application.scheduling.booking import Booking, SchedulingService
from domain.clients.client import Client
from domain.scheduling.appointment_types import BUILT_IN_TYPES
from domain.scheduling.consents import AGE_OF_MAJORITY, ConsentRecord, age_on
from domain.scheduling.schedule import ClinicianSchedule, schedule_id_for
from domain.scheduling.working_time import local_to_utc, zone
from interfaces.cli.demo_clinical import Action, Completed, clinical_actions
from interfaces.container import Container

WEEKS_BACK = 12
DAYS_AHEAD = 14
HOURS = (9, 10, 11, 13, 14, 15, 16)
WORKING_HOURS = {d: [(time(9), time(17))] for d in range(5)}
LUNCH = {d: [(time(12), time(13))] for d in range(5)}
DEMO_NS = UUID("7c1c3d0e-9a3b-4f43-8a51-2e7f6d5b9c01")


@dataclass(frozen=True)
class Visit:
    appointment_id: UUID
    client_id: UUID
    clinician_id: UUID
    starts_at: datetime
    booked_at: datetime
    outcome: str  # completed | no_show | cancelled | late_cancelled | left_open | future | confirmed
    outcome_at: datetime


def history_loaded(k: Container, clinician_ids: list[UUID]) -> bool:
    for clinician_id in clinician_ids:
        if not k.store.exists(schedule_id_for(clinician_id)):
            return False
        schedule: ClinicianSchedule = k.store.load(schedule_id_for(clinician_id), ClinicianSchedule)
        if schedule.version < 3:
            return False
    return True


def plan(
    slug: str, time_zone: str, caseloads: dict[UUID, list[UUID]], today: date, now: datetime
) -> list[Visit]:
    """Who sees whom when, and how it ends: about 5 visits a clinician-day, 78 % kept, 8 % no-shows,
    10 % cancelled (a third of them late), a couple left open for the data-quality alert."""
    rng = random.Random(f"{slug}/history")
    tz = zone(time_zone)
    first = today - timedelta(days=today.weekday()) - timedelta(weeks=WEEKS_BACK)
    visits: list[Visit] = []
    left_open = 0
    for clinician_id, caseload in caseloads.items():
        queue = list(caseload)
        rng.shuffle(queue)
        day = first
        while day <= today + timedelta(days=DAYS_AHEAD):
            if day.weekday() < 5:
                for hour in sorted(rng.sample(HOURS, rng.randint(4, 6))):
                    client_id = queue.pop(0)
                    queue.append(client_id)
                    start = local_to_utc(day, time(hour), tz)
                    booked = min(start - timedelta(days=rng.randint(2, 21), hours=rng.randint(0, 8)),
                                 now - timedelta(minutes=rng.randint(5, 600)))
                    visit_id = uuid5(DEMO_NS, f"{slug}/{clinician_id}/{start.isoformat()}")
                    roll = rng.random()
                    if start > now:
                        outcome, at = ("confirmed" if roll < 0.4 else "future"), booked
                    elif start.date() >= (now - timedelta(days=2)).date() and left_open < 2 and roll < 0.3:
                        outcome, at = "left_open", start
                        left_open += 1
                    elif roll < 0.78:
                        outcome, at = "completed", start + timedelta(minutes=53)
                    elif roll < 0.86:
                        outcome, at = "no_show", start + timedelta(minutes=20)
                    elif roll < 0.93:
                        outcome, at = "cancelled", start - timedelta(hours=rng.randint(26, 96))
                    else:
                        outcome, at = "late_cancelled", start - timedelta(hours=rng.randint(2, 20))
                    at = max(at, booked + timedelta(minutes=1))
                    if at >= now:
                        outcome, at = ("future", booked) if start > now else ("left_open", start)
                    visits.append(Visit(visit_id, client_id, clinician_id, start, booked, outcome, at))
            day += timedelta(days=1)
    return visits


def load_history(
    k: Container, practice_id: UUID, caseloads: dict[UUID, list[UUID]], step: Callable[[str], None] | None = None,
    supervision: tuple[UUID, UUID] | None = None,
) -> int:
    """Book and settle the planned visits in time order; returns how many appointments were made."""
    practice = k.practices.get(practice_id)
    now = k.clock.now()
    today = now.astimezone(zone(practice.time_zone)).date()
    visits = plan(practice.slug, practice.time_zone, caseloads, today, now)
    clock = FrozenClock(now)
    scheduling = SchedulingService(k.store, clock)
    kind = BUILT_IN_TYPES["therapy_session"].with_changes(buffer_after_minutes=7)
    k.practices.save_appointment_type(practice_id, kind)
    _consents(k, practice_id, [c for load in caseloads.values() for c in load], visits, practice.time_zone)
    booked = 0

    def book(visit: Visit) -> None:
        nonlocal booked
        scheduling.book(practice_id, Booking(visit.client_id, visit.clinician_id, "therapy_session",
                                             visit.starts_at), appointment_id=visit.appointment_id)
        booked += 1
        if step:
            step("appointment")

    actions: list[Action] = []
    for visit in visits:
        actions.append((visit.booked_at, 0, partial(book, visit)))
        if visit.outcome not in {"future", "left_open"}:
            actions.append((visit.outcome_at, 1, partial(_settle, scheduling, practice_id, visit)))
    if supervision is not None:
        completed = [Completed(v.appointment_id, v.client_id, v.clinician_id, v.starts_at, v.outcome_at)
                     for v in visits if v.outcome == "completed"]
        first_day = min(v.starts_at for v in visits).astimezone(zone(practice.time_zone)).date()
        actions += clinical_actions(k, practice_id, practice.time_zone, completed, *supervision, first_day, now)
    actions.sort(key=lambda a: (a[0], a[1]))
    for clinician_id in caseloads:
        scheduling.set_working_hours(practice_id, clinician_id, WORKING_HOURS, LUNCH)
    for at, _, act in actions:
        clock.set(at)
        act()
    return booked


def _settle(scheduling: SchedulingService, practice_id: UUID, visit: Visit) -> None:
    if visit.outcome == "confirmed":
        scheduling.confirm(practice_id, visit.appointment_id)
    elif visit.outcome == "completed":
        scheduling.confirm(practice_id, visit.appointment_id)
        scheduling.check_in(practice_id, visit.appointment_id)
        scheduling.complete(practice_id, visit.appointment_id)
    elif visit.outcome == "no_show":
        scheduling.no_show(practice_id, visit.appointment_id)
    else:
        scheduling.cancel(practice_id, visit.appointment_id, "client", "illness")


def _consents(k: Container, practice_id: UUID, client_ids: list[UUID], visits: list[Visit], time_zone: str) -> None:
    """Informed consent signed before the first visit (a year's validity), a guardian's consent for
    minors; the history's visits are all in person."""
    first_visit = min(v.starts_at for v in visits) if visits else datetime.now(UTC)
    for n, client_id in enumerate(client_ids):
        # The fourth client's yearly consent runs out within the month (a renewal reminder to show).
        signed = first_visit - timedelta(days=30 if n != 3 else 345 - 7 * WEEKS_BACK)
        client: Client = k.store.load(client_id, Client)
        if client.consents:
            continue
        name = f"{client.demographics['first_name']} {client.demographics['last_name']}"
        client.record_consent(uuid5(DEMO_NS, f"{client_id}/informed"),
                              ConsentRecord("informed_consent", signed, signed + timedelta(days=365), name))
        if age_on(client.demographics["date_of_birth"], signed.date()) < AGE_OF_MAJORITY + 1:
            client.record_consent(uuid5(DEMO_NS, f"{client_id}/guardian"),
                                  ConsentRecord("guardian_consent", signed, None, name, "Parent of " + name))
        k.store.save(client)

