"""StripeCardPayments (the real stripe SDK) against the local Stripe stand-in."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
import stripe

from adapters.settings import Settings
from adapters.stripe_payments import StripeCardPayments
from application.card_payments import (
    CardPayments,
    InvalidWebhook,
    PaymentIdempotencyConflict,
    PaymentIntentNotFound,
    PaymentProviderMisconfigured,
    PaymentProviderUnavailable,
    PaymentRequestRejected,
    RefundRef,
    from_minor_units,
    to_minor_units,
)
from domain.errors import InvalidCommand
from tests.standins.fixtures import ROOT, stripe_standin  # noqa: F401
from tests.standins.stripe_server import StripeStandin, decode_form, sign

META = {"invoice_id": "5b0c7a8e-1f7e-4c1e-9d7e-0b6f3f9b2a11", "practice_id": "p-1"}


@pytest.fixture
def payments(stripe_standin: StripeStandin) -> StripeCardPayments:  # noqa: F811
    return StripeCardPayments(stripe_standin.api_key, stripe_standin.webhook_secret, api_base=stripe_standin.base_url)


def create(payments: StripeCardPayments, amount: str = "123.45", key: str = "invoice-1/attempt-1", **kw: Any) -> Any:
    args: dict[str, Any] = {"amount": Decimal(amount), "currency": "usd", "idempotency_key": key,
                            "metadata": META, "description": "Invoice INV-0001"}
    return payments.create_payment_intent(**(args | kw))


# -- amounts -------------------------------------------------------------------------------------


def test_minor_units_round_trip_and_refusals() -> None:
    assert to_minor_units(Decimal("123.45"), "usd") == 12345
    assert to_minor_units(Decimal("0.5"), "usd") == 50
    assert to_minor_units(Decimal("100"), "USD") == 10000
    assert to_minor_units(Decimal("500"), "jpy") == 500
    assert to_minor_units(Decimal("1.235"), "kwd") == 1235
    assert from_minor_units(12345, "usd") == Decimal("123.45")
    assert str(from_minor_units(0, "usd")) == "0.00"
    assert str(from_minor_units(500, "jpy")) == "500"
    for bad in ("0", "-1.00", "12.345", "0.001", "NaN"):
        with pytest.raises(InvalidCommand):
            to_minor_units(Decimal(bad), "usd")
    with pytest.raises(InvalidCommand):
        to_minor_units(Decimal("1.5"), "jpy")
    with pytest.raises(InvalidCommand):
        from_minor_units(-1, "usd")


# -- PaymentIntents ------------------------------------------------------------------------------


def test_create_sends_minor_units_and_metadata(payments: StripeCardPayments, stripe_standin: StripeStandin) -> None:  # noqa: F811
    port: CardPayments = payments
    ref = port.create_payment_intent(amount=Decimal("123.45"), currency="USD", idempotency_key="inv-1",
                                     metadata=META, description="Invoice INV-0001")
    assert re.fullmatch(r"pi_[A-Za-z0-9]{24}", ref.id)
    assert ref.client_secret.startswith(f"{ref.id}_secret_")
    assert (ref.status, ref.amount, ref.currency) == ("requires_payment_method", Decimal("123.45"), "usd")
    [stored] = stripe_standin.intents
    assert stored["id"] == ref.id
    assert (stored["amount"], stored["currency"], stored["metadata"]) == (12345, "usd", META)
    assert stored["description"] == "Invoice INV-0001"
    assert stored["automatic_payment_methods"]["enabled"] is True
    assert ("POST", "/v1/payment_intents") in stripe_standin.requests


def test_same_idempotency_key_returns_the_same_intent(payments: StripeCardPayments, stripe_standin: StripeStandin) -> None:  # noqa: F811
    first = create(payments, key="invoice-1/attempt-1")
    again = create(payments, key="invoice-1/attempt-1")
    assert again == first
    assert len(stripe_standin.intents) == 1
    other = create(payments, key="invoice-1/attempt-2")
    assert other.id != first.id
    with pytest.raises(PaymentIdempotencyConflict, match="same parameters"):
        create(payments, amount="99.00", key="invoice-1/attempt-1")
    assert len(stripe_standin.intents) == 2


def test_retrieve_follows_the_intent(payments: StripeCardPayments, stripe_standin: StripeStandin) -> None:  # noqa: F811
    ref = create(payments)
    assert payments.retrieve_payment_intent(ref.id) == ref
    stripe_standin.succeed(ref.id)
    assert payments.retrieve_payment_intent(ref.id).status == "succeeded"
    with pytest.raises(PaymentIntentNotFound):
        payments.retrieve_payment_intent("pi_doesnotexist")


def test_bad_input_is_a_clear_rejection(payments: StripeCardPayments, stripe_standin: StripeStandin) -> None:  # noqa: F811
    with pytest.raises(PaymentRequestRejected, match="at least") as small:
        create(payments, amount="0.10")
    assert small.value.details == {"param": "amount", "provider_code": "amount_too_small"}
    assert small.value.kind == "invalid"
    with pytest.raises(PaymentRequestRejected, match="Invalid currency: xyz") as currency:
        create(payments, currency="xyz")
    assert currency.value.details["param"] == "currency"
    with pytest.raises(PaymentRequestRejected, match="Metadata values can have up to 500") as meta:
        create(payments, metadata={"note": "x" * 501})
    assert meta.value.details["param"] == "metadata[note]"
    assert stripe_standin.intents == []


def test_fractions_of_a_cent_and_non_positive_amounts_never_reach_stripe(
    payments: StripeCardPayments, stripe_standin: StripeStandin  # noqa: F811
) -> None:
    for amount in ("10.005", "0", "-5.00"):
        with pytest.raises(InvalidCommand):
            create(payments, amount=amount)
    assert stripe_standin.requests == []


def test_a_wrong_api_key_is_a_configuration_error(stripe_standin: StripeStandin) -> None:  # noqa: F811
    payments = StripeCardPayments("sk_test_wrong0000000000", stripe_standin.webhook_secret, stripe_standin.base_url)
    with pytest.raises(PaymentProviderMisconfigured, match="Invalid API Key") as e:
        create(payments)
    assert e.value.kind == "unavailable"
    assert stripe_standin.intents == []


def test_outages_are_unavailable_and_retries_keep_one_intent(stripe_standin: StripeStandin) -> None:  # noqa: F811
    once = StripeCardPayments(stripe_standin.api_key, stripe_standin.webhook_secret, stripe_standin.base_url,
                              max_network_retries=0)
    stripe_standin.error_next(503, times=None)
    with pytest.raises(PaymentProviderUnavailable, match="HTTP 503"):
        create(once)
    stripe_standin.reset()

    retrying = StripeCardPayments(stripe_standin.api_key, stripe_standin.webhook_secret, stripe_standin.base_url,
                                  max_network_retries=1)
    stripe_standin.error_next(500, times=1)
    ref = create(retrying)
    assert [i["id"] for i in stripe_standin.intents] == [ref.id]
    assert stripe_standin.requests.count(("POST", "/v1/payment_intents")) == 2


def test_an_unreachable_stripe_is_unavailable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    payments = StripeCardPayments("sk_test_x", "whsec_x", f"http://127.0.0.1:{port}", max_network_retries=0)
    with pytest.raises(PaymentProviderUnavailable, match="could not be reached"):
        create(payments)


def test_the_sdk_can_confirm_against_the_standin(payments: StripeCardPayments, stripe_standin: StripeStandin) -> None:  # noqa: F811
    ok = create(payments, key="a")
    confirmed = payments.client.v1.payment_intents.confirm(ok.id, {"payment_method": "pm_card_visa"})
    assert confirmed.status == "succeeded"
    assert confirmed.latest_charge == stripe_standin.intent(ok.id)["latest_charge"]
    declined = create(payments, key="b")
    with pytest.raises(stripe.CardError) as e:
        payments.client.v1.payment_intents.confirm(declined.id, {"payment_method": "pm_card_chargeDeclined"})
    assert e.value.code == "card_declined"
    assert stripe_standin.intent(declined.id)["last_payment_error"]["message"] == "Your card was declined."


def test_from_settings() -> None:
    assert StripeCardPayments.from_settings(Settings(stripe_api_key=None, stripe_webhook_secret=None)) is None
    assert StripeCardPayments.from_settings(Settings(stripe_api_key="sk_test_x", stripe_webhook_secret=None)) is None
    configured = StripeCardPayments.from_settings(
        Settings(stripe_api_key="sk_test_x", stripe_webhook_secret="whsec_x", stripe_api_base="http://127.0.0.1:9")
    )
    assert configured is not None
    assert Settings().stripe_currency == "usd"


# -- webhooks ------------------------------------------------------------------------------------


def test_succeeded_event_parses(payments: StripeCardPayments, stripe_standin: StripeStandin) -> None:  # noqa: F811
    ref = create(payments)
    delivery = stripe_standin.succeed(ref.id)
    assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64}", delivery.signature)
    event = payments.parse_webhook(delivery.payload, delivery.signature)
    assert event.id == delivery.event_id and event.id.startswith("evt_")
    assert event.type == "payment_intent.succeeded"
    assert event.intent_id == ref.id
    assert event.charge_id == stripe_standin.intent(ref.id)["latest_charge"]
    assert event.charge_id is not None and event.charge_id.startswith("ch_")
    assert event.amount == Decimal("123.45")
    assert isinstance(event.amount, Decimal)
    assert (event.currency, event.metadata, event.livemode) == ("usd", META, False)
    assert event.amount_refunded is None
    assert event.failure_message is None
    assert event.created.tzinfo is not None
    assert abs(event.created - datetime.now(UTC)) < timedelta(minutes=1)


def test_failed_event_carries_the_decline_message(payments: StripeCardPayments, stripe_standin: StripeStandin) -> None:  # noqa: F811
    ref = create(payments)
    delivery = stripe_standin.fail(ref.id, "Your card has insufficient funds.")
    event = payments.parse_webhook(delivery.payload, delivery.signature)
    assert event.type == "payment_intent.payment_failed"
    assert (event.intent_id, event.amount, event.failure_message) == (
        ref.id, Decimal("123.45"), "Your card has insufficient funds.")
    assert payments.retrieve_payment_intent(ref.id).status == "requires_payment_method"


def test_refund_events_carry_the_cumulative_refunded_amount(
    payments: StripeCardPayments, stripe_standin: StripeStandin  # noqa: F811
) -> None:
    ref = create(payments)
    charge_id = payments.parse_webhook(*_signed(stripe_standin.succeed(ref.id))).charge_id
    first = payments.parse_webhook(*_signed(stripe_standin.refund(ref.id, 2345)))
    assert first.type == "charge.refunded"
    assert (first.charge_id, first.intent_id) == (charge_id, ref.id)
    assert (first.amount, first.amount_refunded) == (Decimal("123.45"), Decimal("23.45"))
    assert first.metadata == META
    [r1] = first.refunds
    assert r1.id.startswith("re_") and r1.amount == Decimal("23.45")
    rest = payments.parse_webhook(*_signed(stripe_standin.refund(ref.id)))
    assert rest.amount_refunded == Decimal("123.45")
    assert rest.refunds == (RefundRef(rest.refunds[0].id, Decimal("100.00")), r1)
    assert stripe_standin.charge(str(charge_id))["refunded"] is True


def test_tampered_payload_is_refused(payments: StripeCardPayments, stripe_standin: StripeStandin) -> None:  # noqa: F811
    delivery = stripe_standin.succeed(create(payments).id)
    tampered = delivery.payload.replace(b'"amount": 12345', b'"amount": 1')
    assert tampered != delivery.payload
    with pytest.raises(InvalidWebhook, match="signature"):
        payments.parse_webhook(tampered, delivery.signature)


def test_wrong_secret_is_refused(stripe_standin: StripeStandin) -> None:  # noqa: F811
    other = StripeCardPayments(stripe_standin.api_key, "whsec_someoneelse", stripe_standin.base_url)
    delivery = stripe_standin.succeed(create(other).id)
    with pytest.raises(InvalidWebhook):
        other.parse_webhook(delivery.payload, delivery.signature)


def test_stale_timestamp_is_refused(payments: StripeCardPayments, stripe_standin: StripeStandin) -> None:  # noqa: F811
    ref = create(payments)
    stripe_standin.set_now(datetime.now(UTC) - timedelta(seconds=301))
    delivery = stripe_standin.succeed(ref.id)
    with pytest.raises(InvalidWebhook, match="tolerance"):
        payments.parse_webhook(delivery.payload, delivery.signature)
    fresh = stripe_standin.sign(delivery.payload, timestamp=int(datetime.now(UTC).timestamp()) - 290)
    assert payments.parse_webhook(delivery.payload, fresh).id == delivery.event_id


def test_missing_or_garbled_header_is_refused(payments: StripeCardPayments, stripe_standin: StripeStandin) -> None:  # noqa: F811
    delivery = stripe_standin.succeed(create(payments).id)
    for header in ("", "garbage", "t=123", f"t={delivery.signature.split(',')[0][2:]},v0=abc"):
        with pytest.raises(InvalidWebhook):
            payments.parse_webhook(delivery.payload, header)


def test_a_signed_body_that_is_no_event_is_refused(payments: StripeCardPayments, stripe_standin: StripeStandin) -> None:  # noqa: F811
    for body in (b"not json", b'{"object": "v2.core.event", "id": "evt_1"}', b'{"object": "event"}'):
        with pytest.raises(InvalidWebhook):
            payments.parse_webhook(body, stripe_standin.sign(body))


def _signed(delivery: Any) -> tuple[bytes, str]:
    return delivery.payload, delivery.signature


# -- the stand-in itself -------------------------------------------------------------------------


def test_signature_matches_the_sdks_own_signer(stripe_standin: StripeStandin) -> None:  # noqa: F811
    payload = b'{"id": "evt_1"}'
    expected = stripe.WebhookSignature.generate_signature_header(payload.decode(), "whsec_abc", timestamp=1700000000)
    assert sign(payload, "whsec_abc", 1700000000) == expected


def test_form_decoding() -> None:
    assert decode_form("amount=100&metadata[a]=1&metadata[b]=&expand[0]=x&expand[1]=y&apm[enabled]=true") == {
        "amount": "100", "metadata": {"a": "1", "b": ""}, "expand": ["x", "y"], "apm": {"enabled": "true"},
    }


def test_wire_errors_look_like_stripes(stripe_standin: StripeStandin) -> None:  # noqa: F811
    url = f"{stripe_standin.base_url}/v1/payment_intents"
    r = requests.post(url, data={"amount": "100", "currency": "usd"}, timeout=5)
    assert r.status_code == 401
    assert r.json()["error"]["type"] == "invalid_request_error"
    assert "API key" in r.json()["error"]["message"]
    auth = {"Authorization": f"Bearer {stripe_standin.api_key}"}
    r = requests.post(url, data={"currency": "usd"}, headers=auth, timeout=5)
    assert (r.status_code, r.json()["error"]["param"], r.json()["error"]["code"]) == (400, "amount", "parameter_missing")
    r = requests.post(url, data={"amount": "12.5", "currency": "usd"}, headers=auth, timeout=5)
    assert r.json()["error"]["code"] == "parameter_invalid_integer"
    r = requests.post(url, data={"amount": "100", "currency": "usd", "bogus": "1"}, headers=auth, timeout=5)
    assert r.json()["error"]["param"] == "bogus"
    r = requests.get(f"{url}/pi_missing", headers=auth, timeout=5)
    assert (r.status_code, r.json()["error"]["code"]) == (404, "resource_missing")
    created = requests.post(url, data={"amount": "100", "currency": "usd"}, headers=auth | {"Idempotency-Key": "k"}, timeout=5)
    replayed = requests.post(url, data={"amount": "100", "currency": "usd"}, headers=auth | {"Idempotency-Key": "k"}, timeout=5)
    assert created.status_code == replayed.status_code == 200
    assert replayed.json() == created.json()
    assert replayed.headers["Idempotent-Replayed"] == "true"


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[bytes, str]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((body, self.headers.get("Stripe-Signature", "")))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[bytes, str]]]]:
    received: list[tuple[bytes, str]] = []
    handler = type("Receiver", (_Receiver,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/v1/webhooks/stripe", received
    server.shutdown()
    server.server_close()


def test_deliver_posts_a_verifiable_webhook(
    payments: StripeCardPayments, stripe_standin: StripeStandin, receiver: tuple[str, list[tuple[bytes, str]]]  # noqa: F811
) -> None:
    url, received = receiver
    delivery = stripe_standin.succeed(create(payments).id)
    assert stripe_standin.deliver(url, delivery) == 200
    [(body, signature)] = received
    assert payments.parse_webhook(body, signature).id == delivery.event_id


def test_standin_as_a_process_with_control_endpoints(receiver: tuple[str, list[tuple[bytes, str]]]) -> None:
    url, received = receiver
    proc = subprocess.Popen([sys.executable, "-m", "tests.standins.stripe_server", "--port", "0"],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        payments = StripeCardPayments(info["api_key"], info["webhook_secret"], info["base_url"])
        ref = create(payments)
        answer = requests.post(f"{info['base_url']}/_standin/succeed", json={"intent_id": ref.id, "deliver_to": url},
                               timeout=5).json()
        assert answer["delivered_status"] == 200
        event = payments.parse_webhook(*received[0])
        assert (event.id, event.intent_id, event.amount) == (answer["event"]["id"], ref.id, Decimal("123.45"))
        assert payments.parse_webhook(answer["payload"].encode(), answer["signature"]).id == event.id
        refunded = requests.post(f"{info['base_url']}/_standin/refund", json={"intent_id": ref.id, "amount": 45},
                                 timeout=5).json()
        assert payments.parse_webhook(refunded["payload"].encode(), refunded["signature"]).amount_refunded == Decimal("0.45")
        listed = requests.get(f"{info['base_url']}/_standin/intents", timeout=5).json()
        assert [i["status"] for i in listed] == ["succeeded"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
