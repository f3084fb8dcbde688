"""POST /api/v1/invoices/{id}/payment-intent and POST /api/v1/webhooks/stripe end to end: the
container wired from CARELEDGER_STRIPE_* settings, the real `stripe` SDK against the local
stand-in, deliveries signed as Stripe signs them, a database of this module's own (so every row
of the events table can be counted)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from fastapi.testclient import TestClient

from application import audit
from application.billing.card_checkout import CardCheckoutService
from interfaces.container import Container
from interfaces.http.app import create_app
from tests.conftest import drop_database, fresh_database
from tests.interfaces.conftest import bearer, ensure_member, setup_practice
from tests.standins.stripe_server import Delivery, StripeStandin

WEBHOOK = "/api/v1/webhooks/stripe"
D = Decimal


@dataclass
class World:
    k: Container
    api: TestClient
    standin: StripeStandin
    practice_id: UUID
    other_practice_id: UUID
    client_id: UUID
    billing: dict[str, str]
    client: dict[str, str]

    def invoice(self, rate: str = "98.00") -> str:
        r = self.api.post("/api/v1/invoices", headers=self.billing, json={
            "client_id": str(self.client_id),
            "service_lines": [{"description": "Companion care", "service_date": "2026-02-27", "hours": "1",
                               "rate": rate}]})
        assert r.status_code == 201, r.text
        invoice_id: str = r.json()["id"]
        r = self.api.post(f"/api/v1/invoices/{invoice_id}/send", headers=self.billing, json={"email": False})
        assert r.status_code == 200, r.text
        return invoice_id

    def intent(self, invoice_id: str, headers: dict[str, str] | None = None) -> Any:
        return self.api.post(f"/api/v1/invoices/{invoice_id}/payment-intent", headers=headers or self.client)

    def get(self, invoice_id: str) -> dict[str, Any]:
        r = self.api.get(f"/api/v1/invoices/{invoice_id}", headers=self.billing)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    def post(self, delivery: Delivery, signature: str | None = None) -> Any:
        return self.api.post(WEBHOOK, content=delivery.payload, headers={
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": delivery.signature if signature is None else signature,
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)"})

    def events(self) -> int:
        with psycopg.connect(self.k.database_url) as conn:
            row = conn.execute("SELECT count(*) FROM careledger_events").fetchone()
        assert row is not None
        return int(row[0])


@pytest.fixture(scope="module")
def world(_test_environment: None, redis_url: str) -> Iterator[World]:
    url = fresh_database("cl_stripe")
    standin = StripeStandin().start()
    k = Container(database_url=url)
    k.settings.stripe_api_key = standin.api_key
    k.settings.stripe_webhook_secret = standin.webhook_secret
    k.settings.stripe_api_base = standin.base_url
    try:
        pid, other = setup_practice(k, "cardpay"), setup_practice(k, "cardpay-other")
        with audit.acting(audit.system("system:test", practice_id=pid)):
            client_id = k.clients.register(pid, "basic", {
                "first_name": "Jane", "last_name": "Doe", "date_of_birth": date(1980, 5, 6)}).id
        with TestClient(create_app(k), raise_server_exceptions=False) as api:
            yield World(
                k=k, api=api, standin=standin, practice_id=pid, other_practice_id=other, client_id=client_id,
                billing=bearer(k, ensure_member(k, "cardpay", "billing", "billing@cardpay.test")),
                client=bearer(k, ensure_member(k, "cardpay", "client", "jane@cardpay.test", [client_id])),
            )
    finally:
        k.close()
        standin.stop()
        drop_database(url)


def test_the_client_pays_by_card_and_a_duplicated_webhook_changes_nothing(world: World) -> None:
    invoice_id = world.invoice("98.00")
    r = world.intent(invoice_id)
    assert r.status_code == 201, r.text
    intent = r.json()
    assert intent["amount"] == "98.00" and intent["currency"] == "usd"
    assert intent["client_secret"].startswith(intent["id"] + "_secret_")
    assert world.standin.intent(intent["id"])["metadata"]["invoice_id"] == invoice_id

    delivery = world.standin.succeed(intent["id"])  # the card went through in the browser
    r = world.post(delivery)
    assert r.status_code == 200, r.text
    assert r.json() == {"outcome": "payment_recorded", "event_id": delivery.event_id}
    invoice = world.get(invoice_id)
    assert (invoice["status"], invoice["paid"], invoice["balance"]) == ("paid", "98.00", "0.00")
    [applied] = invoice["payments"]
    r = world.api.get(f"/api/v1/payments/{applied['payment_id']}", headers=world.billing)
    assert r.status_code == 200, r.text
    payment = r.json()
    assert (payment["method"], payment["amount"], payment["reference"]) == ("card", "98.00", intent["id"])

    before = world.events()
    for _ in range(2):
        r = world.post(delivery)
        assert r.status_code == 200, r.text
        assert r.json()["outcome"] == "duplicate"
    assert world.events() == before
    assert world.get(invoice_id) == invoice


def test_two_deliveries_at_once_record_one_payment(world: World) -> None:
    invoice_id = world.invoice("75.00")
    intent = world.intent(invoice_id).json()
    delivery = world.standin.succeed(intent["id"])
    barrier = threading.Barrier(3)
    answers: list[tuple[int, str]] = []

    def post() -> None:
        barrier.wait()
        r = world.post(delivery)
        answers.append((r.status_code, r.json().get("outcome", r.text)))

    threads = [threading.Thread(target=post) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == [(200, "duplicate"), (200, "duplicate"), (200, "payment_recorded")]
    invoice = world.get(invoice_id)
    assert (invoice["status"], len(invoice["payments"])) == ("paid", 1)


def test_a_tampered_or_unsigned_delivery_is_a_400_and_writes_nothing(world: World) -> None:
    invoice_id = world.invoice()
    intent = world.intent(invoice_id).json()
    delivery = world.standin.succeed(intent["id"])
    forged = Delivery(delivery.payload.replace(b'"amount_received": 9800', b'"amount_received": 1'),
                      delivery.signature, delivery.event)
    before = world.events()
    for attempt, signature in ((forged, None), (delivery, "t=1,v1=" + "0" * 64), (delivery, "")):
        r = world.post(attempt, signature)
        assert r.status_code == 400, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == "invalid_webhook"
    assert world.events() == before
    assert world.get(invoice_id)["status"] == "sent"
    assert world.post(delivery).json()["outcome"] == "payment_recorded"  # the genuine one still counts


def test_a_declined_card_is_recorded_and_the_invoice_stays_open(world: World) -> None:
    invoice_id = world.invoice()
    intent = world.intent(invoice_id).json()
    r = world.post(world.standin.fail(intent["id"], "Your card was declined."))
    assert (r.status_code, r.json()["outcome"]) == (200, "payment_failed")
    assert (world.get(invoice_id)["status"]) == "sent"
    assert world.intent(invoice_id).json()["id"] == intent["id"]  # tried again on the same intent


def test_refunds_reopen_the_invoice_balance(world: World) -> None:
    invoice_id = world.invoice("98.00")
    intent = world.intent(invoice_id).json()
    world.post(world.standin.succeed(intent["id"]))
    r = world.post(world.standin.refund(intent["id"], 2500))
    assert (r.status_code, r.json()["outcome"]) == (200, "refund_recorded")
    invoice = world.get(invoice_id)
    assert (invoice["status"], invoice["paid"], invoice["balance"]) == ("partially_paid", "73.00", "25.00")
    r = world.post(world.standin.refund(intent["id"]))
    assert (r.status_code, r.json()["outcome"]) == (200, "refund_recorded")
    invoice = world.get(invoice_id)
    assert (invoice["status"], invoice["paid"], invoice["balance"]) == ("sent", "0.00", "98.00")
    payment_id = invoice["payments"][0]["payment_id"]
    payment = world.api.get(f"/api/v1/payments/{payment_id}", headers=world.billing).json()
    assert (payment["amount"], payment["refunded"], payment["unapplied"]) == ("98.00", "98.00", "0.00")


def test_an_event_naming_another_practice_is_ignored(world: World) -> None:
    invoice_id = world.invoice()
    port = world.k.card_payments
    assert port is not None
    ref = port.create_payment_intent(
        amount=D("98.00"), currency="usd", idempotency_key=str(uuid4()), description="Invoice",
        metadata={"practice_id": str(world.other_practice_id), "invoice_id": invoice_id})
    r = world.post(world.standin.succeed(ref.id))
    assert (r.status_code, r.json()["outcome"]) == (200, "ignored")
    assert world.get(invoice_id)["status"] == "sent"


def test_who_may_start_a_card_payment(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    invoice_id = world.invoice()
    clinician = bearer(world.k, ensure_member(world.k, "cardpay", "clinician", "clin@cardpay.test"))
    r = world.intent(invoice_id, clinician)
    assert (r.status_code, r.json()["code"]) == (403, "permission_denied")
    with audit.acting(audit.system("system:test", practice_id=world.practice_id)):
        other_client = world.k.clients.register(world.practice_id, "basic", {
            "first_name": "John", "last_name": "Doe", "date_of_birth": date(1981, 5, 6)}).id
    stranger = bearer(world.k, ensure_member(world.k, "cardpay", "client", "john@cardpay.test", [other_client]))
    assert world.intent(invoice_id, stranger).status_code == 404
    outsider = bearer(world.k, ensure_member(world.k, "cardpay-other", "admin", "admin@cardpay-other.test"))
    assert world.intent(invoice_id, outsider).status_code == 404
    assert world.intent(str(uuid4()), world.billing).status_code == 404
    assert world.intent(invoice_id, world.billing).status_code == 201

    monkeypatch.setitem(world.k.__dict__, "card_checkout", CardCheckoutService(world.k.store, world.k.clock, None))
    r = world.intent(invoice_id)
    assert (r.status_code, r.json()["code"]) == (503, "card_payments_not_configured")
    r = world.api.post(WEBHOOK, content=b"{}", headers={"Stripe-Signature": "t=1,v1=00"})
    assert (r.status_code, r.json()["code"]) == (503, "card_payments_not_configured")
