"""Reading the compliance read model: alerts by audience, the as-of answer, session documentation."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from domain.compliance.evaluation import AsOf, evaluate
from domain.compliance.rules import RuleSet, RuleSetVersions
from projections.compliance.alerts import ALERT_COLUMNS
from projections.compliance.facts import load_facts, ruleset_for

ALERT_STATUSES = ("open", "acknowledged", "resolved")


@dataclass(frozen=True)
class AlertRow:
    alert_id: UUID
    practice_id: UUID
    key: str
    rule_code: str
    step: str
    rule_version: int
    kind: str
    severity: str
    target: str
    subject_type: str
    subject_id: UUID | None
    period: date | None
    client_id: UUID | None
    clinician_id: UUID | None
    supervisor_id: UUID | None
    message: str
    action: str
    violation: bool
    since: date
    due: date | None
    status: str
    opened_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: UUID | None
    acknowledged_note: str | None
    resolved_at: datetime | None


@dataclass(frozen=True)
class SessionDocumentation:
    appointment_id: UUID
    practice_id: UUID
    client_id: UUID
    clinician_id: UUID
    session_date: date
    status: str
    signed_at: datetime | None


class ComplianceQueries:
    """Mixed into the view; `query` and `datastore` come from it."""

    rulesets: RuleSetVersions

    def query(self, sql: str, params: Any = ()) -> list[Any]:
        raise NotImplementedError

    def practices(self) -> list[tuple[UUID, str]]:
        return [(r["practice_id"], r["time_zone"]) for r in self.query(
            "SELECT practice_id, time_zone FROM cp_practices ORDER BY practice_id")]

    def time_zone(self, practice_id: UUID) -> ZoneInfo | None:
        rows = self.query("SELECT time_zone FROM cp_practices WHERE practice_id = %s", (practice_id,))
        return ZoneInfo(rows[0]["time_zone"]) if rows else None

    def alerts(
        self, practice_id: UUID, *, concerning: Collection[UUID] | None, status: str | None = None,
        kind: str | None = None, severity: str | None = None, limit: int = 200,
    ) -> list[AlertRow]:
        """Newest first. `concerning`: only alerts whose clinician or supervisor is one of these
        members (None: every alert of the practice, for administrators). "active" = open or
        acknowledged."""
        sql = f"SELECT {ALERT_COLUMNS} FROM cp_alerts WHERE practice_id = %s"
        params: list[Any] = [practice_id]
        if concerning is not None:
            sql += " AND (clinician_id = ANY(%s) OR supervisor_id = ANY(%s))"
            params += [list(concerning), list(concerning)]
        if status == "active":
            sql += " AND status <> 'resolved'"
        elif status:
            sql += " AND status = %s"
            params.append(status)
        if kind:
            sql += " AND (kind = %s OR rule_code = %s)"
            params += [kind, kind]
        if severity:
            sql += " AND severity = %s"
            params.append(severity)
        sql += " ORDER BY opened_at DESC, alert_id LIMIT %s"
        params.append(limit)
        return [AlertRow(**r) for r in self.query(sql, params)]

    def alert(self, practice_id: UUID, alert_id: UUID) -> AlertRow | None:
        rows = self.query(f"SELECT {ALERT_COLUMNS} FROM cp_alerts WHERE practice_id = %s AND alert_id = %s",
                          (practice_id, alert_id))
        return AlertRow(**rows[0]) if rows else None

    def ruleset_on(self, practice_id: UUID, on: date) -> RuleSet:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:  # type: ignore[attr-defined]
            return ruleset_for(self.rulesets, curs, practice_id, on)

    def as_of(self, practice_id: UUID, on: date) -> AsOf | None:
        """The findings at the end of local date `on` (its last microsecond), from history, under
        the rule version in force on that date."""
        tz = self.time_zone(practice_id)
        if tz is None:
            return None
        moment = datetime.combine(on + timedelta(days=1), time(), tz) - timedelta(microseconds=1)
        with self.datastore.get_connection() as conn, conn.cursor() as curs:  # type: ignore[attr-defined]
            ruleset = ruleset_for(self.rulesets, curs, practice_id, on)
            findings = evaluate(ruleset, load_facts(curs, practice_id, moment, tz), moment, tz)
        return AsOf(practice_id, on, moment, ruleset.name, ruleset.version, ruleset.effective_from, findings)

    def session(self, practice_id: UUID, appointment_id: UUID) -> SessionDocumentation | None:
        rows = self.query(
            "SELECT s.appointment_id, s.practice_id, s.client_id, s.clinician_id, s.session_date, s.status, "
            "(SELECT min(n.fully_signed_at) FROM cp_notes n WHERE n.appointment_id = s.appointment_id "
            " AND n.session_note) AS signed_at FROM cp_sessions s WHERE s.practice_id = %s AND s.appointment_id = %s",
            (practice_id, appointment_id),
        )
        return SessionDocumentation(**rows[0]) if rows else None
