"""Card payments through the service against PostgreSQL and the real `stripe` SDK talking to the
local Stripe stand-in: intents for invoice balances, and signed webhooks handled exactly once
(replayed, delivered twice at once, out of order), refunds re-opening the invoice."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest

from adapters.clock import SystemClock
from adapters.stripe_payments import StripeCardPayments
from application import audit
from application.billing.card_checkout import CardCheckoutService, CardPaymentsNotConfigured, WebhookOutcome
from application.billing.invoices import ServiceLine
from application.card_payments import InvalidWebhook
from application.errors import Conflict, Forbidden, NotFound
from domain.billing.invoice import Invoice
from domain.billing.payment import Payment, payment_id_for
from domain.billing.stripe_event import StripeEventReceipt, stripe_event_receipt_id
from domain.errors import IllegalTransition
from tests.application.billing.support import member_acting
from tests.standins.fixtures import stripe_standin  # noqa: F401
from tests.standins.stripe_server import Delivery, StripeStandin
from tests.support import open_practice

D = Decimal


@dataclass
class Shop:
    k: Any
    id: UUID
    client: UUID
    other_client: UUID
    standin: StripeStandin
    port: StripeCardPayments
    service: CardCheckoutService

    def system(self) -> Any:
        return audit.acting(audit.system("system:test", practice_id=self.id))

    @contextmanager
    def acting(self, role: str = "billing", clients: frozenset[UUID] = frozenset()) -> Iterator[None]:
        with member_acting(self.id, uuid4(), role, clients):
            yield

    def invoice(self, amount: str = "98.00", client: UUID | None = None, send: bool = True) -> UUID:
        with self.system():
            created = self.k.invoices.create(self.id, client or self.client, service_lines=[
                ServiceLine("Companion care", date(2026, 2, 27), D(1), D(amount))])
            if send:
                self.k.invoices.send(self.id, created.id, email=False)
        invoice_id: UUID = created.id
        return invoice_id

    def start(self, invoice_id: UUID) -> Any:
        with self.acting():
            return self.service.start(self.id, invoice_id)

    def load(self, aggregate_id: UUID, cls: type[Any]) -> Any:
        with self.system():
            return self.k.store.load(aggregate_id, cls)

    def deliver(self, delivery: Delivery) -> WebhookOutcome:
        """As the HTTP route does: no actor of our own, the raw body and the signature header."""
        return self.service.handle_webhook(delivery.payload, delivery.signature)

    def payment(self, intent_id: str) -> Payment:
        found: Payment = self.load(payment_id_for(self.id, intent_id), Payment)
        return found

    def pay_cash(self, invoice_id: UUID, amount: str) -> None:
        with self.system():
            invoice: Invoice = self.k.store.load(invoice_id, Invoice)
            now = self.k.clock.now()
            payment = Payment.receive(
                practice_id=self.id, client_id=invoice.client_id, payer=None, method="cash", amount=D(amount),
                received_on=now.date(), received_at=now, by=None, today=now.date(),
            )
            application_id = uuid4()
            payment.apply(application_id, "invoice", invoice_id, D(amount), at=now, by=None)
            invoice.apply_payment(application_id, payment.id, D(amount), at=now)
            self.k.store.save(payment, invoice)

    def event_rows(self, *aggregate_ids: UUID) -> int:
        with psycopg.connect(self.k.database_url) as conn:
            row = conn.execute("SELECT count(*) FROM careledger_events WHERE originator_id = ANY(%s)",
                               [list(aggregate_ids)]).fetchone()
        assert row is not None
        return int(row[0])


def register(k: Any, pid: UUID, first: str) -> UUID:
    with audit.acting(audit.system("system:test", practice_id=pid)):
        client_id: UUID = k.clients.register(pid, "basic", {
            "first_name": first, "last_name": "Doe", "date_of_birth": date(1980, 5, 6)}).id
    return client_id


def open_shop(k: Any, standin: StripeStandin) -> Shop:
    slug = f"card-{uuid4().hex[:8]}"
    with audit.acting(audit.system("system:test")):
        pid = open_practice(k, "Elm Street Counseling", slug, "America/New_York")
    port = StripeCardPayments(standin.api_key, standin.webhook_secret, api_base=standin.base_url,
                              max_network_retries=0)
    return Shop(k=k, id=pid, client=register(k, pid, "Jane"), other_client=register(k, pid, "John"),
                standin=standin, port=port, service=CardCheckoutService(k.store, SystemClock(), port))


@pytest.fixture
def shop(container: Any, stripe_standin: StripeStandin) -> Shop:  # noqa: F811
    return open_shop(container, stripe_standin)


# --- starting a payment ---------------------------------------------------------------------------


def test_start_makes_an_intent_for_the_balance_with_opaque_metadata_and_hands_it_out_again(shop: Shop) -> None:
    invoice_id = shop.invoice("98.00")
    shop.pay_cash(invoice_id, "18.00")
    ref = shop.start(invoice_id)
    assert (ref.amount, ref.currency, ref.status) == (D("80.00"), "usd", "requires_payment_method")
    assert ref.client_secret.startswith(f"{ref.id}_secret_")
    invoice: Invoice = shop.load(invoice_id, Invoice)
    intent = shop.standin.intent(ref.id)
    assert intent["amount"] == 8000
    assert intent["metadata"] == {"practice_id": str(shop.id), "invoice_id": str(invoice_id),
                                  "invoice_number": invoice.number}
    assert intent["description"] == f"Invoice {invoice.number}"
    assert "Jane" not in json.dumps(intent)  # nothing about the client goes to Stripe
    assert [(i.intent_id, i.amount) for i in invoice.payment_intents.values()] == [(ref.id, D("80.00"))]

    again = shop.start(invoice_id)
    assert (again.id, again.client_secret) == (ref.id, ref.client_secret)
    assert len(shop.standin.intents) == 1
    assert shop.load(invoice_id, Invoice).version == invoice.version


def test_a_new_balance_gets_a_new_intent(shop: Shop) -> None:
    invoice_id = shop.invoice("98.00")
    first = shop.start(invoice_id)
    shop.pay_cash(invoice_id, "8.00")
    second = shop.start(invoice_id)
    assert second.id != first.id and second.amount == D("90.00")
    assert [i.amount for i in shop.load(invoice_id, Invoice).payment_intents.values()] == [D("98.00"), D("90.00")]


def test_start_refuses_drafts_paid_invoices_and_works_without_stripe_only_to_refuse(shop: Shop) -> None:
    draft = shop.invoice(send=False)
    with pytest.raises(IllegalTransition):
        shop.start(draft)
    paid = shop.invoice("50.00")
    shop.pay_cash(paid, "50.00")
    with pytest.raises(IllegalTransition):
        shop.start(paid)
    with pytest.raises(NotFound):
        shop.start(uuid4())
    unconfigured = CardCheckoutService(shop.k.store, SystemClock(), None)
    open_invoice = shop.invoice()
    with shop.acting(), pytest.raises(CardPaymentsNotConfigured):
        unconfigured.start(shop.id, open_invoice)
    with pytest.raises(CardPaymentsNotConfigured):
        unconfigured.handle_webhook(b"{}", "t=1,v1=00")
    assert shop.standin.intents == []


def test_the_client_pays_their_own_invoice_and_nobody_elses(shop: Shop) -> None:
    mine, theirs, draft = shop.invoice(), shop.invoice(client=shop.other_client), shop.invoice(send=False)
    with shop.acting("client", frozenset({shop.client})):
        assert shop.service.start(shop.id, mine).amount == D("98.00")
        for invoice_id in (theirs, draft):
            with pytest.raises(NotFound):
                shop.service.start(shop.id, invoice_id)
    with shop.acting("family_member", frozenset({shop.client})):
        assert shop.service.start(shop.id, mine).amount == D("98.00")
    with shop.acting("front_desk"), pytest.raises(Forbidden):  # practice-wide, but no edit_billing
        shop.service.start(shop.id, mine)
    with shop.acting("clinician"), pytest.raises(NotFound):  # caseload roles see no payments
        shop.service.start(shop.id, mine)


def test_a_succeeded_intent_not_yet_recorded_is_not_paid_twice(shop: Shop) -> None:
    invoice_id = shop.invoice()
    ref = shop.start(invoice_id)
    shop.standin.succeed(ref.id)  # the webhook has not arrived
    with pytest.raises(Conflict):
        shop.start(invoice_id)


# --- the webhook ----------------------------------------------------------------------------------


def test_a_succeeded_payment_is_recorded_and_applied_once(shop: Shop) -> None:
    invoice_id = shop.invoice("98.00")
    ref = shop.start(invoice_id)
    delivery = shop.standin.succeed(ref.id)
    outcome = shop.deliver(delivery)
    payment_id = payment_id_for(shop.id, ref.id)
    assert (outcome.outcome, outcome.payment_id, outcome.invoice_id) == ("payment_recorded", payment_id, invoice_id)

    invoice: Invoice = shop.load(invoice_id, Invoice)
    payment = shop.payment(ref.id)
    assert (invoice.status, invoice.paid, invoice.balance) == ("paid", D("98.00"), D("0.00"))
    assert (payment.method, payment.source, payment.reference, payment.client_id) == (
        "card", "card", ref.id, shop.client)
    assert (payment.amount, payment.applied, payment.unapplied) == (D("98.00"), D("98.00"), D("0.00"))
    assert [p.payment_id for p in invoice.active_payments()] == [payment.id]
    receipt: StripeEventReceipt = shop.load(stripe_event_receipt_id(delivery.event_id), StripeEventReceipt)
    assert (receipt.event_type, receipt.intent_id, receipt.outcome, receipt.payment_id) == (
        "payment_intent.succeeded", ref.id, "payment_recorded", payment.id)

    rows = shop.event_rows(invoice_id, payment.id, receipt.id)
    replay = shop.deliver(delivery)
    assert replay.outcome == "duplicate"
    assert shop.event_rows(invoice_id, payment.id, receipt.id) == rows
    assert shop.load(invoice_id, Invoice).version == invoice.version


def test_the_audit_trail_names_the_webhook_as_the_actor(shop: Shop) -> None:
    invoice_id = shop.invoice()
    ref = shop.start(invoice_id)
    shop.deliver(shop.standin.succeed(ref.id))
    with shop.system():
        history = shop.k.audit_trail.history(shop.id, shop.client)
    actors = {h.event_type: (h.envelope["actor_id"], h.envelope["actor_role"]) for h in history
              if h.aggregate_id == invoice_id}
    assert actors["careledger/invoice/payment-applied"] == ("webhook:stripe", "system")
    assert actors["careledger/invoice/payment-intent-created"][1] == "billing"  # who asked for the intent
    with psycopg.connect(shop.k.database_url) as conn:
        row = conn.execute("SELECT count(*) FROM careledger_events WHERE originator_id = %s",
                           [payment_id_for(shop.id, ref.id)]).fetchone()
    assert row == (2,)  # received, applied


def test_two_deliveries_of_one_event_at_the_same_moment_record_one_payment(shop: Shop) -> None:
    invoice_id = shop.invoice("98.00")
    ref = shop.start(invoice_id)
    delivery = shop.standin.succeed(ref.id)
    barrier = threading.Barrier(4)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def deliver() -> None:
        barrier.wait()
        try:
            outcomes.append(shop.deliver(delivery).outcome)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(outcomes) == ["duplicate"] * 3 + ["payment_recorded"]
    payment = shop.payment(ref.id)
    assert payment.version == 2  # received, applied
    invoice: Invoice = shop.load(invoice_id, Invoice)
    assert (invoice.paid, len(invoice.payments)) == (D("98.00"), 1)


def test_money_beyond_the_balance_stays_on_the_payment_as_a_credit(shop: Shop) -> None:
    invoice_id = shop.invoice("98.00")
    ref = shop.start(invoice_id)
    shop.pay_cash(invoice_id, "30.00")  # paid in part at the desk meanwhile
    assert shop.deliver(shop.standin.succeed(ref.id)).outcome == "payment_recorded"
    invoice: Invoice = shop.load(invoice_id, Invoice)
    payment = shop.payment(ref.id)
    assert (invoice.status, invoice.balance) == ("paid", D("0.00"))
    assert (payment.amount, payment.applied, payment.unapplied) == (D("98.00"), D("68.00"), D("30.00"))


def test_a_payment_for_an_invoice_voided_meanwhile_is_all_credit(shop: Shop) -> None:
    invoice_id = shop.invoice("98.00")
    ref = shop.start(invoice_id)
    with shop.system():
        shop.k.invoices.void(shop.id, invoice_id, "Issued twice")
    assert shop.deliver(shop.standin.succeed(ref.id)).outcome == "payment_recorded"
    payment = shop.payment(ref.id)
    assert (payment.applied, payment.unapplied) == (D("0.00"), D("98.00"))
    assert shop.load(invoice_id, Invoice).status == "void"


def test_a_failed_payment_is_recorded_on_the_invoice_once(shop: Shop) -> None:
    invoice_id = shop.invoice()
    ref = shop.start(invoice_id)
    delivery = shop.standin.fail(ref.id, "Your card has insufficient funds.")
    assert shop.deliver(delivery).outcome == "payment_failed"
    invoice: Invoice = shop.load(invoice_id, Invoice)
    assert invoice.payment_intents[ref.id].failure == "Your card has insufficient funds."
    assert (invoice.status, invoice.balance) == ("sent", D("98.00"))
    assert shop.deliver(delivery).outcome == "duplicate"
    assert shop.load(invoice_id, Invoice).version == invoice.version
    # The same intent can still be paid, and the next attempt goes through.
    assert shop.start(invoice_id).id == ref.id
    assert shop.deliver(shop.standin.succeed(ref.id)).outcome == "payment_recorded"
    assert shop.load(invoice_id, Invoice).status == "paid"


def test_a_partial_then_a_full_refund_reopen_the_invoice(shop: Shop) -> None:
    invoice_id = shop.invoice("98.00")
    ref = shop.start(invoice_id)
    shop.deliver(shop.standin.succeed(ref.id))

    partial = shop.standin.refund(ref.id, 3000)
    assert shop.deliver(partial).outcome == "refund_recorded"
    invoice: Invoice = shop.load(invoice_id, Invoice)
    payment = shop.payment(ref.id)
    refund_id = partial.event["data"]["object"]["refunds"]["data"][0]["id"]
    assert payment.refunds == {refund_id: D("30.00")}
    assert (payment.applied, payment.refunded, payment.unapplied) == (D("68.00"), D("30.00"), D("0.00"))
    assert (invoice.status, invoice.paid, invoice.balance) == ("partially_paid", D("68.00"), D("30.00"))
    assert shop.deliver(partial).outcome == "duplicate"

    full = shop.standin.refund(ref.id)
    assert shop.deliver(full).outcome == "refund_recorded"
    invoice = shop.load(invoice_id, Invoice)
    payment = shop.payment(ref.id)
    assert (payment.applied, payment.refunded, payment.unapplied) == (D("0.00"), D("98.00"), D("0.00"))
    assert (invoice.status, invoice.paid, invoice.balance) == ("sent", D("0.00"), D("98.00"))
    assert payment.amount == payment.applied + payment.refunded + payment.unapplied
    assert invoice.total == invoice.paid + invoice.written_off + invoice.balance


def test_refund_events_out_of_order_refund_the_cumulative_total_once(shop: Shop) -> None:
    invoice_id = shop.invoice("98.00")
    ref = shop.start(invoice_id)
    shop.deliver(shop.standin.succeed(ref.id))
    first, second = shop.standin.refund(ref.id, 1000), shop.standin.refund(ref.id, 2000)
    assert shop.deliver(second).outcome == "refund_recorded"  # cumulative 30.00
    assert shop.deliver(first).outcome == "already_recorded"  # cumulative 10.00: nothing new
    payment = shop.payment(ref.id)
    assert payment.refunded == D("30.00")
    assert shop.load(invoice_id, Invoice).balance == D("30.00")


def test_a_refund_before_its_success_records_the_payment_first(shop: Shop) -> None:
    invoice_id = shop.invoice("98.00")
    ref = shop.start(invoice_id)
    succeeded = shop.standin.succeed(ref.id)
    refunded = shop.standin.refund(ref.id, 4000)
    assert shop.deliver(refunded).outcome == "refund_recorded"
    assert shop.deliver(succeeded).outcome == "already_recorded"
    payment = shop.payment(ref.id)
    assert (payment.amount, payment.applied, payment.refunded) == (D("98.00"), D("58.00"), D("40.00"))
    assert shop.load(invoice_id, Invoice).balance == D("40.00")


def test_a_refund_of_a_payment_reapplied_elsewhere_takes_it_back_there(shop: Shop) -> None:
    """Staff unapplied the card payment and applied it to another invoice of the client."""
    invoice_id, other_id = shop.invoice("98.00"), shop.invoice("98.00")
    ref = shop.start(invoice_id)
    shop.deliver(shop.standin.succeed(ref.id))
    payment = shop.payment(ref.id)
    with shop.acting():
        application = payment.active_applications()[0].application_id
        shop.k.payments.unapply(shop.id, payment.id, application, "Applied to the wrong invoice")
        shop.k.payments.apply(shop.id, payment.id, target="invoice", target_id=other_id, amount=D("98.00"))
    assert shop.deliver(shop.standin.refund(ref.id)).outcome == "refund_recorded"
    assert shop.load(other_id, Invoice).balance == D("98.00")
    assert shop.payment(ref.id).refunded == D("98.00")


def test_a_tampered_or_stale_delivery_is_refused_and_records_nothing(shop: Shop) -> None:
    invoice_id = shop.invoice()
    ref = shop.start(invoice_id)
    delivery = shop.standin.succeed(ref.id)
    tampered = delivery.payload.replace(b'"amount_received": 9800', b'"amount_received": 9900')
    assert tampered != delivery.payload
    stale = Delivery(delivery.payload, shop.standin.sign(delivery.payload, timestamp=1_700_000_000), delivery.event)
    for payload, signature in ((tampered, delivery.signature), (delivery.payload, "t=1,v1=deadbeef"),
                               (delivery.payload, ""), (stale.payload, stale.signature)):
        with pytest.raises(InvalidWebhook):
            shop.service.handle_webhook(payload, signature)
    assert not shop.k.store.exists(stripe_event_receipt_id(delivery.event_id))
    assert not shop.k.store.exists(payment_id_for(shop.id, ref.id))
    assert shop.load(invoice_id, Invoice).status == "sent"


def test_events_we_cannot_place_are_ignored(shop: Shop, container: Any) -> None:
    other = open_shop(container, shop.standin)
    invoice_id = shop.invoice()
    # Another practice of ours named in the metadata, with this practice's invoice: not theirs.
    wrong = shop.port.create_payment_intent(
        amount=D("98.00"), currency="usd", idempotency_key=str(uuid4()), description="x",
        metadata={"practice_id": str(other.id), "invoice_id": str(invoice_id)})
    delivery = shop.standin.succeed(wrong.id)
    assert shop.deliver(delivery).outcome == "ignored"
    assert not shop.k.store.exists(payment_id_for(other.id, wrong.id))
    assert not shop.k.store.exists(payment_id_for(shop.id, wrong.id))
    assert shop.load(invoice_id, Invoice).status == "sent"
    receipt: StripeEventReceipt = other.load(stripe_event_receipt_id(delivery.event_id), StripeEventReceipt)
    assert (receipt.practice_id, receipt.outcome) == (other.id, "ignored")
    assert shop.deliver(delivery).outcome == "duplicate"

    # A practice we do not have (another deployment's event on a shared account): logged, not recorded.
    stranger = shop.port.create_payment_intent(
        amount=D("10.00"), currency="usd", idempotency_key=str(uuid4()), description="x",
        metadata={"practice_id": str(uuid4()), "invoice_id": str(uuid4())})
    delivery = shop.standin.succeed(stranger.id)
    assert shop.deliver(delivery).outcome == "ignored"
    assert not shop.k.store.exists(stripe_event_receipt_id(delivery.event_id))

    # An unknown invoice of this practice, and no metadata at all.
    for metadata in ({"practice_id": str(shop.id), "invoice_id": str(uuid4())}, {}):
        intent = shop.port.create_payment_intent(amount=D("10.00"), currency="usd", idempotency_key=str(uuid4()),
                                                 description="x", metadata=metadata)
        assert shop.deliver(shop.standin.succeed(intent.id)).outcome == "ignored"


def test_an_event_type_we_do_not_act_on_is_ignored_but_received_once(shop: Shop) -> None:
    invoice_id = shop.invoice()
    ref = shop.start(invoice_id)
    body = json.dumps({
        "id": f"evt_{uuid4().hex}", "object": "event", "type": "payment_intent.created", "created": 1_763_700_000,
        "livemode": False, "data": {"object": {**shop.standin.intent(ref.id)}},
    }).encode()
    delivery = Delivery(body, shop.standin.sign(body), json.loads(body))
    assert shop.deliver(delivery).outcome == "ignored"
    receipt: StripeEventReceipt = shop.load(stripe_event_receipt_id(delivery.event_id), StripeEventReceipt)
    assert (receipt.event_type, receipt.outcome, receipt.invoice_id) == ("payment_intent.created", "ignored",
                                                                         invoice_id)
    assert shop.deliver(delivery).outcome == "duplicate"
    assert shop.load(invoice_id, Invoice).balance == D("98.00")
