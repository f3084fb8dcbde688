"""Old events always load: a v1 Registered (single `name`, no care level) is upcast to v2."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime
from typing import Any
from uuid import uuid4

from application import audit
from application.mapper import _aad
from domain.clients.client import Client
from domain.practices.practice import practice_id_for


def test_a_v1_registration_loads_as_v2(container: Any) -> None:
    mapper = container.store.mapper
    client_id, pid = uuid4(), practice_id_for("legacy")
    topic = Client.Registered.TOPIC
    phi = {"name": "Ada Lovelace", "date_of_birth": date(1815, 12, 10)}
    with audit.acting(audit.system("system:migration")):
        ciphertext, new_key = container.keystore.encrypt(client_id, mapper.transcoder.encode(phi), _aad(topic, client_id, 1))
    v1_state = {
        "timestamp": datetime(2024, 1, 2, tzinfo=UTC),
        "originator_topic": "careledger/client",
        "practice_id": pid,
        "gender": None, "email": None, "phone": None, "address": None, "emergency_contact": None,
        "insurance_primary": None, "insurance_secondary": None, "referring_provider": None,
        "_phi": {"fields": ["name", "date_of_birth"], "ct": base64.b64encode(ciphertext).decode()},
        "_audit": {"actor_id": "system:migration", "actor_role": "system"},
    }
    from application.mapper import AuditedStoredEvent

    stored = AuditedStoredEvent(client_id, 1, topic, mapper.transcoder.encode(v1_state), subject_id=client_id, new_key=new_key)
    container.store.recorder.insert_events([stored])
    container.keystore.confirm_stored([client_id])

    assert "class_version" not in mapper.transcoder.decode(stored.state)  # really a v1 record
    client = container.store.load(client_id, Client)
    assert client.demographics["first_name"] == "Ada" and client.demographics["last_name"] == "Lovelace"
    assert client.care_level == "basic" and client.status == "active"
    assert client.demographics["date_of_birth"] == date(1815, 12, 10)
