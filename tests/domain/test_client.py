from __future__ import annotations

from datetime import date
from uuid import uuid4

import pytest

from domain.clients.client import Client
from domain.errors import IllegalTransition, InvalidCommand, ReasonRequired
from tests.gwt import given, then_events, then_no_new_events

PRACTICE = uuid4()


def registered(**overrides: object) -> Client:
    values: dict[str, object] = {"first_name": "Ana", "last_name": "Smith", "date_of_birth": date(1990, 4, 1)}
    values.update(overrides)
    return given(Client.register(PRACTICE, "basic", **values))


def test_registering_records_every_care_field() -> None:
    client = Client.register(
        PRACTICE, "intensive", first_name="Ana", last_name="Smith", date_of_birth=date(1990, 4, 1),
        address={"line1": "1 Main", "city": "Atlanta", "state": "GA", "zip": "30303"},
        insurance_primary={"payer": "Aetna", "member_id": "M1"}, referring_provider="Dr Lee",
    )
    [event] = client.collect_events()
    assert isinstance(event, Client.Registered)
    assert event.care_level == "intensive" and event.insurance_primary == {"payer": "Aetna", "member_id": "M1"}
    assert client.status == "active" and client.demographics["referring_provider"] == "Dr Lee"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"first_name": ""}, "first_name"),
        ({"date_of_birth": "1990-01-01"}, "date_of_birth"),
        ({"phone": "call me"}, "phone"),
        ({"email": "nope"}, "email"),
        ({"address": {"street": "x"}}, "address"),
    ],
)
def test_bad_demographics_are_refused(overrides: dict[str, object], field: str) -> None:
    values: dict[str, object] = {"first_name": "Ana", "last_name": "Smith", "date_of_birth": date(1990, 4, 1)}
    values.update(overrides)
    with pytest.raises(InvalidCommand) as info:
        Client.register(PRACTICE, "basic", **values)
    assert info.value.details["field"] == field


def test_discharge_needs_a_reason() -> None:
    client = registered()
    with pytest.raises(ReasonRequired):
        client.change_status("discharged", " ")
    then_no_new_events(client)
    client.change_status("discharged", "treatment_complete")
    assert then_events(client) == ["StatusChanged"]
    assert client.status == "discharged"


def test_same_status_twice_is_an_illegal_transition() -> None:
    client = registered()
    with pytest.raises(IllegalTransition):
        client.change_status("active", "")
    then_no_new_events(client)


def test_demographic_update_records_only_real_changes() -> None:
    client = registered()
    client.update_demographics({"first_name": "Ana", "phone": "+1 404 555 0100"})
    [event] = client.collect_events()
    assert isinstance(event, Client.DemographicsUpdated)
    assert event.changes == {"phone": "+1 404 555 0100"}


def test_care_team_assign_and_unassign() -> None:
    client = registered()
    staff = uuid4()
    client.assign(staff, "clinician")
    with pytest.raises(IllegalTransition):
        client.assign(staff, "clinician")
    client.unassign(staff)
    assert then_events(client) == ["CareTeamMemberAssigned", "CareTeamMemberUnassigned"]
    with pytest.raises(IllegalTransition):
        client.unassign(staff)


def test_discharged_client_gets_no_new_care_team() -> None:
    client = registered()
    client.change_status("discharged", "moved_away")
    client.collect_events()
    with pytest.raises(IllegalTransition):
        client.assign(uuid4(), "clinician")
    then_no_new_events(client)


def test_erasing_needs_a_reason_and_happens_once() -> None:
    client = registered()
    with pytest.raises(ReasonRequired):
        client.erase("")
    client.erase("client_request")
    assert then_events(client) == ["Erased"]
    with pytest.raises(IllegalTransition):
        client.erase("client_request")
    with pytest.raises(IllegalTransition):
        client.update_demographics({"phone": "+1 404 555 0100"})


def test_events_declare_subject_and_phi() -> None:
    assert Client.Registered.subject_field == "originator_id"
    assert {"first_name", "last_name", "date_of_birth"} <= set(Client.Registered.phi_fields)
    assert Client.StatusChanged.phi_fields == ("note",)
    assert Client.CareTeamMemberAssigned.phi_fields == ()
