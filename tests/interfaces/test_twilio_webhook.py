"""POST /api/v1/webhooks/twilio/sms: signatures computed with Twilio's own RequestValidator."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient
from twilio.request_validator import RequestValidator

from application import audit
from domain.clients.client import Client
from domain.messaging.inbound_sms import InboundSms, inbound_sms_id
from domain.practices.practice import practice_id_for
from domain.scheduling.appointment import Appointment
from interfaces.http.webhooks import UNKNOWN_NUMBER
from tests.interfaces.conftest import member_id
from tests.messaging_support import SmsWorld, fresh_number

PATH = "/api/v1/webhooks/twilio/sms"
AUTH_TOKEN = "f" * 32
ACCOUNT = "AC" + "0" * 32


@pytest.fixture
def world(container: Any, api: TestClient, monkeypatch: pytest.MonkeyPatch) -> SmsWorld:
    monkeypatch.setattr(container.settings, "twilio_auth_token", AUTH_TOKEN)
    return SmsWorld.open(container)


def public_url(container: Any) -> str:
    return str(container.settings.public_url).rstrip("/") + PATH


def params(world: SmsWorld, sender: str, body: str, message_sid: str | None = None) -> dict[str, str]:
    """A form as Twilio posts it for an incoming SMS."""
    message_sid = message_sid or "SM" + uuid4().hex
    return {
        "ToCountry": "US", "ToState": "GA", "SmsMessageSid": message_sid, "NumMedia": "0", "ToCity": "ATLANTA",
        "FromZip": "30303", "SmsSid": message_sid, "FromState": "GA", "SmsStatus": "received", "FromCity": "ATLANTA",
        "Body": body, "FromCountry": "US", "To": world.sms_number, "ToZip": "30303", "NumSegments": "1",
        "MessageSid": message_sid, "AccountSid": ACCOUNT, "From": sender, "ApiVersion": "2010-04-01",
    }


def post(api: TestClient, container: Any, form: dict[str, str], signature: str | None = "valid",
         url: str | None = None) -> Any:
    headers = {}
    if signature == "valid":
        headers["X-Twilio-Signature"] = RequestValidator(AUTH_TOKEN).compute_signature(url or public_url(container),
                                                                                        form)
    elif signature is not None:
        headers["X-Twilio-Signature"] = signature
    return api.post(PATH, data=form, headers=headers)


def message_of(r: Any) -> str | None:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(r.text)  # noqa: S314 - our own response
    assert root.tag == "Response"
    found = root.find("Message")
    return None if found is None else (found.text or "")


def test_a_signed_confirm_confirms_and_a_replay_answers_the_same(
    world: SmsWorld, api: TestClient, container: Any
) -> None:
    phone = fresh_number()
    client = world.client(phone)
    appt = world.book(client, timedelta(days=2))
    world.catch_up()
    form = params(world, phone, "C")
    first = post(api, container, form)
    text = message_of(first)
    assert text is not None and text.startswith(f"{world.name}: thank you, your appointment on ")
    assert world.load(appt, Appointment).status == "confirmed"
    version = world.load(appt, Appointment).version

    again = post(api, container, form)
    assert again.text == first.text
    assert world.load(appt, Appointment).version == version
    recorded = world.load(inbound_sms_id(form["MessageSid"]), InboundSms)
    assert (recorded.client_id, recorded.appointment_id, recorded.outcome) == (client, appt, "confirmed")
    envelope = container.store.recorder.select_events(recorded.id)[0].state
    assert b"webhook:twilio" in envelope


@pytest.mark.parametrize(
    ("signature", "url"),
    [
        ("bm90IGEgc2lnbmF0dXJl", None),  # wrong
        (None, None),  # missing
        ("valid", "http://testserver" + PATH),  # signed for another URL than our public one
    ],
)
def test_a_bad_signature_is_refused_and_nothing_is_recorded(
    world: SmsWorld, api: TestClient, container: Any, signature: str | None, url: str | None
) -> None:
    phone = fresh_number()
    client = world.client(phone)
    appt = world.book(client, timedelta(days=2))
    world.catch_up()
    form = params(world, phone, "C")
    r = post(api, container, form, signature=signature, url=url)
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "invalid_signature"
    assert not container.store.exists(inbound_sms_id(form["MessageSid"]))
    assert world.load(appt, Appointment).status == "scheduled"


def test_a_tampered_body_fails_the_signature(world: SmsWorld, api: TestClient, container: Any) -> None:
    phone = fresh_number()
    world.client(phone)
    world.catch_up()
    form = params(world, phone, "C")
    signature = RequestValidator(AUTH_TOKEN).compute_signature(public_url(container), form)
    r = api.post(PATH, data={**form, "Body": "STOP"}, headers={"X-Twilio-Signature": signature})
    assert r.status_code == 403


@pytest.mark.parametrize("body", ["C", "confirm", "YES"])
def test_confirm_words(world: SmsWorld, api: TestClient, container: Any, body: str) -> None:
    phone = fresh_number()
    appt = world.book(world.client(phone), timedelta(days=1))
    world.catch_up()
    assert "is confirmed" in (message_of(post(api, container, params(world, phone, body))) or "")
    assert world.load(appt, Appointment).status == "confirmed"


@pytest.mark.parametrize("body", ["R", "Reschedule"])
def test_reschedule_words_cancel_and_open_a_front_desk_task(
    world: SmsWorld, api: TestClient, container: Any, body: str
) -> None:
    phone = fresh_number()
    client = world.client(phone)
    appt = world.book(client, timedelta(days=4))
    world.catch_up()
    text = message_of(post(api, container, params(world, phone, body)))
    assert text is not None and "is cancelled" in text
    cancelled = world.load(appt, Appointment)
    assert (cancelled.status, cancelled.cancelled_by) == ("cancelled", "client")

    world.catch_up()
    with_task = [t for t in container.front_desk_tasks.list(world.pid, client_ids=None, clinician_ids=None)
                 if t.appointment_id == appt]
    assert len(with_task) == 1 and with_task[0].status == "open" and with_task[0].client_id == client


@pytest.mark.parametrize("body", ["STOP", "stopall", "Unsubscribe", "CANCEL", "end", "Quit", "REVOKE", "opt out"])
def test_opt_out_words_answer_empty_twiml(world: SmsWorld, api: TestClient, container: Any, body: str) -> None:
    phone = fresh_number()
    client = world.client(phone)
    appt = world.book(client, timedelta(days=2))
    world.catch_up()
    r = post(api, container, params(world, phone, body))
    assert message_of(r) is None
    assert world.load(client, Client).sms_opted_out
    assert world.load(appt, Appointment).status == "scheduled"


def test_opt_out_then_back_in(world: SmsWorld, api: TestClient, container: Any) -> None:
    phone = fresh_number()
    client = world.client(phone)
    world.catch_up()
    assert message_of(post(api, container, params(world, phone, "STOP"))) is None
    assert world.load(client, Client).sms_opted_out
    for word in ("START", "UNSTOP"):
        text = message_of(post(api, container, params(world, phone, word)))
        assert text is not None and "STOP" in text
        assert not world.load(client, Client).sms_opted_out


def test_help_answers_with_the_practice_contact(world: SmsWorld, api: TestClient, container: Any) -> None:
    phone = fresh_number()
    world.client(phone)
    world.catch_up()
    for word in ("HELP", "info"):
        text = message_of(post(api, container, params(world, phone, word)))
        assert text is not None
        assert world.name in text and world.contact_phone in text
        assert "CANCEL" not in text.upper()


def test_an_unknown_text_gets_a_hint(world: SmsWorld, api: TestClient, container: Any) -> None:
    phone = fresh_number()
    world.client(phone)
    world.catch_up()
    text = message_of(post(api, container, params(world, phone, "what time is it again?")))
    assert text is not None and "Reply C to confirm" in text


def test_an_unknown_sender_gets_a_polite_reply_and_nothing_is_recorded(
    world: SmsWorld, api: TestClient, container: Any
) -> None:
    world.catch_up()
    form = params(world, fresh_number(), "C")
    text = message_of(post(api, container, form))
    assert text is not None and world.name in text and world.contact_phone in text
    assert not container.store.exists(inbound_sms_id(form["MessageSid"]))
    stop = params(world, fresh_number(), "STOP")
    assert message_of(post(api, container, stop)) is None
    assert not container.store.exists(inbound_sms_id(stop["MessageSid"]))


def test_a_number_no_practice_has(world: SmsWorld, api: TestClient, container: Any) -> None:
    form = {**params(world, fresh_number(), "C"), "To": fresh_number()}
    assert message_of(post(api, container, form)) == UNKNOWN_NUMBER
    assert not container.store.exists(inbound_sms_id(form["MessageSid"]))


def test_the_webhook_needs_no_bearer_token_and_a_configured_twilio(
    api: TestClient, container: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(container.settings, "twilio_auth_token", None)
    r = api.post(PATH, data={"MessageSid": "SM" + uuid4().hex, "Body": "C"})
    assert r.status_code == 503
    assert r.json()["code"] == "twilio_not_configured"


def test_front_desk_task_routes(world: SmsWorld, api: TestClient, container: Any, token: Any) -> None:
    """The alpha practice's front desk sees the tasks of its own practice, and completes them."""
    alpha_world = SmsWorld(container, pid=practice_id_for("alpha"), name="Practice alpha")
    with audit.acting(alpha_world.ctx()):
        container.practices.change_settings(alpha_world.pid, {"sms_number": alpha_world.sms_number,
                                                              "contact_phone": alpha_world.contact_phone})
    token("clinician", "alpha", actor="sms-clinician")
    alpha_world.clinician_id = member_id("clinician", "alpha", actor="sms-clinician")
    phone = fresh_number()
    client = alpha_world.client(phone)
    alpha_world.book(client, timedelta(days=3))
    alpha_world.catch_up()
    assert "is cancelled" in (message_of(post(api, container, params(alpha_world, phone, "R"))) or "")
    alpha_world.catch_up()

    desk = token("front_desk")
    r = api.get("/api/v1/front-desk/tasks", headers=desk)
    assert r.status_code == 200, r.text
    [task] = [t for t in r.json() if t["client_id"] == str(client)]
    assert task["kind"] == "reschedule_request" and task["status"] == "open" and task["source"] == "sms"

    # A clinician sees the tasks about visits with them; another clinician does not.
    mine = api.get("/api/v1/front-desk/tasks", headers=token("clinician", "alpha", actor="sms-clinician")).json()
    assert task["id"] in [t["id"] for t in mine]
    theirs = api.get("/api/v1/front-desk/tasks", headers=token("clinician", "alpha", actor="sms-other")).json()
    assert task["id"] not in [t["id"] for t in theirs]
    r = api.post(f"/api/v1/front-desk/tasks/{task['id']}/complete", headers=token("clinician", "alpha", actor="sms-other"))
    assert r.status_code == 403 and r.json()["code"] == "outside_caseload"

    # Another practice's admin: the task does not exist for them.
    r = api.post(f"/api/v1/front-desk/tasks/{task['id']}/complete", headers=token("admin", "beta"))
    assert r.status_code == 404

    r = api.post(f"/api/v1/front-desk/tasks/{task['id']}/complete", headers=desk)
    assert r.status_code == 200, r.text
    r = api.get("/api/v1/front-desk/tasks", params={"min_position": r.json()["position"]}, headers=desk)
    assert task["id"] not in [t["id"] for t in r.json()]
    done = api.get("/api/v1/front-desk/tasks", params={"status": "completed"}, headers=desk).json()
    [completed] = [t for t in done if t["id"] == task["id"]]
    assert completed["completed_by"] == str(member_id("front_desk"))
    r = api.post(f"/api/v1/front-desk/tasks/{task['id']}/complete", headers=desk)
    assert r.status_code == 409
