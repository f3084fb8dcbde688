"""SMS through Twilio's Programmable Messaging API with the official `twilio` SDK.

`api_base` points the SDK at another host (a local stand-in in tests, an egress proxy): the SDK
builds absolute `https://<product>.twilio.com/...` URLs, so our HTTP client rewrites the scheme
and host of every request before sending it. Numbers and bodies are PHI: the SDK's request logging
(which prints query strings such as `To=`) is switched off and errors carry only codes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from requests import RequestException
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from adapters.settings import Settings
from application.ports import SmsRejected

# Errors a retry can outlive: auth (an operator fixes the credentials), rate limits, queue
# overflow, provider outages. Every other 4xx is about the message itself.
TRANSIENT_CODES = frozenset({20003, 20429, 20500, 20503, 30001})
SCAN_LIMIT = 200
CLOCK_SKEW = timedelta(minutes=5)


class RedirectingHttpClient(TwilioHttpClient):
    """TwilioHttpClient that sends every request to `api_base` instead of `*.twilio.com`."""

    def __init__(self, api_base: str | None, timeout: float = 10.0) -> None:
        super().__init__(timeout=timeout)
        self.api_base = urlsplit(api_base.rstrip("/")) if api_base else None

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        if self.api_base is not None:
            parts = urlsplit(url)
            url = urlunsplit(
                (self.api_base.scheme, self.api_base.netloc, self.api_base.path + parts.path, parts.query, "")
            )
        return super().request(method, url, params, data, headers, auth, timeout, allow_redirects)

    def log_request(self, kwargs: dict[str, Any]) -> None:
        """Not logged: the query and body hold phone numbers and message text."""

    def log_response(self, status_code: int, response: Any) -> None:
        """Not logged (see log_request)."""


class TwilioSms:
    """`application.ports.SmsGateway` on Twilio. `from_number` is an E.164 number or a Messaging
    Service SID (`MG...`)."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_number: str,
        api_base: str | None = None,
        status_callback: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.from_number = from_number
        self.status_callback = status_callback
        self.client = Client(account_sid, auth_token, http_client=RedirectingHttpClient(api_base, timeout))

    @classmethod
    def from_settings(cls, settings: Settings) -> TwilioSms | None:
        """None when Twilio is not configured (no account, token or sender)."""
        if not (settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_from_number):
            return None
        return cls(
            settings.twilio_account_sid, settings.twilio_auth_token, settings.twilio_from_number,
            api_base=settings.twilio_api_base,
        )

    def send(self, to: str, body: str, sender: str | None = None) -> str:
        sender = sender or self.from_number
        kwargs: dict[str, Any] = {"to": to, "body": body}
        if sender.startswith("MG"):
            kwargs["messaging_service_sid"] = sender
        else:
            kwargs["from_"] = sender
        if self.status_callback:
            kwargs["status_callback"] = self.status_callback
        try:
            message = self.client.messages.create(**kwargs)
        except TwilioRestException as e:
            raise _rejected(e) from None
        except RequestException:
            raise SmsRejected(None, permanent=False) from None
        return str(message.sid)

    def find_sent(self, to: str, body: str, since: datetime) -> str | None:
        """Scans the newest messages to `to` (no date filter: a message still queued at Twilio has
        no `date_sent` yet and would escape one) and matches body and creation time, allowing for
        clock skew between us and Twilio."""
        floor = since.astimezone(UTC) - CLOCK_SKEW
        try:
            for message in self.client.messages.stream(to=to, limit=SCAN_LIMIT, page_size=50):
                created = message.date_created
                if created is not None and created < floor:
                    break
                if message.body == body and message.direction != "inbound":
                    return str(message.sid)
        except TwilioRestException as e:
            raise _rejected(e) from None
        except RequestException:
            raise SmsRejected(None, permanent=False) from None
        return None


def _rejected(e: TwilioRestException) -> SmsRejected:
    code = int(e.code) if e.code is not None else None
    transient = e.status == 429 or e.status >= 500 or code in TRANSIENT_CODES
    return SmsRejected(code, permanent=not transient, status=e.status)
