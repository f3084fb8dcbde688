"""The mapper that puts the audit envelope on every stored event and encrypts PHI fields.

eventsourcing's own cipher uses one key for a whole application and encrypts whole payloads;
crypto-shredding one client needs a key per client and fields that stay readable (ids, codes,
the envelope) next to the encrypted ones, so this step is ours.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, cast
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, MapperDeserialisationError, StoredEvent
from eventsourcing.utils import get_topic, resolve_topic

from application import audit
from application.ports import PhiCipher
from domain.events import ERASED


@dataclass(frozen=True)
class AuditedStoredEvent(StoredEvent):
    """A stored event plus what the recorder writes beside it in the same transaction."""

    subject_id: UUID | None = None
    new_key: bytes | None = None


def subject_of(domain_event: object) -> UUID | None:
    field = getattr(type(domain_event), "subject_field", None)
    if not field:
        return None
    return cast(UUID, getattr(domain_event, field))


def _aad(topic: str, originator_id: object, version: int) -> bytes:
    return f"{topic}|{originator_id}|{version}".encode()


class AuditingMapper(Mapper[UUID]):
    def __init__(self, transcoder: Any, cipher: PhiCipher) -> None:
        super().__init__(transcoder=transcoder)
        self.phi_cipher = cipher

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        ctx = audit.current()
        cls = type(domain_event)
        topic = get_topic(cls)
        state = dict(vars(domain_event))
        state.pop("audit", None)
        originator_id = state.pop("originator_id")
        version = state.pop("originator_version")
        class_version = getattr(cls, "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version
        subject_field = getattr(cls, "subject_field", None)
        subject_id = None
        if subject_field:
            subject_id = originator_id if subject_field == "originator_id" else state[subject_field]
        new_key = None
        phi_fields = [f for f in getattr(cls, "phi_fields", ()) if state.get(f) is not None]
        if phi_fields:
            if subject_id is None:
                raise TypeError(f"{topic} has PHI fields but no subject to key them by")
            phi = {name: state.pop(name) for name in phi_fields}
            ciphertext, new_key = self.phi_cipher.encrypt(
                subject_id,
                self.transcoder.encode(phi),
                _aad(topic, originator_id, version),
                new_subject=subject_field == "originator_id" and version == 1,
            )
            state["_phi"] = {"fields": phi_fields, "ct": base64.b64encode(ciphertext).decode()}
        envelope = ctx.envelope()
        envelope["at"] = state["timestamp"]
        if subject_id is not None:
            envelope["subject_id"] = str(subject_id)
        state["_audit"] = envelope
        return AuditedStoredEvent(
            originator_id=originator_id,
            originator_version=version,
            topic=topic,
            state=self.transcoder.encode(state),
            subject_id=subject_id,
            new_key=new_key,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        cls = resolve_topic(stored_event.topic)
        try:
            state: dict[str, Any] = self.transcoder.decode(stored_event.state)
        except Exception as e:
            raise MapperDeserialisationError(
                f"Stored event {stored_event.originator_id}@{stored_event.originator_version} "
                f"({stored_event.topic}) cannot be decoded: {e}"
            ) from e
        originator_id = stored_event.originator_id
        if not isinstance(originator_id, UUID):
            originator_id = UUID(str(originator_id))
        envelope = state.pop("_audit", None)
        phi = state.pop("_phi", None)
        if phi is not None:
            subject_field = cls.subject_field
            subject_id = originator_id if subject_field == "originator_id" else state[subject_field]
            plaintext = self.phi_cipher.decrypt(
                subject_id,
                base64.b64decode(phi["ct"]),
                _aad(stored_event.topic, originator_id, stored_event.originator_version),
            )
            if plaintext is None:
                state.update({name: ERASED for name in phi["fields"]})
                state["phi_erased"] = True
            else:
                state.update(self.transcoder.decode(plaintext))
        state["originator_id"] = originator_id
        state["originator_version"] = stored_event.originator_version
        class_version = getattr(cls, "class_version", 1)
        from_version = state.pop("class_version", 1)
        while from_version < class_version:
            getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(state)
            from_version += 1
        state["audit"] = envelope
        domain_event = object.__new__(cls)
        object.__setattr__(domain_event, "__dict__", state)
        return cast(DomainEventProtocol[UUID], domain_event)
