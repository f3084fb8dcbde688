"""`careledger audit seal|verify`: tamper evidence for the event store (see adapters.audit_chain)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from adapters.audit_chain import AuditChain, VerifyReport, fingerprint
from adapters.secrets import load_secrets
from adapters.settings import Settings
from interfaces.container import Container

app = typer.Typer(
    help="Tamper evidence: seal the event log into signed hash-chained blocks, verify them.",
    no_args_is_help=True,
)

BLOCK_SIZE = typer.Option(1000, "--block-size", min=1, help="Events per sealed block at most.")
PUBLIC_KEY = typer.Option(
    None,
    "--public-key",
    help="Verify with this Ed25519 public key (base64 of its 32 raw bytes) instead of the "
    "configured signing key: an auditor needs no secret.",
)


@contextmanager
def _bar(label: str) -> Iterator[Callable[[int, int], None]]:
    columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def _public_key(value: str) -> Ed25519PublicKey:
    try:
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError) as e:
        raise typer.BadParameter(f"not a base64 Ed25519 public key: {e}") from e


@app.command()
def seal(block_size: int = BLOCK_SIZE) -> None:
    """Seal every event recorded up to now into signed blocks."""
    container = Container()
    try:
        container.migrate()
        chain = AuditChain(container.pool, container.secrets.audit_signing_key, block_size)
        with _bar("Sealing") as progress:
            result = chain.seal(progress=progress)
    finally:
        container.close()
    tip = (
        f"chain ends at block {result.last_block_no} (event {result.last_notification_id}), root {result.root.hex()}"
        if result.root is not None
        else "the chain is empty"
    )
    if result.events_sealed:
        typer.echo(f"Sealed {result.events_sealed} events in {result.blocks_sealed} blocks; {tip}.")
    else:
        typer.echo(f"Nothing new to seal; {tip}.")


def _print_report(report: VerifyReport) -> None:
    if report.ok:
        typer.echo(
            f"OK: {report.events_checked} events in {report.blocks_checked} blocks verified; "
            f"{report.unsealed_tail} events not sealed yet"
        )
        if report.last_root is not None:
            typer.echo(
                f"Latest root: {report.last_root.hex()} (block {report.blocks_checked - 1}, "
                f"event {report.last_notification_id}, key {report.key_fingerprint})"
            )
        return
    first = report.first_problem
    assert first is not None
    typer.echo(f"TAMPERED: {first.message}")
    for problem in report.problems[1:10]:
        typer.echo(f"  also: {problem.message}")
    if report.problem_count > 1:
        typer.echo(
            f"{report.problem_count} problems in {report.blocks_checked} blocks "
            f"({report.events_checked} sealed events checked; "
            f"{report.unsealed_tail} events not sealed yet)"
        )


@app.command()
def verify(public_key: str | None = PUBLIC_KEY) -> None:
    """Check every sealed block, the chain between them and every sealed event.

    Exits 0 when all is intact, 1 naming the first event (or block) that was tampered with.
    """
    key = _public_key(public_key) if public_key else None
    container = Container()
    try:
        container.migrate()
        chain = AuditChain(container.pool, key or container.secrets.audit_signing_key)
        with _bar("Verifying") as progress:
            report = chain.verify(progress=progress)
    finally:
        container.close()
    _print_report(report)
    if not report.ok:
        raise typer.Exit(code=1)


@app.command("public-key")
def public_key_command() -> None:
    """Print the audit public key (base64) and its fingerprint, for `verify --public-key`."""
    key = load_secrets(Settings()).audit_signing_key.public_key()
    typer.echo(f"{base64.b64encode(key.public_bytes_raw()).decode()}  {fingerprint(key)}")
