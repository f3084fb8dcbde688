"""Documentation, clinical-quality, supervision and consent metrics (seed 001, Module 7, categories
2, 3, 6, 10 and 12) from the compliance read model's facts (`cp_*` tables).

The definitions live in `domain.clinical.documentation_metrics`. A report is a handful of
aggregate statements run in one read-only, repeatable-read transaction (one snapshot). Each
statement groups by member with `GROUPING SETS ((member), ())`, so the same pass yields every
asked clinician's counts and the total of the group (the practice, or a team) — the total adds up
numerators and denominators, and counts clients with no clinician only in the practice's total.
Nothing is stored: the tables the compliance projection keeps already hold every time needed to
answer "as of" any moment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from psycopg import Cursor

from domain.clinical.documentation_metrics import (
    COUNTS,
    DocumentationReport,
    SupervisionMonth,
    Thresholds,
    documentation_metrics,
    month_of,
    supervision_month,
    thresholds,
)
from domain.compliance.evaluation import INFORMED_CONSENT_VALID_FOR
from domain.identity.membership import TRAINING_VALID_FOR
from domain.identity.permissions import STAFF_ROLES
from domain.scheduling.metrics import period_bounds
from projections.compliance.facts import ruleset_for
from projections.compliance.projection import ComplianceView

FALLBACK_ZONE = "UTC"
TOTAL = "total"

SESSIONS = """
WITH s AS (
    SELECT s.clinician_id AS who, s.session_date, s.ends_at,
           (SELECT min(n.fully_signed_at) FROM cp_notes n
             WHERE n.appointment_id = s.appointment_id AND n.session_note AND n.fully_signed_at <= %(at)s)
           AS signed_at,
           EXISTS (SELECT 1 FROM cp_notes n
                    WHERE n.appointment_id = s.appointment_id AND n.note_type = 'crisis_intervention'
                      AND n.drafted_at <= %(at)s) AS crisis
      FROM cp_sessions s
     WHERE s.practice_id = %(p)s AND s.session_date BETWEEN %(first)s AND %(last)s
       AND s.status = 'completed' AND s.status_at <= %(at)s {who}
)
SELECT who, GROUPING(who) AS total, count(*) AS completed_sessions,
       count(*) FILTER (WHERE (signed_at AT TIME ZONE %(tz)s)::date = session_date) AS same_day_signed,
       count(signed_at) AS signed_sessions,
       coalesce(sum(greatest(extract(epoch FROM signed_at - ends_at), 0) * 1000000), 0)::bigint
       AS documentation_us,
       count(*) FILTER (WHERE crisis) AS crisis_sessions,
       count(*) FILTER (WHERE signed_at IS NULL AND session_date <= %(note_cutoff)s) AS overdue_in_period
  FROM s GROUP BY GROUPING SETS ((who), ())
"""
UNSIGNED = """
SELECT who, GROUPING(who) AS total, count(*) AS unsigned_notes,
       count(*) FILTER (WHERE session_date <= %(note_cutoff)s) AS overdue_notes,
       min(session_date) AS oldest_unsigned_on
  FROM (SELECT s.clinician_id AS who, s.session_date FROM cp_sessions s
         WHERE s.practice_id = %(p)s AND s.status = 'completed' AND s.status_at <= %(at)s {who}
           AND NOT EXISTS (SELECT 1 FROM cp_notes n
                            WHERE n.appointment_id = s.appointment_id AND n.session_note
                              AND n.fully_signed_at <= %(at)s)) u
 GROUP BY GROUPING SETS ((who), ())
"""


def _local(instant: str) -> str:
    """SQL for the practice-local date of a timestamptz expression."""
    return f"({instant} AT TIME ZONE %(tz)s)::date"


CLIENTS = f"""
WITH active AS (
    SELECT c.client_id, c.clinician_id, c.adult_on FROM cp_clients c
     WHERE c.practice_id = %(p)s AND c.registered_on <= %(today)s
       AND (c.discharged_on IS NULL OR c.discharged_on > %(today)s)
), booked AS (
    SELECT s.client_id, s.clinician_id, s.session_date, s.appointment_id, s.modality FROM cp_sessions s
     WHERE s.practice_id = %(p)s AND s.booked_at <= %(at)s
       AND NOT (s.status IN ('cancelled', 'rescheduled') AND s.status_at <= %(at)s)
), latest AS (
    SELECT DISTINCT ON (client_id) client_id, clinician_id FROM booked
     ORDER BY client_id, session_date DESC, appointment_id DESC
), telehealth AS (
    SELECT client_id, min(session_date) AS since FROM booked WHERE modality = 'telehealth' GROUP BY client_id
), signed AS (
    SELECT n.client_id, max({_local('t')}) FILTER (WHERE n.note_type = 'treatment_plan') AS plan_on,
           max({_local('t')}) FILTER (WHERE n.note_type = 'safety_plan') AS safety_on
      FROM cp_notes n CROSS JOIN LATERAL unnest(n.signatures) AS t
     WHERE n.practice_id = %(p)s AND n.note_type IN ('treatment_plan', 'safety_plan') AND t <= %(at)s
     GROUP BY n.client_id
), flagged AS (
    SELECT r.client_id, min({_local('r.set_at')}) AS since FROM cp_risk_flags r
     WHERE r.practice_id = %(p)s AND r.set_at <= %(at)s AND (r.cleared_at IS NULL OR r.cleared_at > %(at)s)
     GROUP BY r.client_id
), consented AS (
    SELECT k.client_id, bool_or(k.type = 'informed_consent') AS informed,
           bool_or(k.type = 'guardian_consent') AS guardian, bool_or(k.type = 'telehealth_consent') AS telehealth
      FROM cp_consents k
     WHERE k.practice_id = %(p)s AND k.signed_at <= %(at)s AND (k.withdrawn_at IS NULL OR k.withdrawn_at > %(at)s)
       AND %(today)s < coalesce({_local('k.expires_at')},
                                CASE WHEN k.type = 'informed_consent'
                                     THEN {_local('k.signed_at')} + %(informed_days)s::int END,
                                'infinity'::date)
     GROUP BY k.client_id
), f AS (
    SELECT coalesce(a.clinician_id, l.clinician_id) AS who, coalesce(a.adult_on > %(today)s, false) AS minor,
           g.plan_on, g.safety_on, fl.since AS flagged_on, th.since AS telehealth_since,
           coalesce(k.informed, false) AS informed, coalesce(k.guardian, false) AS guardian,
           coalesce(k.telehealth, false) AS telehealth
      FROM active a
      LEFT JOIN latest l USING (client_id) LEFT JOIN telehealth th USING (client_id)
      LEFT JOIN signed g USING (client_id) LEFT JOIN flagged fl USING (client_id)
      LEFT JOIN consented k USING (client_id)
)
SELECT who, GROUPING(who) AS total, count(*) AS active_clients,
       count(*) FILTER (WHERE plan_on > %(plan_cutoff)s) AS plans_current,
       count(*) FILTER (WHERE informed) AS informed_covered,
       count(*) FILTER (WHERE minor) AS minor_clients,
       count(*) FILTER (WHERE minor AND guardian) AS minors_covered,
       count(*) FILTER (WHERE telehealth_since <= %(today)s) AS telehealth_clients,
       count(*) FILTER (WHERE telehealth_since <= %(today)s AND telehealth) AS telehealth_covered,
       count(*) FILTER (WHERE flagged_on <= %(today)s) AS high_risk_clients,
       count(*) FILTER (WHERE flagged_on <= %(today)s AND safety_on >= flagged_on) AS safety_plans_covered
  FROM f WHERE true {{who}} GROUP BY GROUPING SETS ((who), ())
"""
RETENTION = """
WITH completed AS (
    SELECT s.client_id, s.clinician_id, s.session_date, s.ends_at, s.appointment_id FROM cp_sessions s
     WHERE s.practice_id = %(p)s AND s.status = 'completed' AND s.status_at <= %(at)s
       AND s.session_date <= %(today)s
), firsts AS (
    SELECT DISTINCT ON (client_id) client_id, clinician_id AS who, session_date AS first_on FROM completed
     WHERE session_date <= %(cohort_last)s ORDER BY client_id, session_date, ends_at, appointment_id
), recent AS (
    SELECT DISTINCT client_id FROM completed WHERE session_date > %(cohort_last)s
)
SELECT f.who AS who, GROUPING(f.who) AS total, count(*) AS retention_cohort, count(r.client_id) AS retained
  FROM firsts f LEFT JOIN recent r USING (client_id)
 WHERE f.first_on >= %(cohort_first)s {who}
 GROUP BY GROUPING SETS ((f.who), ())
"""
SUPERVISION_NOTES = """
SELECT who, GROUPING(who) AS total,
       count(*) FILTER (WHERE signed OR session_date <= %(supervision_cutoff)s) AS supervision_sessions,
       count(*) FILTER (WHERE signed AND signed_on < session_date + %(supervision_days)s::int) AS supervision_timely
  FROM (SELECT x.supervisee_id AS who, x.session_date, coalesce(x.signed_at <= %(at)s, false) AS signed,
               (x.signed_at AT TIME ZONE %(tz)s)::date AS signed_on
          FROM cp_supervision x
         WHERE x.practice_id = %(p)s AND x.session_date BETWEEN %(first)s AND %(last)s
           AND x.logged_at <= %(at)s {who}) x
 GROUP BY GROUPING SETS ((who), ())
"""
_ACTIVE_STAFF = "st.practice_id = %(p)s AND st.active AND st.role = ANY(%(staff_roles)s)"
TRAINING = f"""
SELECT st.member_id AS who, GROUPING(st.member_id) AS total, count(*) AS staff,
       count(*) FILTER (WHERE EXISTS (
           SELECT 1 FROM cp_trainings t
            WHERE t.member_id = st.member_id AND t.completed_on <= %(today)s
              AND t.completed_on + %(training_days)s::int > %(today)s)) AS staff_trained
  FROM cp_staff st WHERE {_ACTIVE_STAFF} {{who}}
 GROUP BY GROUPING SETS ((st.member_id), ())
"""
SUPERVISION_HOURS = f"""
SELECT st.member_id, st.license_type, coalesce(sum(x.hours), 0) AS hours
  FROM cp_staff st
  LEFT JOIN cp_supervision x
         ON x.supervisee_id = st.member_id AND x.session_date BETWEEN %(month_first)s AND %(month_last)s
        AND x.logged_at <= %(at)s
 WHERE {_ACTIVE_STAFF} AND st.license_type = ANY(%(licenses)s) {{who}}
 GROUP BY st.member_id, st.license_type ORDER BY st.member_id
"""


@dataclass(frozen=True)
class TeamDocumentation:
    """Reports of several clinicians, and of the group as a whole (`total`)."""

    members: dict[UUID, DocumentationReport]
    total: DocumentationReport


@dataclass
class _Group:
    counts: dict[str, int]
    documentation_us: int = 0
    oldest_unsigned_on: date | None = None


def plain(hours: Decimal) -> Decimal:
    """Hours without trailing zeros (1.50 -> 1.5, 4.00 -> 4), never in exponent form."""
    n = hours.normalize()
    return n.quantize(Decimal(1)) if n == n.to_integral_value() else n


def end_of(day: date, tz: ZoneInfo) -> datetime:
    """The last microsecond of the local date."""
    return datetime.combine(day + timedelta(days=1), time(), tz) - timedelta(microseconds=1)


class DocumentationMetrics:
    def __init__(self, view: ComplianceView) -> None:
        self.view = view

    def member_practice(self, member_id: UUID) -> UUID | None:
        rows = self.view.query("SELECT practice_id FROM cp_staff WHERE member_id = %s", (member_id,))
        return rows[0]["practice_id"] if rows else None

    def report(
        self, practice_id: UUID, period: str, day: date, now: datetime, clinician_id: UUID | None = None
    ) -> DocumentationReport:
        """The clinician's metrics (without one: the whole practice's) for the period containing
        `day`, as of the earlier of `now` and the period's end."""
        if clinician_id is None:
            return self._reports(practice_id, period, day, now, None).total
        return self._reports(practice_id, period, day, now, [clinician_id]).members[clinician_id]

    def team(
        self, practice_id: UUID, period: str, day: date, now: datetime, clinician_ids: Sequence[UUID]
    ) -> TeamDocumentation:
        """Each clinician's report and the team's (numerators and denominators added up)."""
        return self._reports(practice_id, period, day, now, list(dict.fromkeys(clinician_ids)))

    def _reports(
        self, practice_id: UUID, period: str, day: date, now: datetime, clinicians: list[UUID] | None
    ) -> TeamDocumentation:
        first, last = period_bounds(period, day)
        with self.view.datastore.transaction() as curs:
            curs.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            curs.execute("SELECT time_zone FROM cp_practices WHERE practice_id = %s", (practice_id,))
            row = curs.fetchone()
            time_zone = str(row["time_zone"]) if row else FALLBACK_ZONE
            tz = ZoneInfo(time_zone)
            as_of = min(now, end_of(last, tz)).astimezone(tz)
            today = as_of.date()
            limits = thresholds(ruleset_for(self.view.rulesets, curs, practice_id, today))
            params = self._params(practice_id, time_zone, first, last, as_of, today, limits, clinicians)
            groups = self._gather(curs, params, clinicians)
            month_first, month_last = month_of(today)
            month_over = as_of >= end_of(month_last, tz)
            supervision = self._supervision(curs, {**params, "month_first": month_first,
                                                   "month_last": min(month_last, today)},
                                            limits, month_first, month_over, clinicians)

        def build(key: UUID | str, clinician_id: UUID | None, rows: tuple[SupervisionMonth, ...]
                  ) -> DocumentationReport:
            g = groups.get(key) or _Group({c: 0 for c in COUNTS})
            counts = {c: g.counts.get(c, 0) for c in COUNTS}
            counts["notes_in_order"] = counts["completed_sessions"] - counts["overdue_in_period"]
            metrics = documentation_metrics(counts, timedelta(microseconds=g.documentation_us), rows, month_over)
            return DocumentationReport(
                practice_id, clinician_id, period, first, last, time_zone, as_of, today, counts,
                g.oldest_unsigned_on, rows, metrics,
            )

        members = {
            c: build(c, c, tuple(x for x in supervision if x.member_id == c)) for c in (clinicians or [])
        }
        return TeamDocumentation(members, build(TOTAL, None, tuple(supervision)))

    @staticmethod
    def _params(
        practice_id: UUID, time_zone: str, first: date, last: date, as_of: datetime, today: date,
        limits: Thresholds, clinicians: list[UUID] | None,
    ) -> dict[str, Any]:
        return {
            "p": practice_id, "tz": time_zone, "first": first, "last": last, "at": as_of, "today": today,
            "clinicians": clinicians,
            "note_cutoff": today - timedelta(days=limits.note_overdue_days),
            "plan_cutoff": today - timedelta(days=limits.plan_overdue_days),
            "supervision_cutoff": today - timedelta(days=limits.supervision_note_days),
            "supervision_days": limits.supervision_note_days,
            "cohort_first": today - timedelta(days=180), "cohort_last": today - timedelta(days=90),
            "informed_days": INFORMED_CONSENT_VALID_FOR.days, "training_days": TRAINING_VALID_FOR.days,
            "staff_roles": sorted(STAFF_ROLES),
        }

    @staticmethod
    def _gather(
        curs: Cursor[Any], params: dict[str, Any], clinicians: list[UUID] | None
    ) -> dict[UUID | str, _Group]:
        """Counts per member and for the group (key TOTAL)."""
        only = clinicians is not None
        statements = (
            (SESSIONS, "AND s.clinician_id = ANY(%(clinicians)s)"),
            (UNSIGNED, "AND s.clinician_id = ANY(%(clinicians)s)"),
            (CLIENTS, "AND who = ANY(%(clinicians)s)"),
            (RETENTION, "AND f.who = ANY(%(clinicians)s)"),
            (SUPERVISION_NOTES, "AND x.supervisee_id = ANY(%(clinicians)s)"),
            (TRAINING, "AND st.member_id = ANY(%(clinicians)s)"),
        )
        groups: dict[UUID | str, _Group] = {}
        for sql, narrowing in statements:
            curs.execute(sql.format(who=narrowing if only else ""), params)
            for row in curs.fetchall():
                if row["total"]:
                    key: UUID | str = TOTAL
                elif row["who"] is None:
                    continue  # clients with no clinician: in the practice's total only
                else:
                    key = row["who"]
                group = groups.setdefault(key, _Group({}))
                for name, value in row.items():
                    if name in COUNTS:
                        group.counts[name] = int(value)
                    elif name == "documentation_us":
                        group.documentation_us = int(value)
                    elif name == "oldest_unsigned_on":
                        group.oldest_unsigned_on = value
        return groups

    @staticmethod
    def _supervision(
        curs: Cursor[Any], params: dict[str, Any], limits: Thresholds, month: date, month_over: bool,
        clinicians: list[UUID] | None,
    ) -> list[SupervisionMonth]:
        required = limits.supervision_hours
        narrowing = "AND st.member_id = ANY(%(clinicians)s)" if clinicians is not None else ""
        curs.execute(SUPERVISION_HOURS.format(who=narrowing), {**params, "licenses": sorted(required)})
        return [
            supervision_month(r["member_id"], r["license_type"], month, plain(Decimal(r["hours"])),
                              plain(required[r["license_type"]]), month_over)
            for r in curs.fetchall()
        ]
