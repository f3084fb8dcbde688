from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from application import audit
from domain.practices.practice import practice_id_for
from interfaces.http.app import create_app
from interfaces.http.tokens import Claims, issue

PRACTICES = {"alpha": "America/New_York", "beta": "Europe/London"}


@pytest.fixture(scope="session")
def api(container: Any) -> Iterator[TestClient]:
    for slug, zone in PRACTICES.items():
        if not container.practices.exists(slug):
            with audit.acting(audit.system("system:test", practice_id=practice_id_for(slug))):
                container.practices.register(f"Practice {slug}", slug, zone)
    with TestClient(create_app(container, background=True), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture(scope="session")
def token(container: Any) -> Any:
    def make(role: str = "admin", practice: str = "alpha", actor: str | None = None) -> dict[str, str]:
        claims = Claims(actor or f"{role}@{practice}.test", role, practice_id_for(practice))
        return {"Authorization": f"Bearer {issue(container.secrets.token_secret, claims, timedelta(minutes=15))}"}

    return make


def practice(slug: str) -> UUID:
    return practice_id_for(slug)
