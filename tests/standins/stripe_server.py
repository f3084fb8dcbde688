"""A local stand-in for Stripe's PaymentIntents API and its signed webhooks.

It speaks Stripe's wire format closely enough for the real `stripe` SDK:

- `POST /v1/payment_intents` (form-encoded, nested keys as `metadata[k]`,
  `automatic_payment_methods[enabled]`) -> a `payment_intent` object (id "pi_...", client_secret
  "pi_..._secret_...", status "requires_payment_method", amounts in minor units, `created` in Unix
  seconds, livemode false). The `Idempotency-Key` header is honoured as Stripe does: the same key
  with the same parameters replays the first answer (header `Idempotent-Replayed: true`), with
  other parameters it is a 400 `idempotency_error`; requests refused by validation are not saved.
- `GET /v1/payment_intents/{id}`;
- `POST /v1/payment_intents/{id}/confirm` with `payment_method`: "pm_card_visa" (or any other)
  succeeds, "pm_card_chargeDeclined" fails with a card_error (402), like Stripe's test cards.

Requests need `Authorization: Bearer <api key>`, else 401. Errors are Stripe's error JSON
(`{"error": {"type": "invalid_request_error", "message", "param", "code", "doc_url"}}`).

Webhooks: `succeed`, `fail` and `refund` move an intent on as a payment would and return a
`Delivery`: the event JSON (`payment_intent.succeeded`, `payment_intent.payment_failed`,
`charge.refunded` with the charge, its `amount_refunded` and `refunds.data`) and the
`Stripe-Signature` header signed as Stripe signs it, `t=<unix ts>,v1=<hex HMAC-SHA256(secret,
"<ts>.<body>")>`. `deliver(url, delivery)` POSTs one to a webhook endpoint.

Use in-process (`StripeStandin`, or the `stripe_standin` pytest fixture in
`tests/standins/fixtures.py`) or as a separate process:

    python -m tests.standins.stripe_server --port 8766 [--api-key sk_test_... --webhook-secret whsec_...]

which prints one JSON line `{"base_url": ..., "api_key": ..., "webhook_secret": ...}` once it
listens.

Control endpoints (same port, no auth; for tests driving a stand-in in another process):

- `GET  /_standin/intents`                 -> every intent (JSON list)
- `POST /_standin/succeed` JSON {"intent_id": "pi_...", "deliver_to": null}
- `POST /_standin/fail`    JSON {"intent_id": "pi_...", "message": "Your card was declined.", "deliver_to": null}
- `POST /_standin/refund`  JSON {"intent_id": "pi_...", "amount": 500 (minor units; null = the rest), "deliver_to": null}
  each -> {"payload": "<event JSON>", "signature": "t=...,v1=...", "event": {...}, "delivered_status": int|null}
- `POST /_standin/error_next` JSON {"status": 503, "type": "api_error", "message": "...", "times": 1}
- `POST /_standin/now`     JSON {"now": "2026-03-02T14:00:00+00:00"} or {"now": null}
- `POST /_standin/reset`
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import re
import secrets
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.standins.http_standin import HttpStandin

DOCS = "https://stripe.com/docs/error-codes"
MIN_AMOUNT = 50
MAX_AMOUNT = 99_999_999
CURRENCIES = frozenset({
    "usd", "eur", "gbp", "cad", "aud", "chf", "dkk", "nok", "sek", "nzd", "mxn", "jpy", "krw", "sgd", "hkd",
    "bhd", "kwd", "jod",
})
CREATE_PARAMS = frozenset({
    "amount", "currency", "metadata", "description", "automatic_payment_methods", "payment_method_types",
    "customer", "receipt_email", "statement_descriptor", "statement_descriptor_suffix", "capture_method",
    "setup_future_usage", "expand",
})
DECLINING_METHODS = {"pm_card_chargeDeclined": ("card_declined", "generic_decline", "Your card was declined.")}


def new_id(prefix: str, n: int = 24) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return prefix + "".join(secrets.choice(alphabet) for _ in range(n))


def sign(payload: bytes, secret: str, timestamp: int) -> str:
    """The `Stripe-Signature` header Stripe would send for `payload` at `timestamp`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def decode_form(body: str) -> dict[str, Any]:
    """Stripe's form encoding back into nested values: `a[b]=1` -> {"a": {"b": "1"}},
    `a[0]=x&a[1]=y` -> {"a": ["x", "y"]}."""
    root: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        m = re.fullmatch(r"([^\[\]]+)((?:\[[^\[\]]*\])*)", key)
        if m is None:
            raise StripeFault(400, f"Invalid parameter name: {key}", param=key)
        path = [m.group(1), *re.findall(r"\[([^\[\]]*)\]", m.group(2))]
        node = root
        for i, part in enumerate(path[:-1]):
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            if path[i + 1] == "":
                path[i + 1] = str(len(child))
            node = child
        node[path[-1]] = value
    return _lists(root)


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {k: _lists(v) for k, v in node.items()}
    if converted and all(k.isdigit() for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted


class StripeFault(Exception):
    """A Stripe error answer."""

    def __init__(
        self, status: int, message: str, type: str = "invalid_request_error", param: str | None = None,
        code: str | None = None, extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"type": type, "message": message}
        if param is not None:
            self.body["param"] = param
        if code is not None:
            self.body["code"] = code
            self.body["doc_url"] = f"{DOCS}#{code.replace('_', '-')}"
        self.body.update(extra or {})


@dataclass
class Delivery:
    """A webhook as Stripe would POST it: the raw body and its `Stripe-Signature` header."""

    payload: bytes
    signature: str
    event: dict[str, Any]

    @property
    def event_id(self) -> str:
        return str(self.event["id"])


@dataclass
class InjectedError:
    status: int
    type: str
    message: str
    times: int | None


class StripeStandin(HttpStandin):
    thread_name = "stripe-standin"

    def __init__(
        self,
        api_key: str | None = None,
        webhook_secret: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.api_key = api_key or "sk_test_" + secrets.token_hex(12)
        self.webhook_secret = webhook_secret or "whsec_" + secrets.token_hex(16)
        self._clock = now or (lambda: datetime.now(UTC))
        self._fixed_now: datetime | None = None
        self._lock = threading.RLock()
        self._intents: dict[str, dict[str, Any]] = {}
        self._charges: dict[str, dict[str, Any]] = {}
        self._idempotent: dict[str, tuple[str, int, dict[str, Any]]] = {}
        self._errors: list[InjectedError] = []
        self.events: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str]] = []
        super().__init__(ThreadingHTTPServer((host, port), _handler_for(self)))

    def env(self) -> dict[str, str]:
        """Environment for a CareLedger process that should pay through this stand-in."""
        return {
            "CARELEDGER_STRIPE_API_KEY": self.api_key,
            "CARELEDGER_STRIPE_WEBHOOK_SECRET": self.webhook_secret,
            "CARELEDGER_STRIPE_API_BASE": self.base_url,
        }

    # -- test controls ---------------------------------------------------------------------------

    def now(self) -> datetime:
        return self._fixed_now or self._clock()

    def set_now(self, at: datetime | None) -> None:
        """Pin the stand-in's clock (`created` stamps, signature timestamps), or None to follow the wall clock."""
        with self._lock:
            self._fixed_now = at

    def _ts(self) -> int:
        return int(self.now().timestamp())

    @property
    def intents(self) -> list[dict[str, Any]]:
        with self._lock:
            return [json.loads(json.dumps(i)) for i in self._intents.values()]

    def intent(self, intent_id: str) -> dict[str, Any]:
        with self._lock:
            return json.loads(json.dumps(self._intents[intent_id]))

    def charge(self, charge_id: str) -> dict[str, Any]:
        with self._lock:
            return json.loads(json.dumps(self._charges[charge_id]))

    def error_next(
        self, status: int = 503, type: str = "api_error", message: str = "An unknown error occurred",
        times: int | None = 1,
    ) -> None:
        """Answer the next `times` API requests (None = all) with this Stripe error."""
        with self._lock:
            self._errors.append(InjectedError(status, type, message, times))

    def reset(self) -> None:
        with self._lock:
            self._intents.clear()
            self._charges.clear()
            self._idempotent.clear()
            self._errors.clear()
            self.events.clear()
            self.requests.clear()

    def sign(self, payload: bytes, timestamp: int | None = None, secret: str | None = None) -> str:
        return sign(payload, secret or self.webhook_secret, self._ts() if timestamp is None else timestamp)

    def succeed(self, intent_id: str) -> Delivery:
        """The customer paid: the intent succeeds with a captured charge."""
        with self._lock:
            intent = self._open_intent(intent_id)
            charge = self._new_charge(intent, paid=True)
            intent.update(
                status="succeeded", amount_received=intent["amount"], latest_charge=charge["id"],
                payment_method=charge["payment_method"], last_payment_error=None,
            )
            return self._event("payment_intent.succeeded", intent)

    def fail(
        self, intent_id: str, message: str = "Your card was declined.", code: str = "card_declined",
        decline_code: str = "generic_decline",
    ) -> Delivery:
        """A payment attempt was declined: the intent goes back to `requires_payment_method`."""
        with self._lock:
            intent = self._open_intent(intent_id)
            charge = self._new_charge(intent, paid=False, failure=(code, message))
            intent.update(
                status="requires_payment_method", latest_charge=charge["id"], payment_method=None,
                last_payment_error={
                    "type": "card_error", "code": code, "decline_code": decline_code, "message": message,
                    "charge": charge["id"], "doc_url": f"{DOCS}#{code.replace('_', '-')}",
                    "payment_method": {"id": charge["payment_method"], "object": "payment_method", "type": "card"},
                },
            )
            return self._event("payment_intent.payment_failed", intent)

    def refund(self, intent_id: str, amount: int | None = None) -> Delivery:
        """Refund `amount` minor units (None = what is left) of the intent's charge."""
        with self._lock:
            intent = self._known_intent(intent_id)
            if intent["status"] != "succeeded":
                raise StripeFault(400, f"PaymentIntent {intent_id} has no successful charge to refund.",
                                  code="charge_not_refundable")
            charge = self._charges[intent["latest_charge"]]
            left = charge["amount"] - charge["amount_refunded"]
            amount = left if amount is None else amount
            if amount <= 0 or amount > left:
                raise StripeFault(400, f"Refund amount ({amount}) is greater than unrefunded amount on charge ({left})",
                                  param="amount", code="amount_too_large")
            previous = {"amount_refunded": charge["amount_refunded"], "refunded": charge["refunded"]}
            refund = {
                "id": new_id("re_"), "object": "refund", "amount": amount, "balance_transaction": new_id("txn_"),
                "charge": charge["id"], "created": self._ts(), "currency": charge["currency"], "metadata": {},
                "payment_intent": intent_id, "reason": None, "receipt_number": None, "source_transfer_reversal": None,
                "status": "succeeded", "transfer_reversal": None,
            }
            charge["amount_refunded"] += amount
            charge["refunded"] = charge["amount_refunded"] == charge["amount"]
            refunds = charge["refunds"]
            refunds["data"].insert(0, refund)
            refunds["total_count"] = len(refunds["data"])
            return self._event("charge.refunded", charge, previous)

    def deliver(self, url: str, delivery: Delivery, timeout: float = 10.0) -> int:
        """POST a webhook to `url` as Stripe does; returns the HTTP status."""
        request = urllib.request.Request(  # noqa: S310 - the caller's local endpoint
            url, data=delivery.payload, method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Stripe-Signature": delivery.signature,
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                return int(response.status)
        except urllib.error.HTTPError as e:
            return int(e.code)

    # -- state changes (callers hold the lock) ----------------------------------------------------

    def _known_intent(self, intent_id: str) -> dict[str, Any]:
        intent = self._intents.get(intent_id)
        if intent is None:
            raise StripeFault(404, f"No such payment_intent: '{intent_id}'", param="intent", code="resource_missing")
        return intent

    def _open_intent(self, intent_id: str) -> dict[str, Any]:
        intent = self._known_intent(intent_id)
        if intent["status"] in {"succeeded", "canceled"}:
            raise StripeFault(
                400, f"This PaymentIntent's status is {intent['status']}; it cannot be paid again.",
                code="payment_intent_unexpected_state",
            )
        return intent

    def _new_charge(self, intent: dict[str, Any], paid: bool, failure: tuple[str, str] | None = None) -> dict[str, Any]:
        charge_id = new_id("ch_")
        charge = {
            "id": charge_id, "object": "charge", "amount": intent["amount"],
            "amount_captured": intent["amount"] if paid else 0, "amount_refunded": 0,
            "balance_transaction": new_id("txn_") if paid else None, "captured": paid, "created": self._ts(),
            "currency": intent["currency"], "customer": None, "description": intent["description"],
            "disputed": False, "failure_code": failure[0] if failure else None,
            "failure_message": failure[1] if failure else None, "livemode": False,
            "metadata": dict(intent["metadata"]), "outcome": {
                "network_status": "approved_by_network" if paid else "declined_by_network",
                "risk_level": "normal", "seller_message": "Payment complete." if paid else "The bank did not return any further details with this decline.",
                "type": "authorized" if paid else "issuer_declined",
            },
            "paid": paid, "payment_intent": intent["id"], "payment_method": new_id("pm_"),
            "receipt_url": None, "refunded": False,
            "refunds": {"object": "list", "data": [], "has_more": False, "total_count": 0,
                        "url": f"/v1/charges/{charge_id}/refunds"},
            "status": "succeeded" if paid else "failed",
        }
        self._charges[charge_id] = charge
        return charge

    def _event(self, kind: str, obj: dict[str, Any], previous: dict[str, Any] | None = None) -> Delivery:
        data: dict[str, Any] = {"object": json.loads(json.dumps(obj))}
        if previous is not None:
            data["previous_attributes"] = previous
        _strip_private(data["object"])
        intent = self._intents[str(obj["payment_intent"] if obj["object"] == "charge" else obj["id"])]
        event = {
            "id": new_id("evt_"), "object": "event", "api_version": intent["_api_version"],
            "created": self._ts(), "data": data, "livemode": False, "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None}, "type": kind,
        }
        self.events.append(event)
        payload = json.dumps(event, indent=2).encode()
        return Delivery(payload, self.sign(payload), event)

    # -- request handling (called from server threads) -------------------------------------------

    def _take_error(self) -> InjectedError | None:
        with self._lock:
            if not self._errors:
                return None
            e = self._errors[0]
            if e.times is not None:
                e.times -= 1
                if e.times <= 0:
                    self._errors.pop(0)
            return e

    def _create_intent(self, params: dict[str, Any], api_version: str | None) -> dict[str, Any]:
        unknown = sorted(set(params) - CREATE_PARAMS)
        if unknown:
            raise StripeFault(400, f"Received unknown parameter: {unknown[0]}", param=unknown[0], code="parameter_unknown")
        amount = _amount(params)
        currency = params.get("currency")
        if not currency:
            raise StripeFault(400, "Missing required param: currency.", param="currency", code="parameter_missing")
        if not isinstance(currency, str) or currency.lower() not in CURRENCIES:
            raise StripeFault(400, f"Invalid currency: {currency}. Stripe currently supports these currencies: "
                              f"{', '.join(sorted(CURRENCIES))}", param="currency")
        currency = currency.lower()
        if currency not in {"jpy", "krw"} and amount < MIN_AMOUNT:
            raise StripeFault(400, f"Amount must be at least {MIN_AMOUNT} minor units of {currency}",
                              param="amount", code="amount_too_small")
        if amount > MAX_AMOUNT:
            raise StripeFault(400, f"Amount must be no more than {MAX_AMOUNT} minor units of {currency}",
                              param="amount", code="amount_too_large")
        metadata = _metadata(params.get("metadata", {}))
        description = params.get("description")
        if description is not None and (not isinstance(description, str) or len(description) > 1000):
            raise StripeFault(400, "Invalid string: description must be at most 1000 characters", param="description",
                              code="parameter_invalid_string_too_long")
        apm = params.get("automatic_payment_methods")
        types = params.get("payment_method_types")
        if apm is not None and types is not None:
            raise StripeFault(400, "You may only specify one of these parameters: automatic_payment_methods, "
                              "payment_method_types.", param="automatic_payment_methods")
        if apm is not None and (not isinstance(apm, dict) or apm.get("enabled") not in {"true", "false"}):
            raise StripeFault(400, "Invalid boolean: automatic_payment_methods[enabled]",
                              param="automatic_payment_methods[enabled]", code="parameter_invalid_boolean")
        enabled = apm is not None and apm["enabled"] == "true"
        intent_id = new_id("pi_")
        intent: dict[str, Any] = {
            "id": intent_id, "object": "payment_intent", "amount": amount, "amount_capturable": 0,
            "amount_details": {"tip": {}}, "amount_received": 0, "application": None,
            "application_fee_amount": None,
            "automatic_payment_methods": {"allow_redirects": "always", "enabled": True} if enabled else None,
            "canceled_at": None, "cancellation_reason": None,
            "capture_method": params.get("capture_method", "automatic_async"),
            "client_secret": f"{intent_id}_secret_{new_id('', 25)}", "confirmation_method": "automatic",
            "created": self._ts(), "currency": currency, "customer": params.get("customer"),
            "description": description, "last_payment_error": None, "latest_charge": None, "livemode": False,
            "metadata": metadata, "next_action": None, "on_behalf_of": None, "payment_method": None,
            "payment_method_options": {"card": {"installments": None, "mandate_options": None, "network": None,
                                                "request_three_d_secure": "automatic"}},
            "payment_method_types": types if isinstance(types, list) else ["card"], "processing": None,
            "receipt_email": params.get("receipt_email"), "review": None,
            "setup_future_usage": params.get("setup_future_usage"), "shipping": None, "source": None,
            "statement_descriptor": params.get("statement_descriptor"),
            "statement_descriptor_suffix": params.get("statement_descriptor_suffix"),
            "status": "requires_payment_method", "transfer_data": None, "transfer_group": None,
            "_api_version": api_version,
        }
        with self._lock:
            self._intents[intent_id] = intent
        return _public(intent)

    def _confirm(self, intent_id: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        method = params.get("payment_method")
        if not method:
            raise StripeFault(400, "You cannot confirm this PaymentIntent because it's missing a payment method.",
                              code="payment_intent_unexpected_state")
        with self._lock:
            if method in DECLINING_METHODS:
                code, decline, message = DECLINING_METHODS[method]
                self.fail(intent_id, message, code, decline)
                intent = _public(self._intents[intent_id])
                raise StripeFault(402, message, type="card_error", code=code,
                                  extra={"decline_code": decline, "payment_intent": intent,
                                         "charge": intent["latest_charge"]})
            self.succeed(intent_id)
            return 200, _public(self._intents[intent_id])


def _amount(params: dict[str, Any]) -> int:
    raw = params.get("amount")
    if raw is None or raw == "":
        raise StripeFault(400, "Missing required param: amount.", param="amount", code="parameter_missing")
    if not isinstance(raw, str) or not re.fullmatch(r"-?\d+", raw):
        raise StripeFault(400, f"Invalid integer: {raw}", param="amount", code="parameter_invalid_integer")
    amount = int(raw)
    if amount < 1:
        raise StripeFault(400, "This value must be greater than or equal to 1.", param="amount",
                          code="parameter_invalid_integer")
    return amount


def _metadata(raw: Any) -> dict[str, str]:
    if raw == "":
        return {}
    if not isinstance(raw, dict):
        raise StripeFault(400, "Invalid object", param="metadata", code="parameter_invalid_object")
    if len(raw) > 50:
        raise StripeFault(400, "You can have up to 50 metadata keys", param="metadata")
    for key, value in raw.items():
        if len(key) > 40:
            raise StripeFault(400, f"Metadata keys can have up to 40 characters, but you passed in a key that is "
                              f"{len(key)} characters. Invalid key: {key}", param=f"metadata[{key}]")
        if not isinstance(value, str) or len(value) > 500:
            raise StripeFault(400, f"Metadata values can have up to 500 characters, but you passed in a value that "
                              f"is {len(str(value))} characters.", param=f"metadata[{key}]")
    return {k: v for k, v in raw.items() if v != ""}


def _public(obj: dict[str, Any]) -> dict[str, Any]:
    copy: dict[str, Any] = json.loads(json.dumps(obj))
    _strip_private(copy)
    return copy


def _strip_private(obj: dict[str, Any]) -> None:
    for key in [k for k in obj if k.startswith("_")]:
        del obj[key]


def _handler_for(standin: StripeStandin) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True
        server_version = "stripe-standin/1"

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

        def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Request-Id", new_id("req_", 14))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def _fault(self, f: StripeFault) -> None:
            self._send_json(f.status, {"error": f.body})

        def _body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _auth_fault(self) -> StripeFault | None:
            header = self.headers.get("Authorization", "")
            if not header.startswith("Bearer ") or not header[7:].strip():
                return StripeFault(401, "You did not provide an API key. You need to provide your API key in the "
                                   "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').")
            key = header[7:].strip()
            if not secrets.compare_digest(key, standin.api_key):
                return StripeFault(401, f"Invalid API Key provided: {key[:8]}{'*' * 12}{key[-4:]}")
            return None

        def _route(self, method: str) -> None:
            parts = urlsplit(self.path)
            body = self._body() if method == "POST" else b""
            with standin._lock:
                standin.requests.append((method, parts.path))
            if parts.path.startswith("/_standin/"):
                try:
                    self._control(method, parts.path.removeprefix("/_standin/"), body)
                except StripeFault as f:
                    self._fault(f)
                return
            auth = self._auth_fault()
            if auth is not None:
                self._fault(auth)
                return
            injected = standin._take_error()
            if injected is not None:
                self._fault(StripeFault(injected.status, injected.message, type=injected.type))
                return
            try:
                params = decode_form(body.decode() if method == "POST" else parts.query)
                self._api(method, parts.path, params, body)
            except StripeFault as f:
                self._fault(f)

        def _api(self, method: str, path: str, params: dict[str, Any], body: bytes) -> None:
            version = self.headers.get("Stripe-Version")
            if path == "/v1/payment_intents" and method == "POST":
                key = self.headers.get("Idempotency-Key")
                if not key:
                    self._send_json(200, standin._create_intent(params, version))
                    return
                fingerprint = hashlib.sha256(b"POST " + path.encode() + b"\n" + body).hexdigest()
                with standin._lock:
                    saved = standin._idempotent.get(key)
                    if saved is None:
                        result = standin._create_intent(params, version)
                        standin._idempotent[key] = (fingerprint, 200, result)
                        self._send_json(200, result, {"Idempotency-Key": key})
                        return
                if saved[0] != fingerprint:
                    raise StripeFault(
                        400, "Keys for idempotent requests can only be used with the same parameters they were first "
                        f"used with. Try using a key other than '{key}' if you meant to execute a different request.",
                        type="idempotency_error",
                    )
                self._send_json(saved[1], saved[2], {"Idempotency-Key": key, "Idempotent-Replayed": "true"})
                return
            m = re.fullmatch(r"/v1/payment_intents/([^/]+)(/confirm)?", path)
            if m is None:
                raise StripeFault(404, f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs "
                                  "or we can help at https://support.stripe.com/.")
            intent_id = m.group(1)
            with standin._lock:
                standin._known_intent(intent_id)
                if m.group(2) and method == "POST":
                    status, payload = standin._confirm(intent_id, params)
                elif not m.group(2) and method == "GET":
                    status, payload = 200, _public(standin._intents[intent_id])
                else:
                    raise StripeFault(404, f"Unrecognized request URL ({method}: {path}).")
            self._send_json(status, payload)

        def _control(self, method: str, action: str, body: bytes) -> None:
            args = json.loads(body) if body else {}
            if action == "intents" and method == "GET":
                self._send_json(200, [_public(i) for i in standin.intents])
            elif action in {"succeed", "fail", "refund"} and method == "POST":
                intent_id = str(args["intent_id"])
                if action == "succeed":
                    delivery = standin.succeed(intent_id)
                elif action == "fail":
                    delivery = standin.fail(intent_id, str(args.get("message") or "Your card was declined."))
                else:
                    delivery = standin.refund(intent_id, args.get("amount"))
                url = args.get("deliver_to")
                status = standin.deliver(url, delivery) if url else None
                self._send_json(200, {"payload": delivery.payload.decode(), "signature": delivery.signature,
                                      "event": delivery.event, "delivered_status": status})
            elif action == "error_next" and method == "POST":
                standin.error_next(int(args.get("status", 503)), str(args.get("type", "api_error")),
                                   str(args.get("message", "An unknown error occurred")), args.get("times", 1))
                self._send_json(200, {"ok": True})
            elif action == "now" and method == "POST":
                raw = args.get("now")
                standin.set_now(datetime.fromisoformat(raw) if raw else None)
                self._send_json(200, {"ok": True})
            elif action == "reset" and method == "POST":
                standin.reset()
                self._send_json(200, {"ok": True})
            else:
                self._send_json(404, {"error": "unknown control"})

        def do_GET(self) -> None:
            self._route("GET")

        def do_POST(self) -> None:
            self._route("POST")

    return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--api-key", default=None)
    parser.add_argument("--webhook-secret", default=None)
    args = parser.parse_args(argv)
    standin = StripeStandin(args.api_key, args.webhook_secret, args.host, args.port)
    print(json.dumps({"base_url": standin.base_url, "api_key": standin.api_key,
                      "webhook_secret": standin.webhook_secret}), flush=True)
    try:
        standin._server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        standin._server.server_close()


if __name__ == "__main__":
    main(sys.argv[1:])
