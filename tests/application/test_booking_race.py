"""No double booking without the in-process lock: services racing as separate processes would,
each with its own lock table, leave the decision to the schedule aggregate's version."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, time, timedelta
from typing import Any
from uuid import UUID

from adapters.clock import SystemClock
from application import audit
from application.scheduling.booking import Booking, SchedulingService
from domain.errors import DomainError
from domain.scheduling.consents import ConsentRecord
from tests.support import open_practice, staff_member


def test_racing_services_book_one_slot_once(container: Any) -> None:
    k = container
    with audit.acting(audit.system("system:test")):
        pid = open_practice(k, "Race Practice", "race-practice", "America/Chicago")
    with audit.acting(audit.system("system:test", practice_id=pid)):
        doc = staff_member(k, pid, "race-doc@x.test", "clinician")
        k.scheduling.set_working_hours(pid, doc, {d: [(time(8), time(18))] for d in range(7)})
        clients: list[UUID] = []
        for i in range(10):
            cid = k.clients.register(pid, "basic", {"first_name": f"R{i}", "last_name": "Acer",
                                                    "date_of_birth": datetime(1980, 1, 1).date()}).id
            k.clients.record_consent(pid, cid, ConsentRecord(
                "informed_consent", datetime.now(UTC) - timedelta(days=1), None, "R Acer"))
            clients.append(cid)
    start = (datetime.now(UTC) + timedelta(days=10)).replace(hour=16, minute=0, second=0, microsecond=0)
    barrier = threading.Barrier(len(clients))
    outcomes: list[str] = []

    def attempt(client_id: UUID) -> None:
        service = SchedulingService(k.store, SystemClock())  # a "process" of its own
        barrier.wait()
        with audit.acting(audit.system("system:test", practice_id=pid)):
            try:
                service.book(pid, Booking(client_id, doc, "follow_up", start))
                outcomes.append("booked")
            except DomainError as e:
                outcomes.append(e.code)

    threads = [threading.Thread(target=attempt, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert Counter(outcomes) == Counter({"booked": 1, "slot_taken": 9})
