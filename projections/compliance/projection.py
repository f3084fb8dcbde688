"""The `compliance` projection: keeps the facts and re-evaluates the rules at every moment that
can change an answer.

Moments are the times events carry: a compliance day starting (the sweep's daily tick), a note
signed or linked, a visit completed, a flag set or cleared, supervision logged or signed, a
practice setting changed. Events without a time of their own (a consent withdrawn, a status
change) are judged at the practice's latest moment. The moment never goes back. Because the
moments come from the events, a rebuild from zero evaluates at exactly the same moments under
the rule versions in force on each moment's date — and so recomputes the alert history under a
rule version added later, while the as-of answer for an earlier date still uses the old one.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection
from psycopg import Cursor

from domain.clients.client import Client
from domain.clinical.clinical_note import ClinicalNote
from domain.clinical.note_types import note_type
from domain.compliance.alert_acknowledgement import AlertAcknowledgement
from domain.compliance.compliance_day import ComplianceDay
from domain.compliance.evaluation import evaluate, local_today
from domain.compliance.rules import RULESETS, RuleSetVersions
from domain.identity.membership import Membership
from domain.practices.practice import Practice
from domain.scheduling.appointment import Appointment
from domain.supervision.session import SupervisionSession
from projections.base import View
from projections.compliance.alerts import apply_findings
from projections.compliance.facts import load_facts, local_date, majority_date, ruleset_for
from projections.compliance.queries import ComplianceQueries

REQUIRED_DEMOGRAPHICS = ("address", "phone", "emergency_contact", "insurance_primary")
CLOSED_STATUSES = ("discharged", "inactive")


class ComplianceView(View, ComplianceQueries):
    tables = (
        "cp_practices", "cp_supervision_requirements", "cp_staff", "cp_trainings", "cp_clients", "cp_risk_flags",
        "cp_consents", "cp_sessions", "cp_notes", "cp_supervision", "cp_alerts",
    )
    rulesets: RuleSetVersions = RULESETS

    def reader(self) -> Cursor[Any]:
        """A second cursor on the batch's connection for reads between pipelined writes."""
        return self.curs.connection.cursor()

    def one(self, sql: str, params: tuple[Any, ...]) -> Any:
        read = self.reader()
        read.execute(sql, params)
        return read.fetchone()

    def zone_of(self, practice_id: UUID) -> ZoneInfo | None:
        row = self.one("SELECT time_zone FROM cp_practices WHERE practice_id = %s", (practice_id,))
        return ZoneInfo(row["time_zone"]) if row else None

    def evaluate_at(self, practice_id: UUID | None, at: datetime | None) -> None:
        if practice_id is None:
            return
        row = self.one("SELECT time_zone, moment FROM cp_practices WHERE practice_id = %s", (practice_id,))
        if row is None:
            return
        known = [m for m in (row["moment"], at) if m is not None]
        if not known:
            return
        moment = max(known)
        if moment != row["moment"]:
            self.curs.execute("UPDATE cp_practices SET moment = %s WHERE practice_id = %s", (moment, practice_id))
        tz = ZoneInfo(row["time_zone"])
        read = self.reader()
        ruleset = ruleset_for(self.rulesets, read, practice_id, local_today(moment, tz))
        findings = evaluate(ruleset, load_facts(read, practice_id, moment, tz), moment, tz)
        kinds = {r.code: r.kind for r in ruleset.rules}
        apply_findings(self.curs, read, practice_id, findings, kinds, moment)

    def practice_of(self, table: str, key: str, value: UUID) -> UUID | None:
        row = self.one(f"SELECT practice_id FROM {table} WHERE {key} = %s", (value,))
        return row["practice_id"] if row else None

    def local(self, practice_id: UUID, at: datetime) -> date:
        tz = self.zone_of(practice_id)
        return local_date(at, tz) if tz else at.date()


def _missing(values: dict[str, Any]) -> list[str]:
    return [f for f in REQUIRED_DEMOGRAPHICS if not values.get(f)]


class Compliance(Projection[ComplianceView]):
    name = "compliance"
    topics = (
        Practice.Registered.TOPIC, Practice.SupervisionRequirementSet.TOPIC,
        Membership.Invited.TOPIC, Membership.Accepted.TOPIC, Membership.RoleChanged.TOPIC,
        Membership.SupervisorAssigned.TOPIC, Membership.LicenseChanged.TOPIC, Membership.Deactivated.TOPIC,
        Membership.Reactivated.TOPIC, Membership.HipaaTrainingRecorded.TOPIC,
        Client.Registered.TOPIC, Client.DemographicsUpdated.TOPIC, Client.StatusChanged.TOPIC,
        Client.CareTeamMemberAssigned.TOPIC, Client.CareTeamMemberUnassigned.TOPIC, Client.ConsentRecorded.TOPIC,
        Client.ConsentWithdrawn.TOPIC, Client.RiskFlagSet.TOPIC, Client.RiskFlagCleared.TOPIC, Client.Erased.TOPIC,
        Appointment.Booked.TOPIC, Appointment.Completed.TOPIC, Appointment.MarkedNoShow.TOPIC,
        Appointment.Cancelled.TOPIC, Appointment.Rescheduled.TOPIC,
        ClinicalNote.Drafted.TOPIC, ClinicalNote.Edited.TOPIC, ClinicalNote.AppointmentLinked.TOPIC,
        ClinicalNote.Submitted.TOPIC, ClinicalNote.Signed.TOPIC, ClinicalNote.Cosigned.TOPIC,
        SupervisionSession.Logged.TOPIC, SupervisionSession.Edited.TOPIC, SupervisionSession.Signed.TOPIC,
        ComplianceDay.Started.TOPIC, AlertAcknowledgement.Acknowledged.TOPIC,
    )

    @property
    def v(self) -> ComplianceView:
        return self.view

    def sql(self, statement: str, params: tuple[Any, ...]) -> None:
        self.v.curs.execute(statement, params)  # type: ignore[arg-type]

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Events this view does not use still move its position (the runner records it)."""

    # -- practice and staff ------------------------------------------------------------------

    @process_event.register
    def _(self, e: Practice.Registered, tracking: Tracking) -> None:
        self.sql("INSERT INTO cp_practices (practice_id, time_zone) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                 (e.originator_id, e.time_zone))

    @process_event.register
    def _(self, e: Practice.SupervisionRequirementSet, tracking: Tracking) -> None:
        self.sql(
            "INSERT INTO cp_supervision_requirements (practice_id, license_type, effective_on, hours) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT (practice_id, license_type, effective_on) "
            "DO UPDATE SET hours = EXCLUDED.hours",
            (e.originator_id, e.license_type, self.v.local(e.originator_id, e.at), e.monthly_hours),
        )
        self.v.evaluate_at(e.originator_id, e.at)

    @process_event.register
    def _(self, e: Membership.Invited, tracking: Tracking) -> None:
        self.sql(
            "INSERT INTO cp_staff (member_id, practice_id, role, active, license_type, joined_on) "
            "VALUES (%s, %s, %s, false, %s, %s) ON CONFLICT DO NOTHING",
            (e.originator_id, e.practice_id, e.role, e.license_type, self.v.local(e.practice_id, e.timestamp)),
        )

    def _staff(self, member_id: UUID, assignment: str, value: Any) -> None:
        self.sql(f"UPDATE cp_staff SET {assignment} WHERE member_id = %s", (value, member_id))
        self.v.evaluate_at(self.v.practice_of("cp_staff", "member_id", member_id), None)

    @process_event.register
    def _(self, e: Membership.Accepted, tracking: Tracking) -> None:
        self._staff(e.originator_id, "active = %s", True)

    @process_event.register
    def _(self, e: Membership.Reactivated, tracking: Tracking) -> None:
        self._staff(e.originator_id, "active = %s", True)

    @process_event.register
    def _(self, e: Membership.Deactivated, tracking: Tracking) -> None:
        self._staff(e.originator_id, "active = %s", False)

    @process_event.register
    def _(self, e: Membership.RoleChanged, tracking: Tracking) -> None:
        self._staff(e.originator_id, "role = %s", e.role)

    @process_event.register
    def _(self, e: Membership.SupervisorAssigned, tracking: Tracking) -> None:
        self._staff(e.originator_id, "supervisor_id = %s", e.supervisor_id)

    @process_event.register
    def _(self, e: Membership.LicenseChanged, tracking: Tracking) -> None:
        self._staff(e.originator_id, "license_type = %s", e.license_type)

    @process_event.register
    def _(self, e: Membership.HipaaTrainingRecorded, tracking: Tracking) -> None:
        practice_id = self.v.practice_of("cp_staff", "member_id", e.originator_id)
        if practice_id is None:
            return
        self.sql(
            "INSERT INTO cp_trainings (member_id, completed_on, practice_id) VALUES (%s, %s, %s) "
            "ON CONFLICT DO NOTHING",
            (e.originator_id, e.completed_on, practice_id),
        )
        self.v.evaluate_at(practice_id, None)

    # -- clients -------------------------------------------------------------------------------

    @process_event.register
    def _(self, e: Client.Registered, tracking: Tracking) -> None:
        erased = getattr(e, "phi_erased", False)
        values = {} if erased else {f: getattr(e, f, None) for f in REQUIRED_DEMOGRAPHICS}
        dob = None if erased else e.date_of_birth
        self.sql(
            "INSERT INTO cp_clients (client_id, practice_id, registered_on, adult_on, missing_demographics) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (e.originator_id, e.practice_id, self.v.local(e.practice_id, e.timestamp),
             majority_date(dob) if isinstance(dob, date) else None, [] if erased else _missing(values)),
        )

    def _client_practice(self, client_id: UUID) -> UUID | None:
        return self.v.practice_of("cp_clients", "client_id", client_id)

    @process_event.register
    def _(self, e: Client.DemographicsUpdated, tracking: Tracking) -> None:
        if getattr(e, "phi_erased", False):
            return
        row = self.v.one("SELECT practice_id, missing_demographics FROM cp_clients WHERE client_id = %s",
                         (e.originator_id,))
        if row is None:
            return
        missing = set(row["missing_demographics"])
        for name in REQUIRED_DEMOGRAPHICS:
            if name in e.changes:
                (missing.discard if e.changes[name] else missing.add)(name)
        self.sql("UPDATE cp_clients SET missing_demographics = %s WHERE client_id = %s",
                 ([f for f in REQUIRED_DEMOGRAPHICS if f in missing], e.originator_id))
        dob = e.changes.get("date_of_birth")
        if isinstance(dob, str):
            dob = date.fromisoformat(dob)
        if isinstance(dob, date):
            self.sql("UPDATE cp_clients SET adult_on = %s WHERE client_id = %s", (majority_date(dob), e.originator_id))
        self.v.evaluate_at(row["practice_id"], None)

    @process_event.register
    def _(self, e: Client.StatusChanged, tracking: Tracking) -> None:
        row = self.v.one(
            "SELECT c.practice_id, p.moment, p.time_zone FROM cp_clients c JOIN cp_practices p USING (practice_id) "
            "WHERE c.client_id = %s", (e.originator_id,),
        )
        if row is None:
            return
        closed_on = None
        if e.status in CLOSED_STATUSES:
            closed_on = local_date(row["moment"] or e.timestamp, ZoneInfo(row["time_zone"]))
        self.sql("UPDATE cp_clients SET discharged_on = %s WHERE client_id = %s", (closed_on, e.originator_id))
        self.v.evaluate_at(row["practice_id"], None)

    @process_event.register
    def _(self, e: Client.CareTeamMemberAssigned, tracking: Tracking) -> None:
        if "clinician" in e.team_role or "primary" in e.team_role:
            self.sql("UPDATE cp_clients SET clinician_id = COALESCE(clinician_id, %s) WHERE client_id = %s",
                     (e.staff_id, e.originator_id))

    @process_event.register
    def _(self, e: Client.CareTeamMemberUnassigned, tracking: Tracking) -> None:
        self.sql("UPDATE cp_clients SET clinician_id = NULL WHERE client_id = %s AND clinician_id = %s",
                 (e.originator_id, e.staff_id))

    @process_event.register
    def _(self, e: Client.ConsentRecorded, tracking: Tracking) -> None:
        practice_id = self._client_practice(e.originator_id)
        if practice_id is None:
            return
        self.sql(
            "INSERT INTO cp_consents (consent_id, practice_id, client_id, type, signed_at, expires_at) "
            "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (e.consent_id, practice_id, e.originator_id, e.type, e.signed_at, e.expires_at),
        )
        self.v.evaluate_at(practice_id, e.signed_at)

    @process_event.register
    def _(self, e: Client.ConsentWithdrawn, tracking: Tracking) -> None:
        row = self.v.one(
            "SELECT c.practice_id, p.moment FROM cp_consents c JOIN cp_practices p USING (practice_id) "
            "WHERE c.consent_id = %s", (e.consent_id,),
        )
        if row is None:
            return
        self.sql("UPDATE cp_consents SET withdrawn_at = %s WHERE consent_id = %s",
                 (row["moment"] or e.timestamp, e.consent_id))
        self.v.evaluate_at(row["practice_id"], None)

    @process_event.register
    def _(self, e: Client.RiskFlagSet, tracking: Tracking) -> None:
        practice_id = self._client_practice(e.originator_id)
        if practice_id is None:
            return
        self.sql(
            "INSERT INTO cp_risk_flags (client_id, flag, set_at, practice_id) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT DO NOTHING",
            (e.originator_id, e.flag, e.at, practice_id),
        )
        self.v.evaluate_at(practice_id, e.at)

    @process_event.register
    def _(self, e: Client.RiskFlagCleared, tracking: Tracking) -> None:
        practice_id = self._client_practice(e.originator_id)
        self.sql("UPDATE cp_risk_flags SET cleared_at = %s WHERE client_id = %s AND flag = %s AND cleared_at IS NULL",
                 (e.at, e.originator_id, e.flag))
        self.v.evaluate_at(practice_id, e.at)

    @process_event.register
    def _(self, e: Client.Erased, tracking: Tracking) -> None:
        self.sql("UPDATE cp_clients SET adult_on = NULL, missing_demographics = '{}' WHERE client_id = %s",
                 (e.originator_id,))

    # -- appointments --------------------------------------------------------------------------

    @process_event.register
    def _(self, e: Appointment.Booked, tracking: Tracking) -> None:
        self.sql(
            "INSERT INTO cp_sessions (appointment_id, practice_id, client_id, clinician_id, session_date, ends_at, "
            "modality, booked_at, status) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 'open') ON CONFLICT DO NOTHING",
            (e.originator_id, e.practice_id, e.client_id, e.clinician_id, self.v.local(e.practice_id, e.starts_at),
             e.ends_at, e.modality, e.booked_at),
        )
        day = self.v.local(e.practice_id, e.starts_at)
        self.sql(
            "UPDATE cp_clients SET registered_on = LEAST(registered_on, %s), "
            "last_clinician_id = CASE WHEN last_session_on IS NULL OR last_session_on <= %s THEN %s "
            "ELSE last_clinician_id END, last_session_on = GREATEST(last_session_on, %s), "
            "telehealth_since = CASE WHEN %s THEN LEAST(telehealth_since, %s) ELSE telehealth_since END "
            "WHERE client_id = %s",
            (self.v.local(e.practice_id, e.booked_at), day, e.clinician_id, day, e.modality == "telehealth", day,
             e.client_id),
        )
        self.sql("UPDATE cp_staff SET first_session_on = LEAST(first_session_on, %s) WHERE member_id = %s",
                 (day, e.clinician_id))

    def _status(self, appointment_id: UUID, status: str, at: datetime, evaluate: bool = False) -> None:
        self.sql("UPDATE cp_sessions SET status = %s, status_at = %s WHERE appointment_id = %s",
                 (status, at, appointment_id))
        if evaluate:
            self.v.evaluate_at(self.v.practice_of("cp_sessions", "appointment_id", appointment_id), at)

    @process_event.register
    def _(self, e: Appointment.Completed, tracking: Tracking) -> None:
        self._status(e.originator_id, "completed", e.at, evaluate=True)

    @process_event.register
    def _(self, e: Appointment.MarkedNoShow, tracking: Tracking) -> None:
        self._status(e.originator_id, "no_show", e.at)

    @process_event.register
    def _(self, e: Appointment.Cancelled, tracking: Tracking) -> None:
        self._status(e.originator_id, "cancelled", e.at)

    @process_event.register
    def _(self, e: Appointment.Rescheduled, tracking: Tracking) -> None:
        self._status(e.originator_id, "rescheduled", e.at)

    # -- notes ---------------------------------------------------------------------------------

    @process_event.register
    def _(self, e: ClinicalNote.Drafted, tracking: Tracking) -> None:
        self.sql(
            "INSERT INTO cp_notes (note_id, practice_id, client_id, author_id, note_type, session_note, service_date, "
            "appointment_id, drafted_at, requires_cosign) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT DO NOTHING",
            (e.originator_id, e.practice_id, e.client_id, e.author_id, e.note_type,
             note_type(e.note_type).session_note, e.service_date, e.appointment_id, e.drafted_at, e.requires_cosign),
        )
        if note_type(e.note_type).session_note and e.appointment_id is None:
            self.v.evaluate_at(e.practice_id, e.drafted_at)

    def _note_practice(self, note_id: UUID) -> UUID | None:
        return self.v.practice_of("cp_notes", "note_id", note_id)

    def _documented(self, note_id: UUID) -> None:
        """The visit a session note documents is signed from the note's first complete signature."""
        self.sql(
            "UPDATE cp_sessions s SET signed_at = n.fully_signed_at FROM cp_notes n WHERE n.note_id = %s "
            "AND n.session_note AND n.fully_signed_at IS NOT NULL AND s.appointment_id = n.appointment_id "
            "AND (s.signed_at IS NULL OR s.signed_at > n.fully_signed_at)",
            (note_id,),
        )

    @process_event.register
    def _(self, e: ClinicalNote.Edited, tracking: Tracking) -> None:
        self.sql("UPDATE cp_notes SET service_date = %s WHERE note_id = %s", (e.service_date, e.originator_id))

    @process_event.register
    def _(self, e: ClinicalNote.AppointmentLinked, tracking: Tracking) -> None:
        self.sql("UPDATE cp_notes SET appointment_id = %s WHERE note_id = %s", (e.appointment_id, e.originator_id))
        self._documented(e.originator_id)
        self.v.evaluate_at(self._note_practice(e.originator_id), e.at)

    @process_event.register
    def _(self, e: ClinicalNote.Submitted, tracking: Tracking) -> None:
        self.sql("UPDATE cp_notes SET requires_cosign = %s WHERE note_id = %s", (e.requires_cosign, e.originator_id))

    @process_event.register
    def _(self, e: ClinicalNote.Signed, tracking: Tracking) -> None:
        self.sql(
            "UPDATE cp_notes SET signatures = array_append(signatures, %s), signed_at = COALESCE(signed_at, %s), "
            "fully_signed_at = CASE WHEN requires_cosign THEN fully_signed_at ELSE COALESCE(fully_signed_at, %s) END "
            "WHERE note_id = %s",
            (e.at, e.at, e.at, e.originator_id),
        )
        self._documented(e.originator_id)
        self.v.evaluate_at(self._note_practice(e.originator_id), e.at)

    @process_event.register
    def _(self, e: ClinicalNote.Cosigned, tracking: Tracking) -> None:
        self.sql("UPDATE cp_notes SET fully_signed_at = COALESCE(fully_signed_at, %s) WHERE note_id = %s",
                 (e.at, e.originator_id))
        self._documented(e.originator_id)
        self.v.evaluate_at(self._note_practice(e.originator_id), e.at)

    # -- supervision ---------------------------------------------------------------------------

    @process_event.register
    def _(self, e: SupervisionSession.Logged, tracking: Tracking) -> None:
        self.sql(
            "INSERT INTO cp_supervision (session_id, practice_id, supervisee_id, supervisor_id, session_date, hours, "
            "logged_at) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (e.originator_id, e.practice_id, e.supervisee_id, e.supervisor_id, e.session_date, e.hours, e.logged_at),
        )
        self.v.evaluate_at(e.practice_id, e.logged_at)

    @process_event.register
    def _(self, e: SupervisionSession.Edited, tracking: Tracking) -> None:
        self.sql("UPDATE cp_supervision SET session_date = %s, hours = %s WHERE session_id = %s",
                 (e.session_date, e.hours, e.originator_id))
        self.v.evaluate_at(self.v.practice_of("cp_supervision", "session_id", e.originator_id), e.at)

    @process_event.register
    def _(self, e: SupervisionSession.Signed, tracking: Tracking) -> None:
        self.sql("UPDATE cp_supervision SET signed_at = %s WHERE session_id = %s", (e.at, e.originator_id))
        self.v.evaluate_at(self.v.practice_of("cp_supervision", "session_id", e.originator_id), e.at)

    # -- the clock and acknowledgements ------------------------------------------------------

    @process_event.register
    def _(self, e: ComplianceDay.Started, tracking: Tracking) -> None:
        self.v.evaluate_at(e.practice_id, e.at)

    @process_event.register
    def _(self, e: AlertAcknowledgement.Acknowledged, tracking: Tracking) -> None:
        self.sql(
            "UPDATE cp_alerts SET status = CASE WHEN status = 'open' THEN 'acknowledged' ELSE status END, "
            "acknowledged_at = %s, acknowledged_by = %s, acknowledged_note = %s WHERE alert_id = %s",
            (e.at, e.by, e.note, e.originator_id),
        )
