"""Every dramatiq message runs as the named actor `system:worker`, with the message id as the
request id, so whatever a background job saves carries a complete audit envelope."""

from __future__ import annotations

import contextvars
from typing import Any
from uuid import UUID

import dramatiq
from dramatiq.middleware import Middleware

from application import audit

WORKER_ACTOR = "system:worker"


class AuditContextMiddleware(Middleware):
    def __init__(self) -> None:
        self._tokens: dict[str, contextvars.Token[Any]] = {}

    def before_process_message(self, broker: dramatiq.Broker, message: dramatiq.MessageProxy) -> None:
        practice = message.options.get("practice_id")
        ctx = audit.AuditContext(
            actor_id=WORKER_ACTOR,
            actor_role=audit.SYSTEM_ROLE,
            practice_id=UUID(practice) if practice else None,
            request_id=message.message_id,
            user_agent=f"dramatiq:{message.actor_name}",
        )
        self._tokens[message.message_id] = audit.enter(ctx)

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: dramatiq.MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        token = self._tokens.pop(message.message_id, None)
        if token is not None:
            audit.leave(token)

    after_skip_message = after_process_message
