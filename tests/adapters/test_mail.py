from __future__ import annotations

import email
import email.policy
import hashlib
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from adapters.mail import RecordingMailer, SmtpMailer, mailer_from_env
from application.mail import Attachment, OutgoingMail

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@dataclass
class Inbox:
    envelopes: list[Any] = field(default_factory=list)
    logins: list[tuple[bytes, bytes]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd hook
        self.envelopes.append(envelope)
        return "250 OK"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        self.logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"s3cret")

    def messages(self) -> list[email.message.EmailMessage]:
        """Parsed as a mail client would (line ends as in Python, not the wire's CRLF)."""
        return [email.message_from_bytes(e.content.replace(b"\r\n", b"\n"), policy=email.policy.default)
                for e in self.envelopes]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, authenticator=inbox.authenticate,
                            auth_require_tls=False)
    controller.start()
    yield inbox, port
    controller.stop()


def letter(key: str | None = None, **kw: Any) -> OutgoingMail:
    return OutgoingMail(**{"to": "ann@example.test", "subject": "Your statement", "text": "Hello Ann,\nsee attached.",
                           "html": "<p>Hello Ann, see attached.</p>",
                           "attachments": (Attachment("statement.pdf", "application/pdf", PDF),),
                           "idempotency_key": key, **kw})


def test_smtp_delivers_text_html_and_attachment(smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    mailer = SmtpMailer("127.0.0.1", port, sender="CareLedger <no-reply@careledger.test>")
    mail_id = mailer.send(letter())
    [envelope] = inbox.envelopes
    assert envelope.mail_from == "no-reply@careledger.test" and envelope.rcpt_tos == ["ann@example.test"]
    [msg] = inbox.messages()
    assert msg["Subject"] == "Your statement" and msg["To"] == "ann@example.test"
    assert msg["Message-ID"] == f"<{mail_id}@careledger.test>"
    plain, html = msg.get_body(("plain",)), msg.get_body(("html",))
    assert plain is not None and plain.get_content() == "Hello Ann,\nsee attached.\n"
    assert html is not None and "<p>Hello Ann, see attached.</p>" in html.get_content()
    [attachment] = list(msg.iter_attachments())
    assert attachment.get_filename() == "statement.pdf" and attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == PDF


def test_smtp_logs_in_when_given_credentials(smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    SmtpMailer("127.0.0.1", port, username="mailer", password="s3cret").send(letter(html=None, attachments=()))
    assert inbox.logins == [(b"mailer", b"s3cret")]
    [msg] = inbox.messages()
    assert not msg.is_multipart() and msg.get_content() == "Hello Ann,\nsee attached.\n"


def test_smtp_sends_a_keyed_message_once(smtp: tuple[Inbox, int], isolated_container: Any) -> None:
    inbox, port = smtp
    mailer = SmtpMailer("127.0.0.1", port, pool=isolated_container.pool)
    key = f"statement-{uuid4()}"
    first, second = mailer.send(letter(key)), mailer.send(letter(key))
    assert first == second and len(inbox.envelopes) == 1
    with isolated_container.pool.connection() as conn:
        row = conn.execute("SELECT transport, status, sent_at IS NOT NULL, text_body, html_body, attachments"
                           " FROM outbox_mail WHERE idempotency_key = %s", (key,)).fetchone()
    assert row[:5] == ("smtp", "sent", True, None, None)  # no bodies kept for sent mail
    assert row[5] == [{"filename": "statement.pdf", "content_type": "application/pdf", "size": len(PDF),
                       "sha256": hashlib.sha256(PDF).hexdigest()}]
    assert RecordingMailer(isolated_container.pool).list() == []  # the dev outbox shows recorded mail only


def test_a_failed_keyed_send_can_be_retried(smtp: tuple[Inbox, int], isolated_container: Any) -> None:
    inbox, port = smtp
    key = "retry-me"
    with pytest.raises(OSError):
        SmtpMailer("127.0.0.1", free_port(), pool=isolated_container.pool, timeout=2).send(letter(key))
    with isolated_container.pool.connection() as conn:
        assert conn.execute("SELECT status FROM outbox_mail WHERE idempotency_key = %s", (key,)).fetchone() == ("failed",)
    mailer = SmtpMailer("127.0.0.1", port, pool=isolated_container.pool)
    assert mailer.send(letter(key)) == mailer.send(letter(key))
    assert len(inbox.envelopes) == 1


def test_recording_mailer_stores_and_lists_newest_first(isolated_container: Any) -> None:
    mailer = RecordingMailer(isolated_container.pool)
    practice = uuid4()
    first = mailer.send(letter())
    second = mailer.send(letter(to="Bob@Example.test", subject="Reset your password", html=None, attachments=(),
                                practice_id=practice))
    listed = mailer.list()
    assert [str(m.id) for m in listed] == [second, first]
    bob, ann = listed
    assert (bob.to, bob.subject, bob.html, bob.attachments, bob.practice_id) == (
        "Bob@Example.test", "Reset your password", None, (), practice)
    assert ann.text == "Hello Ann,\nsee attached." and ann.html == "<p>Hello Ann, see attached.</p>"
    [pdf] = ann.attachments
    assert (pdf.filename, pdf.content_type, pdf.size, pdf.sha256) == (
        "statement.pdf", "application/pdf", len(PDF), hashlib.sha256(PDF).hexdigest())
    assert [m.to for m in mailer.list(to="bob@example.test")] == ["Bob@Example.test"]
    assert len(mailer.list(limit=1)) == 1
    assert [str(m.id) for m in mailer.list(practice_id=uuid4())] == [first]  # another practice: practice-less only


def test_recording_mailer_is_idempotent(isolated_container: Any) -> None:
    mailer = RecordingMailer(isolated_container.pool)
    assert mailer.send(letter("k1")) == mailer.send(letter("k1", subject="changed"))
    assert [m.subject for m in mailer.list()] == ["Your statement"]


def test_header_injection_is_refused() -> None:
    with pytest.raises(ValueError, match="single line"):
        letter(subject="Hi\r\nBcc: eve@example.test")
    with pytest.raises(ValueError, match="single line"):
        letter(to="ann@example.test\nBcc: eve@example.test")


def test_mailer_from_env(monkeypatch: pytest.MonkeyPatch, isolated_container: Any) -> None:
    for name in ("SMTP_HOST", "SMTP_PORT", "SMTP_USER", "SMTP_PASSWORD", "SMTP_STARTTLS", "MAIL_FROM"):
        monkeypatch.delenv(f"CARELEDGER_{name}", raising=False)
    pool = isolated_container.pool
    assert isinstance(mailer_from_env(object(), pool), RecordingMailer)
    monkeypatch.setenv("CARELEDGER_SMTP_HOST", "smtp.example.test")
    default = mailer_from_env(object(), pool)
    assert isinstance(default, SmtpMailer) and (default.port, default.starttls) == (587, True)
    monkeypatch.setenv("CARELEDGER_SMTP_PORT", "2525")
    monkeypatch.setenv("CARELEDGER_SMTP_STARTTLS", "false")
    monkeypatch.setenv("CARELEDGER_SMTP_USER", "u")
    monkeypatch.setenv("CARELEDGER_SMTP_PASSWORD", "p")
    monkeypatch.setenv("CARELEDGER_MAIL_FROM", "Clinic <mail@clinic.test>")
    m = mailer_from_env(object(), pool)
    assert isinstance(m, SmtpMailer)
    assert (m.host, m.port, m.starttls, m.username, m.password, m.sender) == (
        "smtp.example.test", 2525, False, "u", "p", "Clinic <mail@clinic.test>")
