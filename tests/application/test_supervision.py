"""Supervision sessions through the service and the supervision_log read model: who may log,
see and sign; dates and months in the practice's time zone; hours against the requirement."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest

from adapters.clock import FrozenClock
from application import access, audit
from application.errors import Forbidden, NotFound
from application.practices import PracticeService
from application.supervision import Month, SupervisionService
from domain.errors import IllegalTransition, InvalidCommand
from domain.identity.permissions import ROLE_SCOPE, effective_permissions
from domain.supervision.session import NotTheSupervisor, SupervisionSession
from tests.support import open_practice

NOW = datetime(2026, 4, 1, 2, 30, tzinfo=UTC)  # 31 March, 22:30 in New York


@dataclass
class Team:
    id: UUID
    other_practice: UUID
    clock: FrozenClock
    service: SupervisionService
    practices: PracticeService
    admin: UUID
    supervisor: UUID
    lmsw: UUID  # clinician, supervised by `supervisor`
    associate: UUID  # clinician (LPC-Associate), supervised by `supervisor`
    lcsw: UUID  # clinician, independently licensed
    intern: UUID  # clinician, never logs anything
    stranger: UUID  # a supervisor of the other practice

    def system(self) -> Any:
        return audit.acting(audit.system("system:test", practice_id=self.id))

    @contextmanager
    def acting(self, member_id: UUID, role: str, team: tuple[UUID, ...] = ()) -> Iterator[None]:
        grant = access.Grant(
            user_id=uuid4(), member_id=member_id, session_id=uuid4(), practice_id=self.id, role=role,
            permissions=effective_permissions(role), scope=ROLE_SCOPE[role], team_ids=frozenset({member_id, *team}),
        )
        ctx = audit.AuditContext(actor_id=str(member_id), actor_role=role, practice_id=self.id)
        with audit.acting(ctx), access.granted(grant):
            yield

    def as_supervisor(self) -> Any:
        return self.acting(self.supervisor, "supervisor", (self.lmsw, self.associate))

    def log(self, supervisee: UUID, day: date, hours: str, **extra: Any) -> UUID:
        extra.setdefault("format", "individual")
        extra.setdefault("topics", ["ethics"])
        with self.acting(supervisee, "clinician"):
            saved = self.service.log_session(self.id, supervisee, self.supervisor, day, Decimal(hours), **extra)
        return saved.id

    def sign(self, session_id: UUID, at: datetime) -> None:
        self.clock.set(at)
        with self.as_supervisor():
            self.service.sign(self.id, session_id)


@pytest.fixture
def team(container: Any) -> Team:
    k = container
    slug = f"sup-{uuid4().hex[:8]}"
    with audit.acting(audit.system("system:test")):
        pid = open_practice(k, "Supervision Practice", slug, "America/New_York")
        other = open_practice(k, "Elsewhere", f"{slug}-x", "Europe/London")

    def staff(practice: UUID, name: str, role: str, license_type: str | None = None) -> UUID:
        with audit.acting(audit.system("system:test", practice_id=practice)):
            saved = k.members.invite(practice, f"{name}@{slug}.test", name, role, license_type=license_type)
        member_id: UUID = saved.saved.id
        return member_id

    clock = FrozenClock(NOW)
    return Team(
        id=pid, other_practice=other, clock=clock,
        service=SupervisionService(k.store, clock, k.supervision_log), practices=PracticeService(k.store, clock),
        admin=staff(pid, "admin", "admin"), supervisor=staff(pid, "sup", "supervisor", "LCSW"),
        lmsw=staff(pid, "lmsw", "clinician", "LMSW"), associate=staff(pid, "assoc", "clinician", "LPC-Associate"),
        lcsw=staff(pid, "lcsw", "clinician", "LCSW"), intern=staff(pid, "intern", "clinician", "intern"),
        stranger=staff(other, "stranger", "supervisor", "LCSW"),
    )


def events(k: Any, session_id: UUID) -> list[Any]:
    return list(k.store.events.get(session_id))


def test_log_edit_sign(container: Any, team: Team) -> None:
    sid = team.log(team.lmsw, date(2026, 3, 30), "1.5", format="group", topics=["ethics", "documentation"])
    team.clock.set(datetime(2026, 4, 1, 15, tzinfo=UTC))
    with team.as_supervisor():
        team.service.edit(team.id, sid, hours=Decimal(2))
    team.sign(sid, datetime(2026, 4, 2, 16, tzinfo=UTC))

    logged, edited, signed = events(container, sid)
    assert isinstance(logged, SupervisionSession.Logged)
    assert (logged.practice_id, logged.supervisee_id, logged.supervisor_id, logged.session_date, logged.hours,
            logged.format, logged.topics, logged.logged_at, logged.by) == (
        team.id, team.lmsw, team.supervisor, date(2026, 3, 30), Decimal("1.5"), "group",
        ["ethics", "documentation"], NOW, team.lmsw)
    assert isinstance(edited, SupervisionSession.Edited)
    assert (edited.hours, edited.format, edited.by, edited.at) == (
        Decimal(2), "group", team.supervisor, datetime(2026, 4, 1, 15, tzinfo=UTC))
    assert isinstance(signed, SupervisionSession.Signed)
    assert (signed.by, signed.at) == (team.supervisor, datetime(2026, 4, 2, 16, tzinfo=UTC))
    assert getattr(logged, "audit")["actor_id"] == str(team.lmsw)  # noqa: B009 - set by the mapper

    with team.as_supervisor(), pytest.raises(IllegalTransition):
        team.service.sign(team.id, sid)
    with team.as_supervisor(), pytest.raises(IllegalTransition):
        team.service.edit(team.id, sid, hours=Decimal(1))
    assert len(events(container, sid)) == 3


def test_the_session_date_is_the_practices_date(container: Any, team: Team) -> None:
    """At 02:30 UTC on 1 April it is still 31 March in New York: 1 April is the future."""
    with team.acting(team.lmsw, "clinician"), pytest.raises(InvalidCommand) as e:
        team.service.log_session(team.id, team.lmsw, team.supervisor, date(2026, 4, 1), Decimal(1), "individual", [])
    assert e.value.details["field"] == "session_date"
    sid = team.log(team.lmsw, date(2026, 3, 31), "1")
    assert events(container, sid)[0].session_date == date(2026, 3, 31)
    assert team.service.current_month(team.id) == Month(date(2026, 3, 1))


def test_who_may_supervise_and_be_supervised(container: Any, team: Team) -> None:
    with team.system():
        portal = container.members.invite(team.id, f"fam-{uuid4().hex[:6]}@x.test", "Fam", "family_member",
                                          client_ids=[container.clients.register(
                                              team.id, "basic", {"first_name": "C", "last_name": "L",
                                                                 "date_of_birth": date(1990, 1, 1)}).id]).saved.id
        gone = container.members.invite(team.id, f"gone-{uuid4().hex[:6]}@x.test", "Gone", "supervisor").saved.id
        container.members.deactivate(team.id, gone, "left_practice")

    cases = [
        (team.lmsw, team.lcsw, "supervisor_id"),  # a clinician supervises nobody
        (team.lmsw, gone, "supervisor_id"),  # deactivated
        (team.lmsw, team.stranger, "supervisor_id"),  # another practice
        (team.lmsw, uuid4(), "supervisor_id"),  # nobody
        (portal, team.supervisor, "supervisee_id"),  # not staff
        (team.supervisor, team.supervisor, "supervisor_id"),  # nobody supervises themself
    ]
    for supervisee, supervisor, field in cases:
        with team.acting(team.admin, "admin"), pytest.raises(InvalidCommand) as e:
            team.service.log_session(team.id, supervisee, supervisor, date(2026, 3, 2), Decimal(1), "individual", [])
        assert e.value.details["field"] == field, (supervisee, supervisor)
    with team.acting(team.admin, "admin"):
        saved = team.service.log_session(team.id, team.lmsw, team.admin, date(2026, 3, 2), Decimal(1), "group", [])
    assert events(container, saved.id)[0].supervisor_id == team.admin
    container.runner("supervision_log").catch_up()
    with team.acting(team.admin, "admin"):
        assert [r.session_id for r in team.service.sessions(team.id)] == [saved.id]


def test_record_scope(container: Any, team: Team) -> None:
    sid = team.log(team.lmsw, date(2026, 3, 3), "1")
    with team.acting(team.lcsw, "clinician"), pytest.raises(Forbidden):
        team.service.log_session(team.id, team.lmsw, team.supervisor, date(2026, 3, 3), Decimal(1), "individual", [])
    with team.acting(team.lcsw, "clinician"), pytest.raises(NotFound):
        team.service.get(team.id, sid)
    with team.acting(team.lcsw, "clinician"), pytest.raises(NotFound):
        team.service.edit(team.id, sid, hours=Decimal(3))
    with team.as_supervisor():
        assert team.service.get(team.id, sid).supervisee_id == team.lmsw
    with team.acting(team.admin, "admin"):
        assert team.service.get(team.id, sid).hours == Decimal(1)
        with pytest.raises(NotTheSupervisor):
            team.service.sign(team.id, sid)
    with team.acting(team.lmsw, "clinician"), pytest.raises(NotTheSupervisor):
        team.service.sign(team.id, sid)
    with team.acting(team.admin, "admin"), pytest.raises(NotFound):
        team.service.get(team.other_practice, sid)
    with audit.acting(audit.system("system:test", practice_id=team.other_practice)), pytest.raises(NotFound):
        team.service.get(team.other_practice, sid)
    assert [type(e).__name__ for e in events(container, sid)] == ["Logged"]

    other = team.log(team.lcsw, date(2026, 3, 4), "2")
    container.runner("supervision_log").catch_up()
    with team.acting(team.lcsw, "clinician"):
        assert [r.session_id for r in team.service.sessions(team.id)] == [other]
    with team.as_supervisor():
        # the supervisor named on both sessions sees both; a filter narrows to one supervisee
        assert [r.session_id for r in team.service.sessions(team.id)] == [other, sid]
        assert [r.session_id for r in team.service.sessions(team.id, supervisee_id=team.lmsw)] == [sid]


def test_monthly_hours_by_practice_local_month(container: Any, team: Team) -> None:
    with team.system():
        team.practices.set_supervision_requirement(team.id, "LMSW", Decimal(3))
    team.clock.set(datetime(2026, 3, 2, 14, tzinfo=UTC))
    feb = team.log(team.lmsw, date(2026, 2, 27), "2")
    early = team.log(team.lmsw, date(2026, 3, 2), "1")
    team.clock.set(datetime(2026, 3, 10, 14, tzinfo=UTC))
    assoc = team.log(team.associate, date(2026, 3, 10), "2")
    team.clock.set(NOW)  # 31 March in New York, 1 April in UTC
    late = team.log(team.lmsw, date(2026, 3, 31), "1.5")

    team.sign(early, datetime(2026, 3, 10, 3, 30, tzinfo=UTC))  # 9 March locally: 7 days, in time
    team.sign(assoc, datetime(2026, 3, 18, 16, tzinfo=UTC))  # 8 days: late
    team.sign(late, datetime(2026, 4, 8, 3, 0, tzinfo=UTC))  # 7 April locally: in time
    container.runner("supervision_log").catch_up()

    with team.acting(team.admin, "admin"):
        march = {h.supervisee_id: h for h in team.service.monthly_hours(team.id, Month.parse("2026-03"))}
        february = {h.supervisee_id: h for h in team.service.monthly_hours(team.id, Month.parse("2026-02"))}
    assert set(march) == {team.lmsw, team.associate, team.intern}  # LCSW needs none, admin has no license
    h = march[team.lmsw]
    assert (h.license_type, h.supervised, h.required_hours, h.logged_hours, h.signed_hours, h.sessions,
            h.signed_within_7_days, h.remaining_hours) == (
        "LMSW", True, Decimal(3), Decimal("2.5"), Decimal("2.5"), 2, 2, Decimal("0.5"))
    h = march[team.associate]
    assert (h.required_hours, h.logged_hours, h.sessions, h.signed_within_7_days) == (Decimal(2), Decimal(2), 1, 0)
    h = march[team.intern]
    assert (h.required_hours, h.logged_hours, h.sessions, h.remaining_hours) == (Decimal(4), Decimal(0), 0, Decimal(4))
    h = february[team.lmsw]
    assert (h.logged_hours, h.signed_hours, h.sessions) == (Decimal(2), Decimal(0), 1)

    with team.acting(team.lmsw, "clinician"):
        assert [h.supervisee_id for h in team.service.monthly_hours(team.id, Month.parse("2026-03"))] == [team.lmsw]
        rows = {r.session_id: r for r in team.service.sessions(team.id, Month.parse("2026-03"))}
    assert set(rows) == {early, late}
    assert rows[early].signed_within_7_days is True and rows[late].signed_within_7_days is True
    assert rows[early].signed_at == datetime(2026, 3, 10, 3, 30, tzinfo=UTC)
    assert feb not in rows


def test_a_license_change_moves_the_requirement(container: Any, team: Team) -> None:
    with team.system():
        container.members.change_license(team.id, team.intern, "LCSW")
        container.members.change_license(team.id, team.lcsw, "LMFT-Associate")
    container.runner("supervision_log").catch_up()
    with team.acting(team.admin, "admin"):
        march = {h.supervisee_id: h for h in team.service.monthly_hours(team.id, Month.parse("2026-03"))}
    assert set(march) == {team.lmsw, team.associate, team.lcsw}
    assert (march[team.lcsw].license_type, march[team.lcsw].required_hours) == ("LMFT-Associate", Decimal(2))


def test_months_are_checked() -> None:
    assert Month.parse("2024-02").last == date(2024, 2, 29) and str(Month.parse("2026-12")) == "2026-12"
    assert Month.parse("2026-12").last == date(2026, 12, 31)
    for bad in ("2026-13", "2026-00", "26-03", "2026-3", "march"):
        with pytest.raises(InvalidCommand):
            Month.parse(bad)


def test_rebuild_equals_incremental(container: Any, team: Team) -> None:
    team.clock.set(datetime(2026, 3, 5, 14, tzinfo=UTC))
    first = team.log(team.lmsw, date(2026, 3, 4), "1.25", topics=["boundaries"])
    team.log(team.associate, date(2026, 3, 5), "2", format="group")
    with team.as_supervisor():
        team.service.edit(team.id, first, topics=["boundaries", "self-care"], session_date=date(2026, 3, 3))
    team.sign(first, datetime(2026, 3, 12, 3, 59, tzinfo=UTC))  # 11 March locally: 8 days after the 3rd
    with team.system():
        container.members.change_license(team.id, team.associate, "LPC")
        container.members.deactivate(team.id, team.intern, "left")
    runner = container.runner("supervision_log")
    runner.catch_up()

    def snapshot() -> dict[str, list[tuple[Any, ...]]]:
        with psycopg.connect(container.database_url) as conn:
            return {
                table: conn.execute(f"SELECT * FROM {table} WHERE practice_id = %s ORDER BY 1", (team.id,)).fetchall()
                for table in ("supervision_log", "supervision_staff", "supervision_practices")
            }

    before = snapshot()
    row = next(r for r in before["supervision_log"] if r[0] == first)
    assert (row[4], row[5], row[7], row[12]) == (date(2026, 3, 3), Decimal("1.25"), ["boundaries", "self-care"], False)
    assert len(before["supervision_log"]) == 2 and len(before["supervision_staff"]) == 6
    assert before["supervision_practices"] == [(team.id, "America/New_York")]
    runner.rebuild()
    assert snapshot() == before
