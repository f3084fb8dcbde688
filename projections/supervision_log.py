"""The supervision log: one row per supervision session, plus the staff and practice facts the
monthly hours report needs (role, license, active; the practice's time zone).

`signed_within_7_days` compares the practice-local date of the signature with the session date
(Georgia rule 4: supervision is documented within a week). Rows hold ids, dates, hours and short
topic subjects; supervision events never name a client.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection

from domain.identity.membership import Membership
from domain.identity.permissions import STAFF_ROLES
from domain.practices.practice import Practice
from domain.supervision.session import SupervisionSession
from projections.base import View

SIGNING_WINDOW_DAYS = 7
COLUMNS = (
    "session_id, practice_id, supervisee_id, supervisor_id, session_date, hours, format, topics, logged_at, "
    "logged_by, signed_by, signed_at, signed_within_7_days"
)


@dataclass(frozen=True)
class SessionRow:
    session_id: UUID
    practice_id: UUID
    supervisee_id: UUID
    supervisor_id: UUID
    session_date: date
    hours: Decimal
    format: str
    topics: list[str]
    logged_at: datetime
    logged_by: UUID
    signed_by: UUID | None
    signed_at: datetime | None
    signed_within_7_days: bool


@dataclass(frozen=True)
class HoursRow:
    supervisee_id: UUID
    license_type: str | None
    sessions: int
    logged_hours: Decimal
    signed_hours: Decimal
    signed_within_7_days: int


class SupervisionLogView(View):
    tables = ("supervision_log", "supervision_staff", "supervision_practices")

    def sessions(
        self, practice_id: UUID, *, people: Collection[UUID] | None, supervisee_id: UUID | None = None,
        first: date | None = None, last: date | None = None, limit: int = 500,
    ) -> list[SessionRow]:
        """Newest first. `people` narrows to sessions whose supervisee or supervisor is one of them
        (the caller's record scope; None: the whole practice); no default, so no caller forgets it."""
        sql = f"SELECT {COLUMNS} FROM supervision_log WHERE practice_id = %s"
        params: list[Any] = [practice_id]
        if people is not None:
            sql += " AND (supervisee_id = ANY(%s) OR supervisor_id = ANY(%s))"
            params += [list(people), list(people)]
        if supervisee_id is not None:
            sql += " AND supervisee_id = %s"
            params.append(supervisee_id)
        if first is not None:
            sql += " AND session_date >= %s"
            params.append(first)
        if last is not None:
            sql += " AND session_date <= %s"
            params.append(last)
        sql += " ORDER BY session_date DESC, logged_at DESC, session_id LIMIT %s"
        params.append(limit)
        return [SessionRow(**r) for r in self.query(sql, params)]

    def hours(
        self, practice_id: UUID, first: date, last: date, *, required_licenses: Collection[str],
        supervisees: Collection[UUID] | None,
    ) -> list[HoursRow]:
        """Per supervisee, sessions dated `first`..`last`: every staff member with a session then,
        and every active one whose license needs supervision (`required_licenses`), with zeros."""
        sql = """
            SELECT s.member_id AS supervisee_id, s.license_type,
                   COUNT(l.session_id) AS sessions,
                   COALESCE(SUM(l.hours), 0) AS logged_hours,
                   COALESCE(SUM(l.hours) FILTER (WHERE l.signed_at IS NOT NULL), 0) AS signed_hours,
                   COUNT(l.session_id) FILTER (WHERE l.signed_within_7_days) AS signed_within_7_days
            FROM supervision_staff s
            LEFT JOIN supervision_log l
              ON l.supervisee_id = s.member_id AND l.session_date >= %s AND l.session_date <= %s
            WHERE s.practice_id = %s
        """
        params: list[Any] = [first, last, practice_id]
        if supervisees is not None:
            sql += " AND s.member_id = ANY(%s)"
            params.append(list(supervisees))
        sql += """
            GROUP BY s.member_id, s.license_type, s.active
            HAVING COUNT(l.session_id) > 0 OR (s.active AND s.license_type = ANY(%s))
            ORDER BY s.member_id
        """
        params.append(list(required_licenses))
        return [HoursRow(**r) for r in self.query(sql, params)]


class SupervisionLog(Projection[SupervisionLogView]):
    name = "supervision_log"
    topics = (
        Practice.Registered.TOPIC,
        Membership.Invited.TOPIC,
        Membership.RoleChanged.TOPIC,
        Membership.LicenseChanged.TOPIC,
        Membership.Deactivated.TOPIC,
        Membership.Reactivated.TOPIC,
        SupervisionSession.Logged.TOPIC,
        SupervisionSession.Edited.TOPIC,
        SupervisionSession.Signed.TOPIC,
    )

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Events this view does not show still move its position (the runner records it)."""

    @process_event.register
    def _(self, e: Practice.Registered, tracking: Tracking) -> None:
        self.view.curs.execute(
            "INSERT INTO supervision_practices (practice_id, time_zone) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            (e.originator_id, e.time_zone),
        )

    @process_event.register
    def _(self, e: Membership.Invited, tracking: Tracking) -> None:
        if e.role not in STAFF_ROLES:
            return
        self.view.curs.execute(
            "INSERT INTO supervision_staff (member_id, practice_id, role, license_type, active) "
            "VALUES (%s, %s, %s, %s, true) ON CONFLICT DO NOTHING",
            (e.originator_id, e.practice_id, e.role, e.license_type),
        )

    @process_event.register
    def _(self, e: Membership.RoleChanged, tracking: Tracking) -> None:
        self.view.curs.execute("UPDATE supervision_staff SET role = %s WHERE member_id = %s", (e.role, e.originator_id))

    @process_event.register
    def _(self, e: Membership.LicenseChanged, tracking: Tracking) -> None:
        self.view.curs.execute(
            "UPDATE supervision_staff SET license_type = %s WHERE member_id = %s", (e.license_type, e.originator_id)
        )

    @process_event.register
    def _(self, e: Membership.Deactivated, tracking: Tracking) -> None:
        self.view.curs.execute("UPDATE supervision_staff SET active = false WHERE member_id = %s", (e.originator_id,))

    @process_event.register
    def _(self, e: Membership.Reactivated, tracking: Tracking) -> None:
        self.view.curs.execute("UPDATE supervision_staff SET active = true WHERE member_id = %s", (e.originator_id,))

    @process_event.register
    def _(self, e: SupervisionSession.Logged, tracking: Tracking) -> None:
        self.view.curs.execute(
            f"INSERT INTO supervision_log ({COLUMNS}) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, NULL, NULL, false) ON CONFLICT (session_id) DO NOTHING",
            (e.originator_id, e.practice_id, e.supervisee_id, e.supervisor_id, e.session_date, e.hours, e.format,
             list(e.topics), e.logged_at, e.by),
        )

    @process_event.register
    def _(self, e: SupervisionSession.Edited, tracking: Tracking) -> None:
        self.view.curs.execute(
            "UPDATE supervision_log SET session_date = %s, hours = %s, format = %s, topics = %s WHERE session_id = %s",
            (e.session_date, e.hours, e.format, list(e.topics), e.originator_id),
        )

    @process_event.register
    def _(self, e: SupervisionSession.Signed, tracking: Tracking) -> None:
        self.view.curs.execute(
            "UPDATE supervision_log l SET signed_by = %(by)s, signed_at = %(at)s, signed_within_7_days = "
            "  ((%(at)s::timestamptz AT TIME ZONE COALESCE("
            "     (SELECT p.time_zone FROM supervision_practices p WHERE p.practice_id = l.practice_id), 'UTC'"
            "  ))::date - l.session_date) <= %(window)s "
            "WHERE l.session_id = %(id)s",
            {"by": e.by, "at": e.at, "window": SIGNING_WINDOW_DAYS, "id": e.originator_id},
        )
