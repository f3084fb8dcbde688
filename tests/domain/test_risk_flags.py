"""Client risk flags: set and cleared with a reason, one at a time, replayed from the history;
license types on memberships; practice supervision requirements."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest

from domain.clients.client import RISK_FLAGS, Client
from domain.errors import IllegalTransition, InvalidCommand, ReasonRequired
from domain.identity.membership import Membership
from domain.practices.practice import Practice
from tests.gwt import given, then_events, then_no_new_events

PRACTICE = uuid4()
CLINICIAN = uuid4()
AT = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)


def client() -> Client:
    return given(Client.register(PRACTICE, "basic", first_name="Ana", last_name="Smith", date_of_birth=date(1990, 4, 1)))


def test_the_flags_are_data() -> None:
    assert RISK_FLAGS == ("suicidal_ideation", "self_harm", "homicidal_ideation")


def test_setting_a_flag_records_who_when_and_why() -> None:
    c = client()
    assert c.risk_flags == {} and c.high_risk is False
    c.set_risk_flag("suicidal_ideation", "  Passive SI disclosed in session.  ", at=AT, by=CLINICIAN)
    [event] = c.collect_events()
    assert isinstance(event, Client.RiskFlagSet)
    assert (event.flag, event.reason, event.at, event.by) == (
        "suicidal_ideation", "Passive SI disclosed in session.", AT, CLINICIAN)
    assert Client.RiskFlagSet.phi_fields == ("reason",) and Client.RiskFlagCleared.phi_fields == ("reason",)
    assert event.subject_field == "originator_id" and event.originator_id == c.id
    assert c.risk_flags == {"suicidal_ideation": AT} and c.high_risk is True


def test_clearing_removes_only_that_flag() -> None:
    c = client()
    c.set_risk_flag("suicidal_ideation", "SI", at=AT, by=CLINICIAN)
    c.set_risk_flag("self_harm", "Cutting", at=AT + timedelta(hours=1), by=CLINICIAN)
    c.clear_risk_flag("suicidal_ideation", "Safety plan in place, denies SI", at=AT + timedelta(days=14), by=CLINICIAN)
    assert then_events(c) == ["RiskFlagSet", "RiskFlagSet", "RiskFlagCleared"]
    assert c.risk_flags == {"self_harm": AT + timedelta(hours=1)} and c.high_risk is True
    c.clear_risk_flag("self_harm", "Resolved", at=AT + timedelta(days=20), by=CLINICIAN)
    assert c.risk_flags == {} and c.high_risk is False


def test_set_twice_or_clear_unset_is_a_conflict() -> None:
    c = client()
    c.set_risk_flag("self_harm", "Cutting", at=AT, by=CLINICIAN)
    c.collect_events()
    with pytest.raises(IllegalTransition):
        c.set_risk_flag("self_harm", "Again", at=AT, by=CLINICIAN)
    with pytest.raises(IllegalTransition):
        c.clear_risk_flag("homicidal_ideation", "Never set", at=AT, by=CLINICIAN)
    then_no_new_events(c)
    assert c.risk_flags == {"self_harm": AT}


@pytest.mark.parametrize(("flag", "reason", "error"), [
    ("suicidal_ideation", "", ReasonRequired),
    ("suicidal_ideation", "   ", ReasonRequired),
    ("depression", "Low mood", InvalidCommand),
    ("suicidal_ideation", "x" * 2001, InvalidCommand),
])
def test_bad_input_changes_nothing(flag: str, reason: str, error: type[Exception]) -> None:
    c = client()
    with pytest.raises(error):
        c.set_risk_flag(flag, reason, at=AT, by=CLINICIAN)
    then_no_new_events(c)
    assert c.risk_flags == {}


def test_clearing_needs_a_reason_too() -> None:
    c = client()
    c.set_risk_flag("homicidal_ideation", "Threats toward neighbour", at=AT, by=CLINICIAN)
    c.collect_events()
    with pytest.raises(ReasonRequired):
        c.clear_risk_flag("homicidal_ideation", " ", at=AT, by=CLINICIAN)
    then_no_new_events(c)
    assert c.high_risk is True


def test_an_erased_client_takes_no_flags() -> None:
    c = client()
    c.erase("gdpr_request")
    c.collect_events()
    with pytest.raises(IllegalTransition):
        c.set_risk_flag("self_harm", "x", at=AT, by=CLINICIAN)
    then_no_new_events(c)


def test_flags_replay_from_events() -> None:
    c = Client.register(PRACTICE, "basic", first_name="Ana", last_name="Smith", date_of_birth=date(1990, 4, 1))
    c.set_risk_flag("self_harm", "Cutting", at=AT, by=CLINICIAN)
    c.set_risk_flag("suicidal_ideation", "SI", at=AT + timedelta(minutes=5), by=CLINICIAN)
    c.clear_risk_flag("self_harm", "Resolved", at=AT + timedelta(days=1), by=CLINICIAN)
    replayed = None
    for e in c.collect_events():
        replayed = e.mutate(replayed)
    assert replayed is not None and replayed.risk_flags == {"suicidal_ideation": AT + timedelta(minutes=5)}


# --- membership license types ---------------------------------------------------------------


def member(role: str = "clinician", license_type: str | None = None) -> Membership:
    return given(Membership.invite(PRACTICE, f"{uuid4().hex[:6]}@x.test", "Casey", role, "hash", AT,
                                   license_type=license_type))


def test_a_license_is_validated_on_invite() -> None:
    assert member(license_type="LCSW").license_type == "LCSW"
    with pytest.raises(InvalidCommand) as e:
        member(license_type="LCSW-ish")
    assert e.value.details["field"] == "license_type"
    with pytest.raises(InvalidCommand):
        Membership.invite(PRACTICE, "c@x.test", "Client", "client", "hash", AT, license_type="LPC",
                          client_ids=[uuid4()])


def test_changing_the_license() -> None:
    m = member(license_type="LPC-Associate")
    m.change_license("LPC")
    [event] = m.collect_events()
    assert isinstance(event, Membership.LicenseChanged) and event.license_type == "LPC"
    assert event.TOPIC == "careledger/membership/license-changed"
    m.change_license("LPC")
    then_no_new_events(m)
    m.change_license(None)
    assert then_events(m) == ["LicenseChanged"] and m.license_type is None
    with pytest.raises(InvalidCommand):
        m.change_license("Shaman")
    then_no_new_events(m)


def test_portal_members_have_no_license() -> None:
    m = given(Membership.invite(PRACTICE, "fam@x.test", "Fran", "family_member", "hash", AT, client_ids=[uuid4()]))
    with pytest.raises(InvalidCommand):
        m.change_license("LPC")
    then_no_new_events(m)


def test_a_deactivated_member_keeps_their_license() -> None:
    m = member(license_type="LMSW")
    m.deactivate("left")
    m.collect_events()
    with pytest.raises(IllegalTransition):
        m.change_license("LCSW")
    then_no_new_events(m)


# --- practice supervision requirements --------------------------------------------------------


def practice() -> Practice:
    return given(Practice(name="P", slug="p", time_zone="America/New_York", settings={}))


def test_requirements_start_from_the_defaults() -> None:
    assert practice().supervision_requirements() == {
        "LPC": Decimal(2), "LPC-Associate": Decimal(2), "LMSW": Decimal(4), "LMFT-Associate": Decimal(2),
        "intern": Decimal(4),
    }


def test_the_practice_overlays_its_own_hours() -> None:
    p = practice()
    p.set_supervision_requirement("LMSW", Decimal("6.5"), AT)
    p.set_supervision_requirement("LPC", Decimal(0), AT)
    p.set_supervision_requirement("LCSW", Decimal("1.25"), AT)
    events: list[Any] = list(p.collect_events())
    assert [(e.license_type, e.monthly_hours, e.at) for e in events] == [
        ("LMSW", Decimal("6.5"), AT), ("LPC", Decimal(0), AT), ("LCSW", Decimal("1.25"), AT)]
    assert events[0].TOPIC == "careledger/practice/supervision-requirement-set"
    assert p.supervision_requirements() == {
        "LPC-Associate": Decimal(2), "LMSW": Decimal("6.5"), "LMFT-Associate": Decimal(2), "intern": Decimal(4),
        "LCSW": Decimal("1.25"),
    }
    p.set_supervision_requirement("LMSW", Decimal("6.50"), AT)
    p.set_supervision_requirement("psychologist", Decimal(0), AT)
    then_no_new_events(p)


@pytest.mark.parametrize(("code", "hours"), [
    ("LMSW", Decimal("-1")), ("LMSW", Decimal("40.25")), ("LMSW", Decimal("1.1")), ("LMSW", Decimal("NaN")),
    ("Wizard", Decimal(2)),
])
def test_bad_requirements_change_nothing(code: str, hours: Decimal) -> None:
    p = practice()
    with pytest.raises(InvalidCommand):
        p.set_supervision_requirement(code, hours, AT)
    then_no_new_events(p)
    assert p.supervision_requirements()["LMSW"] == Decimal(4)


def test_forty_hours_is_the_ceiling() -> None:
    p = practice()
    p.set_supervision_requirement("intern", Decimal(40), AT)
    assert p.supervision_requirements()["intern"] == Decimal(40)
