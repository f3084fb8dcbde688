from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from application import audit
from domain.identity.membership import membership_id_for
from domain.practices.practice import practice_id_for
from interfaces.http.app import create_app
from interfaces.http.tokens import Claims, issue

PRACTICES = {"alpha": "America/New_York", "beta": "Europe/London"}
PASSWORD = "Correct-Horse-42!"
PORTAL = frozenset({"client", "family_member"})
PORTAL_CLIENT = {"first_name": "Portal", "last_name": "Person", "date_of_birth": date(1980, 1, 1)}


def setup_practice(container: Any, slug: str, zone: str = "America/New_York", baa: bool = True) -> UUID:
    pid = practice_id_for(slug)
    with audit.acting(audit.system("system:test", practice_id=pid)):
        if not container.practices.exists(slug):
            container.practices.register(f"Practice {slug}", slug, zone)
        if baa and container.practices.get(pid).baa is None:
            container.practices.sign_baa(pid, "Pat Owner", "Owner", "v1", date(2026, 1, 2))
    return pid


def ensure_member(
    container: Any, practice: str, role: str, email: str, clients: list[UUID] | None = None,
    trained_on: date | None = None, password: str = PASSWORD,
) -> UUID:
    """A member who accepted their invitation (password `PASSWORD`), trained for HIPAA recently."""
    pid = practice_id_for(practice)
    member_id = membership_id_for(pid, email)
    if container.store.exists(member_id):
        return member_id
    with audit.acting(audit.system("system:test", practice_id=pid)):
        if role in PORTAL and not clients:
            saved = container.clients.register(pid, "basic", dict(PORTAL_CLIENT))
            clients = [saved.id]
        trained = trained_on or (container.clock.now().date() - timedelta(days=1))
        container.members.provision(
            pid, email, f"Test {role}", role, password, client_ids=clients,
            hipaa_training_on=None if role in PORTAL else trained,
        )
    return member_id


def bearer(container: Any, member_id: UUID) -> dict[str, str]:
    with audit.acting(audit.system("system:test")):
        t = container.accounts.start_session(member_id)
    claims = Claims(t.user_id, t.member_id, t.session_id, t.role, t.practice_id, t.mfa_pending)
    token = issue(container.secrets.token_secret, claims, container.identity_policy.access_ttl, t.issued_at)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="session")
def api(container: Any) -> Iterator[TestClient]:
    for slug, zone in PRACTICES.items():
        setup_practice(container, slug, zone)
    with TestClient(create_app(container, background=True), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture(scope="session")
def token(container: Any, api: TestClient) -> Any:
    """Headers with a fresh session for a member of `role` (created on first use; `actor` names a
    distinct member of the same role)."""

    def make(role: str = "admin", practice: str = "alpha", actor: str | None = None,
             clients: list[UUID] | None = None) -> dict[str, str]:
        email = f"{actor or role}@{practice}.test"
        return bearer(container, ensure_member(container, practice, role, email, clients))

    return make


def member_id(role: str = "admin", practice: str = "alpha", actor: str | None = None) -> UUID:
    return membership_id_for(practice_id_for(practice), f"{actor or role}@{practice}.test")


def practice(slug: str) -> UUID:
    return practice_id_for(slug)
