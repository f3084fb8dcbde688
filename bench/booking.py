"""Booking: `POST /api/v1/appointments` throughput and latency through real HTTP.

`careledger serve` (live projections in process, log level INFO, API rate limit lifted) runs on a
fresh database. Set-up goes through the API where a practice would use it: a front-desk user signs
in (`POST /api/v1/auth/login`), gives every clinician weekly hours (09:00-17:00 Monday to Friday,
lunch 12:00-13:00) and registers clients, each with an informed consent. Only the practice, its
BAA, the front desk's account and the clinicians' memberships (invited) are created in process, as
an owner's bootstrap would.

Each measured run books `follow_up` visits (30 minutes + 10 minutes' buffer, so slots are 40
minutes apart) on distinct free slots of its *own* fresh clinicians, spread so that consecutive
requests go to different clinicians: every request should give 201, and anything else is counted
as an error. Runs start with empty schedules, so runs are comparable; the depth table shows what
a growing schedule costs (a ClinicianSchedule has no snapshots, and every booking loads it).

The contended run sends 8 workers at consecutive slots of one clinician: the slots are distinct,
so every request should succeed, but they collide on the schedule's version and retry (a booking
that loses all 12 attempts gets 409 `conflict`, counted as an error). Failed attempts are counted
from the database: each refused save has taken two notification ids (the appointment's Booked
row and the schedule's Reserved row) that no committed row carries, so
retries = (ids the sequence handed out - rows committed) / 2.

The server gets its own Redis prefix (sessions, rate-limit counters) per run. `--profile N` also
books N visits through `SchedulingService.book` in this process under cProfile (no HTTP, no
projections) and prints where the time goes.

Usage: .venv/bin/python bench/booking.py [--n 1000] [--concurrency 1 8] [--rounds 2] [--warmup 200]
       [--clinicians 10] [--clients 200] [--contended 400] [--depth 500] [--profile N]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import psutil
import psycopg
from _common import (
    VENV_BIN,
    RssSampler,
    careledger_env,
    dbname_of,
    exit_on_sigterm,
    free_port,
    fresh_database,
    get_json,
    log,
    machine,
    markdown_table,
    median,
    mib,
    note_load,
    running,
    use_careledger_env,
    wait_http,
    write_results,
)
from http_register import SERVER_LIMITS

SLUG = "bench"
ZONE = "America/New_York"
PASSWORD = "Bench-Password-2026!"  # noqa: S105 - a throw-away account
FRONT_DESK = f"frontdesk@{SLUG}.careledger.test"
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")
HOURS = {day: [["09:00", "17:00"]] for day in WEEKDAYS}
BREAKS = {day: [["12:00", "13:00"]] for day in WEEKDAYS}
TYPE, DURATION, BUFFER_AFTER = "follow_up", 30, 10  # the built-in follow-up: 30 min + 10 min after
WINDOW_DAYS = 85  # inside the type's 90-day booking window


# --- an HTTP load driver (threads, one keep-alive connection each) --------------------------------


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: Any = None


@dataclass
class Outcome:
    status: int
    code: str | None
    ms: float
    body: Any = None


@dataclass
class Load:
    concurrency: int
    seconds: float
    outcomes: list[Outcome]  # in the order the requests were listed

    @property
    def ok(self) -> list[Outcome]:
        return [o for o in self.outcomes if 200 <= o.status < 300]

    @property
    def errors(self) -> int:
        return len(self.outcomes) - len(self.ok)

    @property
    def error_codes(self) -> dict[str, int]:
        return dict(Counter(f"{o.status} {o.code or ''}".strip() for o in self.outcomes if o.status >= 300))

    @property
    def req_per_s(self) -> float:
        return round(len(self.ok) / self.seconds, 1) if self.seconds else 0.0

    def pct(self, p: float) -> float:
        return percentile([o.ms for o in self.ok], p)


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest rank, as the peers' load generator computes it."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 2)


def drive(base: str, token: str | None, requests: Sequence[Request], concurrency: int,
          keep_bodies: bool = False) -> Load:
    """Send `requests` with `concurrency` workers, each taking the next unsent one."""
    url = urlparse(base)
    outcomes: list[Outcome | None] = [None] * len(requests)
    lock = threading.Lock()
    cursor = iter(range(len(requests)))
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    failures: list[BaseException] = []

    def worker() -> None:
        conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=120)
        try:
            while True:
                with lock:
                    i = next(cursor, None)
                if i is None:
                    return
                r = requests[i]
                body = None if r.body is None else json.dumps(r.body)
                started = time.perf_counter()
                conn.request(r.method, r.path, body, headers)
                response = conn.getresponse()
                raw = response.read()
                ms = (time.perf_counter() - started) * 1000
                parsed: Any = None
                code = None
                if response.status >= 300 or keep_bodies:
                    try:
                        parsed = json.loads(raw)
                        code = parsed.get("code") if isinstance(parsed, dict) else None
                    except ValueError:
                        parsed = raw[:200].decode(errors="replace")
                outcomes[i] = Outcome(response.status, code, ms, parsed if keep_bodies or code is None else None)
        except BaseException as e:  # surfaced below, so a broken worker cannot pass for a fast one
            failures.append(e)
        finally:
            conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, name=f"load-{n}") for n in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"load worker failed: {failures[0]!r}") from failures[0]
    return Load(concurrency, seconds, [o for o in outcomes if o is not None])


def sign_in(base: str, email: str, password: str) -> str:
    """A real sign-in: `POST /api/v1/auth/login`, as the front desk's browser does."""
    load = drive(base, None, [Request("POST", "/api/v1/auth/login",
                                      {"email": email, "password": password, "practice": SLUG})], 1,
                 keep_bodies=True)
    outcome = load.outcomes[0]
    if outcome.status != 200 or outcome.body.get("mfa_pending"):
        raise RuntimeError(f"sign-in of {email} failed: {outcome.status} {outcome.body}")
    return str(outcome.body["access_token"])


def check_all_ok(load: Load, what: str) -> None:
    if load.errors:
        sample = next(o for o in load.outcomes if o.status >= 300)
        raise RuntimeError(f"{what}: {load.errors} errors {load.error_codes}, e.g. {sample}")


# --- the server ---------------------------------------------------------------------------------


@dataclass
class Server:
    base: str
    proc: Any
    rss: RssSampler
    log_file: Path
    db: psycopg.Connection[Any]  # opened before the load, so a busy server cannot refuse it

    def cpu_seconds(self) -> float:
        return float(sum(psutil.Process(self.proc.pid).cpu_times()[:2]))

    def lags(self) -> dict[str, int]:
        checks = get_json(f"{self.base}/health")["checks"]["projections"]
        return {name: int(c["lag"]) for name, c in checks.items()}

    def wait_caught_up(self, timeout: float = 300.0) -> float:
        """Seconds until every live projection has caught up with the log."""
        started = time.perf_counter()
        while any(self.lags().values()):
            if time.perf_counter() - started > timeout:
                raise TimeoutError(f"projections still behind after {timeout:.0f}s: {self.lags()}")
            time.sleep(0.05)
        return round(time.perf_counter() - started, 3)

    def tail(self) -> str:
        return self.log_file.read_text(errors="replace")[-3000:]


def new_window(rss: RssSampler) -> None:
    """Start a fresh peak window. Twice, a sampling interval apart: the sampler thread may be
    holding the old peak while it reads the RSS, and would write it back after a single reset."""
    rss.reset()
    time.sleep(4 * rss.interval)
    rss.reset()


def log_counters(conn: psycopg.Connection[Any], after: int = 0) -> tuple[int, int]:
    """(the last notification id handed out, committed rows with an id above `after`)."""
    row = conn.execute("SELECT pg_get_serial_sequence('careledger_events', 'notification_id')").fetchone()
    assert row is not None
    seq = conn.execute(f"SELECT last_value, is_called FROM {row[0]}").fetchone()
    count = conn.execute("SELECT count(*) FROM careledger_events WHERE notification_id > %s", (after,)).fetchone()
    assert seq is not None
    assert count is not None
    return (int(seq[0]) if seq[1] else 0), int(count[0])


# --- set-up -------------------------------------------------------------------------------------


def bootstrap(url: str, data_dir: Path, clinicians: int) -> list[str]:
    """Migrate; register the practice with its BAA; provision the front desk (password and HIPAA
    training on file) and invite the clinicians (one save; they never sign in here)."""
    from application import audit
    from domain.identity.membership import Membership
    from domain.practices.practice import practice_id_for
    from interfaces.container import Container

    use_careledger_env(data_dir, url)
    os.environ.update(SERVER_LIMITS)
    k = Container(database_url=url)
    try:
        k.migrate()
        pid = practice_id_for(SLUG)
        now = k.clock.now()
        with audit.acting(audit.system("system:bench", practice_id=pid)):
            k.practices.register("Bench Practice", SLUG, ZONE)
            k.practices.sign_baa(pid, "Bench Owner", None, "v1", now.date())
            k.members.provision(pid, FRONT_DESK, "Bench Front Desk", "front_desk", PASSWORD,
                                hipaa_training_on=now.date())
            invited = [
                Membership.invite(pid, f"clinician{i}@{SLUG}.careledger.test", f"Clinician {i}", "clinician",
                                  "0" * 64, now + timedelta(days=7), license_type="LPC")
                for i in range(clinicians)
            ]
            k.store.save(*invited)
        return [str(m.id) for m in invited]
    finally:
        k.close()


def set_up_over_http(base: str, token: str, clinicians: Sequence[str], n_clients: int) -> list[str]:
    """Working hours for every clinician, then clients with an informed consent; returns client ids."""
    load = drive(base, token, [
        Request("PUT", f"/api/v1/clinicians/{c}/schedule/working-hours", {"hours": HOURS, "breaks": BREAKS})
        for c in clinicians
    ], 8)
    check_all_ok(load, "working hours")
    load = drive(base, token, [
        Request("POST", "/api/v1/clients", {
            "first_name": f"Client{i}", "last_name": ("Smith", "Nguyen", "Okafor", "Garcia")[i % 4],
            "date_of_birth": f"{1950 + i % 50}-0{1 + i % 9}-1{i % 10}", "email": f"client{i}@example.test",
            "phone": f"+1404555{i % 10_000:04d}",
        })
        for i in range(n_clients)
    ], 8, keep_bodies=True)
    check_all_ok(load, "clients")
    clients = [str(o.body["id"]) for o in load.outcomes]
    now = datetime.now(ZoneInfo("UTC"))
    consent = {"type": "informed_consent", "signed_at": (now - timedelta(days=30)).isoformat(),
               "expires_at": (now + timedelta(days=335)).isoformat(), "signed_by": "The client"}
    load = drive(base, token, [Request("POST", f"/api/v1/clients/{c}/consents", consent) for c in clients], 8)
    check_all_ok(load, "consents")
    return clients


def slot_times() -> list[clock]:
    """Start times in a working day, one follow-up (plus its buffer) after another, lunch kept free."""
    times: list[clock] = []
    for first, last in ((clock(9), clock(12)), (clock(13), clock(17))):
        at = datetime.combine(date.min, first)
        while at + timedelta(minutes=DURATION) <= datetime.combine(date.min, last):
            times.append(at.time())
            at += timedelta(minutes=DURATION + BUFFER_AFTER)
    return times


def slots(clinicians: Sequence[str]) -> Iterator[tuple[str, datetime]]:
    """Every free slot of these clinicians from tomorrow on, by day, time, then clinician: with
    several clinicians consecutive requests go to different schedules, with one they are adjacent."""
    tz = ZoneInfo(ZONE)
    today = datetime.now(tz).date()
    for offset in range(1, WINDOW_DAYS + 1):
        day = today + timedelta(days=offset)
        if day.weekday() >= len(WEEKDAYS):
            continue
        for t in slot_times():
            for c in clinicians:
                yield c, datetime.combine(day, t, tz)


def bookings(clinicians: Sequence[str], clients: Sequence[str], n: int) -> list[Request]:
    taken = list(zip(range(n), slots(clinicians), strict=False))
    if len(taken) < n:
        raise SystemExit(f"only {len(taken)} free slots for {n} bookings on {len(clinicians)} clinician(s) "
                         f"inside the booking window: use more --clinicians or a smaller --n")
    return [
        Request("POST", "/api/v1/appointments", {
            "client_id": clients[i % len(clients)], "clinician_id": c,
            "appointment_type": TYPE, "starts_at": starts_at.isoformat(),
        })
        for i, (c, starts_at) in taken
    ]


# --- measuring ----------------------------------------------------------------------------------


@dataclass
class Run:
    case: str
    round: int
    concurrency: int
    n: int
    clinicians: int
    ok: int
    errors: int
    error_codes: dict[str, int]
    req_per_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    retries: int
    aborted_ids: int
    server_cpu_ms_per_req: float
    server_cpu_util: float
    peak_rss_mib: float
    projection_catch_up_s: float
    latencies_ms: list[float] = field(default_factory=list, repr=False)


def measure(server: Server, token: str, case: str, round_no: int, requests: list[Request],
            concurrency: int, clinicians: int) -> Run:
    new_window(server.rss)
    last_before, _ = log_counters(server.db)
    cpu_before = server.cpu_seconds()
    load = drive(server.base, token, requests, concurrency)
    cpu_s = server.cpu_seconds() - cpu_before
    last_after, rows = log_counters(server.db, last_before)
    peak = server.rss.reset()
    catch_up = server.wait_caught_up()
    aborted = (last_after - last_before) - rows
    run = Run(
        case=case, round=round_no, concurrency=concurrency, n=len(requests), clinicians=clinicians,
        ok=len(load.ok), errors=load.errors, error_codes=load.error_codes, req_per_s=load.req_per_s,
        p50_ms=load.pct(0.5), p99_ms=load.pct(0.99), max_ms=load.pct(1.0),
        retries=aborted // 2, aborted_ids=aborted,
        server_cpu_ms_per_req=round(1000 * cpu_s / max(len(requests), 1), 2),
        server_cpu_util=round(cpu_s / load.seconds, 2), peak_rss_mib=mib(peak),
        projection_catch_up_s=catch_up, latencies_ms=[round(o.ms, 2) for o in load.outcomes],
    )
    log(f"round {round_no} {case:9} c={concurrency} n={run.n}: {run.req_per_s:7.1f} req/s, p50 {run.p50_ms} ms, "
        f"p99 {run.p99_ms} ms, errors {run.errors} {run.error_codes or ''}, retries {run.retries}, "
        f"server CPU {run.server_cpu_ms_per_req} ms/req ({run.server_cpu_util:.0%} of a core), "
        f"peak RSS {run.peak_rss_mib} MiB, projections caught up {catch_up}s later")
    return run


def summarise(runs: list[Run]) -> list[dict[str, Any]]:
    rows = []
    for case, c in dict.fromkeys((r.case, r.concurrency) for r in runs):
        mine = [r for r in runs if r.case == case and r.concurrency == c]
        rows.append({
            "case": case, "concurrency": c, "n": mine[0].n, "clinicians": mine[0].clinicians,
            "runs": len(mine),
            "req_per_s": median([r.req_per_s for r in mine]),
            "p50_ms": median([r.p50_ms for r in mine]),
            "p99_ms": median([r.p99_ms for r in mine]),
            "errors": sum(r.errors for r in mine),
            "retries_per_booking": round(sum(r.retries for r in mine) / sum(r.n for r in mine), 2),
            "server_cpu_ms_per_req": median([r.server_cpu_ms_per_req for r in mine]),
            "server_cpu_util": median([r.server_cpu_util for r in mine]),
            "peak_rss_mib": max(r.peak_rss_mib for r in mine),
        })
    return rows


def depth_buckets(run: Run, size: int = 100) -> list[dict[str, Any]]:
    """Latency by how many bookings the clinician's schedule already held (sequential requests)."""
    out = []
    for start in range(0, len(run.latencies_ms), size):
        part = run.latencies_ms[start:start + size]
        out.append({"held_from": start, "held_to": start + len(part) - 1,
                    "p50_ms": percentile(part, 0.5), "p99_ms": percentile(part, 0.99)})
    return out


def profile_in_process(url: str, clinician: str, clients: Sequence[str], n: int) -> str:
    """cProfile of `SchedulingService.book` alone (no HTTP, no projections): where a booking's
    server time goes. Cumulative times, top entries."""
    import cProfile
    import io
    import pstats
    from uuid import UUID

    from application import audit
    from application.scheduling.booking import Booking
    from domain.practices.practice import practice_id_for
    from interfaces.container import Container

    k = Container(database_url=url)
    pid = practice_id_for(SLUG)
    profiler = cProfile.Profile()
    try:
        with audit.acting(audit.system("system:bench", practice_id=pid)):
            for i, r in enumerate(bookings([clinician], clients, n)):
                booking = Booking(UUID(r.body["client_id"]), UUID(clinician), TYPE,
                                  datetime.fromisoformat(r.body["starts_at"]))
                if i == 0:
                    k.scheduling.book(pid, booking)  # connections and caches warm
                    continue
                profiler.enable()
                k.scheduling.book(pid, booking)
                profiler.disable()
    finally:
        k.close()
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(30)
    return text.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="bookings per measured run")
    parser.add_argument("--warmup", type=int, default=200, help="bookings before measuring (c=8)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--clinicians", type=int, default=10, help="fresh clinicians per run")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--contended", type=int, default=400,
                        help="bookings of one clinician's consecutive slots at c=8 per round (0: skip)")
    parser.add_argument("--depth", type=int, default=500,
                        help="sequential bookings on one clinician, to show the schedule's growth (0: skip)")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="also cProfile N bookings through SchedulingService in process (to stderr)")
    args = parser.parse_args()
    exit_on_sigterm()
    load_at_start = note_load()

    groups = 1 + args.rounds * len(args.concurrency)
    singles = (args.rounds if args.contended else 0) + (1 if args.depth else 0) + (1 if args.profile else 0)
    runs: list[Run] = []
    setup: dict[str, Any] = {}
    depth_run: Run | None = None
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="careledger-bench-")))
        url = stack.enter_context(fresh_database("booking"))
        started = time.perf_counter()
        clinicians = bootstrap(url, tmp / "var", groups * args.clinicians + singles)
        setup["bootstrap_s"] = round(time.perf_counter() - started, 2)
        log(f"bootstrapped the practice, a front desk and {len(clinicians)} clinicians "
            f"in {setup['bootstrap_s']}s")

        port = free_port()
        env = {**careledger_env(tmp / "var", url), "CARELEDGER_LOG_LEVEL": "INFO", **SERVER_LIMITS,
               "CARELEDGER_REDIS_PREFIX": f"bench:{dbname_of(url)}:{os.getpid()}"}  # its own sessions and rate limits
        log_file = tmp / "careledger.log"
        proc = stack.enter_context(running(
            [str(VENV_BIN / "careledger"), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env, log_file=log_file,
        ))
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/health", proc)
        db = stack.enter_context(psycopg.connect(url, autocommit=True))
        server = Server(base, proc, stack.enter_context(RssSampler(proc.pid)), log_file, db)
        try:
            token = sign_in(base, FRONT_DESK, PASSWORD)
            started = time.perf_counter()
            clients = set_up_over_http(base, token, clinicians, args.clients)
            setup["http_setup_s"] = round(time.perf_counter() - started, 2)
            setup["catch_up_s"] = server.wait_caught_up()
            setup["setup_peak_rss_mib"] = mib(server.rss.reset())
            log(f"signed in; hours for {len(clinicians)} clinicians, {len(clients)} clients with consent "
                f"over HTTP in {setup['http_setup_s']}s")

            pool = iter(clinicians)

            def take(n: int) -> list[str]:
                return [next(pool) for _ in range(n)]

            log(f"warm-up: {args.warmup} bookings at c=8")
            warm = drive(base, token, bookings(take(args.clinicians), clients, args.warmup), 8)
            check_all_ok(warm, "warm-up")
            server.wait_caught_up()

            for round_no in range(1, args.rounds + 1):
                for c in args.concurrency:
                    group = take(args.clinicians)
                    runs.append(measure(server, token, "spread", round_no, bookings(group, clients, args.n),
                                        c, len(group)))
                if args.contended:
                    runs.append(measure(server, token, "contended", round_no,
                                        bookings(take(1), clients, args.contended), 8, 1))
            if args.depth:
                log(f"depth: {args.depth} sequential bookings on one clinician")
                depth_run = measure(server, token, "depth", 1, bookings(take(1), clients, args.depth), 1, 1)
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited early ({proc.returncode})")
            if args.profile:
                log(f"profiling {args.profile} bookings in process")
                print(profile_in_process(url, take(1)[0], clients, args.profile + 1), file=sys.stderr)
        except BaseException:
            log(f"server log tail:\n{server.tail()}")
            raise

    summary = summarise(runs)
    table = markdown_table(
        ["case", "conc.", "bookings", "clinicians", "req/s", "p50 ms", "p99 ms", "errors", "retries/booking",
         "server CPU ms/req", "server CPU util", "peak RSS MiB"],
        [[s["case"], s["concurrency"], s["n"], s["clinicians"], s["req_per_s"], s["p50_ms"], s["p99_ms"],
          s["errors"], s["retries_per_booking"], s["server_cpu_ms_per_req"], s["server_cpu_util"],
          s["peak_rss_mib"]] for s in summary],
    )
    print(f"\nPOST /api/v1/appointments ({TYPE}), medians of {args.rounds} round(s), CareLedger with live "
          f"projections in process; each run on fresh clinicians (empty schedules)\n")
    print(table)
    depth: list[dict[str, Any]] = []
    depth_table = ""
    if depth_run is not None:
        depth = depth_buckets(depth_run)
        depth_table = markdown_table(
            ["bookings the schedule already held", "p50 ms", "p99 ms"],
            [[f"{d['held_from']}-{d['held_to']}", d["p50_ms"], d["p99_ms"]] for d in depth],
        )
        print("\nOne clinician, sequential bookings (c=1): latency as the schedule grows\n")
        print(depth_table)
    print(f"\nSet-up: bootstrap {setup['bootstrap_s']}s, HTTP set-up {setup['http_setup_s']}s; "
          f"server peak RSS during start-up and set-up {setup['setup_peak_rss_mib']} MiB (the sign-in's "
          f"Argon2 hash included)")
    run_dicts = [asdict(r) for r in runs]
    for r in run_dicts:
        r.pop("latencies_ms")
    path = write_results("booking", {
        "machine": machine(), "loadavg_at_start": load_at_start, "params": vars(args), "setup": setup,
        "summary": summary, "runs": run_dicts, "depth": depth, "tables": [table, depth_table],
    })
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
