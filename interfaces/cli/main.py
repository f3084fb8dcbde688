"""The `careledger` command."""

from __future__ import annotations

import getpass
import os
from datetime import timedelta

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from application import audit
from domain.practices.practice import practice_id_for
from interfaces.container import PROJECTIONS, Container
from interfaces.http.tokens import Claims, issue
from interfaces.logging import configure_logging

app = typer.Typer(help="CareLedger: event-sourced back end for care practices.", no_args_is_help=True)
projections_app = typer.Typer(help="Read models: status, rebuild, run.", no_args_is_help=True)
app.add_typer(projections_app, name="projections")
console = Console()


def _audit_app() -> typer.Typer | None:
    try:
        from interfaces.cli.audit import app as audit_app
    except ImportError:
        return None
    return audit_app


if (_audit := _audit_app()) is not None:
    app.add_typer(_audit, name="audit")


def cli_actor() -> audit.AuditContext:
    return audit.system(f"cli:{getpass.getuser()}")


def container() -> Container:
    configure_logging(os.environ.get("CARELEDGER_LOG_LEVEL", "WARNING"))
    k = Container()
    k.migrate()
    return k


def progress_bar() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
        console=console,
    )


@app.command()
def migrate() -> None:
    """Apply pending database migrations."""
    k = Container()
    console.print(f"{k.migrate()} migration(s) applied.")
    k.close()


@app.command()
def demo() -> None:
    """Load the demo practices (slugs `demo` and `other`) if they are not loaded yet."""
    from interfaces.cli.demo import demo_steps, load_demo

    k = container()
    with progress_bar() as bar:
        task = bar.add_task("demo data", total=demo_steps(), rate="")
        added = load_demo(k, step=lambda _: bar.advance(task))
    console.print(f"Demo data ready ({added} new aggregates).")
    for runner in k.runners:
        runner.catch_up()
    k.close()


@app.command()
def token(
    practice: str = typer.Option("demo", help="practice slug"),
    role: str = typer.Option("admin"),
    actor: str | None = typer.Option(None, help="actor id (default: <role>@<practice>.careledger.test)"),
    hours: float = typer.Option(12.0, help="validity"),
) -> None:
    """Print a bearer token for the API (development and scripts)."""
    k = Container()
    claims = Claims(actor or f"{role}@{practice}.careledger.test", role, practice_id_for(practice))
    print(issue(k.secrets.token_secret, claims, timedelta(hours=hours)))


@projections_app.command("status")
def projections_status() -> None:
    """Position and lag of each projection."""
    k = container()
    table = Table("projection", "position", "head", "lag")
    for runner in k.runners:
        s = runner.status()
        table.add_row(s.name, str(s.position), str(s.head), str(s.lag))
    console.print(table)
    k.close()


@projections_app.command("rebuild")
def projections_rebuild(
    name: str = typer.Argument(..., help=f"one of: {', '.join(PROJECTIONS)}"),
    batch_size: int = typer.Option(500, min=1, max=10_000),
) -> None:
    """Drop a read model and replay it from the first event."""
    k = container()
    try:
        runner = k.runner(name)
    except KeyError as e:
        console.print(f"[red]{e.args[0]}[/red]")
        raise typer.Exit(2) from None
    runner.batch_size = batch_size
    import time

    head = k.store.recorder.max_notification_id() or 0
    started = time.perf_counter()
    with progress_bar() as bar:
        task = bar.add_task(f"rebuild {name}", total=head, rate="")

        def advance(position: int, latest: int) -> None:
            rate = position / max(time.perf_counter() - started, 1e-9)
            bar.update(task, completed=position, total=max(latest, position), rate=f"{rate:,.0f} ev/s")

        done = runner.rebuild(progress=advance)
    elapsed = time.perf_counter() - started
    console.print(f"Rebuilt {name}: {done} events in {elapsed:.2f}s ({done / max(elapsed, 1e-9):,.0f} events/s).")
    k.close()


@projections_app.command("run")
def projections_run(
    once: bool = typer.Option(False, help="catch up and exit instead of following live"),
    batch_size: int = typer.Option(500, min=1, max=10_000),
) -> None:
    """Run the projections (a separate process from the API when scaling out)."""
    k = container()
    for runner in k.runners:
        runner.batch_size = batch_size
    if once:
        for runner in k.runners:
            console.print(f"{runner.name}: {runner.catch_up()} events")
        k.close()
        return
    live = k.live_projections()
    live.start()
    try:
        while live._thread is not None and live._thread.is_alive():
            live._thread.join(1.0)
    except KeyboardInterrupt:
        live.stop()
    k.close()


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1"),
    port: int = typer.Option(int(os.environ.get("PORT", "8000"))),
    projections: bool = typer.Option(True, help="run the live projections in this process"),
) -> None:
    """Serve the HTTP API (uses DATABASE_URL, else the embedded PostgreSQL)."""
    import uvicorn

    from interfaces.http.app import create_app

    k = container()
    configure_logging(k.settings.log_level)
    uvicorn.run(create_app(k, background=projections), host=host, port=port, log_level="warning")


@app.command()
def run(
    host: str = typer.Option("127.0.0.1"),
    port: int = typer.Option(int(os.environ.get("PORT", "8000"))),
) -> None:
    """Start everything: database (embedded unless DATABASE_URL), migrations, demo data, API."""
    demo()
    k = Container()
    console.print("\n[bold]Demo logins[/bold] (bearer tokens, valid 12 h; `careledger token` makes more):")
    from interfaces.cli.demo import PRACTICES, staff_email

    for spec in PRACTICES:
        for role, _, _ in spec.roles:
            claims = Claims(staff_email(role, spec.slug), role, practice_id_for(spec.slug))
            bearer = issue(k.secrets.token_secret, claims, timedelta(hours=12))
            console.print(f"  {spec.slug:6} {role:18} {bearer}", soft_wrap=True)
    console.print(f"\nAPI on http://{host}:{port}  (docs: /docs, schema: /openapi.json, health: /health)\n")
    k.close()
    serve(host=host, port=port, projections=True)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
