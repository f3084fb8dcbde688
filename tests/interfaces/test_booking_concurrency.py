"""No double booking under real concurrency: 20 simultaneous HTTP requests for one slot."""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from interfaces.http.app import create_app
from tests.interfaces.scheduling_support import at, client, clinician, monday_in


@pytest.fixture(scope="module")
def server(container: Any, api: TestClient) -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(create_app(container), host="127.0.0.1", port=port, log_level="warning")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        assert time.monotonic() < deadline, "the test server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    uv.should_exit = True
    thread.join(timeout=10)


def test_twenty_concurrent_bookings_of_one_slot_give_one_success(api: TestClient, token: Any, server: str) -> None:
    doc = clinician(api, token)
    clients = [client(api, token) for _ in range(20)]
    headers = token("front_desk")
    starts_at = at(monday_in(3), 11).isoformat()
    barrier = threading.Barrier(20)
    results: list[tuple[int, str | None]] = []
    lock = threading.Lock()

    def attempt(client_id: str) -> None:
        with httpx.Client(base_url=server, headers=headers, timeout=60) as http:
            barrier.wait()
            r = http.post("/api/v1/appointments", json={
                "client_id": client_id, "clinician_id": doc, "appointment_type": "therapy_session",
                "starts_at": starts_at,
            })
            with lock:
                results.append((r.status_code, r.json().get("code")))

    threads = [threading.Thread(target=attempt, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert Counter(results) == Counter({(201, None): 1, (409, "slot_taken"): 19})


def test_concurrent_bookings_of_different_hours_all_succeed(api: TestClient, token: Any, server: str) -> None:
    """Optimistic concurrency must not turn disjoint bookings into conflicts: the loser retries."""
    doc = clinician(api, token)
    day = monday_in(4)
    hours = [9, 10, 11, 13, 14, 15, 16]
    clients = [client(api, token) for _ in hours]
    headers = token("front_desk")
    barrier = threading.Barrier(len(hours))
    codes: list[int] = []

    def attempt(client_id: str, hour: int) -> None:
        with httpx.Client(base_url=server, headers=headers, timeout=60) as http:
            barrier.wait()
            r = http.post("/api/v1/appointments", json={
                "client_id": client_id, "clinician_id": doc, "appointment_type": "follow_up",
                "starts_at": at(day, hour).isoformat(),
            })
            codes.append(r.status_code)

    threads = [threading.Thread(target=attempt, args=(c, h)) for c, h in zip(clients, hours, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert codes == [201] * len(hours)
