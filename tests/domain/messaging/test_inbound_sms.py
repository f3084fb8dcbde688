from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from domain.errors import IllegalTransition, InvalidCommand
from domain.events import Audited
from domain.messaging.inbound_sms import InboundSms, inbound_sms_id
from domain.messaging.sms_keywords import Intent
from tests.gwt import given, then_events, then_no_new_events

T0 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
SID = "SM" + "a" * 32


def received(intent: Intent = Intent.CONFIRM) -> InboundSms:
    return InboundSms.receive(uuid4(), uuid4(), SID, intent, "C", uuid4(), T0, T0)


def test_the_id_follows_from_the_message_sid() -> None:
    sms = received()
    assert sms.id == inbound_sms_id(SID) != inbound_sms_id("SM" + "b" * 32)
    assert sms.intent is Intent.CONFIRM and not sms.handled


def test_events_name_the_client_and_hold_no_phi() -> None:
    sms = received()
    sms.handle("confirmed", T0)
    events = sms.collect_events()
    assert [type(e).__name__ for e in events] == ["Received", "Handled"]
    for e in events:
        assert isinstance(e, Audited)
        assert e.subject_field == "client_id" and e.phi_fields == ()
        assert e.client_id == sms.client_id


def test_handled_once() -> None:
    sms = given(received())
    sms.handle("confirmed", T0)
    assert then_events(sms) == ["Handled"]
    assert sms.outcome == "confirmed"
    with pytest.raises(IllegalTransition):
        sms.handle("confirmed", T0)
    then_no_new_events(sms)


def test_outcomes_are_codes() -> None:
    sms = given(received())
    with pytest.raises(InvalidCommand):
        sms.handle("the client said something", T0)
    then_no_new_events(sms)


def test_a_message_sid_is_required() -> None:
    with pytest.raises(InvalidCommand):
        InboundSms.receive(uuid4(), uuid4(), " ", Intent.HELP, "HELP", None, None, T0)
