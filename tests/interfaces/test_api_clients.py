from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.interfaces.conftest import member_id

ANA = {"first_name": "Ana", "last_name": "Okafor", "date_of_birth": "1990-04-01", "email": "ana@example.test",
       "phone": "+15555550100"}


def register(api: TestClient, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    r = api.post("/api/v1/clients", json={**ANA, **overrides}, headers=headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


def assert_problem(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = dict(r.json())
    assert body["status"] == status and body["code"] == code and body["detail"] and body["request_id"]
    return body


def test_register_then_find_and_read(api: TestClient, token: Any) -> None:
    admin = token("admin")
    created = register(api, admin, first_name="Rosalind", last_name="Vantablack")
    assert set(created) == {"id", "version", "position"} and created["version"] == 1
    found = api.get(
        "/api/v1/clients", params={"q": "ros vanta", "min_position": created["position"]}, headers=admin
    ).json()
    assert [c["id"] for c in found["items"]] == [created["id"]]
    assert found["items"][0]["first_name"] == "Rosalind"
    by_dob = api.get("/api/v1/clients", params={"dob": "1990-04-01", "id": created["id"]}, headers=admin).json()
    assert [c["id"] for c in by_dob["items"]] == [created["id"]]
    chart = api.get(f"/api/v1/clients/{created['id']}", headers=token("front_desk")).json()
    assert chart["demographics"]["last_name"] == "Vantablack" and chart["status"] == "active"


def test_cursor_pagination_walks_every_client_once(api: TestClient, token: Any) -> None:
    admin = token("admin", "beta")
    ids = {register(api, admin, last_name=f"Pager{i}")["id"] for i in range(7)}
    last = register(api, admin, last_name="Pager7")
    ids.add(last["id"])
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params: dict[str, Any] = {"q": "pager", "limit": 3, "min_position": last["position"]}
        if cursor:
            params["cursor"] = cursor
        page = api.get("/api/v1/clients", params=params, headers=admin).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) and set(seen) == ids


def test_as_of_shows_the_client_as_it_stood(api: TestClient, token: Any) -> None:
    admin = token("admin")
    created = register(api, admin, last_name="Before")
    time.sleep(0.05)
    between = datetime.now(tz=UTC)
    time.sleep(0.05)
    r = api.patch(f"/api/v1/clients/{created['id']}", json={"last_name": "After"}, headers=admin)
    assert r.status_code == 200 and r.json()["version"] == 2
    then = api.get(f"/api/v1/clients/{created['id']}", params={"as_of": between.isoformat()}, headers=admin).json()
    now = api.get(f"/api/v1/clients/{created['id']}", headers=admin).json()
    assert then["demographics"]["last_name"] == "Before" and then["version"] == 1
    assert now["demographics"]["last_name"] == "After"
    early = (between - timedelta(days=365)).isoformat()
    assert_problem(api.get(f"/api/v1/clients/{created['id']}", params={"as_of": early}, headers=admin), 404, "not_found")
    assert_problem(
        api.get(f"/api/v1/clients/{created['id']}", params={"as_of": "2026-01-01T00:00:00"}, headers=admin),
        422, "invalid_command",
    )


def test_status_care_level_and_care_team(api: TestClient, token: Any) -> None:
    admin = token("admin")
    created = register(api, admin)
    cid = created["id"]
    staff = api.post("/api/v1/members", json={"full_name": "Dr Kim", "email": "kim@alpha.test", "role": "clinician"},
                     headers=admin).json()
    assert api.post(f"/api/v1/clients/{cid}/care-team", json={"staff_id": staff["id"]}, headers=admin).status_code == 200
    assert_problem(api.post(f"/api/v1/clients/{cid}/care-team", json={"staff_id": staff["id"]}, headers=admin),
                   409, "illegal_transition")
    r = api.post(f"/api/v1/clients/{cid}/status", json={"status": "discharged", "reason_code": "treatment_complete"},
                 headers=admin)
    assert r.status_code == 200
    assert api.post(f"/api/v1/clients/{cid}/care-level", json={"care_level": "intensive"}, headers=admin).status_code == 200
    chart = api.get(f"/api/v1/clients/{cid}", headers=admin).json()
    assert chart["status"] == "discharged" and chart["care_level"] == "intensive"
    assert chart["care_team"] == [{"staff_id": staff["id"], "team_role": "clinician"}]
    assert api.delete(f"/api/v1/clients/{cid}/care-team/{staff['id']}", headers=admin).status_code == 200
    history = api.get(f"/api/v1/audit/clients/{cid}/history", headers=admin).json()
    status_change = next(h for h in history if h["event_type"] == "careledger/client/status-changed")
    assert status_change["envelope"]["reason"] == "treatment_complete"


def test_reads_are_recorded_as_disclosures(api: TestClient, token: Any) -> None:
    admin = token("admin")
    created = register(api, admin)
    api.get(f"/api/v1/clients/{created['id']}", params={"purpose": "payment"}, headers=token("billing", actor="bill-1"))
    disclosures = api.get(f"/api/v1/audit/clients/{created['id']}/disclosures", headers=admin).json()
    latest = disclosures[-1]
    assert latest["actor_id"] == str(member_id("billing", actor="bill-1")) and latest["actor_role"] == "billing"
    assert latest["purpose"] == "payment" and latest["endpoint"] == "GET /api/v1/clients/{id}"
    assert latest["request_id"]
    assert_problem(api.get(f"/api/v1/clients/{created['id']}", params={"purpose": "curiosity"}, headers=admin),
                   422, "invalid_command")


def test_erase_is_admin_only_and_then_answers_erased(api: TestClient, token: Any) -> None:
    admin = token("admin")
    created = register(api, admin, first_name="Shreddable")
    assert_problem(api.post(f"/api/v1/clients/{created['id']}/erase", json={"reason_code": "client_request"},
                            headers=token("clinician")), 403, "permission_denied")
    assert_problem(api.post(f"/api/v1/clients/{created['id']}/erase", json={}, headers=admin), 422, "validation_failed")
    r = api.post(f"/api/v1/clients/{created['id']}/erase", json={"reason_code": "client_request"}, headers=admin)
    assert r.status_code == 200
    chart = api.get(f"/api/v1/clients/{created['id']}", headers=admin).json()
    assert chart["erased"] and chart["demographics"]["first_name"] == "erased"
    history = api.get(f"/api/v1/audit/clients/{created['id']}/history", headers=admin).json()
    types = [h["event_type"] for h in history]
    assert history[0]["data"]["first_name"] == "erased" and "careledger/client/erased" in types
    assert types[-2:] == ["careledger/client/erased", "careledger/phi-access/recorded"]  # the chart read after


def test_cross_practice_ids_answer_404_and_change_nothing(api: TestClient, token: Any) -> None:
    created = register(api, token("admin", "alpha"))
    cid = created["id"]
    other = token("admin", "beta")
    for method, path, body in [
        ("get", f"/api/v1/clients/{cid}", None),
        ("patch", f"/api/v1/clients/{cid}", {"phone": "+15555550111"}),
        ("post", f"/api/v1/clients/{cid}/status", {"status": "inactive", "reason_code": "x"}),
        ("post", f"/api/v1/clients/{cid}/care-level", {"care_level": "basic"}),
        ("post", f"/api/v1/clients/{cid}/erase", {"reason_code": "x"}),
        ("get", f"/api/v1/audit/clients/{cid}/history", None),
        ("get", f"/api/v1/audit/clients/{cid}/disclosures", None),
    ]:
        r = api.request(method.upper(), path, json=body, headers=other)
        assert_problem(r, 404, "not_found")
    listed = api.get("/api/v1/clients", params={"id": cid, "min_position": created["position"]}, headers=other).json()
    assert listed["items"] == []
    chart = api.get(f"/api/v1/clients/{cid}", headers=token("admin", "alpha")).json()
    assert chart["version"] == 1 and chart["status"] == "active"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({**ANA, "date_of_birth": "not-a-date"}, 422, "validation_failed"),
        ({**ANA, "favourite_colour": "blue"}, 422, "validation_failed"),
        ({"first_name": "Only"}, 422, "validation_failed"),
        ({**ANA, "phone": "call me maybe"}, 422, "invalid_command"),
        ({**ANA, "care_level": "luxury"}, 422, "validation_failed"),
    ],
)
def test_bad_input_is_a_problem_not_a_500(api: TestClient, token: Any, body: dict[str, Any], status: int, code: str) -> None:
    assert_problem(api.post("/api/v1/clients", json=body, headers=token()), status, code)


def test_auth_errors(api: TestClient, token: Any) -> None:
    assert_problem(api.get("/api/v1/clients"), 401, "missing_actor")
    assert_problem(api.get("/api/v1/clients", headers={"Authorization": "Bearer nonsense"}), 401, "missing_actor")
    assert_problem(api.post("/api/v1/clients", content=b"{oops", headers={**token(), "content-type": "application/json"}),
                   400, "malformed_json")
    assert_problem(api.get("/api/v1/clients/not-a-uuid", headers=token()), 422, "validation_failed")
    assert_problem(api.get("/api/v1/clients/00000000-0000-0000-0000-000000000000", headers=token()), 404, "not_found")
    assert_problem(api.post("/api/v1/clients", json=ANA, headers=token("billing")), 403, "permission_denied")
    assert_problem(api.get("/api/v1/audit/clients/00000000-0000-0000-0000-000000000000/history",
                           headers=token("clinician")), 403, "permission_denied")
