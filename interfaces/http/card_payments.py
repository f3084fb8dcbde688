"""Card payments through Stripe: a PaymentIntent for an invoice's balance, and Stripe's webhook.

The webhook is public (Stripe sends no bearer token) but nothing is read or recorded before the
`Stripe-Signature` verifies against the raw body (HMAC-SHA256 with the endpoint's signing secret,
checked by the `stripe` SDK); a bad or stale signature is a 400 and nothing is written. Stripe
retries anything but a 2xx, so every event we could verify is answered 200 with what came of it.
"""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from application.card_payments import InvalidWebhook
from interfaces.http.billing_schemas import Money
from interfaces.http.deps import ContainerDep, Public, ViewBilling
from interfaces.http.problems import problem

router = APIRouter(tags=["card payments"])
SIGNATURE_HEADER = "Stripe-Signature"


class PaymentIntentOut(BaseModel):
    id: str
    client_secret: str
    amount: Money
    currency: str


class WebhookOut(BaseModel):
    outcome: str
    event_id: str


@router.post("/api/v1/invoices/{invoice_id}/payment-intent", status_code=201, response_model=PaymentIntentOut)
def start_card_payment(invoice_id: UUID, caller: ViewBilling, k: ContainerDep) -> PaymentIntentOut:
    """A Stripe PaymentIntent for the balance of a sent invoice; confirm it in the browser with
    Stripe.js and `client_secret`. For billing staff (edit_billing) and for the client or family
    member the invoice is for. Asking again for the same balance hands out the same open intent.
    503 `card_payments_not_configured` without Stripe; 409 when there is no balance to pay."""
    ref = k.card_checkout.start(caller.practice_id, invoice_id)
    return PaymentIntentOut(id=ref.id, client_secret=ref.client_secret, amount=ref.amount, currency=ref.currency)


@router.post(
    "/api/v1/webhooks/stripe", dependencies=[Public], response_model=WebhookOut,
    responses={400: {"description": "The Stripe-Signature does not verify; nothing was recorded."}},
)
async def stripe_webhook(request: Request, k: ContainerDep) -> WebhookOut | JSONResponse:
    """Stripe's webhook endpoint (payment_intent.succeeded, payment_intent.payment_failed,
    charge.refunded). Register `<public_url>/api/v1/webhooks/stripe` in the Stripe dashboard and
    put its signing secret in CARELEDGER_STRIPE_WEBHOOK_SECRET. Each event id is acted on once:
    a redelivery answers `duplicate` and changes nothing."""
    payload = await request.body()
    signature = request.headers.get(SIGNATURE_HEADER, "")
    try:
        outcome = await run_in_threadpool(k.card_checkout.handle_webhook, payload, signature)
    except InvalidWebhook as e:
        return problem(request, 400, e.code, e.message)
    return WebhookOut(outcome=outcome.outcome, event_id=outcome.event_id)
