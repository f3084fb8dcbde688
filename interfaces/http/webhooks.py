"""Webhooks from outside services. Twilio: texts clients send to a practice's SMS number.

Public (Twilio has no bearer token; the per-token API limiter does not apply), but nothing is read
or recorded before the X-Twilio-Signature checks out: an HMAC, keyed by our auth token, over the
URL Twilio called and the sorted form parameters. The URL is rebuilt from `public_url` (the
address Twilio is configured with), not from the request, since a proxy may sit in between.
The answer is TwiML; after STOP it is empty, the carrier sends its own confirmation. Numbers and
bodies are PHI: never logged.
"""

from __future__ import annotations

from dataclasses import replace

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool
from twilio.request_validator import (
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)
from twilio.twiml.messaging_response import MessagingResponse

from application import audit
from domain.errors import DomainError, InvalidCommand
from domain.messaging.sms_keywords import Intent, classify
from domain.practices.practice import Practice
from interfaces.container import Container
from interfaces.http.deps import ContainerDep, Public
from interfaces.http.problems import problem

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])
XML = "application/xml"
UNKNOWN_NUMBER = "Sorry, this number does not accept text messages."


class TwilioNotConfigured(DomainError):
    code = "twilio_not_configured"
    kind = "unavailable"


def twiml(text: str) -> Response:
    reply = MessagingResponse()
    if text:
        reply.message(text)
    return Response(content=str(reply), media_type=XML)


def signed_url(public_url: str, request: Request) -> str:
    """The URL Twilio called, as configured in Twilio: our public address + path + query."""
    url = public_url.rstrip("/") + request.url.path
    return f"{url}?{request.url.query}" if request.url.query else url


@router.post(
    "/twilio/sms",
    dependencies=[Public],
    response_class=Response,
    responses={200: {"content": {XML: {}}, "description": "TwiML (`<Response>`, with a `<Message>` unless STOP)"}},
)
async def twilio_sms(request: Request, k: ContainerDep) -> Response:
    """Twilio's incoming-message webhook (form-encoded). Configure the practice's SMS number with
    `<public_url>/api/v1/webhooks/twilio/sms`, HTTP POST."""
    token = k.settings.twilio_auth_token
    if not token:
        raise TwilioNotConfigured("Twilio is not configured (CARELEDGER_TWILIO_AUTH_TOKEN).")
    form = await request.form()
    signature = request.headers.get(SIGNATURE_HEADER, "")
    algorithm = get_signature_algorithm(request.headers.get(SIGNATURE_SETTINGS_HEADER))
    if not signature or not RequestValidator(token).validate(
        signed_url(k.settings.public_url, request), form, signature, algorithm
    ):
        return problem(request, 403, "invalid_signature", "The X-Twilio-Signature does not match this request.")
    params = {key: str(value) for key, value in form.items()}
    context = audit.peek()
    text = await run_in_threadpool(_receive, k, params, context)
    return twiml(text)


def _receive(k: Container, params: dict[str, str], request_context: audit.AuditContext | None) -> str:
    message_sid = params.get("MessageSid") or params.get("SmsSid") or ""
    if not message_sid:
        raise InvalidCommand("The webhook carries no MessageSid.", field="MessageSid")
    body = params.get("Body", "")
    practice_id = k.sms_routing.practice_for(params.get("To", ""))
    if practice_id is None:
        return "" if classify(body).intent is Intent.OPT_OUT else UNKNOWN_NUMBER
    ctx = audit.system("webhook:twilio", practice_id=practice_id)
    if request_context is not None:
        ctx = replace(ctx, request_id=request_context.request_id, client_ip=request_context.client_ip,
                      user_agent=request_context.user_agent)
    with audit.acting(ctx):
        client_ids = k.sms_routing.clients_for(practice_id, params.get("From", ""))
        if not client_ids:
            return _unknown_sender(k.store.load(practice_id, Practice), body)
        return k.inbound_sms.handle(practice_id, client_ids, message_sid, body).text


def _unknown_sender(practice: Practice, body: str) -> str:
    """Nothing is recorded for a number we do not know; STOP still gets the carrier's answer only."""
    if classify(body).intent is Intent.OPT_OUT:
        return ""
    contact = practice.scheduling.contact_phone
    call = f" Please call us at {contact}." if contact else " Please contact the office."
    return f"{practice.name}: we could not match this phone number to our records.{call}"

