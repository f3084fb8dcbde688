"""Demo data, created through the application layer (events, never SQL inserts). Idempotent:
every demo id is derived from the practice slug, so a second run (or a resumed one) adds only
what is missing."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from uuid import UUID, uuid5

from application import audit
from domain.practices.practice import practice_id_for
from interfaces.container import Container

DEMO_NS = UUID("1b4e28ba-2fa1-11d2-883f-0016d3cca427")
STAFF_ROLES = (
    ("admin", "Avery Admin", None),
    ("clinician", "Casey Clinician", "LPC"),
    ("supervisor", "Sam Supervisor", "LCSW"),
    ("billing", "Blair Billing", None),
    ("front_desk", "Frankie Frontdesk", None),
    ("care_team", "Cameron Careteam", None),
    ("external_caregiver", "Emery Caregiver", None),
)
PORTAL_ROLES = ("client", "family_member")
FIRST = ("Ana", "Ben", "Chloe", "Dmitri", "Esther", "Farid", "Grace", "Hiro", "Imani", "Jonas",
         "Keiko", "Liam", "Maya", "Noah", "Olu", "Priya", "Quinn", "Rosa", "Sven", "Tala")
LAST = ("Smith", "Nguyen", "Okafor", "Garcia", "Kowalski", "Haddad", "Tanaka", "Johnson",
        "Silva", "Müller", "Osei", "Patel", "Rossi", "Cohen", "Ivanova")
PAYERS = ("Aetna", "Blue Cross Blue Shield of Georgia", "Cigna", "UnitedHealthcare", "Medicaid")


@dataclass(frozen=True)
class DemoPractice:
    slug: str
    name: str
    time_zone: str
    clients: int
    roles: tuple[tuple[str, str, str | None], ...]


PRACTICES = (
    DemoPractice("demo", "Peachtree Behavioral Health", "America/New_York", 50, STAFF_ROLES),
    DemoPractice("other", "Harbor Family Care", "America/Los_Angeles", 5, STAFF_ROLES[:2]),
)


def demo_id(slug: str, kind: str, n: object) -> UUID:
    return uuid5(DEMO_NS, f"{slug}/{kind}/{n}")


def staff_email(role: str, slug: str) -> str:
    return f"{role}@{slug}.careledger.test"


def _client(rng: random.Random, i: int) -> tuple[str, dict[str, object]]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    dob = date(1950, 1, 1) + timedelta(days=rng.randrange(0, 365 * 60))
    payer = rng.choice(PAYERS)
    return rng.choice(("basic", "basic", "intermediate", "intensive")), {
        "first_name": first,
        "last_name": last,
        "date_of_birth": dob,
        "gender": rng.choice(("female", "male", "non-binary", None)),
        "email": f"{first.lower()}.{last.lower()}{i}@example.test",
        "phone": f"+1 404 555 {1000 + i:04d}",
        "address": {"line1": f"{100 + i} Peachtree St", "city": "Atlanta", "state": "GA", "zip": "30303"},
        "emergency_contact": {"name": f"{rng.choice(FIRST)} {last}", "phone": "+1 404 555 0199",
                              "relationship": rng.choice(("spouse", "parent", "sibling", "friend"))},
        "insurance_primary": {"payer": payer, "member_id": f"M{rng.randrange(10**8, 10**9)}"},
        "referring_provider": rng.choice(("Dr. Lee (PCP)", "Self-referral", "Grady ER", None)),
    }


def load_demo(k: Container, step: Callable[[str], None] | None = None) -> int:
    """Create what is missing of the demo practices; returns how many aggregates were added."""
    added = 0
    for spec in PRACTICES:
        pid = practice_id_for(spec.slug)
        with audit.acting(audit.system("system:demo", practice_id=pid)):
            if not k.practices.exists(spec.slug):
                k.practices.register(spec.name, spec.slug, spec.time_zone, {"demo": True})
                added += 1
            staff_ids = {}
            for role, name, license_type in spec.roles:
                sid = demo_id(spec.slug, "staff", role)
                staff_ids[role] = sid
                if not k.store.exists(sid):
                    k.practices.register_staff(
                        pid, name, staff_email(role, spec.slug), role, license_type, staff_id=sid
                    )
                    added += 1
                if step:
                    step("staff")
            rng = random.Random(spec.slug)
            for i in range(spec.clients):
                care_level, demographics = _client(rng, i)
                cid = demo_id(spec.slug, "client", i)
                if not k.clients.exists(cid):
                    k.clients.register(pid, care_level, demographics, client_id=cid)
                    if "clinician" in staff_ids:
                        k.clients.assign(pid, cid, staff_ids["clinician"], "clinician")
                    added += 1
                if step:
                    step("client")
    return added


def demo_steps() -> int:
    return sum(len(p.roles) + p.clients for p in PRACTICES)
