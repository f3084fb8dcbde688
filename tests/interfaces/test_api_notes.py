"""Clinical notes over HTTP: drafting, signatures and their hashes, amendments, co-signature, bulk
signing, templates, lists and queues; practice isolation, record scope and recorded reads."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any
from uuid import UUID, uuid4

from fastapi.testclient import TestClient

from application import audit
from domain.access.phi_access import PhiAccess
from domain.clinical.clinical_note import canonical_content
from domain.identity.membership import membership_id_for
from domain.practices.practice import practice_id_for
from tests.interfaces.conftest import PASSWORD, bearer, member_id

SOAP = {"subjective": "Low mood, poor sleep.", "objective": "Flat affect.", "assessment": "MDD, moderate.",
        "plan": "CBT weekly."}
DAY = "2026-03-10"


def problem(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = dict(r.json())
    assert body["code"] == code, body
    return body


def expected_hash(sections: dict[str, str], codes: list[str], version: int, day: str = DAY) -> str:
    return hashlib.sha256(canonical_content("soap", sections, codes, date.fromisoformat(day), version)).hexdigest()


def client_with_team(api: TestClient, token: Any, *staff: UUID) -> str:
    admin = token("admin")
    r = api.post("/api/v1/clients", headers=admin,
                 json={"first_name": "Nora", "last_name": f"Noted{uuid4().hex[:6]}", "date_of_birth": "1984-04-04"})
    assert r.status_code == 201, r.text
    client_id = str(r.json()["id"])
    for member in staff:
        r = api.post(f"/api/v1/clients/{client_id}/care-team", headers=admin, json={"staff_id": str(member)})
        assert r.status_code == 200, r.text
    return client_id


def author(token: Any) -> tuple[dict[str, str], UUID]:
    return token("clinician", actor="notes-author"), member_id("clinician", actor="notes-author")


def supervisee(api: TestClient, token: Any, container: Any) -> tuple[dict[str, str], UUID, dict[str, str], UUID]:
    """An LPC-Associate supervised by a supervisor: (their headers and ids)."""
    sup_headers = token("supervisor", actor="notes-supervisor")
    sup_id = member_id("supervisor", actor="notes-supervisor")
    pid = practice_id_for("alpha")
    email = "notes-associate@alpha.test"
    assoc_id = membership_id_for(pid, email)
    if not container.store.exists(assoc_id):
        with audit.acting(audit.system("system:test", practice_id=pid)):
            container.members.provision(pid, email, "Ash Associate", "clinician", PASSWORD,
                                        license_type="LPC-Associate",
                                        hipaa_training_on=container.clock.now().date())
        r = api.put(f"/api/v1/members/{assoc_id}/supervisor", headers=token("admin"),
                    json={"supervisor_id": str(sup_id)})
        assert r.status_code == 200, r.text
    return bearer(container, assoc_id), assoc_id, sup_headers, sup_id


def draft(api: TestClient, headers: dict[str, str], client_id: str, **body: Any) -> dict[str, Any]:
    payload = {"client_id": client_id, "note_type": "soap", "service_date": DAY, "sections": SOAP,
               "icd10_codes": ["f32.1"], **body}
    r = api.post("/api/v1/notes", headers=headers, json=payload)
    assert r.status_code == 201, r.text
    return dict(r.json())


def summaries(api: TestClient, headers: dict[str, str], position: int, **params: Any) -> dict[str, dict[str, Any]]:
    r = api.get("/api/v1/notes", headers=headers, params={"min_position": position, **params})
    assert r.status_code == 200, r.text
    return {n["id"]: n for n in r.json()}


def test_draft_read_and_sign_records_the_hash_of_the_signed_content(api: TestClient, token: Any,
                                                                  container: Any) -> None:
    headers, me = author(token)
    client_id = client_with_team(api, token, me)
    note_id = draft(api, headers, client_id, icd10_codes=["f32.1", "Z630"])["id"]

    def reads() -> list[Any]:
        return [e for _, e in container.store.history(UUID(client_id), topics=[PhiAccess.Recorded.TOPIC])
                if e.endpoint.startswith("GET /api/v1/notes")]

    r = api.get(f"/api/v1/notes/{note_id}", headers=headers)
    assert r.status_code == 200, r.text
    note = r.json()
    assert (note["status"], note["author_id"], note["sections"], note["icd10_codes"], note["requires_cosign"]) == (
        "draft", str(me), SOAP, ["F32.1", "Z63.0"], False)
    assert [(e.endpoint, e.purpose, e.fields) for e in reads()] == [
        ("GET /api/v1/notes/{id}", "treatment", ["clinical_note"])]

    r = api.post(f"/api/v1/notes/{note_id}/sign", headers=headers)
    assert r.status_code == 200, r.text
    signed = r.json()
    digest = expected_hash(SOAP, ["F32.1", "Z63.0"], 1)
    assert (signed["content_hash"], signed["content_version"]) == (digest, 1)
    note = api.get(f"/api/v1/notes/{note_id}", headers=headers, params={"purpose": "operations"}).json()
    assert (note["status"], note["fully_signed"], note["signature"]["content_hash"], note["signature"]["by"]) == (
        "signed", True, digest, str(me))
    assert [(e.endpoint, e.purpose) for e in reads()][-1] == ("GET /api/v1/notes/{id}", "operations")

    listed = summaries(api, headers, signed["position"], client_id=client_id)
    assert listed[note_id]["status"] == "signed" and listed[note_id]["fully_signed_at"] is not None
    assert "sections" not in listed[note_id]


def test_a_signed_note_is_amended_not_edited_and_keeps_version_one(api: TestClient, token: Any) -> None:
    headers, me = author(token)
    client_id = client_with_team(api, token, me)
    note_id = draft(api, headers, client_id)["id"]
    first = api.post(f"/api/v1/notes/{note_id}/sign", headers=headers).json()

    problem(api.patch(f"/api/v1/notes/{note_id}", headers=headers, json={"sections": {"plan": "x"}}),
            409, "illegal_transition")
    problem(api.post(f"/api/v1/notes/{note_id}/amend", headers=headers,
                     json={"reason": " ", "sections": {"plan": "x"}}), 422, "reason_required")
    problem(api.post(f"/api/v1/notes/{note_id}/amend", headers=headers, json={"sections": {"plan": "x"}}),
            422, "validation_failed")

    r = api.post(f"/api/v1/notes/{note_id}/amend", headers=headers,
                 json={"reason": "Plan was mis-stated.", "sections": {"plan": "CBT twice weekly."}})
    assert r.status_code == 200, r.text
    assert r.json()["content_version"] == 2
    new_sections = {**SOAP, "plan": "CBT twice weekly."}
    second = api.post(f"/api/v1/notes/{note_id}/sign", headers=headers).json()
    assert (second["content_version"], second["content_hash"]) == (2, expected_hash(new_sections, ["F32.1"], 2))

    r = api.get(f"/api/v1/notes/{note_id}/versions", headers=headers)
    assert r.status_code == 200, r.text
    v1, v2 = r.json()["versions"]
    assert first["content_hash"] == expected_hash(SOAP, ["F32.1"], 1)
    assert (v1["number"], v1["sections"], v1["signature"]["content_hash"]) == (1, SOAP, first["content_hash"])
    assert (v2["number"], v2["sections"], v2["amend_reason"], v2["signature"]["content_hash"]) == (
        2, new_sections, "Plan was mis-stated.", second["content_hash"])

    r = api.post(f"/api/v1/notes/{note_id}/addenda", headers=headers, json={"text": "Called the next day."})
    assert r.status_code == 200, r.text
    note = api.get(f"/api/v1/notes/{note_id}", headers=headers).json()
    assert [a["text"] for a in note["addenda"]] == ["Called the next day."]
    assert note["content_hash"] == second["content_hash"]  # an addendum is no signed content


def test_incomplete_notes_are_not_submitted_and_only_the_author_signs(api: TestClient, token: Any) -> None:
    headers, me = author(token)
    client_id = client_with_team(api, token, me)
    note_id = draft(api, headers, client_id, sections={"subjective": "only this"})["id"]
    body = problem(api.post(f"/api/v1/notes/{note_id}/submit", headers=headers), 422, "note_incomplete")
    assert body["missing"] == ["objective", "assessment", "plan"]
    problem(api.post("/api/v1/notes", headers=headers, json={"client_id": client_id, "note_type": "soap",
                                                            "service_date": DAY, "sections": {"content": "x"}}),
            422, "invalid_command")
    problem(api.post("/api/v1/notes", headers=headers, json={"client_id": client_id, "note_type": "soap"}),
            422, "invalid_command")  # no appointment, no service date

    r = api.patch(f"/api/v1/notes/{note_id}", headers=headers,
                  json={"sections": {k: v for k, v in SOAP.items() if k != "subjective"}})
    assert r.status_code == 200, r.text
    assert api.post(f"/api/v1/notes/{note_id}/submit", headers=headers).status_code == 200
    problem(api.post(f"/api/v1/notes/{note_id}/sign", headers=token("admin")), 403, "not_the_author")
    problem(api.post(f"/api/v1/notes/{note_id}/cosign", headers=headers), 409, "illegal_transition")
    assert api.post(f"/api/v1/notes/{note_id}/return", headers=token("admin"),
                    json={"reason": "Be more specific."}).status_code == 200
    assert api.get(f"/api/v1/notes/{note_id}", headers=headers).json()["status"] == "draft"


def test_a_supervisees_note_waits_for_the_supervisors_cosign(api: TestClient, token: Any, container: Any) -> None:
    assoc, assoc_id, sup, sup_id = supervisee(api, token, container)
    client_id = client_with_team(api, token, assoc_id)
    note_id = draft(api, assoc, client_id)["id"]
    note = api.get(f"/api/v1/notes/{note_id}", headers=assoc).json()
    assert (note["requires_cosign"], note["supervisor_id"]) == (True, str(sup_id))

    signed = api.post(f"/api/v1/notes/{note_id}/sign", headers=assoc).json()
    r = api.get("/api/v1/notes/queue", headers=sup, params={"min_position": signed["position"]})
    assert r.status_code == 200, r.text
    assert note_id in [n["id"] for n in r.json()["awaiting_my_cosign"]]
    row = summaries(api, sup, signed["position"], client_id=client_id)[note_id]
    assert (row["status"], row["awaiting_cosign"], row["fully_signed_at"]) == ("signed", True, None)
    assert note_id in [n["id"] for n in api.get("/api/v1/notes/queue", headers=assoc).json()["unsigned"]]

    problem(api.post(f"/api/v1/notes/{note_id}/cosign", headers=token("admin")), 403, "wrong_supervisor")
    r = api.post(f"/api/v1/notes/{note_id}/cosign", headers=sup)
    assert r.status_code == 200, r.text
    assert r.json()["content_hash"] == signed["content_hash"]
    row = summaries(api, sup, r.json()["position"], client_id=client_id)[note_id]
    assert row["awaiting_cosign"] is False and row["fully_signed_at"] == row["cosigned_at"] is not None
    queue = api.get("/api/v1/notes/queue", headers=sup, params={"min_position": r.json()["position"]}).json()
    assert note_id not in [n["id"] for n in queue["awaiting_my_cosign"]]


def test_bulk_signing_reports_each_note(api: TestClient, token: Any, container: Any) -> None:
    headers, me = author(token)
    assoc, assoc_id, _, _ = supervisee(api, token, container)
    client_id = client_with_team(api, token, me, assoc_id)
    good = draft(api, headers, client_id)["id"]
    incomplete = draft(api, headers, client_id, sections={"plan": "later"})["id"]
    not_mine = draft(api, assoc, client_id)["id"]
    missing = str(uuid4())
    r = api.post("/api/v1/notes/sign", headers=headers, json={"note_ids": [good, incomplete, not_mine, missing]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["signed"], body["refused"]) == (1, 3)
    assert [(x["note_id"], x["outcome"], x["error"]) for x in body["results"]] == [
        (good, "signed", None), (incomplete, "refused", "note_incomplete"), (not_mine, "refused", "not_the_author"),
        (missing, "refused", "not_found"),
    ]
    assert body["results"][0]["content_hash"] == expected_hash(SOAP, ["F32.1"], 1)
    statuses = {i: api.get(f"/api/v1/notes/{i}", headers=headers).json()["status"] for i in (good, incomplete)}
    assert statuses == {good: "signed", incomplete: "draft"}
    problem(api.post("/api/v1/notes/sign", headers=headers, json={"note_ids": []}), 422, "validation_failed")


def test_templates_prefill_drafts(api: TestClient, token: Any) -> None:
    admin = token("admin")
    headers, me = author(token)
    name = f"Standard SOAP {uuid4().hex[:6]}"
    r = api.post("/api/v1/practice/note-templates", headers=admin, json={
        "name": name, "note_type": "soap", "sections": {"objective": "Alert and oriented x3.", "plan": "Weekly CBT."}})
    assert r.status_code == 201, r.text
    template_id = r.json()["id"]
    problem(api.post("/api/v1/practice/note-templates", headers=headers,
                     json={"name": "Mine", "note_type": "soap", "sections": {}}), 403, "permission_denied")
    problem(api.post("/api/v1/practice/note-templates", headers=admin,
                     json={"name": "Bad", "note_type": "soap", "sections": {"content": "x"}}), 422, "invalid_command")
    listed = {t["id"]: t for t in api.get("/api/v1/practice/note-templates", headers=headers).json()}
    assert (listed[template_id]["name"], listed[template_id]["note_type"]) == (name, "soap")

    client_id = client_with_team(api, token, me)
    note_id = draft(api, headers, client_id, sections={"subjective": "Better sleep.", "plan": "Biweekly."},
                    template_id=template_id)["id"]
    assert api.get(f"/api/v1/notes/{note_id}", headers=headers).json()["sections"] == {
        "subjective": "Better sleep.", "objective": "Alert and oriented x3.", "plan": "Biweekly."}

    assert api.delete(f"/api/v1/practice/note-templates/{template_id}", headers=admin).status_code == 200
    problem(api.delete(f"/api/v1/practice/note-templates/{template_id}", headers=admin), 404, "not_found")
    assert template_id not in [t["id"] for t in api.get("/api/v1/practice/note-templates", headers=admin).json()]
    r = api.post("/api/v1/notes", headers=headers, json={"client_id": client_id, "note_type": "soap",
                                                        "service_date": DAY, "template_id": template_id})
    problem(r, 404, "not_found")


def test_another_practice_and_other_caseloads_do_not_see_notes(api: TestClient, token: Any) -> None:
    headers, me = author(token)
    client_id = client_with_team(api, token, me)
    created = draft(api, headers, client_id)
    note_id = created["id"]
    beta = token("admin", "beta")
    for method, path, body in [
        ("GET", f"/api/v1/notes/{note_id}", None), ("GET", f"/api/v1/notes/{note_id}/versions", None),
        ("PATCH", f"/api/v1/notes/{note_id}", {"sections": {"plan": "hijacked"}}),
        ("POST", f"/api/v1/notes/{note_id}/sign", None), ("POST", f"/api/v1/notes/{note_id}/submit", None),
        ("POST", f"/api/v1/notes/{note_id}/addenda", {"text": "x"}),
    ]:
        problem(api.request(method, path, headers=beta, json=body), 404, "not_found")
    problem(api.post("/api/v1/notes", headers=beta, json={"client_id": client_id, "note_type": "soap",
                                                         "service_date": DAY}), 404, "not_found")
    assert note_id not in summaries(api, beta, created["position"])

    outsider = token("clinician", actor="notes-outsider")
    problem(api.get(f"/api/v1/notes/{note_id}", headers=outsider), 403, "outside_caseload")
    problem(api.post(f"/api/v1/notes/{note_id}/addenda", headers=outsider, json={"text": "x"}), 403,
            "outside_caseload")
    problem(api.post("/api/v1/notes", headers=outsider, json={"client_id": client_id, "note_type": "soap",
                                                             "service_date": DAY}), 403, "outside_caseload")
    assert note_id not in summaries(api, outsider, created["position"])
    assert note_id in summaries(api, token("admin"), created["position"])
    problem(api.get("/api/v1/notes", headers=token("front_desk")), 403, "permission_denied")

    note = api.get(f"/api/v1/notes/{note_id}", headers=headers).json()
    assert (note["status"], note["sections"], note["version"]) == ("draft", SOAP, 1)
