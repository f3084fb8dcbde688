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


def _rows(curs: Cursor[Any], sql: str, params: tuple[Any, ...] | dict[str, Any]) -> list[Any]:
    curs.execute(sql, params)
    return list(curs.fetchall())


STATUS_THEN = "CASE WHEN status_at IS NOT NULL AND status_at <= %(now)s THEN status ELSE 'open' END"


def load_facts(curs: Cursor[Any], practice_id: UUID, now: datetime, tz: ZoneInfo) -> Facts:
    """Only what the rules can still judge is read: visits completed and not signed by `now`,
    the weeks and months the escalations look at, unsigned or recent supervision, plan and
    safety-plan signatures; so an evaluation costs the practice's open work, not its history."""
    today = local_date(now, tz)
    q: dict[str, Any] = {"p": practice_id, "now": now, "weeks_from": today - timedelta(days=35),
         "months_from": (today.replace(day=1) - timedelta(days=62)).replace(day=1),
         "supervision_from": (today.replace(day=1) - timedelta(days=1)).replace(day=1)}
    staff = _rows(
        curs,
        "SELECT member_id, role, active, supervisor_id, license_type, joined_on, first_session_on FROM cp_staff "
        "WHERE practice_id = %(p)s",
        q,
    )
    supervisor_of: dict[UUID, UUID | None] = {r["member_id"]: r["supervisor_id"] for r in staff}
    unsigned_visits = _rows(
        curs,
        "SELECT appointment_id, client_id, clinician_id, session_date, signed_at FROM cp_sessions "
        "WHERE practice_id = %(p)s AND status = 'completed' AND status_at <= %(now)s AND booked_at <= %(now)s "
        "AND (signed_at IS NULL OR signed_at > %(now)s) ORDER BY session_date, appointment_id",
        q,
    )
    weeks = _rows(
        curs,
        f"SELECT clinician_id, session_date - (extract(isodow FROM session_date)::int - 1) AS week, "
        f"count(*) AS scheduled, count(*) FILTER (WHERE {STATUS_THEN} = 'completed') AS completed, "
        f"count(*) FILTER (WHERE {STATUS_THEN} = 'no_show') AS no_shows FROM cp_sessions "
        f"WHERE practice_id = %(p)s AND booked_at <= %(now)s AND session_date >= %(weeks_from)s "
        f"AND {STATUS_THEN} <> 'rescheduled' GROUP BY 1, 2 ORDER BY 1, 2",
        q,
    )
    months = _rows(
        curs,
        f"SELECT date_trunc('month', session_date)::date AS month, count(*) AS scheduled, "
        f"count(*) FILTER (WHERE {STATUS_THEN} = 'completed') AS completed FROM cp_sessions "
        f"WHERE practice_id = %(p)s AND booked_at <= %(now)s AND session_date >= %(months_from)s "
        f"AND {STATUS_THEN} <> 'rescheduled' GROUP BY 1 ORDER BY 1",
        q,
    )
    notes = _rows(
        curs,
        "SELECT note_id, client_id, author_id, note_type, session_note, service_date, appointment_id, "
        "fully_signed_at, signatures FROM cp_notes WHERE practice_id = %(p)s AND drafted_at <= %(now)s "
        "AND ((session_note AND appointment_id IS NULL) OR note_type IN ('treatment_plan', 'safety_plan')) "
        "ORDER BY service_date, note_id",
        q,
    )
    clients = _rows(
        curs,
        "SELECT client_id, registered_on, discharged_on, adult_on, COALESCE(clinician_id, last_clinician_id) "
        "AS clinician_id, telehealth_since, missing_demographics FROM cp_clients WHERE practice_id = %(p)s "
        "ORDER BY client_id",
        q,
    )
    flags = _rows(
        curs,
        "SELECT client_id, set_at FROM cp_risk_flags WHERE practice_id = %(p)s AND set_at <= %(now)s "
        "AND (cleared_at IS NULL OR cleared_at > %(now)s)",
        q,
    )
    consents = _rows(
        curs,
        "SELECT client_id, type, signed_at, expires_at, withdrawn_at FROM cp_consents "
        "WHERE practice_id = %(p)s AND signed_at <= %(now)s ORDER BY signed_at, consent_id",
        q,
    )
    trainings = _rows(curs, "SELECT member_id, completed_on FROM cp_trainings WHERE practice_id = %(p)s", q)
    supervision = _rows(
        curs,
        "SELECT session_id, supervisee_id, supervisor_id, session_date, hours, signed_at FROM cp_supervision "
        "WHERE practice_id = %(p)s AND logged_at <= %(now)s "
        "AND (session_date >= %(supervision_from)s OR signed_at IS NULL OR signed_at > %(now)s) "
        "ORDER BY session_date, session_id",
        q,
    )

    note_facts = [
        NoteFact(s["appointment_id"], s["client_id"], s["clinician_id"], supervisor_of.get(s["clinician_id"]),
                 s["session_date"], s["signed_at"])
        for s in unsigned_visits
    ]
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
        clinician = c["clinician_id"]
        supervisor = supervisor_of.get(clinician) if clinician else None
        adult_on = c["adult_on"]
        client_facts.append(ClientFact(
            client_id=c["client_id"], clinician_id=clinician, supervisor_id=supervisor,
            active_since=c["registered_on"], discharged_on=c["discharged_on"],
            birth_date=_birth_from_majority(adult_on) if adult_on else None,
            telehealth_since=c["telehealth_since"],
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

    first_supervision: dict[UUID, date] = {}
    for x in supervision:
        first_supervision[x["supervisee_id"]] = min(first_supervision.get(x["supervisee_id"], x["session_date"]),
                                                    x["session_date"])
    staff_facts = [
        StaffFact(r["member_id"], r["supervisor_id"], r["license_type"],
                  since=min(d for d in (r["joined_on"], r["first_session_on"], first_supervision.get(r["member_id"]))
                            if d is not None))
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
            ClinicianWeekFact(w["clinician_id"], supervisor_of.get(w["clinician_id"]), w["week"], w["scheduled"],
                              w["completed"], w["no_shows"])
            for w in weeks
        ],
        practice_months=[PracticeMonthFact(m["month"], m["scheduled"], m["completed"]) for m in months],
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
