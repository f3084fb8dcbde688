"""Whose billing records the caller sees, in one place for charges and payments.

Practice-wide roles (owner, admin, billing, front desk) and system actors see everything; a client
or family member the records of the clients they are linked to; caseload roles given billing
access the charges for their own and their supervisees' visits, and no payments (a payment is
the client's, not a visit's). A record outside the scope is answered 404, as if it did not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from application import access
from application.billing.documents import PartyDetails
from application.errors import Forbidden, NotFound
from application.store import EventStore
from domain.clients.client import Client
from domain.identity.permissions import Scope


@dataclass(frozen=True)
class BillingScope:
    clients: frozenset[UUID] | None
    """Only these clients' records (None: no narrowing)."""
    clinicians: frozenset[UUID] | None
    """Only charges for these clinicians' visits (None: no narrowing)."""
    payments: bool
    """Whether the caller sees payments at all (within `clients`)."""

    def sees_charge(self, client_id: UUID, clinician_id: UUID) -> bool:
        return (self.clients is None or client_id in self.clients) and (
            self.clinicians is None or clinician_id in self.clinicians)

    def sees_payment(self, client_id: UUID | None) -> bool:
        return self.payments and (self.clients is None or client_id in self.clients)

    @property
    def practice_wide(self) -> bool:
        return self.clients is None and self.clinicians is None and self.payments


def billing_scope() -> BillingScope:
    grant = access.current()
    if grant is None or grant.scope is Scope.PRACTICE:
        return BillingScope(None, None, True)
    if grant.scope is Scope.OWN_RECORD:
        return BillingScope(grant.client_ids, None, True)
    return BillingScope(None, grant.team_ids | {grant.member_id}, False)


def acting_member(practice_id: UUID) -> UUID:
    """Who a command is recorded as by: the member, or for a system actor (a sweep, the CLI) the
    practice itself; the audit envelope names the system actor."""
    grant = access.current()
    return grant.member_id if grant is not None else practice_id


def require_practice_wide(what: str) -> None:
    if not billing_scope().practice_wide:
        raise Forbidden(f"{what} is done by practice-wide billing staff.")


def practice_client(store: EventStore, practice_id: UUID, client_id: UUID) -> Client:
    """The practice's client, or NotFound (another practice's client does not exist here)."""
    try:
        client: Client = store.load(client_id, Client)
    except NotFound:
        raise NotFound(f"No client {client_id}.") from None
    if client.practice_id != practice_id:
        raise NotFound(f"No client {client_id}.")
    return client


def client_party(client: Client, *, with_email: bool = False) -> PartyDetails:
    """Who a document is addressed to: the client's name and postal address (PHI: the caller
    records the read)."""
    if client.erased:
        return PartyDetails(name="(personal data erased)")
    d = client.demographics
    address = d.get("address") or {}
    city_line = " ".join(p for p in (
        ", ".join(p for p in (address.get("city"), address.get("state")) if p), address.get("zip")) if p)
    lines = tuple(p for p in (address.get("line1"), address.get("line2"), city_line) if p)
    return PartyDetails(name=f"{d.get('first_name', '')} {d.get('last_name', '')}".strip(), address_lines=lines,
                        email=(d.get("email") or None) if with_email else None)
