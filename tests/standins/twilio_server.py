"""A local stand-in for Twilio's Programmable Messaging REST API (2010-04-01).

It speaks Twilio's wire format closely enough for the real `twilio` SDK:

- `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` (form: To, From or MessagingServiceSid,
  Body, StatusCallback) -> 201 with a message resource (sid "SM" + 32 hex, status "queued"
  (or "accepted" with a messaging service), RFC 2822 dates);
- `GET /2010-04-01/Accounts/{AccountSid}/Messages.json` with `To`, `From`, `DateSent`,
  `DateSent>`, `DateSent<`, `PageSize`, `Page` -> a page as Twilio returns it (newest first,
  `messages`, `next_page_uri`, `first_page_uri`, `page`, `page_size`, ...);
- `GET /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json`.

Requests need HTTP basic auth (account sid, auth token), else 401 / Twilio error 20003. Errors
are Twilio's error JSON (`code`, `message`, `more_info`, `status`). In the listing an accepted
message shows status "sent" and `date_sent` = its creation time (delivery is instant here).

Use in-process (`TwilioStandin`, or the `twilio_standin` pytest fixture in
`tests/standins/fixtures.py`) or as a separate process:

    python -m tests.standins.twilio_server --port 8765 --record /tmp/sms.json \
        [--account-sid AC... --auth-token ...]

which prints one JSON line `{"base_url": ..., "account_sid": ..., "auth_token": ...}` once it
listens, and rewrites `--record` (a JSON list of accepted messages) after each accepted message.

Control endpoints (same port, no auth; for tests driving a stand-in in another process):

- `GET  /_standin/messages`            -> the accepted messages (JSON list)
- `POST /_standin/fail`   JSON {"code": 21211, "status": 400, "to": null, "times": 1}
- `POST /_standin/hold`   JSON {"record": true} -> the next send is held (see `hold`)
- `GET  /_standin/hold`   -> {"arrived": bool}
- `POST /_standin/release`
- `POST /_standin/now`    JSON {"now": "2026-03-02T14:00:00+00:00"} or {"now": null}
- `POST /_standin/reset`
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import re
import secrets
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.standins.http_standin import HttpStandin

API = "/2010-04-01"
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
HOLD_TIMEOUT_SECONDS = 120.0

ERROR_MESSAGES = {
    20003: "Authenticate",
    20404: "The requested resource {path} was not found",
    21211: "The 'To' number {to} is not a valid phone number.",
    21408: "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: {to}.",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21610: "Attempt to send to unsubscribed recipient",
    21614: "'To' number is not a valid mobile number",
    20429: "Too Many Requests",
    20500: "Internal Server Error",
}


def rfc2822(at: datetime) -> str:
    return format_datetime(at.astimezone(UTC).replace(microsecond=0), usegmt=False).replace("-0000", "+0000")


def new_sid(prefix: str) -> str:
    return prefix + uuid.uuid4().hex


@dataclass
class Failure:
    """Answer sends matching `to` (None = any) with this Twilio error, `times` times (None = always)."""

    code: int
    status: int = 400
    to: str | None = None
    times: int | None = 1


@dataclass
class Hold:
    """A send held in flight.

    `arrived` is set once the request reached the stand-in (and, with `record`, was recorded, so
    it shows in the listing as if Twilio had accepted it and the answer got lost); the request then
    waits until `release` is set. Without `record`, the released request is dropped: the
    connection closes with no answer and nothing is recorded (the message never reached Twilio).
    """

    record: bool = True
    taken: bool = False
    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


class TwilioStandin(HttpStandin):
    thread_name = "twilio-standin"

    def __init__(
        self,
        account_sid: str | None = None,
        auth_token: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        record_path: Path | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.account_sid = account_sid or new_sid("AC")
        self.auth_token = auth_token or secrets.token_hex(16)
        self.record_path = record_path
        self._clock = now or (lambda: datetime.now(UTC))
        self._fixed_now: datetime | None = None
        self._lock = threading.Lock()
        self._messages: list[dict[str, Any]] = []
        self._failures: list[Failure] = []
        self._holds: list[Hold] = []
        self.requests: list[tuple[str, str]] = []
        super().__init__(_QuietServer((host, port), _handler_for(self)))

    def stop(self) -> None:
        with self._lock:
            for h in self._holds:
                h.release.set()
        super().stop()

    def env(self, from_number: str = "+15005550006") -> dict[str, str]:
        """Environment for a CareLedger process (worker, app) that should send through this stand-in."""
        return {
            "CARELEDGER_TWILIO_ACCOUNT_SID": self.account_sid,
            "CARELEDGER_TWILIO_AUTH_TOKEN": self.auth_token,
            "CARELEDGER_TWILIO_FROM_NUMBER": from_number,
            "CARELEDGER_TWILIO_API_BASE": self.base_url,
        }

    # -- test controls ---------------------------------------------------------------------------

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Every accepted message (as the listing shows it), oldest first."""
        with self._lock:
            return [dict(m) for m in self._messages]

    def sent_to(self, to: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["to"] == to]

    def fail(self, code: int, status: int = 400, to: str | None = None, times: int | None = 1) -> Failure:
        """Answer the next `times` sends (to `to`, or any) with Twilio error `code`
        (21211 invalid number, 21610 unsubscribed recipient, 20429/20500 transient ...)."""
        f = Failure(code, status, to, times)
        with self._lock:
            self._failures.append(f)
        return f

    def hold(self, record: bool = True) -> Hold:
        """Hold the next send in flight; see `Hold`."""
        h = Hold(record=record)
        with self._lock:
            self._holds.append(h)
        return h

    def release_all(self) -> None:
        with self._lock:
            holds, self._holds = list(self._holds), []
        for h in holds:
            h.release.set()

    def set_now(self, at: datetime | None) -> None:
        """Pin the stand-in's clock (for dates it stamps), or None to follow the wall clock again."""
        with self._lock:
            self._fixed_now = at

    def now(self) -> datetime:
        return self._fixed_now or self._clock()

    def reset(self) -> None:
        self.release_all()
        with self._lock:
            self._messages.clear()
            self._failures.clear()
            self.requests.clear()
        self._write_record()

    # -- request handling (called from server threads) -------------------------------------------

    def _take_failure(self, to: str) -> Failure | None:
        with self._lock:
            for f in self._failures:
                if f.to is None or f.to == to:
                    if f.times is not None:
                        f.times -= 1
                        if f.times <= 0:
                            self._failures.remove(f)
                    return f
        return None

    def _take_hold(self) -> Hold | None:
        with self._lock:
            for h in self._holds:
                if not h.taken:
                    h.taken = True
                    return h
        return None

    def _forget_hold(self, h: Hold) -> None:
        with self._lock:
            if h in self._holds:
                self._holds.remove(h)

    def _record(self, message: dict[str, Any]) -> None:
        with self._lock:
            self._messages.append(message)
        self._write_record()

    def _write_record(self) -> None:
        if self.record_path is None:
            return
        with self._lock:
            data = json.dumps(self._messages, indent=1)
            tmp = self.record_path.with_name(self.record_path.name + ".tmp")
            tmp.write_text(data)
            os.replace(tmp, self.record_path)

    def _find(self, sid: str) -> dict[str, Any] | None:
        with self._lock:
            return next((dict(m) for m in self._messages if m["sid"] == sid), None)

    def _list(self, query: dict[str, str]) -> list[dict[str, Any]]:
        rows = self.messages
        if "To" in query:
            rows = [m for m in rows if m["to"] == query["To"]]
        if "From" in query:
            rows = [m for m in rows if m["from"] == query["From"]]
        for key, keep in (
            ("DateSent", lambda a, b: a == b),
            ("DateSent>", lambda a, b: a >= b),
            ("DateSent<", lambda a, b: a <= b),
        ):
            if key in query:
                bound = _parse_filter_date(query[key])
                rows = [m for m in rows if keep(*_comparable(m["_date_sent"], bound))]
        rows.sort(key=lambda m: m["_seq"], reverse=True)
        return rows


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client killed mid-request (what hold() is for) is expected; stay quiet about it."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


def _parse_filter_date(raw: str) -> date | datetime:
    raw = raw.strip()
    if len(raw) == 10:
        return date.fromisoformat(raw)
    parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _comparable(sent: str, bound: date | datetime) -> tuple[Any, Any]:
    at = datetime.fromisoformat(sent)
    if isinstance(bound, datetime):
        return at.replace(microsecond=0), bound
    return at.date(), bound


def _public(m: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in m.items() if not k.startswith("_")}


def _handler_for(standin: TwilioStandin) -> type[BaseHTTPRequestHandler]:
    seq = iter(range(1, 10**12))
    seq_lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True
        server_version = "twilio-standin/1"

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: message bodies and numbers stand for PHI."""

        # -- plumbing ----------------------------------------------------------------------------

        def _send_json(self, status: int, payload: Any) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Twilio-Request-Id", new_sid("RQ"))
            self.end_headers()
            self.wfile.write(data)

        def _error(self, status: int, code: int, **fmt: str) -> None:
            message = ERROR_MESSAGES.get(code, "Error {code}").format(code=code, **fmt)
            self._send_json(
                status,
                {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
                 "status": status},
            )

        def _body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _authorized(self) -> bool:
            header = self.headers.get("Authorization", "")
            if not header.startswith("Basic "):
                return False
            try:
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except ValueError:
                return False
            return secrets.compare_digest(user, standin.account_sid) and secrets.compare_digest(
                password, standin.auth_token
            )

        def _route(self, method: str) -> None:
            parts = urlsplit(self.path)
            body = self._body() if method == "POST" else b""
            with standin._lock:
                standin.requests.append((method, parts.path))
            if parts.path.startswith("/_standin/"):
                self._control(method, parts.path, body)
                return
            m = re.fullmatch(rf"{API}/Accounts/([^/]+)/Messages(?:/([^/]+))?\.json", parts.path)
            if not m:
                self._error(404, 20404, path=parts.path)
                return
            if not self._authorized() or m.group(1) != standin.account_sid:
                self._error(401, 20003)
                return
            query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            if m.group(2):
                if method != "GET":
                    self._error(405, 20004)
                    return
                found = standin._find(m.group(2))
                if found is None:
                    self._error(404, 20404, path=parts.path)
                else:
                    self._send_json(200, _public(found))
            elif method == "POST":
                form = {k: v[-1] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
                self._create(form)
            else:
                self._page(parts.path, query)

        # -- Messages ----------------------------------------------------------------------------

        def _create(self, form: dict[str, str]) -> None:
            to = form.get("To", "").strip()
            sender = form.get("From", "").strip() or None
            service = form.get("MessagingServiceSid", "").strip() or None
            body = form.get("Body", "")
            if not to:
                self._error(400, 21604)
                return
            if not sender and not service:
                self._error(400, 21603)
                return
            if not body and not form.get("MediaUrl"):
                self._error(400, 21602)
                return
            if not E164.match(to):
                self._error(400, 21211, to=to)
                return
            failure = standin._take_failure(to)
            if failure is not None:
                self._error(failure.status, failure.code, to=to)
                return

            created = standin.now()
            with seq_lock:
                n = next(seq)
            sid = new_sid("SM")
            uri = f"{API}/Accounts/{standin.account_sid}/Messages/{sid}.json"
            resource: dict[str, Any] = {
                "account_sid": standin.account_sid,
                "api_version": "2010-04-01",
                "body": body,
                "date_created": rfc2822(created),
                "date_sent": None,
                "date_updated": rfc2822(created),
                "direction": "outbound-api",
                "error_code": None,
                "error_message": None,
                "from": sender,
                "messaging_service_sid": service,
                "num_media": "0",
                "num_segments": str(1 if len(body) <= 160 else -(-len(body) // 153)),
                "price": None,
                "price_unit": "USD",
                "sid": sid,
                "status": "accepted" if service and not sender else "queued",
                "subresource_uris": {"media": f"{API}/Accounts/{standin.account_sid}/Messages/{sid}/Media.json"},
                "to": to,
                "uri": uri,
            }
            stored = dict(
                resource, status="sent", date_sent=rfc2822(created), _seq=n, _date_sent=created.isoformat(),
                _status_callback=form.get("StatusCallback"),
            )
            hold = standin._take_hold()
            if hold is not None:
                if hold.record:
                    standin._record(stored)
                hold.arrived.set()
                hold.release.wait(HOLD_TIMEOUT_SECONDS)
                standin._forget_hold(hold)
                if not hold.record:
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(2)
                    return
            else:
                standin._record(stored)
            self._send_json(201, resource)

        def _page(self, path: str, query: dict[str, str]) -> None:
            try:
                rows = standin._list(query)
            except ValueError:
                self._error(400, 20001)
                return
            page_size = max(1, min(1000, int(query.get("PageSize") or 50)))
            page = max(0, int(query.get("Page") or 0))
            chunk = rows[page * page_size:(page + 1) * page_size]
            filters = {k: v for k, v in query.items() if k not in {"Page", "PageSize", "PageToken"}}

            def uri(p: int) -> str:
                params = dict(filters, PageSize=str(page_size), Page=str(p))
                if p > 0:
                    params["PageToken"] = f"PASM{p}"
                return f"{path}?{urlencode(params)}"

            has_next = (page + 1) * page_size < len(rows)
            self._send_json(200, {
                "end": page * page_size + max(len(chunk), 1) - 1,
                "first_page_uri": uri(0),
                "messages": [_public(m) for m in chunk],
                "next_page_uri": uri(page + 1) if has_next else None,
                "page": page,
                "page_size": page_size,
                "previous_page_uri": uri(page - 1) if page > 0 else None,
                "start": page * page_size,
                "uri": uri(page),
            })

        # -- control -----------------------------------------------------------------------------

        def _control(self, method: str, path: str, body: bytes) -> None:
            args = json.loads(body) if body else {}
            action = path.removeprefix("/_standin/")
            if action == "messages" and method == "GET":
                self._send_json(200, [_public(m) for m in standin.messages])
            elif action == "fail" and method == "POST":
                standin.fail(int(args["code"]), int(args.get("status", 400)), args.get("to"), args.get("times", 1))
                self._send_json(200, {"ok": True})
            elif action == "hold" and method == "POST":
                standin.hold(record=bool(args.get("record", True)))
                self._send_json(200, {"ok": True})
            elif action == "hold" and method == "GET":
                with standin._lock:
                    arrived = any(h.arrived.is_set() for h in standin._holds)
                self._send_json(200, {"arrived": arrived})
            elif action == "release" and method == "POST":
                standin.release_all()
                self._send_json(200, {"ok": True})
            elif action == "now" and method == "POST":
                raw = args.get("now")
                standin.set_now(datetime.fromisoformat(raw) if raw else None)
                self._send_json(200, {"ok": True})
            elif action == "reset" and method == "POST":
                standin.reset()
                self._send_json(200, {"ok": True})
            else:
                self._send_json(404, {"error": "unknown control"})

        def do_GET(self) -> None:
            self._route("GET")

        def do_POST(self) -> None:
            self._route("POST")

    return Handler


@contextlib.contextmanager
def running(**kwargs: Any) -> Iterator[TwilioStandin]:
    with TwilioStandin(**kwargs) as s:
        yield s


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--record", type=Path, default=None, help="JSON file rewritten after each accepted message")
    parser.add_argument("--account-sid", default=None)
    parser.add_argument("--auth-token", default=None)
    args = parser.parse_args(argv)
    standin = TwilioStandin(args.account_sid, args.auth_token, args.host, args.port, args.record)
    standin._write_record()
    print(json.dumps({"base_url": standin.base_url, "account_sid": standin.account_sid,
                      "auth_token": standin.auth_token}), flush=True)
    try:
        standin._server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        standin._server.server_close()


if __name__ == "__main__":
    main(sys.argv[1:])
