from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from adapters.mail import RecordingMailer
from application.mail import Attachment, OutgoingMail
from domain.practices.practice import practice_id_for
from interfaces.http.app import create_app
from tests.interfaces.conftest import bearer, ensure_member, setup_practice


@pytest.fixture
def client(isolated_container: Any) -> Iterator[TestClient]:
    assert isinstance(isolated_container.mailer, RecordingMailer)  # no SMTP configured in tests
    app = create_app(isolated_container)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def auth(k: Any, role: str) -> dict[str, str]:
    setup_practice(k, "alpha")
    return bearer(k, ensure_member(k, "alpha", role, f"{role}@alpha.test"))


def test_admin_sees_recorded_mail(client: TestClient, isolated_container: Any) -> None:
    headers = auth(isolated_container, "admin")
    mailer = isolated_container.mailer
    mailer.send(OutgoingMail("ann@example.test", "Welcome", "Hi Ann", practice_id=practice_id_for("alpha"),
                             attachments=(Attachment("a.pdf", "application/pdf", b"%PDF-1.4"),)))
    mailer.send(OutgoingMail("bob@example.test", "Reset", "Hi Bob", practice_id=practice_id_for("beta")))
    mailer.send(OutgoingMail("cy@example.test", "Invite", "Hi Cy"))
    r = client.get("/api/v1/dev/outbox", headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert [(m["to"], m["subject"], m["text"]) for m in body] == [
        ("cy@example.test", "Invite", "Hi Cy"), ("ann@example.test", "Welcome", "Hi Ann")]  # not beta's
    assert body[1]["attachments"][0]["filename"] == "a.pdf" and body[1]["attachments"][0]["size"] == 8
    assert "created_at" in body[0]
    only_ann = client.get("/api/v1/dev/outbox", params={"to": "ann@example.test"},
                          headers=headers).json()
    assert [m["to"] for m in only_ann] == ["ann@example.test"]


def test_only_admins(client: TestClient, isolated_container: Any) -> None:
    r = client.get("/api/v1/dev/outbox", headers=auth(isolated_container, "clinician"))
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
    assert client.get("/api/v1/dev/outbox").status_code == 401


def test_absent_outside_dev_mode(client: TestClient, isolated_container: Any) -> None:
    saved = isolated_container.settings.env
    isolated_container.settings.env = "production"
    try:
        r = client.get("/api/v1/dev/outbox", headers=auth(isolated_container, "admin"))
        assert r.status_code == 404 and r.json()["code"] == "not_found"
        assert r.headers["content-type"] == "application/problem+json"
        assert client.get("/api/v1/dev/outbox").status_code == 404  # not even a 401 hints it exists
    finally:
        isolated_container.settings.env = saved
