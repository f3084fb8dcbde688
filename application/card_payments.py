"""Card payments port: PaymentIntents for invoice balances and the provider's signed webhooks.

Amounts cross this port as `Decimal` in major units (dollars); the provider speaks integer minor
units (cents), converted by `to_minor_units` / `from_minor_units`. Metadata and descriptions
go to the payment provider, which is no business associate: put opaque ids in them (invoice,
practice), never names, diagnoses or anything else about a client.

Webhooks are delivered at least once and in any order: whoever consumes `WebhookEvent` must be
idempotent on `WebhookEvent.id`, and should prefer cumulative figures (`amount_refunded`) over
summing deltas.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Protocol

from application.errors import Conflict, NotFound, Unavailable
from domain.errors import DomainError, InvalidCommand

# ISO 4217 currencies Stripe charges in whole units (no minor unit), and the ones with three decimals.
ZERO_DECIMAL_CURRENCIES = frozenset(
    {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"}
)
THREE_DECIMAL_CURRENCIES = frozenset({"bhd", "jod", "kwd", "omr", "tnd"})


class InvalidWebhook(DomainError):
    """The webhook's signature is missing, does not match the payload and secret, or is older
    than the tolerance; or the signed body is not an event. Answer 400 and record nothing."""

    code = "invalid_webhook"
    kind = "invalid"


class PaymentRequestRejected(InvalidCommand):
    """The provider refused the request itself (a bad amount, currency, parameter); retrying the
    same request cannot succeed. `details`: `param`, `provider_code`."""

    code = "payment_request_rejected"


class PaymentIntentNotFound(NotFound):
    code = "payment_intent_not_found"


class PaymentIdempotencyConflict(Conflict):
    """The idempotency key was already used with different parameters."""

    code = "payment_idempotency_conflict"


class PaymentProviderUnavailable(Unavailable):
    """The provider could not be reached, rate-limited us or failed; a later retry may succeed."""

    code = "payment_provider_unavailable"


class PaymentProviderMisconfigured(Unavailable):
    """The provider refused our credentials: an operator has to fix the configuration."""

    code = "payment_provider_misconfigured"


@dataclass(frozen=True)
class PaymentIntentRef:
    id: str
    client_secret: str
    status: str
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class RefundRef:
    id: str
    amount: Decimal


@dataclass(frozen=True)
class WebhookEvent:
    """A verified provider event, reduced to what the revenue cycle needs.

    For `payment_intent.*` events `amount` is what the intent collected (succeeded) or asks for;
    for `charge.*` events it is the charge's amount and `amount_refunded` the cumulative refunded
    total. `refunds` lists the refunds the event carries (newest first; possibly empty, the
    provider does not always include them)."""

    id: str
    type: str
    created: datetime
    intent_id: str | None
    charge_id: str | None
    amount: Decimal | None
    amount_refunded: Decimal | None
    currency: str | None
    metadata: dict[str, str] = field(default_factory=dict)
    failure_message: str | None = None
    livemode: bool = False
    refunds: tuple[RefundRef, ...] = ()


class CardPayments(Protocol):
    def create_payment_intent(
        self, *, amount: Decimal, currency: str, idempotency_key: str, metadata: dict[str, str], description: str
    ) -> PaymentIntentRef:
        """Creates (or, for a reused `idempotency_key` with the same parameters, returns again) a
        PaymentIntent for `amount` in major units. Raises PaymentRequestRejected,
        PaymentIdempotencyConflict, PaymentProviderUnavailable, PaymentProviderMisconfigured."""

    def retrieve_payment_intent(self, intent_id: str) -> PaymentIntentRef:
        """Raises PaymentIntentNotFound and the errors of `create_payment_intent`."""

    def parse_webhook(self, payload: bytes, signature_header: str) -> WebhookEvent:
        """Verifies the signature over the raw body, then parses it. Raises InvalidWebhook."""


def minor_unit_exponent(currency: str) -> int:
    c = currency.lower()
    if c in ZERO_DECIMAL_CURRENCIES:
        return 0
    if c in THREE_DECIMAL_CURRENCIES:
        return 3
    return 2


def to_minor_units(amount: Decimal, currency: str) -> int:
    """`Decimal("12.34")`, "usd" -> 1234. Refuses non-positive amounts and fractions of the
    currency's minor unit (a tenth of a cent)."""
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise InvalidCommand("An amount must be a finite Decimal.", field="amount")
    if amount <= 0:
        raise InvalidCommand("An amount to charge must be positive.", field="amount")
    minor = amount.scaleb(minor_unit_exponent(currency))
    if minor != minor.to_integral_value():
        raise InvalidCommand(
            f"{amount} {currency.upper()} is not a whole number of the currency's smallest unit.", field="amount"
        )
    return int(minor)


def from_minor_units(minor: int, currency: str) -> Decimal:
    """1234, "usd" -> `Decimal("12.34")`. Zero is allowed (nothing refunded yet), negatives are not."""
    if isinstance(minor, bool) or not isinstance(minor, int) or minor < 0:
        raise InvalidCommand(f"{minor!r} is not a non-negative whole number of minor units.", field="amount")
    exponent = minor_unit_exponent(currency)
    try:
        return Decimal(minor).scaleb(-exponent).quantize(Decimal(1).scaleb(-exponent))
    except InvalidOperation:
        raise InvalidCommand(f"{minor} minor units is out of range.", field="amount") from None
