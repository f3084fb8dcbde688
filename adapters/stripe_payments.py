"""Card payments through Stripe's PaymentIntents API with the official `stripe` SDK.

`api_base` points the SDK at another host (a local stand-in in tests, an egress proxy). Creates
carry our idempotency key, so the SDK's own retries (and ours) never charge twice. Webhooks are
checked with the SDK's signature verification (HMAC-SHA256 over `<t>.<raw body>`, `tolerance`
seconds of age) before a byte of them is trusted.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import stripe

from adapters.settings import Settings
from application.card_payments import (
    InvalidWebhook,
    PaymentIdempotencyConflict,
    PaymentIntentNotFound,
    PaymentIntentRef,
    PaymentProviderMisconfigured,
    PaymentProviderUnavailable,
    PaymentRequestRejected,
    RefundRef,
    WebhookEvent,
    from_minor_units,
    to_minor_units,
)
from domain.errors import DomainError

DEFAULT_TOLERANCE_SECONDS = 300


class StripeCardPayments:
    """`application.card_payments.CardPayments` on Stripe."""

    def __init__(
        self,
        api_key: str,
        webhook_secret: str,
        api_base: str | None = None,
        *,
        tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
        timeout: float = 10.0,
        max_network_retries: int = 2,
    ) -> None:
        if not webhook_secret:
            raise ValueError("a Stripe webhook signing secret (whsec_...) is required")
        self.webhook_secret = webhook_secret
        self.tolerance_seconds = tolerance_seconds
        self.client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base.rstrip("/")} if api_base else None,
            http_client=stripe.RequestsClient(timeout=timeout),
            max_network_retries=max_network_retries,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> StripeCardPayments | None:
        """None when Stripe is not configured (no API key or webhook secret)."""
        if not (settings.stripe_api_key and settings.stripe_webhook_secret):
            return None
        return cls(settings.stripe_api_key, settings.stripe_webhook_secret, api_base=settings.stripe_api_base)

    def create_payment_intent(
        self, *, amount: Decimal, currency: str, idempotency_key: str, metadata: dict[str, str], description: str
    ) -> PaymentIntentRef:
        currency = currency.lower()
        if not idempotency_key:
            raise PaymentRequestRejected("An idempotency key is required to create a payment intent.")
        params: stripe.params.PaymentIntentCreateParams = {
            "amount": to_minor_units(amount, currency),
            "currency": currency,
            "metadata": dict(metadata),
            "description": description,
            "automatic_payment_methods": {"enabled": True},
        }
        try:
            intent = self.client.v1.payment_intents.create(params, {"idempotency_key": idempotency_key})
        except stripe.StripeError as e:
            raise _translated(e, "creating a payment intent") from None
        return _intent_ref(intent)

    def retrieve_payment_intent(self, intent_id: str) -> PaymentIntentRef:
        if not intent_id:
            raise PaymentIntentNotFound("A payment intent id is required.")
        try:
            intent = self.client.v1.payment_intents.retrieve(intent_id)
        except stripe.InvalidRequestError as e:
            if e.http_status == 404 or e.code == "resource_missing":
                raise PaymentIntentNotFound(f"Stripe has no payment intent {intent_id}.") from None
            raise _translated(e, "retrieving a payment intent") from None
        except stripe.StripeError as e:
            raise _translated(e, "retrieving a payment intent") from None
        return _intent_ref(intent)

    def parse_webhook(self, payload: bytes, signature_header: str) -> WebhookEvent:
        try:
            event = self.client.construct_event(
                payload, signature_header, self.webhook_secret, tolerance=self.tolerance_seconds
            )
        except stripe.SignatureVerificationError as e:
            raise InvalidWebhook(f"The Stripe-Signature does not verify: {e.user_message or e}") from None
        except ValueError:
            raise InvalidWebhook("The signed webhook body is not a Stripe event.") from None
        try:
            return _webhook_event(event.to_dict())
        except (KeyError, TypeError, ValueError, DomainError) as e:
            raise InvalidWebhook(f"The Stripe event is malformed: {e}") from None


def _intent_ref(intent: stripe.PaymentIntent) -> PaymentIntentRef:
    return PaymentIntentRef(
        id=intent.id,
        client_secret=intent.client_secret or "",
        status=intent.status,
        amount=from_minor_units(intent.amount, intent.currency),
        currency=intent.currency,
    )


def _translated(e: stripe.StripeError, doing: str) -> DomainError:
    """A Stripe SDK error as an application error; Stripe's own message says what was wrong."""
    message = e.user_message or str(e) or type(e).__name__
    if isinstance(e, stripe.IdempotencyError):
        return PaymentIdempotencyConflict(f"Stripe refused {doing}: {message}")
    if isinstance(e, stripe.AuthenticationError | stripe.PermissionError):
        return PaymentProviderMisconfigured(
            f"Stripe refused our API key while {doing} (check CARELEDGER_STRIPE_API_KEY): {message}"
        )
    if isinstance(e, stripe.InvalidRequestError | stripe.CardError):
        return PaymentRequestRejected(
            f"Stripe rejected {doing}: {message}", param=getattr(e, "param", None), provider_code=e.code
        )
    if isinstance(e, stripe.APIConnectionError):
        return PaymentProviderUnavailable(f"Stripe could not be reached while {doing}.")
    return PaymentProviderUnavailable(
        f"Stripe failed while {doing} (HTTP {e.http_status}): {message}", provider_code=e.code
    )


def _webhook_event(event: Mapping[str, Any]) -> WebhookEvent:
    obj: Mapping[str, Any] = (event.get("data") or {}).get("object") or {}
    kind = str(event["type"])
    currency = obj.get("currency")
    currency = str(currency) if currency else None

    def money(key: str) -> Decimal | None:
        value = obj.get(key)
        if value is None or currency is None:
            return None
        return from_minor_units(int(value), currency)

    intent_id: str | None = None
    charge_id: str | None = None
    amount = amount_refunded = None
    failure_message: str | None = None
    refunds: tuple[RefundRef, ...] = ()
    if obj.get("object") == "payment_intent":
        intent_id = str(obj["id"])
        charge_id = _id_of(obj.get("latest_charge"))
        amount = money("amount_received") if obj.get("status") == "succeeded" else None
        amount = amount or money("amount")
        failure_message = (obj.get("last_payment_error") or {}).get("message")
    elif obj.get("object") == "charge":
        charge_id = str(obj["id"])
        intent_id = _id_of(obj.get("payment_intent"))
        amount = money("amount")
        amount_refunded = money("amount_refunded")
        failure_message = obj.get("failure_message")
        if currency is not None:
            refunds = tuple(
                RefundRef(id=str(r["id"]), amount=from_minor_units(int(r["amount"]), currency))
                for r in (obj.get("refunds") or {}).get("data") or ()
            )
    metadata = obj.get("metadata") or {}
    return WebhookEvent(
        id=str(event["id"]),
        type=kind,
        created=datetime.fromtimestamp(int(event["created"]), UTC),
        intent_id=intent_id,
        charge_id=charge_id,
        amount=amount,
        amount_refunded=amount_refunded,
        currency=currency,
        metadata={str(k): str(v) for k, v in metadata.items()},
        failure_message=str(failure_message) if failure_message else None,
        livemode=bool(event.get("livemode", False)),
        refunds=refunds,
    )


def _id_of(ref: object) -> str | None:
    """An id from a field Stripe sends as an id or, when expanded, as the object."""
    if isinstance(ref, Mapping):
        return str(ref["id"])
    return str(ref) if ref else None
