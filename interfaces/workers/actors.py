"""The dramatiq actors: background jobs, each a thin call into an application service.

Actors are declared per broker and container (`declare_actors`) instead of at import time, so a
test can run them on its own broker and database. Every message carries `practice_id` in its
options; `AuditContextMiddleware` turns that into the `system:worker` audit context.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import dramatiq

from domain.reminders.reminder import ReminderKey
from interfaces.container import Container
from interfaces.logging import get_logger

log = get_logger("careledger.worker")
REMINDERS_QUEUE = "reminders"


@dataclass(frozen=True)
class Actors:
    deliver_reminder: dramatiq.Actor[Any, Any]

    def enqueue_reminder(self, key: ReminderKey) -> dramatiq.Message[Any]:
        return self.deliver_reminder.send_with_options(
            args=(str(key.practice_id), str(key.appointment_id), key.offset_hours),
            practice_id=str(key.practice_id),
        )


def declare_actors(broker: dramatiq.Broker, k: Container) -> Actors:
    @dramatiq.actor(
        broker=broker, actor_name="reminders.deliver", queue_name=REMINDERS_QUEUE,
        max_retries=3, min_backoff=1_000, max_backoff=30_000,
    )
    def deliver_reminder(practice_id: str, appointment_id: str, offset_hours: int) -> None:
        """Deliver one reminder; idempotent (the Reminder aggregate decides), so a repeated or
        retried message is harmless and the sweep may enqueue a reminder again."""
        key = ReminderKey(UUID(practice_id), UUID(appointment_id), int(offset_hours))
        result = k.reminders.deliver(key)
        log.info("reminder", reminder_id=str(result.reminder_id), outcome=result.outcome, reason=result.reason)

    return Actors(deliver_reminder=deliver_reminder)
