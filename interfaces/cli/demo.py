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
from domain.clients.client import Client
from domain.identity.membership import membership_id_for
from domain.practices.practice import practice_id_for
from interfaces.cli.demo_billing import billing_steps, load_billing
from interfaces.cli.demo_history import DAYS_AHEAD, WEEKS_BACK, history_loaded, load_history
from interfaces.container import Container

DEMO_NS = UUID("1b4e28ba-2fa1-11d2-883f-0016d3cca427")
STAFF_ROLES = (
    ("owner", "Olive Owner", None),
    ("admin", "Avery Admin", None),
    ("supervisor", "Sam Supervisor", "LCSW"),
    ("clinician", "Casey Clinician", "LPC-Associate"),
    ("billing", "Blair Billing", None),
    ("front_desk", "Frankie Frontdesk", None),
    ("care_team", "Cameron Careteam", None),
    ("external_caregiver", "Emery Caregiver", None),
)
PORTAL_ROLES = (
    ("client", None, 0),  # the first demo client
    ("family_member", "Fran Family", 0),  # a relative of the same client
)
FIRST = ("Ana", "Ben", "Chloe", "Dmitri", "Esther", "Farid", "Grace", "Hiro", "Imani", "Jonas",
         "Keiko", "Liam", "Maya", "Noah", "Olu", "Priya", "Quinn", "Rosa", "Sven", "Tala")
LAST = ("Smith", "Nguyen", "Okafor", "Garcia", "Kowalski", "Haddad", "Tanaka", "Johnson",
        "Silva", "Müller", "Osei", "Patel", "Rossi", "Cohen", "Ivanova")
PAYERS = ("Aetna", "Blue Cross Blue Shield of Georgia", "Cigna", "UnitedHealthcare", "Medicaid")
CASELOAD_EVERY = 2  # the demo clinician treats every second client; the others have no clinician yet


@dataclass(frozen=True)
class DemoPractice:
    slug: str
    name: str
    time_zone: str
    clients: int
    roles: tuple[tuple[str, str, str | None], ...]
    portal: tuple[tuple[str, str | None, int], ...]
    history: bool = False


PRACTICES = (
    DemoPractice("demo", "Peachtree Behavioral Health", "America/New_York", 50, STAFF_ROLES, PORTAL_ROLES,
                 history=True),
    DemoPractice("other", "Harbor Family Care", "America/Los_Angeles", 5,
                 (STAFF_ROLES[1], STAFF_ROLES[3]), ()),
)


def demo_id(slug: str, kind: str, n: object) -> UUID:
    return uuid5(DEMO_NS, f"{slug}/{kind}/{n}")


def demo_email(role: str, slug: str) -> str:
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
        "insurance_primary": None if i == 7 else {"payer": payer, "member_id": f"M{rng.randrange(10**8, 10**9)}"},
        "referring_provider": rng.choice(("Dr. Lee (PCP)", "Self-referral", "Grady ER", None)),
    }


def load_demo(k: Container, step: Callable[[str], None] | None = None) -> int:
    """Create what is missing of the demo practices; returns how many aggregates were added.

    Every demo user signs in with `CARELEDGER_DEMO_PASSWORD` (MFA off); staff have a current
    HIPAA training on record and the demo practice has a signed BAA.
    """
    added = 0
    password = k.settings.demo_password
    trained_on = k.clock.now().date() - timedelta(days=120)
    for spec in PRACTICES:
        pid = practice_id_for(spec.slug)
        with audit.acting(audit.system("system:demo", practice_id=pid)):
            if not k.practices.exists(spec.slug):
                k.practices.register(spec.name, spec.slug, spec.time_zone, {"demo": True})
                added += 1
            if k.practices.get(pid).baa is None:
                k.practices.sign_baa(pid, "Olive Owner", "Practice owner", "BAA-2026.1", trained_on)
            staff: dict[str, UUID] = {}
            for role, name, license_type in spec.roles:
                email = demo_email(role, spec.slug)
                staff[role] = membership_id_for(pid, email)
                if not k.store.exists(staff[role]):
                    # The care-team member's training runs out within the month (a reminder to show).
                    on = trained_on - timedelta(days=240) if role == "care_team" else trained_on
                    k.members.provision(pid, email, name, role, password, license_type=license_type,
                                        hipaa_training_on=on)
                    added += 1
                if step:
                    step("staff")
            if "supervisor" in staff and "clinician" in staff:
                clinician = k.members.get(pid, staff["clinician"])
                if clinician.supervisor_id is None:
                    k.members.assign_supervisor(pid, staff["clinician"], staff["supervisor"])
            rng = random.Random(spec.slug)
            for i in range(spec.clients):
                care_level, demographics = _client(rng, i)
                cid = demo_id(spec.slug, "client", i)
                if not k.clients.exists(cid):
                    k.clients.register(pid, care_level, demographics, client_id=cid)
                    if "clinician" in staff and i % CASELOAD_EVERY == 0:
                        k.clients.assign(pid, cid, staff["clinician"], "clinician")
                    if "care_team" in staff and i < 5:
                        k.clients.assign(pid, cid, staff["care_team"], "care_coordinator")
                    if "external_caregiver" in staff and i < 2:
                        k.clients.assign(pid, cid, staff["external_caregiver"], "caregiver")
                    added += 1
                if step:
                    step("client")
            if spec.history and {"clinician", "supervisor"} <= set(staff):
                caseloads = {
                    staff["clinician"]: [demo_id(spec.slug, "client", i) for i in range(0, spec.clients, 2)],
                    staff["supervisor"]: [demo_id(spec.slug, "client", i) for i in range(1, spec.clients, 2)],
                }
                if not history_loaded(k, list(caseloads)):
                    for client_id in caseloads[staff["supervisor"]]:
                        if staff["supervisor"] not in k.store.load(client_id, Client).care_team:
                            k.clients.assign(pid, client_id, staff["supervisor"], "clinician")
                    added += load_history(k, pid, caseloads, step,
                                          supervision=(staff["supervisor"], staff["clinician"]))
                added += load_billing(k, pid, staff, step)
            for role, portal_name, client_n in spec.portal:
                email = demo_email(role, spec.slug)
                if not k.store.exists(membership_id_for(pid, email)):
                    client_id = demo_id(spec.slug, "client", client_n)
                    full_name = portal_name or _client_name(k, pid, client_id)
                    k.members.provision(pid, email, full_name, role, password, client_ids=[client_id])
                    added += 1
                if step:
                    step("portal")
    return added


def _client_name(k: Container, practice_id: UUID, client_id: UUID) -> str:
    client = k.store.load(client_id, Client)
    return f"{client.demographics.get('first_name', '')} {client.demographics.get('last_name', '')}".strip()


def demo_steps() -> int:
    """Progress-bar total; the history's share is its expected number of appointments and their billing."""
    history = 2 * 5 * ((WEEKS_BACK + 1) * 5 + DAYS_AHEAD * 5 // 7)
    history += billing_steps(history)
    return sum(len(p.roles) + p.clients + len(p.portal) + (history if p.history else 0) for p in PRACTICES)


def demo_logins() -> list[tuple[str, str, str]]:
    """(practice slug, role, e-mail) of every demo user."""
    return [
        (p.slug, role, demo_email(role, p.slug))
        for p in PRACTICES
        for role in [r for r, _, _ in p.roles] + [r for r, _, _ in p.portal]
    ]
