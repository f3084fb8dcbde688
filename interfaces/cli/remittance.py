"""`careledger remittance import FILE --practice SLUG`: read, match and post an 835, print the report.

Exits 0 for any file it could read, imbalances or not; 1 with a one-line message for a file it
could not read, a missing file or an unknown practice.
"""

from __future__ import annotations

import getpass
import os
from decimal import Decimal
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Column, Table

from application import audit
from application.remittance import ProcessingReport
from domain.errors import DomainError
from domain.practices.practice import practice_id_for
from interfaces.container import Container
from interfaces.logging import configure_logging

app = typer.Typer(help="835 remittances (ERA): import, match and post.", no_args_is_help=True)
console = Console()
errors = Console(stderr=True)


def fail(message: str) -> typer.Exit:
    errors.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(1)


@app.command("import")
def import_file(
    file: Path = typer.Argument(..., help="an X12 835 file", show_default=False),
    practice: str = typer.Option(..., "--practice", help="practice slug"),
    rules_version: int | None = typer.Option(None, "--rules-version", min=1,
                                             help="matching rules version (default: the latest run's, else today's)"),
) -> None:
    """Import an 835: keep the file, match its claims to billed charges, post payments and
    adjustments, and print the processing report."""
    if not file.is_file():
        raise fail(f"{file}: no such file.")
    data = file.read_bytes()
    configure_logging(os.environ.get("CARELEDGER_LOG_LEVEL", "WARNING"))
    k = Container()
    try:
        k.migrate()
        if not k.practices.exists(practice):
            raise fail(f"No practice with the slug {practice!r}.")
        practice_id = practice_id_for(practice)
        k.runner("billing_ledger").catch_up()
        columns = (TextColumn("[bold]posting"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        actor = audit.system(f"cli:{getpass.getuser()}", practice_id=practice_id)
        with audit.acting(actor), Progress(*columns, console=console, transient=True) as bar:
            task = bar.add_task("posting", total=None)
            try:
                report = k.remittances.import_file(
                    practice_id, file.name, data, rules_version,
                    progress=lambda done, total: bar.update(task, completed=done, total=total),
                )
            except DomainError as e:
                raise fail(e.message) from None
        k.runner("remittances").catch_up()
    finally:
        k.close()
    print_report(report)


def _money(value: Decimal | None) -> str:
    return "" if value is None else f"{value:,.2f}"


def print_report(report: ProcessingReport) -> None:
    state = "new file" if report.created else "uploaded before"
    console.print(f"[bold]Remittance[/bold] {report.remittance_id}  {report.filename} ({state}, "
                  f"{report.size:,} bytes, sha256 {report.sha256[:12]}…)", highlight=False)
    console.print(f"Run {report.run} under matching rules v{report.rules_version}; status {report.status}.",
                  highlight=False)
    levels = report.matched_by_level
    summary = Table("claims", "level 1", "level 2", "level 3", "level 4", "manual", "unmatched", "auto-match rate",
                    title="Matching")
    summary.add_row(str(report.claims), *(str(levels[k]) for k in ("1", "2", "3", "4", "manual")),
                    str(report.unmatched), f"{report.auto_match_rate * 100:.1f}%")
    console.print(summary)
    t = report.totals
    totals = Table("", Column("amount", justify="right"), title="Totals")
    for label, value in (("charged", t.charged), ("paid (CLP04)", t.paid), ("adjusted (CAS)", t.adjusted),
                         ("patient responsibility", t.patient_responsibility),
                         ("provider adjustments (PLB)", t.provider_adjustments), ("payment (BPR02)", t.payment),
                         ("posted payments", t.posted_payments), ("posted adjustments", t.posted_adjustments),
                         ("unmatched paid", t.unmatched_paid)):
        totals.add_row(label, _money(value))
    console.print(totals)
    sets = Table("ST", "payer", "trace", Column("payment", justify="right"), "claims", "balanced", "posting",
                 title="Transaction sets")
    for ts in report.transaction_sets:
        sets.add_row(f"{ts.index} ({ts.control_number})", ts.payer, ts.trace, _money(ts.payment), str(ts.claims),
                     "yes" if ts.balanced else "[red]no[/red]", f"{ts.posting} {ts.note}".strip())
    console.print(sets)
    if report.findings:
        findings = Table("level", "severity", "code", "where", "message", title="Balancing findings")
        for f in report.findings:
            findings.add_row(f.level, f.severity, f.code, f.location, f.message)
        console.print(findings)
    else:
        console.print("Balancing findings: none (line, claim and transaction levels balance).")
    for d in report.duplicates:
        other = f" (remittance {d.other_remittance_id})" if d.other_remittance_id else ""
        console.print(f"[yellow]Duplicate payment:[/yellow] transaction set {d.transaction_set}, payer {d.payer_id}, "
                      f"trace {d.trace} was recorded from another file{other}; nothing of it was posted.",
                      highlight=False)
    for r in report.refused:
        console.print(f"[yellow]Not posted:[/yellow] {r.key}: {r.reason}", highlight=False)
    console.print(f"Postings written: {report.postings_written}.", highlight=False)
