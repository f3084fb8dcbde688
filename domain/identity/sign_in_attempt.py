"""A sign-in for an address that has no account: audited, though no account can hold it."""

from __future__ import annotations

from datetime import datetime

from eventsourcing.domain import Aggregate, event

from domain.events import Audited


class UnknownAccountSignIn(Aggregate):
    TOPIC = "careledger/unknown-account-sign-in"

    class Created(Aggregate.Created):
        TOPIC = "careledger/unknown-account-sign-in/created"

    class Refused(Created, Audited):
        TOPIC = "careledger/unknown-account-sign-in/refused"
        email: str
        at: datetime

    @event(Refused)
    def __init__(self, email: str, at: datetime) -> None:
        self.email = email
        self.at = at
