"""`careledger remittance import` through typer's CliRunner, on a database of the test's own: the
report for a file it posts, exit 0 for an unbalanced file (the imbalance named), exit 1 with one
line for a file that is not an 835, a missing file or an unknown practice."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from typer.testing import CliRunner, Result

from adapters.settings import get_settings
from application import audit
from domain.billing.charge import Charge
from domain.clients.client import Client
from interfaces.cli.main import app
from tests.application.remittance.support import claim, era, line
from tests.support import open_practice

SLUG = "cli-remit"
AT = datetime(2026, 11, 10, 15, tzinfo=UTC)
PAID = claim("CLM1", "1", "150", "100", "20", "ICN1", "ABLE", "BILL", "W1",
             *line("90837", "150", "100", "20261102", "L1", "CAS*CO*45*30", "CAS*PR*2*20"))


@pytest.fixture
def k(isolated_container: Any) -> Iterator[Any]:
    get_settings.cache_clear()
    with audit.acting(audit.system("system:test")):
        practice_id = open_practice(isolated_container, "CLI Remit", SLUG, "America/New_York")
    client = Client.register(practice_id, "basic", first_name="Bill", last_name="Able",
                             date_of_birth=date(1980, 2, 3), insurance_primary={"payer": "ACME", "member_id": "W1"})
    charge = Charge.enter(
        practice_id=practice_id, client_id=client.id, clinician_id=uuid4(), appointment_id=None,
        service_date=date(2026, 11, 2), cpt="90837", charge_modifiers=[], charge_units=Decimal(1),
        diagnosis_codes=["F32.1"], diagnosis_pointers=[1], unit_fee=Decimal("150.00"), payer="ACME", entered_at=AT,
        by=uuid4(), today=AT.date(), line_ref="L1",
    )
    charge.bill("CLM1", payer="ACME", hold_reason=None, at=AT, by=uuid4())
    with audit.acting(audit.system("system:test", practice_id=practice_id)):
        isolated_container.store.save(client, charge)
    yield isolated_container
    get_settings.cache_clear()


def run(k: Any, *args: str) -> Result:
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["remittance", "import", *args],
                                env={"DATABASE_URL": k.database_url, "COLUMNS": "200"})
    get_settings.cache_clear()
    return result


def test_import_prints_the_report(k: Any, tmp_path: Path) -> None:
    path = tmp_path / "acme.835"
    path.write_bytes(era(PAID, paid_on="20261105"))

    result = run(k, str(path), "--practice", SLUG)

    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "acme.835 (new file" in out and "Run 1 under matching rules v3; status processed." in out
    assert "│ 1      │ 1       │ 0       │ 0       │ 0       │ 0      │ 0         │ 100.0%" in out
    assert re.search(r"posted payments +│ +100\.00 │", out) and re.search(r"posted adjustments +│ +30\.00 │", out)
    assert "Balancing findings: none" in out and "Postings written: 2." in out
    with k.pool.connection() as conn:
        assert conn.execute("SELECT claims, level_1, posted_payments FROM remittances").fetchall() == [
            (1, 1, Decimal("100.00"))]

    again = run(k, str(path), "--practice", SLUG, "--rules-version", "2")
    assert again.exit_code == 0, again.output
    assert "uploaded before" in again.stdout and "Postings written: 0." in again.stdout


def test_an_unbalanced_file_exits_0_and_names_the_imbalance(k: Any, tmp_path: Path) -> None:
    path = tmp_path / "short.835"
    path.write_bytes(era(PAID, payment="90", trace="SHORT", paid_on="20261105"))

    result = run(k, str(path), "--practice", SLUG)

    assert result.exit_code == 0, result.output
    assert "Balancing findings" in result.stdout and "transaction-balance" in result.stdout
    assert "sum(CLP04) 100 - sum(PLB) 0 = 100, but BPR02 is 90." in result.stdout


@pytest.mark.parametrize(("content", "args", "message"), [
    (b"%PDF-1.7 this is a scan", ("--practice", SLUG), "scan.835 is not an 835 remittance: "),
    (None, ("--practice", SLUG), "no such file"),
    (era(PAID), ("--practice", "nowhere"), "No practice with the slug 'nowhere'."),
])
def test_what_it_cannot_import_exits_1_with_one_line(k: Any, tmp_path: Path, content: bytes | None,
                                                      args: tuple[str, ...], message: str) -> None:
    path = tmp_path / "scan.835"
    if content is not None:
        path.write_bytes(content)

    result = run(k, str(path), *args)

    assert result.exit_code == 1
    assert message in result.stderr and result.stderr.count("\n") == 1, result.stderr
    with k.pool.connection() as conn:
        assert conn.execute("SELECT count(*) FROM careledger_events WHERE topic LIKE 'careledger/remittance/%'"
                            ).fetchone() == (0,)
