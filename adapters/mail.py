"""Mailers: SMTP (smtplib) and, with no SMTP configured, a recorder into `outbox_mail`.

Message bodies, subjects and recipients are never logged: they may carry PHI.
"""

from __future__ import annotations

import hashlib
import logging
import os
import smtplib
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any
from uuid import UUID, uuid4

from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from application.mail import Attachment, OutgoingMail

log = logging.getLogger(__name__)
DEFAULT_SENDER = "CareLedger <no-reply@careledger.test>"
TRUE = frozenset({"1", "true", "yes", "on"})


@dataclass(frozen=True)
class AttachmentInfo:
    filename: str
    content_type: str
    size: int
    sha256: str


@dataclass(frozen=True)
class RecordedMail:
    id: UUID
    to: str
    subject: str
    text: str
    html: str | None
    attachments: tuple[AttachmentInfo, ...]
    practice_id: UUID | None
    created_at: datetime


def _describe(attachments: tuple[Attachment, ...]) -> Jsonb:
    return Jsonb(
        [
            {"filename": a.filename, "content_type": a.content_type, "size": len(a.data),
             "sha256": hashlib.sha256(a.data).hexdigest()}
            for a in attachments
        ]
    )


def _existing_id(pool: ConnectionPool, key: str) -> UUID:
    with pool.connection() as conn:
        row = conn.execute("SELECT id FROM outbox_mail WHERE idempotency_key = %s", (key,)).fetchone()
    if row is None:
        raise RuntimeError("outbox_mail row for an idempotency key vanished")
    return UUID(str(row[0]))


class SmtpMailer:
    """Sends over SMTP. A keyed message is claimed in `outbox_mail` (status 'sending') before
    it is sent and marked 'sent' after, so a retry with that key sends nothing. A failed send is
    marked 'failed' and may be retried; a crash mid-send leaves 'sending' (at most once)."""

    def __init__(
        self,
        host: str,
        port: int,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        sender: str = DEFAULT_SENDER,
        *,
        pool: ConnectionPool | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.starttls = starttls
        self.sender = sender
        self.timeout = timeout
        self._pool = pool
        self._domain = parseaddr(sender)[1].rpartition("@")[2] or "careledger.invalid"

    def send(self, message: OutgoingMail) -> str:
        key = message.idempotency_key
        if key is None:
            mail_id = uuid4()
            self._deliver(message, mail_id)
            return str(mail_id)
        if self._pool is None:
            raise ValueError("SmtpMailer needs a pool for sends with an idempotency key")
        claimed = self._claim(self._pool, message, key)
        if claimed is None:
            existing = _existing_id(self._pool, key)
            log.info("mail %s already sent or in flight; not sent again", existing)
            return str(existing)
        try:
            self._deliver(message, claimed)
        except BaseException:
            self._mark(self._pool, claimed, "failed")
            raise
        self._mark(self._pool, claimed, "sent")
        return str(claimed)

    def build(self, message: OutgoingMail, mail_id: UUID) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = message.to
        msg["Subject"] = message.subject
        msg["Date"] = format_datetime(datetime.now(UTC))
        msg["Message-ID"] = f"<{mail_id}@{self._domain}>"
        msg.set_content(message.text)
        if message.html is not None:
            msg.add_alternative(message.html, subtype="html")
        for a in message.attachments:
            maintype, _, subtype = a.content_type.partition("/")
            msg.add_attachment(a.data, maintype=maintype, subtype=subtype, filename=a.filename)
        return msg

    def _deliver(self, message: OutgoingMail, mail_id: UUID) -> None:
        msg = self.build(message, mail_id)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(msg, from_addr=parseaddr(self.sender)[1], to_addrs=[message.to])
        log.info("mail %s sent over smtp (%d attachments)", mail_id, len(message.attachments))

    @staticmethod
    def _claim(pool: ConnectionPool, message: OutgoingMail, key: str) -> UUID | None:
        """The id to send under (new, or a failed attempt's), or None if another send owns the key."""
        with pool.connection() as conn:
            row = conn.execute(
                "INSERT INTO outbox_mail (id, idempotency_key, practice_id, to_address, subject,"
                " attachments, transport, status) VALUES (%s, %s, %s, %s, %s, %s, 'smtp', 'sending')"
                " ON CONFLICT (idempotency_key) DO UPDATE SET status = 'sending'"
                " WHERE outbox_mail.transport = 'smtp' AND outbox_mail.status = 'failed'"
                " RETURNING id",
                (uuid4(), key, message.practice_id, message.to, message.subject,
                 _describe(message.attachments)),
            ).fetchone()
        return UUID(str(row[0])) if row else None

    @staticmethod
    def _mark(pool: ConnectionPool, mail_id: UUID, status: str) -> None:
        with pool.connection() as conn:
            conn.execute(
                "UPDATE outbox_mail SET status = %s,"
                " sent_at = CASE WHEN %s THEN now() ELSE sent_at END WHERE id = %s",
                (status, status == "sent", mail_id),
            )


class RecordingMailer:
    """Sends nothing: stores each message in `outbox_mail` (transport 'recorded')."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    def send(self, message: OutgoingMail) -> str:
        with self._pool.connection() as conn:
            row = conn.execute(
                "INSERT INTO outbox_mail (id, idempotency_key, practice_id, to_address, subject,"
                " text_body, html_body, attachments, transport, status, sent_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 'recorded', 'recorded', now())"
                " ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
                (uuid4(), message.idempotency_key, message.practice_id, message.to, message.subject,
                 message.text, message.html, _describe(message.attachments)),
            ).fetchone()
        if row is None:
            assert message.idempotency_key is not None  # only a key can conflict
            return str(_existing_id(self._pool, message.idempotency_key))
        log.info("mail %s recorded (%d attachments)", row[0], len(message.attachments))
        return str(row[0])

    def list(self, limit: int = 50, to: str | None = None, practice_id: UUID | None = None) -> list[RecordedMail]:
        """Newest first. `practice_id`: that practice's mail and mail of no practice."""
        sql = (
            "SELECT id, to_address, subject, text_body, html_body, attachments, practice_id, created_at"
            " FROM outbox_mail WHERE transport = 'recorded'"
        )
        params: list[Any] = []
        if to is not None:
            sql += " AND lower(to_address) = lower(%s)"
            params.append(to)
        if practice_id is not None:
            sql += " AND (practice_id = %s OR practice_id IS NULL)"
            params.append(practice_id)
        sql += " ORDER BY seq DESC LIMIT %s"
        params.append(max(0, limit))
        with self._pool.connection() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [
            RecordedMail(
                id=UUID(str(r[0])), to=r[1], subject=r[2], text=r[3] or "", html=r[4],
                attachments=tuple(AttachmentInfo(**a) for a in r[5]),
                practice_id=UUID(str(r[6])) if r[6] is not None else None, created_at=r[7],
            )
            for r in rows
        ]


def mailer_from_env(settings_like: object, pool: ConnectionPool) -> SmtpMailer | RecordingMailer:
    """SMTP when `CARELEDGER_SMTP_HOST` is set, else the recorder.

    Each value is read from `settings_like` (attribute `smtp_host`, ...) when it has one, else from
    `CARELEDGER_SMTP_HOST`, `_PORT` (587), `_USER`, `_PASSWORD`, `_STARTTLS` (default: on for
    port 587) and `CARELEDGER_MAIL_FROM`.
    """

    def value(name: str) -> str | None:
        configured = getattr(settings_like, name, None)
        if configured not in (None, ""):
            return str(configured)
        return os.environ.get(f"CARELEDGER_{name.upper()}") or None

    host = value("smtp_host")
    if not host:
        return RecordingMailer(pool)
    port = int(value("smtp_port") or 587)
    starttls = value("smtp_starttls")
    return SmtpMailer(
        host,
        port,
        username=value("smtp_user"),
        password=value("smtp_password"),
        starttls=starttls.strip().lower() in TRUE if starttls is not None else port == 587,
        sender=value("mail_from") or DEFAULT_SENDER,
        pool=pool,
    )
