"""Background jobs save events as `system:worker`, with the message id as request id."""

from __future__ import annotations

import uuid
from typing import Any

import dramatiq
from dramatiq import Worker

from application import audit
from domain.practices.practice import practice_id_for
from interfaces.workers.broker import redis_broker


def test_a_dramatiq_job_saves_with_the_worker_envelope(container: Any, redis_url: str) -> None:
    pid = practice_id_for("workers")
    with audit.acting(audit.system("system:test", practice_id=pid)):
        container.practices.register("Worker Practice", "workers", "UTC")
    broker = redis_broker(redis_url, namespace=f"careledger-test-{uuid.uuid4().hex[:8]}")
    saved: list[Any] = []

    @dramatiq.actor(broker=broker, actor_name="tests.register_staff", max_retries=0)
    def register_staff(name: str) -> None:
        saved.append(container.members.invite(pid, "w@x.test", name, "care_team").saved)

    message = register_staff.send_with_options(args=("Wendy Worker",), practice_id=str(pid))
    worker = Worker(broker, worker_threads=1, worker_timeout=100)
    worker.start()
    try:
        broker.join(register_staff.queue_name, timeout=20_000)
        worker.join()
    finally:
        worker.stop()
        broker.flush_all()
        broker.close()
    assert len(saved) == 1
    [event] = list(container.store.events.get(saved[0].id))
    envelope = event.audit
    assert envelope["actor_id"] == "system:worker"
    assert envelope["actor_role"] == "system"
    assert envelope["request_id"] == message.message_id
    assert envelope["practice_id"] == str(pid)
    assert envelope["user_agent"] == "dramatiq:tests.register_staff"
    assert audit.peek() is None
