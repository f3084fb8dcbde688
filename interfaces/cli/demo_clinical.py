"""The demo history's clinical side: notes for the visits, treatment and safety plans, risk flags,
supervision and the compliance days, as timed actions merged into the appointment timeline.

A realistic mix so every dashboard and alert type shows something: most session notes signed
the same day, some a few days late, a few past the 7-day rule (one past the 14-day billing hold
and still unsigned), a recent unsigned backlog; the supervisee's notes co-signed by the
supervisor; treatment plans from the first visit (the oldest clients' reviews fall due in the
last weeks) and two plans from before the history that are out of compliance; one high-risk
client with a safety plan and one flagged two days ago without one; weekly supervision that falls
half an hour short last month, and a supervision note still unsigned; one progress note not
linked to its appointment. Everything is written through the aggregates with the replayed times,
as the system actor `system:demo`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import partial
from uuid import UUID, uuid5

from domain.clients.client import Client
from domain.clinical.clinical_note import ClinicalNote
from domain.compliance.compliance_day import ComplianceDay, compliance_day_id
from domain.scheduling.working_time import local_to_utc, zone
from domain.supervision.session import SupervisionSession
from interfaces.container import Container

NS = UUID("0b6a3a44-3f0e-4b8e-9f0e-6c1d6a2f7e55")
SOAP = {
    "subjective": "Reports steadier sleep and fewer panic episodes this week.",
    "objective": "Calm, engaged, affect congruent; no acute distress observed.",
    "assessment": "Generalised anxiety improving with CBT; on track with goals.",
    "plan": "Continue weekly CBT; practise breathing exercise daily; review in one week.",
}
PLAN = {
    "problems": "Generalised anxiety; disrupted sleep.",
    "goals": "Reduce worry to manageable levels; sleep 7 hours most nights.",
    "objectives": "GAD-7 below 10 within 12 weeks; sleep diary kept.",
    "interventions": "Weekly CBT, sleep hygiene, relaxation training.",
}
SAFETY = {
    "warning_signs": "Withdrawing from friends; not sleeping.",
    "coping_strategies": "Walk, call sister, breathing exercise.",
    "support_contacts": "Sister; close friend.",
    "professional_contacts": "Clinician office line; 988 Suicide & Crisis Lifeline.",
    "means_safety": "Medications kept by sister.",
}
Action = tuple[datetime, int, Callable[[], None]]


@dataclass(frozen=True)
class Completed:
    appointment_id: UUID
    client_id: UUID
    clinician_id: UUID
    starts_at: datetime
    ended_at: datetime


def clinical_actions(
    k: Container, practice_id: UUID, time_zone: str, completed: list[Completed], supervisor_id: UUID,
    supervisee_id: UUID, first_day: date, now: datetime,
) -> list[Action]:
    rng = random.Random(f"{practice_id}/clinical")
    tz = zone(time_zone)
    today = now.astimezone(tz).date()
    actions: list[Action] = []

    def local(day: date, hour: int, minute: int = 0) -> datetime:
        return local_to_utc(day, time(hour, minute), tz)

    # The compliance engine's clock: every practice day starts at 00:05.
    day = first_day
    while day <= today:
        if not k.store.exists(compliance_day_id(practice_id, day)):
            start = local(day, 0, 5)
            actions.append((start, -1, partial(_start_day, k, practice_id, day, start)))
        day += timedelta(days=1)

    unlinked_done = False
    for c in completed:
        age = (today - c.starts_at.astimezone(tz).date()).days
        roll = rng.random()
        if age <= 2 or (age <= 6 and roll < 0.25):
            signed_after: timedelta | None = None
        elif roll < 0.03:
            signed_after = None  # an old note nobody signed: past the billing hold
        elif roll < 0.72:
            signed_after = timedelta(minutes=rng.randint(20, 300))
        elif roll < 0.9:
            signed_after = timedelta(days=rng.randint(1, 6), hours=rng.randint(0, 5))
        else:
            signed_after = timedelta(days=rng.randint(8, 12))
        if signed_after is not None and c.ended_at + signed_after >= now:
            signed_after = None
        link: UUID | None = c.appointment_id
        if not unlinked_done and 3 <= age <= 10:
            link, unlinked_done = None, True
        note_id = uuid5(NS, f"note/{c.appointment_id}")
        cosign = supervisor_id if c.clinician_id == supervisee_id else None
        kind = "soap" if rng.random() < 0.8 else "progress"
        actions.append((c.ended_at + timedelta(minutes=5), 2,
                        partial(_session_note, k, practice_id, c, note_id, kind, link, cosign)))
        if signed_after is not None:
            signed = c.ended_at + signed_after
            actions.append((signed, 2, partial(_sign, k, note_id, c.clinician_id, signed)))
            if cosign is not None:
                cosigned = min(signed + timedelta(hours=rng.randint(1, 30)), now - timedelta(minutes=1))
                actions.append((cosigned, 2, partial(_cosign, k, note_id, cosign, cosigned)))

    by_client: dict[UUID, list[Completed]] = {}
    for c in sorted(completed, key=lambda c: c.starts_at):
        by_client.setdefault(c.client_id, []).append(c)
    clients = [visits[0] for visits in by_client.values()]
    for n, visits in enumerate(by_client.values()):
        c = visits[0] if n < 2 or rng.random() < 0.25 else visits[min(len(visits) - 1, rng.randint(3, 8))]
        at = c.ended_at + timedelta(minutes=40)
        if n < 2:  # plans written before the history: out of compliance by now
            at = local(first_day - timedelta(days=8 + 6 * n), 15)
        actions += _plan(k, practice_id, c.client_id, c.clinician_id, at, supervisor_id, supervisee_id, now)

    if len(clients) >= 4:
        flagged, safe = clients[3], local(today - timedelta(days=20), 11)
        actions.append((safe, 4, _risk(k, flagged.client_id, flagged.clinician_id, safe, with_plan=True,
                                       practice_id=practice_id, supervisor_id=supervisor_id,
                                       supervisee_id=supervisee_id)))
        unsafe, at = clients[-1], min(now - timedelta(minutes=5), local(today - timedelta(days=2), 16))
        actions.append((at, 4, _risk(k, unsafe.client_id, unsafe.clinician_id, at, with_plan=False,
                                     practice_id=practice_id, supervisor_id=supervisor_id,
                                     supervisee_id=supervisee_id)))

    this_month = today.replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    in_last_month = 0
    week = first_day + timedelta(days=1)
    while week < today:
        hours = Decimal(1)
        if last_month <= week < this_month:
            in_last_month += 1
            hours = {1: Decimal(1), 2: Decimal("0.5")}.get(in_last_month, Decimal(0))
        if hours:
            logged = local(week, 17)
            on_time = (today - week).days not in range(7, 14)
            actions.append((logged, 5, _supervision(k, practice_id, supervisee_id, supervisor_id, week, hours,
                                                    logged, signed=on_time)))
        week += timedelta(days=7)
    return actions


def _start_day(k: Container, practice_id: UUID, day: date, at: datetime) -> None:
    k.store.save(ComplianceDay.start(practice_id, day, at))


def _session_note(
    k: Container, practice_id: UUID, c: Completed, note_id: UUID, kind: str, link: UUID | None,
    cosign_by: UUID | None,
) -> None:
    if k.store.exists(note_id):
        return
    sections = SOAP if kind == "soap" else {"content": SOAP["assessment"], "plan": SOAP["plan"]}
    k.store.save(ClinicalNote.draft(
        practice_id, c.client_id, c.clinician_id, kind, c.starts_at.date(), now=c.ended_at + timedelta(minutes=5),
        sections=sections, icd10_codes=["F41.1"], appointment_id=link, requires_cosign=cosign_by is not None,
        supervisor_id=cosign_by, note_id=note_id,
    ))


def _sign(k: Container, note_id: UUID, by: UUID, at: datetime) -> None:
    note: ClinicalNote = k.store.load(note_id, ClinicalNote)
    if note.signed_at is None:
        note.sign(by, at)
        k.store.save(note)


def _cosign(k: Container, note_id: UUID, by: UUID, at: datetime) -> None:
    note: ClinicalNote = k.store.load(note_id, ClinicalNote)
    if note.cosigned_at is None:
        note.cosign(by, at)
        k.store.save(note)


def _plan(k: Container, practice_id: UUID, client_id: UUID, clinician_id: UUID, at: datetime, supervisor_id: UUID,
          supervisee_id: UUID, now: datetime) -> list[Action]:
    note_id = uuid5(NS, f"plan/{client_id}")
    cosign = supervisor_id if clinician_id == supervisee_id else None

    def write() -> None:
        if k.store.exists(note_id):
            return
        note = ClinicalNote.draft(practice_id, client_id, clinician_id, "treatment_plan", at.date(), now=at,
                                  sections=PLAN, icd10_codes=["F41.1"], requires_cosign=cosign is not None,
                                  supervisor_id=cosign, note_id=note_id)
        note.sign(clinician_id, at)
        k.store.save(note)

    actions: list[Action] = [(at, 3, write)]
    if cosign is not None:
        cosigned = min(at + timedelta(hours=3), now - timedelta(minutes=1))
        actions.append((cosigned, 3, partial(_cosign, k, note_id, cosign, cosigned)))
    return actions


def _risk(k: Container, client_id: UUID, clinician_id: UUID, at: datetime, *, with_plan: bool, practice_id: UUID,
          supervisor_id: UUID, supervisee_id: UUID) -> Callable[[], None]:
    def act() -> None:
        client: Client = k.store.load(client_id, Client)
        if "suicidal_ideation" in client.risk_flags:
            return
        client.set_risk_flag("suicidal_ideation", "Passive ideation disclosed in session.", at, clinician_id)
        k.store.save(client)
        if with_plan:
            cosign = clinician_id == supervisee_id
            note = ClinicalNote.draft(practice_id, client_id, clinician_id, "safety_plan", at.date(), now=at,
                                      sections=SAFETY, requires_cosign=cosign,
                                      supervisor_id=supervisor_id if cosign else None,
                                      note_id=uuid5(NS, f"safety/{client_id}"))
            note.sign(clinician_id, at)
            if cosign:
                note.cosign(supervisor_id, at)
            k.store.save(note)

    return act


def _supervision(k: Container, practice_id: UUID, supervisee_id: UUID, supervisor_id: UUID, day: date,
                 hours: Decimal, logged: datetime, *, signed: bool) -> Callable[[], None]:
    def act() -> None:
        session_id = uuid5(NS, f"supervision/{supervisee_id}/{day.isoformat()}")
        if k.store.exists(session_id):
            return
        session = SupervisionSession.log(practice_id, supervisee_id, supervisor_id, day, hours, "individual",
                                         ["case conceptualisation", "documentation"], today=day, logged_at=logged,
                                         by=supervisor_id, session_id=session_id)
        if signed:
            session.sign(supervisor_id, logged)
        k.store.save(session)

    return act
