from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from domain.errors import IllegalTransition, InvalidCommand
from domain.scheduling.front_desk_task import FrontDeskTask, task_id_for
from tests.gwt import given, then_events, then_no_new_events

T0 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def opened() -> FrontDeskTask:
    return given(FrontDeskTask.open(uuid4(), uuid4(), "reschedule_request", T0, appointment_id=uuid4(),
                                    clinician_id=uuid4(), source="sms"))


def test_open_then_complete() -> None:
    task = opened()
    assert task.is_open
    member = uuid4()
    task.complete(member, T0 + timedelta(hours=1))
    assert then_events(task) == ["Completed"]
    assert not task.is_open and task.completed_by == member
    with pytest.raises(IllegalTransition):
        task.complete(member, T0)
    then_no_new_events(task)


def test_a_source_opens_one_task() -> None:
    source = uuid4()
    a = FrontDeskTask.open(uuid4(), uuid4(), "reschedule_request", T0, task_id=task_id_for(source, "reschedule_request"))
    assert a.id == task_id_for(source, "reschedule_request") != task_id_for(uuid4(), "reschedule_request")


def test_kinds_and_sources_are_codes() -> None:
    with pytest.raises(InvalidCommand):
        FrontDeskTask.open(uuid4(), uuid4(), "call the client about her divorce", T0)
    with pytest.raises(InvalidCommand):
        FrontDeskTask.open(uuid4(), uuid4(), "reschedule_request", T0, source="fax")


def test_events_name_the_client() -> None:
    task = FrontDeskTask.open(uuid4(), uuid4(), "reschedule_request", T0)
    task.complete(uuid4(), T0)
    for e in task.collect_events():
        assert e.subject_field == "client_id" and e.phi_fields == ()  # type: ignore[attr-defined]
        assert e.client_id == task.client_id  # type: ignore[attr-defined]
