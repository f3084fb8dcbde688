"""Whether a client can be reached through a reminder channel, and why not."""

from __future__ import annotations

from domain.clients.client import Client


def _contactable(client: Client) -> bool:
    return not client.erased and client.status != "discharged" and client.contact_channel != "none"


def reachable(client: Client, channel: str) -> bool:
    """The client's opt-in for `channel` holds and there is an address to use."""
    if not _contactable(client):
        return False
    if channel == "sms":
        return client.sms_opt_in and not client.sms_opted_out and bool(client.demographics.get("phone"))
    if channel == "email":
        return client.email_opt_in and bool(client.demographics.get("email"))
    return False


def unreachable_reason(client: Client, channel: str | None = None) -> str:
    """Why `channel` (or, with None, every channel) cannot be used: `opted_out` when there is an
    address but the client said no (no reminders, STOP, opt-in withdrawn), else
    `client_unreachable` (no address, discharged, erased)."""
    if client.erased or client.status == "discharged":
        return "client_unreachable"
    addresses = {"sms": bool(client.demographics.get("phone")), "email": bool(client.demographics.get("email"))}
    has_address = addresses.get(channel, False) if channel is not None else any(addresses.values())
    return "opted_out" if has_address else "client_unreachable"
