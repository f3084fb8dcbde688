"""Loading the compliance facts of one practice at one moment from the `cp_*` tables.

The tables keep times (signed, withdrawn, cleared, completed), so the same query answers "now"
for the live alerts and "end of that day" for the as-of question: anything recorded after the
moment is left out or read as not yet happened. Statuses of appointments recorded after the
moment count as still open. The function takes a cursor, so it runs inside the projection's
batch transaction as well as on a plain read connection.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from psycopg import Cursor

from domain.compliance.evaluation import (
    ClientFact,
    ClinicianWeekFact,
    ConsentFact,
    Facts,
    NoteFact,
    PlanFact,
    PracticeMonthFact,
    StaffFact,
    SupervisionFact,
    TrainingFact,
)
from domain.compliance.rules import SUPERVISION_HOURS, RuleSet, RuleSetVersions
from domain.identity.membership import training_expires_on
from domain.identity.permissions import STAFF_ROLES

AGE_OF_MAJORITY_YEARS = 18


def local_date(at: datetime, tz: ZoneInfo) -> date:
    return at.astimezone(tz).date()


def _rows(curs: Cursor[Any], sql: str, params: tuple[Any, ...]) -> list[Any]:
    curs.execute(sql, params)
    return list(curs.fetchall())


def load_facts(curs: Cursor[Any], practice_id: UUID, now: datetime, tz: ZoneInfo) -> Facts:
    p = practice_id
    staff = _rows(
        curs,
        "SELECT member_id, role, active, supervisor_id, license_type, joined_on FROM cp_staff WHERE practice_id = %s",
        (p,),
    )
    supervisor_of: dict[UUID, UUID | None] = {r["member_id"]: r["supervisor_id"] for r in staff}
    sessions = _rows(
        curs,
        "SELECT s.appointment_id, s.client_id, s.clinician_id, s.session_date, s.modality, s.status, s.status_at, "
        "(SELECT min(n.fully_signed_at) FROM cp_notes n WHERE n.appointment_id = s.appointment_id "
        " AND n.session_note) AS signed_at "
        "FROM cp_sessions s WHERE s.practice_id = %s AND s.booked_at <= %s ORDER BY s.session_date, s.appointment_id",
        (p, now),
    )
    notes = _rows(
        curs,
        "SELECT note_id, client_id, author_id, note_type, session_note, service_date, appointment_id, "
        "fully_signed_at, signatures FROM cp_notes WHERE practice_id = %s AND drafted_at <= %s "
        "ORDER BY service_date, note_id",
        (p, now),
    )
    clients = _rows(
        curs,
        "SELECT client_id, registered_on, discharged_on, adult_on, clinician_id, missing_demographics "
        "FROM cp_clients WHERE practice_id = %s ORDER BY client_id",
        (p,),
    )
    flags = _rows(
        curs,
        "SELECT client_id, set_at FROM cp_risk_flags WHERE practice_id = %s AND set_at <= %s "
        "AND (cleared_at IS NULL OR cleared_at > %s)",
        (p, now, now),
    )
    consents = _rows(
        curs,
        "SELECT client_id, type, signed_at, expires_at, withdrawn_at FROM cp_consents "
        "WHERE practice_id = %s AND signed_at <= %s ORDER BY signed_at, consent_id",
        (p, now),
    )
    trainings = _rows(curs, "SELECT member_id, completed_on FROM cp_trainings WHERE practice_id = %s", (p,))
    supervision = _rows(
        curs,
        "SELECT session_id, supervisee_id, supervisor_id, session_date, hours, signed_at FROM cp_supervision "
        "WHERE practice_id = %s AND logged_at <= %s ORDER BY session_date, session_id",
        (p, now),
    )

    def status_then(row: Any) -> str:
        at = row["status_at"]
        return row["status"] if at is not None and at <= now else "open"

    note_facts = []
    weeks: dict[tuple[UUID, date], list[int]] = defaultdict(lambda: [0, 0, 0])
    months: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    last_clinician: dict[UUID, UUID] = {}
    telehealth_since: dict[UUID, date] = {}
    for s in sessions:
        status = status_then(s)
        if status == "rescheduled":
            continue
        if status != "cancelled":
            last_clinician[s["client_id"]] = s["clinician_id"]
            if s["modality"] == "telehealth":
                telehealth_since.setdefault(s["client_id"], s["session_date"])
        week = weeks[s["clinician_id"], s["session_date"] - timedelta(days=s["session_date"].weekday())]
        month = months[s["session_date"].replace(day=1)]
        week[0] += 1
        month[0] += 1
        if status == "completed":
            week[1] += 1
            month[1] += 1
            note_facts.append(NoteFact(
                s["appointment_id"], s["client_id"], s["clinician_id"], supervisor_of.get(s["clinician_id"]),
                s["session_date"], s["signed_at"],
            ))
        elif status == "no_show":
            week[2] += 1

    unlinked = []
    plan_reviews: dict[UUID, list[date]] = defaultdict(list)
    safety_plans: dict[UUID, date] = {}
    for n in notes:
        signed_days = [local_date(t, tz) for t in n["signatures"] if t <= now]
        if n["session_note"] and n["appointment_id"] is None:
            fact = NoteFact(n["note_id"], n["client_id"], n["author_id"], supervisor_of.get(n["author_id"]),
                            n["service_date"], n["fully_signed_at"])
            unlinked.append(fact)
            note_facts.append(fact)
        elif n["note_type"] == "treatment_plan":
            plan_reviews[n["client_id"]].extend(signed_days)
        elif n["note_type"] == "safety_plan" and signed_days:
            safety_plans[n["client_id"]] = max(safety_plans.get(n["client_id"], date.min), max(signed_days))

    high_risk: dict[UUID, date] = {}
    for f in flags:
        flagged = local_date(f["set_at"], tz)
        high_risk[f["client_id"]] = min(high_risk.get(f["client_id"], flagged), flagged)

    client_facts = []
    plan_facts = []
    for c in clients:
        clinician = c["clinician_id"] or last_clinician.get(c["client_id"])
        supervisor = supervisor_of.get(clinician) if clinician else None
        adult_on = c["adult_on"]
        client_facts.append(ClientFact(
            client_id=c["client_id"], clinician_id=clinician, supervisor_id=supervisor,
            active_since=c["registered_on"], discharged_on=c["discharged_on"],
            birth_date=_birth_from_majority(adult_on) if adult_on else None,
            telehealth_since=telehealth_since.get(c["client_id"]),
            high_risk_since=high_risk.get(c["client_id"]), safety_plan_on=safety_plans.get(c["client_id"]),
            missing_demographics=tuple(c["missing_demographics"]),
        ))
        reviews = plan_reviews.get(c["client_id"])
        if reviews and clinician is not None:
            plan_facts.append(PlanFact(
                c["client_id"], c["client_id"], clinician, supervisor, tuple(sorted(reviews)),
                closed_on=c["discharged_on"],
            ))

    consent_facts = []
    for k in consents:
        ends = [t for t in (k["expires_at"], k["withdrawn_at"] if k["withdrawn_at"] and k["withdrawn_at"] <= now
                            else None) if t is not None]
        consent_facts.append(ConsentFact(
            k["client_id"], k["type"], local_date(k["signed_at"], tz),
            local_date(min(ends), tz) if ends else None,
        ))

    first_seen: dict[UUID, date] = {}
    for who, day in [(s["clinician_id"], s["session_date"]) for s in sessions] + [
        (x["supervisee_id"], x["session_date"]) for x in supervision
    ]:
        first_seen[who] = min(first_seen.get(who, day), day)
    staff_facts = [
        StaffFact(r["member_id"], r["supervisor_id"], r["license_type"],
                  since=min(r["joined_on"], first_seen.get(r["member_id"], r["joined_on"])))
        for r in staff if r["active"] and r["role"] in STAFF_ROLES
    ]
    active_staff = {s.user_id for s in staff_facts}
    return Facts(
        notes=note_facts,
        plans=plan_facts,
        consents=consent_facts,
        clients=client_facts,
        staff=staff_facts,
        trainings=[
            TrainingFact(t["member_id"], t["completed_on"], training_expires_on(t["completed_on"]))
            for t in trainings if t["member_id"] in active_staff
        ],
        supervision=[
            SupervisionFact(x["session_id"], x["supervisee_id"], x["supervisor_id"], x["session_date"],
                            Decimal(x["hours"]), x["signed_at"])
            for x in supervision
        ],
        clinician_weeks=[
            ClinicianWeekFact(clinician, supervisor_of.get(clinician), week, *counts)
            for (clinician, week), counts in sorted(weeks.items(), key=lambda kv: (str(kv[0][0]), kv[0][1]))
        ],
        practice_months=[PracticeMonthFact(m, *counts) for m, counts in sorted(months.items())],
        unlinked_notes=unlinked,
    )


def _birth_from_majority(adult_on: date) -> date:
    try:
        return adult_on.replace(year=adult_on.year - AGE_OF_MAJORITY_YEARS)
    except ValueError:  # 29 February
        return adult_on.replace(year=adult_on.year - AGE_OF_MAJORITY_YEARS, day=28)


def majority_date(birth: date) -> date:
    try:
        return birth.replace(year=birth.year + AGE_OF_MAJORITY_YEARS)
    except ValueError:
        return date(birth.year + AGE_OF_MAJORITY_YEARS, 3, 1)


def supervision_overrides(curs: Cursor[Any], practice_id: UUID, on: date) -> dict[str, Decimal]:
    """The practice's own monthly hours per license type in force on `on` (latest setting wins)."""
    rows = _rows(
        curs,
        "SELECT DISTINCT ON (license_type) license_type, hours FROM cp_supervision_requirements "
        "WHERE practice_id = %s AND effective_on <= %s ORDER BY license_type, effective_on DESC",
        (practice_id, on),
    )
    return {r["license_type"]: Decimal(r["hours"]) for r in rows}


def ruleset_for(versions: RuleSetVersions, curs: Cursor[Any], practice_id: UUID, on: date) -> RuleSet:
    """The version in force on `on`, with the practice's own supervision hours in place of the
    rule's defaults."""
    ruleset = versions.in_force(on)
    overrides = supervision_overrides(curs, practice_id, on)
    if not overrides:
        return ruleset
    changed = [r.with_params(**overrides) for r in ruleset.rules if r.kind == SUPERVISION_HOURS]
    return ruleset.revise(ruleset.version, ruleset.effective_from, *changed)
