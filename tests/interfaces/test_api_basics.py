from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


def test_health_reports_database_redis_and_lag(api: TestClient, redis_url: str, container: Any) -> None:
    body = api.get("/health").json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["status"] == "ok" and body["checks"]["redis"]["status"] == "ok"
    from interfaces.container import PROJECTIONS

    assert set(body["checks"]["projections"]) == set(PROJECTIONS) >= {"clients", "members", "appointments"}
    assert all(p["lag"] >= 0 for p in body["checks"]["projections"].values())


def test_request_ids_are_echoed(api: TestClient) -> None:
    r = api.get("/health", headers={"X-Request-ID": "trace-12345678"})
    assert r.headers["x-request-id"] == "trace-12345678"
    assert len(api.get("/health", headers={"X-Request-ID": "bad id!"}).headers["x-request-id"]) == 32


def test_openapi_and_docs_are_served(api: TestClient) -> None:
    schema = api.get("/openapi.json").json()
    for path in ("/api/v1/clients", "/api/v1/clients/{client_id}", "/api/v1/staff",
                 "/api/v1/audit/clients/{client_id}/history", "/api/v1/audit/clients/{client_id}/disclosures", "/health"):
        assert path in schema["paths"]
    assert api.get("/docs").status_code == 200


def test_staff_directory_filters_by_role(api: TestClient, token: Any) -> None:
    admin = token("admin", "beta")
    made = api.post("/api/v1/members", json={"full_name": "Bea Biller", "email": "bea@beta.test", "role": "billing"},
                    headers=admin)
    assert made.status_code == 201, made.text
    deadline_items: list[dict[str, Any]] = []
    for _ in range(200):
        deadline_items = api.get("/api/v1/staff", params={"role": "billing"}, headers=admin).json()
        if any(s["full_name"] == "Bea Biller" for s in deadline_items):
            break
    assert "Bea Biller" in [s["full_name"] for s in deadline_items]
    assert all(s["role"] == "billing" for s in deadline_items)
    alpha = api.get("/api/v1/staff", params={"role": "billing"}, headers=token("admin", "alpha")).json()
    assert "Bea Biller" not in [s["full_name"] for s in alpha]
    r = api.post("/api/v1/members", json={"full_name": "X", "email": "x@beta.test", "role": "wizard"}, headers=admin)
    assert r.status_code == 422 and r.json()["code"] == "invalid_command"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30), lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=10), c, max_size=3), max_leaves=8
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.dictionaries(st.sampled_from(["first_name", "last_name", "date_of_birth", "phone", "email", "address",
                                              "care_level", "insurance_primary", "zzz"]), json_values, max_size=6))
def test_random_bodies_never_cause_a_500(api: TestClient, token: Any, body: dict[str, Any]) -> None:
    r = api.post("/api/v1/clients", json=body, headers=token())
    assert r.status_code in {201, 400, 409, 422}, r.text


def test_the_server_seals_the_log_as_it_runs(api: TestClient, token: Any, container: Any) -> None:
    import time

    r = api.post("/api/v1/clients", json={"first_name": "Seal", "last_name": "Me", "date_of_birth": "2000-01-01"},
                 headers=token())
    position = r.json()["position"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        tip = container.audit_chain.tip()
        if tip is not None and tip.last_notification_id >= position:
            break
        time.sleep(0.2)
    else:
        raise AssertionError(f"event {position} was not sealed by the server's background sealer")
    report = container.audit_chain.verify()
    assert report.ok, report.first_problem
