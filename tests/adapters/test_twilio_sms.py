"""TwilioSms (the real twilio SDK) against the local Twilio stand-in."""

from __future__ import annotations

import json
import re
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from adapters.settings import Settings
from adapters.twilio_sms import TwilioSms
from application.ports import SmsGateway, SmsRejected
from tests.standins.fixtures import standin_process, twilio_standin  # noqa: F401
from tests.standins.twilio_server import TwilioStandin

SENDER = "+15005550006"
TO = "+15551230001"


@pytest.fixture
def sms(twilio_standin: TwilioStandin) -> TwilioSms:  # noqa: F811
    return TwilioSms(twilio_standin.account_sid, twilio_standin.auth_token, SENDER, api_base=twilio_standin.base_url)


def test_send_returns_the_message_sid_and_the_standin_records_it(sms: TwilioSms, twilio_standin: TwilioStandin) -> None:  # noqa: F811
    gateway: SmsGateway = sms
    sid = gateway.send(TO, "Reminder: appointment tomorrow 10:00. Reply C to confirm.")
    assert re.fullmatch(r"SM[0-9a-f]{32}", sid)
    [m] = twilio_standin.messages
    assert (m["sid"], m["to"], m["from"], m["body"]) == (sid, TO, SENDER, "Reminder: appointment tomorrow 10:00. Reply C to confirm.")
    assert m["account_sid"] == twilio_standin.account_sid
    assert ("POST", f"/2010-04-01/Accounts/{twilio_standin.account_sid}/Messages.json") in twilio_standin.requests


def test_messaging_service_sender_and_status_callback(twilio_standin: TwilioStandin) -> None:  # noqa: F811
    service = "MG" + "a" * 32
    sms = TwilioSms(twilio_standin.account_sid, twilio_standin.auth_token, service,
                    api_base=twilio_standin.base_url, status_callback="https://example.test/cb")
    sms.send(TO, "hi")
    [m] = twilio_standin.messages
    assert m["messaging_service_sid"] == service
    assert m["from"] is None
    assert m["_status_callback"] == "https://example.test/cb"


def test_create_response_is_a_realistic_resource(twilio_standin: TwilioStandin) -> None:  # noqa: F811
    r = requests.post(
        f"{twilio_standin.base_url}/2010-04-01/Accounts/{twilio_standin.account_sid}/Messages.json",
        data={"To": TO, "From": SENDER, "Body": "x"}, auth=(twilio_standin.account_sid, twilio_standin.auth_token),
        timeout=5,
    )
    assert r.status_code == 201
    body = r.json()
    assert body["status"] == "queued"
    assert body["date_sent"] is None
    assert re.fullmatch(r"\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000", body["date_created"])
    assert body["uri"].endswith(f"/Messages/{body['sid']}.json")


def test_wrong_credentials_are_refused(twilio_standin: TwilioStandin) -> None:  # noqa: F811
    sms = TwilioSms(twilio_standin.account_sid, "not-the-token", SENDER, api_base=twilio_standin.base_url)
    with pytest.raises(SmsRejected) as e:
        sms.send(TO, "hi")
    assert (e.value.code, e.value.status, e.value.permanent) == (20003, 401, False)
    assert twilio_standin.messages == []


def test_invalid_number_is_a_permanent_rejection(sms: TwilioSms, twilio_standin: TwilioStandin) -> None:  # noqa: F811
    with pytest.raises(SmsRejected) as e:
        sms.send("555-not-e164", "hi")
    assert (e.value.code, e.value.status, e.value.permanent) == (21211, 400, True)
    assert "555" not in str(e.value)


def test_configured_failures(sms: TwilioSms, twilio_standin: TwilioStandin) -> None:  # noqa: F811
    twilio_standin.fail(21610, to=TO)
    with pytest.raises(SmsRejected) as e:
        sms.send(TO, "hi")
    assert (e.value.code, e.value.permanent) == (21610, True)

    twilio_standin.fail(20429, status=429)
    with pytest.raises(SmsRejected) as e:
        sms.send(TO, "hi")
    assert (e.value.code, e.value.permanent) == (20429, False)

    twilio_standin.fail(20500, status=500, times=2)
    for _ in range(2):
        with pytest.raises(SmsRejected) as e:
            sms.send(TO, "hi")
        assert e.value.permanent is False
    assert sms.send(TO, "hi").startswith("SM")
    assert len(twilio_standin.messages) == 1


def test_unreachable_provider_is_transient() -> None:
    sms = TwilioSms("AC" + "0" * 32, "t", SENDER, api_base="http://127.0.0.1:9", timeout=2)
    with pytest.raises(SmsRejected) as e:
        sms.send(TO, "hi")
    assert (e.value.code, e.value.permanent) == (None, False)


def test_find_sent_matches_recipient_body_and_time(sms: TwilioSms, twilio_standin: TwilioStandin) -> None:  # noqa: F811
    before = datetime.now(UTC)
    sid = sms.send(TO, "Reminder A")
    sms.send(TO, "Reminder B")
    sms.send("+15551230002", "Reminder A")
    assert sms.find_sent(TO, "Reminder A", before) == sid
    assert sms.find_sent(TO, "Reminder C", before) is None
    assert sms.find_sent("+15551230003", "Reminder A", before) is None
    assert sms.find_sent(TO, "Reminder A", before + timedelta(hours=1)) is None


def test_find_sent_pages_through_the_listing(sms: TwilioSms, twilio_standin: TwilioStandin) -> None:  # noqa: F811
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    twilio_standin.set_now(start)
    target = sms.send(TO, "the one")
    for i in range(120):
        sms.send(TO, f"later {i}")
    assert sms.find_sent(TO, "the one", start) == target
    listing_calls = [p for (m, p) in twilio_standin.requests if m == "GET"]
    assert len(listing_calls) == 3


def test_listing_filters_as_twilio_does(sms: TwilioSms, twilio_standin: TwilioStandin) -> None:  # noqa: F811
    twilio_standin.set_now(datetime(2026, 3, 1, 23, 0, tzinfo=UTC))
    sms.send(TO, "old")
    twilio_standin.set_now(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    sms.send(TO, "new")
    sms.send("+15551230002", "other")
    by_day = sms.client.messages.list(to=TO, date_sent_after=datetime(2026, 3, 2, tzinfo=UTC))
    assert [m.body for m in by_day] == ["new"]
    exact = sms.client.messages.list(to=TO, date_sent_after=datetime(2026, 3, 1, 22, 59, tzinfo=UTC))
    assert [m.body for m in exact] == ["new", "old"]
    assert exact[0].date_created == datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    assert exact[0].status == "sent"
    page = sms.client.messages.page(page_size=2)
    assert page.next_page_url is not None
    assert [m.body for m in page] == ["other", "new"]
    assert [m.body for m in page.next_page()] == ["old"]


def test_hold_keeps_a_send_in_flight_until_released(sms: TwilioSms, twilio_standin: TwilioStandin) -> None:  # noqa: F811
    hold = twilio_standin.hold()
    result: list[str] = []
    t = threading.Thread(target=lambda: result.append(sms.send(TO, "held")))
    t.start()
    assert hold.arrived.wait(10)
    assert [m["body"] for m in twilio_standin.messages] == ["held"]
    assert result == []
    hold.release.set()
    t.join(10)
    assert result == [twilio_standin.messages[0]["sid"]]


def test_hold_without_record_drops_the_message(sms: TwilioSms, twilio_standin: TwilioStandin) -> None:  # noqa: F811
    hold = twilio_standin.hold(record=False)
    errors: list[SmsRejected] = []

    def send() -> None:
        try:
            sms.send(TO, "lost")
        except SmsRejected as e:
            errors.append(e)

    t = threading.Thread(target=send)
    t.start()
    assert hold.arrived.wait(10)
    hold.release.set()
    t.join(10)
    assert twilio_standin.messages == []
    assert len(errors) == 1
    assert errors[0].permanent is False


def test_from_settings() -> None:
    assert TwilioSms.from_settings(Settings()) is None
    sms = TwilioSms.from_settings(Settings(twilio_account_sid="AC" + "1" * 32, twilio_auth_token="t",
                                           twilio_from_number=SENDER, twilio_api_base="http://127.0.0.1:1"))
    assert sms is not None
    assert sms.from_number == SENDER


def test_standin_as_a_separate_process(tmp_path: Path) -> None:
    record = tmp_path / "sms.json"
    with standin_process(record) as info:
        sms = TwilioSms(info["account_sid"], info["auth_token"], SENDER, api_base=info["base_url"])
        sid = sms.send(TO, "from another process")
        assert [m["sid"] for m in json.loads(record.read_text())] == [sid]
        requests.post(f"{info['base_url']}/_standin/fail", json={"code": 21610}, timeout=5)
        with pytest.raises(SmsRejected):
            sms.send(TO, "refused")
        assert sms.find_sent(TO, "from another process", datetime.now(UTC) - timedelta(minutes=1)) == sid
        listed = requests.get(f"{info['base_url']}/_standin/messages", timeout=5).json()
        assert [m["body"] for m in listed] == ["from another process"]
