"""The dashboards of seed 001, Module 7: "My Practice" (the caller's own numbers), "My Team" (a
supervisor's supervisees; administrators: every clinician) and "Practice Overview"
(administrators). The caller's token decides whose numbers; periods are the practice's local
week and month containing now. The practice overview carries the month-to-date revenue panels.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from application.errors import Unavailable
from interfaces.container import Container
from interfaces.http.dashboard_schemas import MyPracticeOut, MyTeamOut, PracticeOverviewOut
from interfaces.http.deps import ContainerDep, ManageTeam, ViewTeam

router = APIRouter(prefix="/api/v1/dashboards", tags=["dashboards"])
MinPosition = Annotated[int | None, Query(ge=0, description="Wait for this log position")]


def _caught_up(k: Container, min_position: int | None) -> None:
    if not min_position:
        return
    for view in (k.attendance_metrics, k.compliance_view, k.member_directory):
        if not view.caught_up_to(k.store.name, min_position):
            raise Unavailable("The dashboards have not caught up yet; retry shortly.")


@router.get("/my-practice", response_model=MyPracticeOut)
def my_practice(caller: ViewTeam, k: ContainerDep, min_position: MinPosition = None) -> MyPracticeOut:
    """The calling member's week (sessions, KVR, no-shows, cancellations, unsigned notes),
    documentation status, client engagement this month and active compliance alerts about them."""
    _caught_up(k, min_position)
    return MyPracticeOut.of(k.dashboards.my_practice())


@router.get("/my-team", response_model=MyTeamOut)
def my_team(caller: ViewTeam, k: ContainerDep, min_position: MinPosition = None) -> MyTeamOut:
    """Supervisors: their supervisees; admins and owners: every clinician and supervisor. Other
    roles: 403 `not_a_team_lead`."""
    _caught_up(k, min_position)
    return MyTeamOut.of(k.dashboards.my_team())


@router.get("/practice-overview", response_model=PracticeOverviewOut)
def practice_overview(caller: ManageTeam, k: ContainerDep, min_position: MinPosition = None) -> PracticeOverviewOut:
    """Scorecard, clinician matrix, Georgia compliance panel, capacity and action items."""
    _caught_up(k, min_position)
    return PracticeOverviewOut.of(k.dashboards.practice_overview())
