"""The `careledger` command."""

from __future__ import annotations

import getpass
import os

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from application import audit
from domain.identity.membership import membership_id_for
from domain.practices.practice import practice_id_for
from interfaces.cli.remittance import app as remittance_app
from interfaces.container import PROJECTIONS, Container
from interfaces.logging import configure_logging

app = typer.Typer(help="CareLedger: event-sourced back end for care practices.", no_args_is_help=True)
projections_app = typer.Typer(help="Read models: status, rebuild, run.", no_args_is_help=True)
app.add_typer(projections_app, name="projections")
app.add_typer(remittance_app, name="remittance")
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
    email: str = typer.Argument("admin@demo.careledger.test", help="a member's e-mail address"),
    practice: str = typer.Option("demo", help="practice slug"),
) -> None:
    """Start a session for a member without their password and print its access token
    (development and scripts; audited as the CLI user). Sign-in proper is POST /api/v1/auth/login."""
    from interfaces.http.tokens import Claims, issue

    k = container()
    with audit.acting(cli_actor()):
        t = k.accounts.start_session(membership_id_for(practice_id_for(practice), email))
    claims = Claims(t.user_id, t.member_id, t.session_id, t.role, t.practice_id)
    print(issue(k.secrets.token_secret, claims, k.identity_policy.access_ttl, t.issued_at))
    k.close()


@app.command()
def invite(
    practice: str = typer.Argument(..., help="practice slug"),
    email: str = typer.Argument(...),
    role: str = typer.Argument(..., help="owner, admin, clinician, ..."),
    name: str = typer.Argument(..., help="full name"),
) -> None:
    """Invite someone to a practice (e.g. its first owner); the invitation goes out by mail."""
    k = container()
    pid = practice_id_for(practice)
    with audit.acting(audit.system(f"cli:{getpass.getuser()}", practice_id=pid)):
        invitation = k.members.invite(pid, email, name, role)
    console.print(f"Invited {email} as {role} (membership {invitation.saved.id}); mail {invitation.mail_id}.")
    k.close()


@app.command()
def sweep() -> None:
    """Run the time-driven sweeps now (HIPAA training reminders and lapses)."""
    from interfaces.sweeps import sweep_hipaa_training

    k = container()
    for runner in k.runners:
        runner.catch_up()
    result = sweep_hipaa_training(k)
    console.print(f"HIPAA training: {len(result.reminded)} reminded, {len(result.lapsed)} lapsed.")
    k.close()


@app.command()
def worker(
    threads: int = typer.Option(4, min=1, max=64, help="dramatiq worker threads"),
    sweep_seconds: float = typer.Option(5.0, min=0.05, help="seconds between sweeps for due work"),
) -> None:
    """Run the background worker: the dramatiq actors (reminders) on the Redis broker and the
    periodic sweeps. Stops gracefully on SIGTERM/SIGINT."""
    from interfaces.workers.runtime import run_worker

    k = container()
    configure_logging(k.settings.log_level)
    run_worker(k, threads=threads, sweep_seconds=sweep_seconds)
    k.close()


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
    only: list[str] = typer.Option([], "--only", help="with --once: just these read models (repeatable)"),
) -> None:
    """Run the projections (a separate process from the API when scaling out)."""
    k = container()
    if once:
        try:
            runners = [k.runner(name) for name in only] if only else list(k.runners)
        except KeyError as e:
            console.print(f"[red]{e.args[0]}[/red]")
            raise typer.Exit(2) from None
        for runner in runners:
            runner.batch_size = batch_size
            console.print(f"{runner.name}: {runner.catch_up()} events")
        k.close()
        return
    for runner in k.runners:
        runner.batch_size = batch_size
    live = k.live_projections()
    live.start()
    try:
        live.wait()
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
    worker: bool = typer.Option(True, help="also run the background worker (reminders, sweeps) in-process"),
) -> None:
    """Start everything: database (embedded unless DATABASE_URL), migrations, demo data, API."""
    demo()
    k = Container()
    from interfaces.cli.demo import demo_logins

    console.print(f"\n[bold]Demo logins[/bold] (password {k.settings.demo_password!r}, MFA off):")
    for slug, role, email in demo_logins():
        console.print(f"  {slug:6} {role:19} {email}")
    console.print(
        f"\n  curl -s -X POST http://{host}:{port}/api/v1/auth/login -H 'content-type: application/json' "
        f"-d '{{\"email\": \"admin@demo.careledger.test\", \"password\": \"{k.settings.demo_password}\"}}'",
        soft_wrap=True,
    )
    console.print(f"\nAPI on http://{host}:{port}  (docs: /docs, schema: /openapi.json, health: /health)\n")
    k.close()
    background = None
    if worker:
        from interfaces.workers.runtime import start_in_background

        background = start_in_background(container())
    try:
        serve(host=host, port=port, projections=True)
    finally:
        if background is not None:
            background.stop_and_join()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
