"""The client and staff rules through the compliance read model: consent expiry, minor and
telehealth consent coverage, safety plans for high-risk clients, HIPAA training, data quality."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import uuid4

from domain.clients.client import Client
from domain.clinical.clinical_note import ClinicalNote
from domain.identity.membership import Membership
from domain.scheduling.consents import ConsentRecord
from tests.projections.compliance_script import SAFETY, ComplianceScript


def client_alerts(s: ComplianceScript, client: Any) -> list[tuple[str, str]]:
    return sorted((a.rule_code, a.step) for a in s.alerts() if a.client_id == client)


def test_informed_consent_reminder_30_days_before_expiry_then_alert_then_renewal(container: Any) -> None:
    s = ComplianceScript(container)
    clinician = s.member("clinician", "LCSW")
    client = s.client(clinician, consent_on=None)
    c = s.load(client, Client)
    c.record_consent(uuid4(), ConsentRecord("informed_consent", s.at(date(2025, 6, 1), 9),
                                            s.at(date(2026, 6, 1), 0, 0), "Pat Doe"))
    s.save(c)
    visit = s.visit(clinician, client, date(2026, 4, 1))
    s.note(clinician, client, date(2026, 4, 1), visit, signed_at=s.at(date(2026, 4, 1), 12))
    s.tick(date(2026, 5, 1))
    assert client_alerts(s, client) == []
    s.tick(date(2026, 5, 2))  # 30 days before 1 June
    assert client_alerts(s, client) == [("GA-INFORMED-CONSENT", "reminder")]
    s.tick(date(2026, 6, 1))
    assert client_alerts(s, client) == [("GA-INFORMED-CONSENT", "alert")]
    s.tick(date(2026, 6, 2))
    s.consent(client, "informed_consent", date(2026, 6, 2))
    assert client_alerts(s, client) == []


def test_minor_and_telehealth_consent_coverage(container: Any) -> None:
    s = ComplianceScript(container)
    clinician = s.member("clinician", "LCSW")
    minor = s.client(clinician, consent_on=date(2026, 2, 1), birth=date(2012, 4, 1))
    s.visit(clinician, minor, date(2026, 3, 2), modality="telehealth")
    s.tick(date(2026, 3, 3))
    assert client_alerts(s, minor) == [("GA-MINOR-CONSENT", "missing"), ("GA-TELEHEALTH-CONSENT", "missing")]
    s.consent(minor, "guardian_consent", date(2026, 3, 3), guardian="Parent Doe")
    assert client_alerts(s, minor) == [("GA-TELEHEALTH-CONSENT", "missing")]
    s.consent(minor, "telehealth_consent", date(2026, 3, 3))
    assert client_alerts(s, minor) == []


def test_a_high_risk_flag_needs_a_safety_plan_signed_since(container: Any) -> None:
    s = ComplianceScript(container)
    clinician = s.member("clinician", "LCSW")
    client = s.client(clinician, consent_on=date(2026, 2, 1))
    s.visit(clinician, client, date(2026, 3, 2))
    c = s.load(client, Client)
    c.set_risk_flag("suicidal_ideation", "disclosed in session", s.at(date(2026, 3, 2), 11), clinician)
    s.save(c)
    [missing] = [a for a in s.alerts() if a.client_id == client and a.rule_code == "GA-SAFETY-PLAN"]
    assert (missing.severity, missing.violation, missing.opened_at) == ("critical", True, s.at(date(2026, 3, 2), 11))
    s.note(clinician, client, date(2026, 3, 2), None, kind="safety_plan", sections=SAFETY,
           signed_at=s.at(date(2026, 3, 2), 12))
    assert [a for a in s.alerts() if a.rule_code == "GA-SAFETY-PLAN"] == []
    c = s.load(client, Client)
    c.clear_risk_flag("suicidal_ideation", "risk resolved", s.at(date(2026, 4, 1), 10), clinician)
    s.save(c)
    c = s.load(client, Client)
    c.set_risk_flag("self_harm", "new disclosure", s.at(date(2026, 5, 4), 10), clinician)
    s.save(c)  # the March plan predates the new flag
    assert [(a.rule_code, a.since) for a in s.alerts() if a.rule_code == "GA-SAFETY-PLAN"] == [
        ("GA-SAFETY-PLAN", date(2026, 5, 4))]


def test_hipaa_training_reminder_and_lapse(container: Any) -> None:
    s = ComplianceScript(container)
    member = s.member("front_desk", trained=False)
    m = s.load(member, Membership)
    m.record_hipaa_training(date(2025, 4, 1), date(2025, 4, 1))
    s.save(m)
    s.tick(date(2026, 3, 1))
    assert [(a.rule_code, a.step) for a in s.alerts() if a.clinician_id == member] == []
    s.tick(date(2026, 3, 2))  # 30 days before 1 April
    assert [(a.rule_code, a.step, a.target) for a in s.alerts() if a.clinician_id == member] == [
        ("GA-HIPAA-TRAINING", "reminder", "clinician")]
    s.tick(date(2026, 4, 1))
    assert [(a.rule_code, a.step, a.target) for a in s.alerts() if a.clinician_id == member] == [
        ("GA-HIPAA-TRAINING", "alert", "admin")]
    m = s.load(member, Membership)
    m.record_hipaa_training(date(2026, 4, 1), date(2026, 4, 1))
    s.save(m)
    s.tick(date(2026, 4, 2))
    assert [a for a in s.alerts() if a.clinician_id == member] == []


def test_data_quality_unlinked_note_and_missing_demographics(container: Any) -> None:
    s = ComplianceScript(container)
    clinician = s.member("clinician", "LCSW")
    client = s.client(clinician, consent_on=date(2026, 2, 1), emergency_contact=None, insurance_primary=None)
    visit = s.visit(clinician, client, date(2026, 3, 2))
    note = s.note(clinician, client, date(2026, 3, 2), None, signed_at=s.at(date(2026, 3, 2), 12))
    assert client_alerts(s, client) == [("DQ-DEMOGRAPHICS", "incomplete"), ("DQ-NOTE-LINK", "missing")]
    dq = next(a for a in s.alerts() if a.rule_code == "DQ-DEMOGRAPHICS")
    assert dq.message == "Client record is missing emergency contact, insurance primary."
    # The unlinked note documents no visit: the visit stays unsigned until the note is linked.
    s.tick(date(2026, 3, 7))
    assert ("GA-NOTE-SIGNATURE", "reminder") in client_alerts(s, client)
    n = s.load(note, ClinicalNote)
    n.link_appointment(visit, clinician, s.at(date(2026, 3, 7), 9))
    s.save(n)
    c = s.load(client, Client)
    c.update_demographics({"emergency_contact": {"name": "Kin", "phone": "+14045550101", "relationship": "sibling"},
                           "insurance_primary": {"payer": "Aetna", "member_id": "W1"}})
    s.save(c)
    s.tick(date(2026, 3, 8))
    assert client_alerts(s, client) == []
    assert s.alerts(status="active", concerning={clinician}) == []
