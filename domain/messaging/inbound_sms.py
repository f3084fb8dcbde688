"""One text a client sent to the practice's number, recorded once per Twilio MessageSid.

The id follows from the MessageSid, so a webhook Twilio delivers twice finds the first record and
answers as before without acting again. `Received` names what the message asked for and which
appointment it was taken to be about; `Handled` what came of it. Between the two a crash may
interrupt the action: a retry then finishes it for the recorded appointment (never for whatever
appointment is next by then). Neither event holds the text or the sender's number, only the
keyword matched (None for anything else), so neither has PHI fields.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import IllegalTransition, InvalidCommand
from domain.events import Audited
from domain.messaging.sms_keywords import Intent

INBOUND_SMS_NAMESPACE = UUID("0b7c6f5e-3a2d-4e8f-9b1a-7c5d3e2f1a90")
OUTCOMES = (
    "confirmed", "already_confirmed", "cancelled", "no_open_appointment", "opted_out", "opted_in",
    "help", "unknown",
)


def inbound_sms_id(message_sid: str) -> UUID:
    return uuid5(INBOUND_SMS_NAMESPACE, message_sid)


class InboundSmsEvent(Aggregate.Event, Audited):
    subject_field: ClassVar[str | None] = "client_id"
    client_id: UUID


class InboundSms(Aggregate):
    TOPIC = "careledger/inbound-sms"

    class Created(Aggregate.Created):
        TOPIC = "careledger/inbound-sms/created"

    class Received(Created, InboundSmsEvent):
        TOPIC = "careledger/inbound-sms/received"
        practice_id: UUID
        client_id: UUID
        message_sid: str
        intent: str
        keyword: str | None
        appointment_id: UUID | None
        appointment_starts_at: datetime | None
        received_at: datetime

    class Handled(InboundSmsEvent):
        TOPIC = "careledger/inbound-sms/handled"
        outcome: str
        task_id: UUID | None
        at: datetime

    @classmethod
    def receive(
        cls, practice_id: UUID, client_id: UUID, message_sid: str, intent: Intent, keyword: str | None,
        appointment_id: UUID | None, appointment_starts_at: datetime | None, received_at: datetime,
    ) -> InboundSms:
        if not message_sid.strip():
            raise InvalidCommand("An inbound message needs its MessageSid.", field="MessageSid")
        return cls._create(
            cls.Received, id=inbound_sms_id(message_sid), practice_id=practice_id, client_id=client_id,
            message_sid=message_sid, intent=str(intent), keyword=keyword, appointment_id=appointment_id,
            appointment_starts_at=appointment_starts_at, received_at=received_at,
        )

    @event(Received)
    def __init__(
        self, practice_id: UUID, client_id: UUID, message_sid: str, intent: str, keyword: str | None,
        appointment_id: UUID | None, appointment_starts_at: datetime | None, received_at: datetime,
    ) -> None:
        self.practice_id = practice_id
        self.client_id = client_id
        self.message_sid = message_sid
        self.intent = Intent(intent)
        self.keyword = keyword
        self.appointment_id = appointment_id
        self.appointment_starts_at = appointment_starts_at
        self.received_at = received_at
        self.outcome: str | None = None
        self.task_id: UUID | None = None

    @property
    def handled(self) -> bool:
        return self.outcome is not None

    def handle(self, outcome: str, at: datetime, task_id: UUID | None = None) -> None:
        if self.handled:
            raise IllegalTransition("This message has been handled already.", status=self.outcome)
        if outcome not in OUTCOMES:
            raise InvalidCommand(f"Unknown outcome {outcome!r}.", field="outcome", allowed=list(OUTCOMES))
        self._handled(client_id=self.client_id, outcome=outcome, task_id=task_id, at=at)

    @event(Handled)
    def _handled(self, client_id: UUID, outcome: str, task_id: UUID | None, at: datetime) -> None:
        self.outcome = outcome
        self.task_id = task_id
