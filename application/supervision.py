"""Clinical supervision sessions: logging, editing, signing, and the monthly hours per supervisee
(seed 001 Module 7 category 6, Georgia rule 4).

Who sees what: owners and admins (practice scope with team management) see every session of
the practice; everyone else the sessions they are the supervisee or the supervisor of, and a
supervisor also those of their supervisees (`Grant.team_ids`). A session the caller may not see
is answered 404, as if it did not exist. Only the supervisor a session names signs it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Protocol
from uuid import UUID

from application import access
from application.errors import Forbidden, NotFound
from application.ports import Clock
from application.store import EventStore, Saved
from domain.errors import InvalidCommand
from domain.identity.licenses import is_supervised
from domain.identity.membership import Membership
from domain.identity.permissions import Permission, Scope
from domain.practices.practice import Practice
from domain.scheduling.working_time import zone
from domain.supervision.session import SupervisionSession

SUPERVISOR_ROLES = frozenset({"supervisor", "admin", "owner"})


class SupervisionReadModel(Protocol):
    """The supervision log (projections/supervision_log.py)."""

    def sessions(
        self, practice_id: UUID, *, people: Collection[UUID] | None, supervisee_id: UUID | None = None,
        first: date | None = None, last: date | None = None, limit: int = 500,
    ) -> Sequence[Any]: ...

    def hours(
        self, practice_id: UUID, first: date, last: date, *, required_licenses: Collection[str],
        supervisees: Collection[UUID] | None,
    ) -> Sequence[Any]: ...


@dataclass(frozen=True)
class Month:
    first: date

    @classmethod
    def of(cls, year: int, month: int) -> Month:
        try:
            return cls(date(year, month, 1))
        except ValueError:
            raise InvalidCommand("A month is YYYY-MM.", field="month") from None

    @classmethod
    def parse(cls, text: str) -> Month:
        year, sep, month = text.partition("-")
        if not (sep and len(year) == 4 and len(month) == 2 and year.isdigit() and month.isdigit()):
            raise InvalidCommand("A month is YYYY-MM.", field="month")
        return cls.of(int(year), int(month))

    @property
    def last(self) -> date:
        following = (self.first.replace(day=28) + timedelta(days=4)).replace(day=1)
        return following - timedelta(days=1)

    def __str__(self) -> str:
        return self.first.strftime("%Y-%m")


@dataclass(frozen=True)
class SupervisionHours:
    supervisee_id: UUID
    license_type: str | None
    supervised: bool
    required_hours: Decimal
    logged_hours: Decimal
    signed_hours: Decimal
    sessions: int
    signed_within_7_days: int

    @property
    def remaining_hours(self) -> Decimal:
        return max(self.required_hours - self.logged_hours, Decimal(0))


class SupervisionService:
    def __init__(self, store: EventStore, clock: Clock, log: SupervisionReadModel) -> None:
        self.store = store
        self.clock = clock
        self.log = log

    # --- scope --------------------------------------------------------------------------------

    @staticmethod
    def people() -> frozenset[UUID] | None:
        """The members whose sessions the caller sees (None: the whole practice)."""
        grant = access.current()
        if grant is None or (grant.scope is Scope.PRACTICE and grant.can(Permission.MANAGE_TEAM)):
            return None
        return frozenset(grant.team_ids | {grant.member_id})

    def _sees(self, supervisee_id: UUID, supervisor_id: UUID) -> bool:
        people = self.people()
        return people is None or supervisee_id in people or supervisor_id in people

    def _acting_member(self) -> UUID:
        grant = access.current()
        if grant is None:
            raise Forbidden("Supervision is logged and signed by members of the practice.")
        return grant.member_id

    # --- commands -----------------------------------------------------------------------------

    def today(self, practice_id: UUID) -> date:
        practice: Practice = self.store.load(practice_id, Practice)
        return self.clock.now().astimezone(zone(practice.time_zone)).date()

    def log_session(
        self, practice_id: UUID, supervisee_id: UUID, supervisor_id: UUID, session_date: date, hours: Decimal,
        format: str, topics: list[str],
    ) -> Saved:
        by = self._acting_member()
        supervisee = self._staff(practice_id, supervisee_id, "supervisee_id")
        supervisor = self._staff(practice_id, supervisor_id, "supervisor_id")
        if supervisor.role not in SUPERVISOR_ROLES:
            raise InvalidCommand("A supervisor needs the supervisor, admin or owner role.", field="supervisor_id")
        if not self._sees(supervisee.id, supervisor.id):
            raise Forbidden("You log supervision for yourself or your supervisees only.")
        session = SupervisionSession.log(
            practice_id, supervisee.id, supervisor.id, session_date, hours, format, topics,
            today=self.today(practice_id), logged_at=self.clock.now(), by=by,
        )
        return self.store.save_one(session)

    def _staff(self, practice_id: UUID, member_id: UUID, field: str) -> Membership:
        refusal = InvalidCommand("Name an active staff member of this practice.", field=field)
        try:
            member: Membership = self.store.load(member_id, Membership)
        except NotFound:
            raise refusal from None
        if member.practice_id != practice_id or not member.is_staff or not member.active:
            raise refusal
        return member

    def get(self, practice_id: UUID, session_id: UUID) -> SupervisionSession:
        session: SupervisionSession = self.store.load(session_id, SupervisionSession)
        if session.practice_id != practice_id or not self._sees(session.supervisee_id, session.supervisor_id):
            raise NotFound(f"No supervision session {session_id}.")
        return session

    def edit(
        self, practice_id: UUID, session_id: UUID, *, session_date: date | None = None,
        hours: Decimal | None = None, format: str | None = None, topics: list[str] | None = None,
    ) -> Saved:
        by = self._acting_member()
        session = self.get(practice_id, session_id)
        session.edit(today=self.today(practice_id), at=self.clock.now(), by=by, session_date=session_date,
                     hours=hours, format=format, topics=topics)
        return self.store.save_one(session)

    def sign(self, practice_id: UUID, session_id: UUID) -> Saved:
        by = self._acting_member()
        session = self.get(practice_id, session_id)
        session.sign(by, self.clock.now())
        return self.store.save_one(session)

    # --- queries ------------------------------------------------------------------------------

    def current_month(self, practice_id: UUID) -> Month:
        return Month(self.today(practice_id).replace(day=1))

    def sessions(
        self, practice_id: UUID, month: Month | None = None, supervisee_id: UUID | None = None
    ) -> Sequence[Any]:
        return self.log.sessions(
            practice_id, people=self.people(), supervisee_id=supervisee_id,
            first=month.first if month else None, last=month.last if month else None,
        )

    def monthly_hours(self, practice_id: UUID, month: Month) -> list[SupervisionHours]:
        """Per supervisee, the sessions dated in the practice-local `month` against the hours the
        practice requires for their license type. Lists everyone with a session that month and
        every active staff member whose license needs supervision hours."""
        practice: Practice = self.store.load(practice_id, Practice)
        required = practice.supervision_requirements()
        people = self.people()
        rows = self.log.hours(practice_id, month.first, month.last, required_licenses=sorted(required),
                              supervisees=people)
        return [
            SupervisionHours(
                supervisee_id=r.supervisee_id, license_type=r.license_type, supervised=is_supervised(r.license_type),
                required_hours=required.get(r.license_type or "", Decimal(0)), logged_hours=Decimal(r.logged_hours),
                signed_hours=Decimal(r.signed_hours), sessions=int(r.sessions),
                signed_within_7_days=int(r.signed_within_7_days),
            )
            for r in rows
        ]
