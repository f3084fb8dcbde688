"""The remittances read model: one row per file with its counts and totals, one per claim with its
latest outcome (the review queue), the payment each check recorded; no patient names; a rebuild
from zero equals the incremental result."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import uuid4

import psycopg

from domain.remittance.remittance import Remittance
from tests.application.remittance.support import Office, claim, era, line, make_office

D = Decimal
TABLES = ("remittances", "remittance_claims", "remittance_payments")
ABLE = claim("CLM1", "1", "150", "100", "20", "ICN1", "ABLE", "BILL", "W1",
             *line("90837", "150", "100", "20260302", "L1", "CAS*CO*45*30", "CAS*PR*2*20"))
LATE = claim("XX-0002", "1", "120", "80", "15", "ICN2", "BELL", "CARA", "W2",
             *line("90834", "120", "80", "20260313", "", "CAS*CO*45*25", "CAS*PR*3*15"))
STRANGER = claim("ZZ9", "1", "150", "90", "0", "ICN7", "NOBODY", "NEMO", "Q1",
                 *line("90837", "150", "90", "20260309", "", "CAS*CO*45*60"))


def snapshot(url: str, table: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()


def history(k: Any, tmp: Path) -> tuple[Office, Any, Any]:
    o = make_office(k, tmp)
    able, bell = o.client("Bill", "Able", "W1"), o.client("Cara", "Bell", "W2")
    o.billed = {"able1": o.charge(able, date(2026, 3, 2), "90837", "150.00", "CLM1", "L1"),
                "bell1": o.charge(bell, date(2026, 3, 3), "90834", "120.00", "CLM2", "L2"),
                "able2": o.charge(able, date(2026, 3, 9), "90837", "150.00", "CLM3", "L3")}
    first = o.import_(era(ABLE, LATE, STRANGER, trace="T1"), rules_version=1)
    with o.clerk():
        o.service.process(o.id, first.remittance_id, rules_version=2)
        stranger_key = next(c.claim_key for c in o.service.claims(o.id, first.remittance_id, "review"))
        o.service.resolve(o.id, first.remittance_id, stranger_key, [o.billed["able2"]])
    o.clock.advance(timedelta(hours=1))
    duplicate = o.import_(era(ABLE, trace="T1", control=9), "again.835")
    return o, first, duplicate


def test_rows_show_each_file_and_its_claims(isolated_container: Any, tmp_path: Path) -> None:
    k = isolated_container
    o, first, duplicate = history(k, tmp_path)
    for runner in k.runners:
        runner.catch_up()
    view = k.remittances_view

    page = view.remittances(o.id, limit=1)
    assert [r.remittance_id for r in page.items] == [duplicate.remittance_id] and page.next_cursor
    row = view.remittance(o.id, first.remittance_id)
    assert (row.claims, row.level_1, row.level_3, row.manual, row.unmatched, row.run, row.rules_version) == (
        3, 1, 1, 1, 0, 3, 2)
    assert (row.paid, row.posted_payments, row.posted_adjustments, row.status) == (
        D("270.00"), D("270.00"), D("115.00"), "processed")
    assert (row.filename, row.balanced, row.payers, row.auto_match_rate) == ("acme.835", True, ["ACME HEALTH"],
                                                                              D("0.6667"))
    claims = view.claims(o.id, first.remittance_id)
    assert [(c.claim_number, c.level, c.status, c.posted) for c in claims] == [
        ("CLM1", "1", "matched", D("100.00")), ("XX-0002", "3", "matched", D("80.00")),
        ("ZZ9", "manual", "resolved", D("90.00"))]
    again = view.remittance(o.id, duplicate.remittance_id)
    assert (again.duplicates, again.postings, again.status) == (1, 0, "processed")
    [payment_id] = o.load(first.remittance_id, Remittance).payment_ids
    assert view.payment_owner(o.id, payment_id) == first.remittance_id
    assert view.payment_owner(uuid4(), payment_id) is None
    assert view.review_queue(o.id) == []
    assert view.remittances(uuid4()).items == []

    with psycopg.connect(k.database_url) as conn:
        text = " ".join(str(r) for t in TABLES for r in conn.execute(f"SELECT * FROM {t}").fetchall())
    assert "ABLE" not in text.upper() and "NEMO" not in text.upper() and "W1" not in text


def test_rebuild_equals_incremental(isolated_container: Any, tmp_path: Path) -> None:
    k = isolated_container
    runner = k.runner("remittances")
    runner.batch_size = 3  # many small batches while the history grows
    history(k, tmp_path)
    runner.catch_up()
    incremental = {t: snapshot(k.database_url, t) for t in TABLES}
    assert len(incremental["remittances"]) == 2 and len(incremental["remittance_claims"]) == 4

    runner.batch_size = 500
    done = runner.rebuild()
    assert done == runner.status().head
    assert {t: snapshot(k.database_url, t) for t in TABLES} == incremental
