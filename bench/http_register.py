"""HTTP client registration: CareLedger's `POST /api/v1/clients` against the CRUD baseline.

Both servers run on fresh databases of the local PostgreSQL; the peers' load generator
(load_clients.py) drives them in turn, A B A B, at each concurrency. CareLedger runs with its
live projections in process, so each run includes keeping the client directory up to date;
after each CareLedger run the time until the directory has caught up is recorded too.

Usage: .venv/bin/python bench/http_register.py [--n 2000] [--rounds 2] [--concurrency 1 8]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil
from _common import (
    VENV_BIN,
    RssSampler,
    careledger_env,
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
    peers_or_none,
    running,
    use_careledger_env,
    wait_http,
    write_results,
)

SLUG = "bench"
# One token drives the whole load: lift the per-token API limit (100/min by default) and keep the
# token valid and the session alive for the length of the run. Everything else is as deployed.
SERVER_LIMITS = {
    "CARELEDGER_API_RATE_LIMIT_PER_MINUTE": "100000000",
    "CARELEDGER_ACCESS_TOKEN_MINUTES": "240",
    "CARELEDGER_STAFF_IDLE_MINUTES": "240",
}
CARELEDGER = "careledger"
BASELINE = "crud_baseline"


@dataclass
class Run:
    system: str
    round: int
    concurrency: int
    n: int
    ok: int
    errors: int
    error_codes: list[Any]
    req_per_s: float
    p50_ms: float
    p99_ms: float
    peak_rss_mib: float
    server_cpu_ms_per_req: float
    server_cpu_util: float
    projection_lag_at_end: int | None = None
    projection_catch_up_s: float | None = None


@dataclass
class Server:
    name: str
    url: str
    health: str
    token: str | None
    proc: subprocess.Popen[bytes]
    rss: RssSampler
    log_file: Path
    idle_rss_mib: float = 0.0


def prepare_careledger(url: str, data_dir: Path) -> str:
    """Migrate, register the practice (with its BAA and an admin) and sign the admin in."""
    from application import audit
    from domain.practices.practice import practice_id_for
    from interfaces.container import Container
    from interfaces.http.tokens import Claims, issue

    use_careledger_env(data_dir, url)
    os.environ.update(SERVER_LIMITS)
    k = Container(database_url=url)
    try:
        k.migrate()
        pid = practice_id_for(SLUG)
        today = k.clock.now().date()
        with audit.acting(audit.system("system:bench", practice_id=pid)):
            k.practices.register("Bench Practice", SLUG, "America/New_York")
            k.practices.sign_baa(pid, "Bench Owner", None, "v1", today)
            member_id = k.members.provision(pid, f"admin@{SLUG}.careledger.test", "Bench Admin", "admin",
                                            "Bench-Password-2026!", hipaa_training_on=today)
            t = k.accounts.start_session(member_id)
        claims = Claims(t.user_id, t.member_id, t.session_id, t.role, t.practice_id)
        return issue(k.secrets.token_secret, claims, k.identity_policy.access_ttl, t.issued_at)
    finally:
        k.close()


def load(peers: Path, server: Server, n: int, concurrency: int) -> dict[str, Any]:
    args = [sys.executable, str(peers / "load_clients.py"), server.url, str(n), str(concurrency)]
    if server.token:
        args.append(server.token)
    done = subprocess.run(args, capture_output=True, text=True, timeout=300, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def projection_lag(server: Server) -> int:
    checks = get_json(server.health)["checks"]["projections"]
    return int(checks["clients"]["lag"])


def wait_caught_up(server: Server, timeout: float = 120.0) -> tuple[int, float]:
    """The client directory's lag right after a run, and how long it took to reach zero."""
    started = time.perf_counter()
    first = lag = projection_lag(server)
    while lag > 0:
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"client directory still {lag} events behind after {timeout:.0f}s")
        time.sleep(0.05)
        lag = projection_lag(server)
    return first, round(time.perf_counter() - started, 3)


def measure(peers: Path, server: Server, round_no: int, n: int, concurrency: int) -> Run:
    server.rss.reset()
    cpu = psutil.Process(server.proc.pid)
    cpu_before, started = sum(cpu.cpu_times()[:2]), time.perf_counter()
    result = load(peers, server, n, concurrency)
    cpu_s, wall = sum(cpu.cpu_times()[:2]) - cpu_before, time.perf_counter() - started
    lag = catch_up = None
    if server.name == CARELEDGER:
        lag, catch_up = wait_caught_up(server)
    run = Run(
        system=server.name,
        round=round_no,
        concurrency=concurrency,
        n=n,
        ok=result["ok"],
        errors=result["errors"],
        error_codes=result.get("error_codes", []),
        req_per_s=result["req_per_s"],
        p50_ms=result["p50_ms"],
        p99_ms=result["p99_ms"],
        peak_rss_mib=mib(server.rss.reset()),
        server_cpu_ms_per_req=round(1000 * cpu_s / max(result["ok"], 1), 2),
        server_cpu_util=round(cpu_s / wall, 2),
        projection_lag_at_end=lag,
        projection_catch_up_s=catch_up,
    )
    extra = f", directory lag {lag} -> 0 in {catch_up}s" if lag is not None else ""
    log(f"round {round_no} {server.name:13} c={concurrency}: {run.req_per_s:8.1f} req/s, "
        f"p50 {run.p50_ms} ms, p99 {run.p99_ms} ms, errors {run.errors}, server CPU "
        f"{run.server_cpu_ms_per_req} ms/req ({run.server_cpu_util:.0%} of a core){extra}")
    return run


def summarise(runs: list[Run], concurrencies: list[int]) -> list[dict[str, Any]]:
    rows = []
    for c in concurrencies:
        row: dict[str, Any] = {"concurrency": c}
        for system in (CARELEDGER, BASELINE):
            mine = [r for r in runs if r.system == system and r.concurrency == c]
            row[system] = {
                "req_per_s": median([r.req_per_s for r in mine]),
                "p50_ms": median([r.p50_ms for r in mine]),
                "p99_ms": median([r.p99_ms for r in mine]),
                "errors": sum(r.errors for r in mine),
                "peak_rss_mib": max((r.peak_rss_mib for r in mine), default=0.0),
                "server_cpu_ms_per_req": median([r.server_cpu_ms_per_req for r in mine]),
                "server_cpu_util": median([r.server_cpu_util for r in mine]),
            }
        base = row[BASELINE]["req_per_s"]
        row["throughput_ratio"] = round(row[CARELEDGER]["req_per_s"] / base, 3) if base else None
        base_p99 = row[BASELINE]["p99_ms"]
        row["p99_ratio"] = round(row[CARELEDGER]["p99_ms"] / base_p99, 2) if base_p99 else None
        rows.append(row)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="requests per measured run")
    parser.add_argument("--warmup", type=int, default=300, help="requests before measuring")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    args = parser.parse_args()
    exit_on_sigterm()
    load_at_start = note_load()

    peers = peers_or_none("load_clients.py", "crud_baseline/app.py")
    if peers is None:
        print("SKIPPED: the peers folder (load generator and CRUD baseline) is absent.")
        return 0

    runs: list[Run] = []
    servers: list[Server] = []
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="careledger-bench-")))
        es_url = stack.enter_context(fresh_database("http_es"))
        crud_url = stack.enter_context(fresh_database("http_crud"))

        token = prepare_careledger(es_url, tmp / "var")
        port = free_port()
        env = {**careledger_env(tmp / "var", es_url), "CARELEDGER_LOG_LEVEL": "INFO", **SERVER_LIMITS}
        proc = stack.enter_context(running(
            [str(VENV_BIN / "careledger"), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env, log_file=tmp / "careledger.log",
        ))
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/health", proc)
        servers.append(Server(CARELEDGER, f"{base}/api/v1/clients", f"{base}/health", token, proc,
                              stack.enter_context(RssSampler(proc.pid)), tmp / "careledger.log"))

        port = free_port()
        proc = stack.enter_context(running(
            [str(VENV_BIN / "uvicorn"), "app:app", "--host", "127.0.0.1", "--port", str(port)],
            env={"DATABASE_URL": crud_url}, cwd=peers / "crud_baseline",
            log_file=tmp / "baseline.log",
        ))
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/openapi.json", proc)
        servers.append(Server(BASELINE, f"{base}/api/v1/clients", f"{base}/openapi.json", None,
                              proc, stack.enter_context(RssSampler(proc.pid)), tmp / "baseline.log"))

        for server in servers:
            server.idle_rss_mib = mib(server.rss.reset())
            log(f"{server.name}: warm-up ({args.warmup} requests, c=8)")
            warm = load(peers, server, args.warmup, 8)
            if warm["errors"]:
                tail = server.log_file.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{server.name} warm-up failed: {warm}\n{tail}")
            if server.name == CARELEDGER:
                wait_caught_up(server)

        for round_no in range(1, args.rounds + 1):
            for c in args.concurrency:
                for server in servers:  # A B, A B, ...
                    runs.append(measure(peers, server, round_no, args.n, c))

        for server in servers:
            if server.proc.poll() is not None:
                raise RuntimeError(f"{server.name} exited early ({server.proc.returncode})")
        info = {s.name: {"idle_rss_mib": s.idle_rss_mib} for s in servers}

    summary = summarise(runs, args.concurrency)
    rows = []
    for s in summary:
        es, crud = s[CARELEDGER], s[BASELINE]
        rows.append([s["concurrency"], es["req_per_s"], crud["req_per_s"], s["throughput_ratio"],
                     es["p50_ms"], crud["p50_ms"], es["p99_ms"], crud["p99_ms"],
                     es["server_cpu_ms_per_req"], crud["server_cpu_ms_per_req"],
                     es["peak_rss_mib"], crud["peak_rss_mib"]])
    table = markdown_table(
        ["conc.", "CareLedger req/s", "baseline req/s", "ratio", "CL p50 ms", "base p50 ms",
         "CL p99 ms", "base p99 ms", "CL CPU ms/req", "base CPU ms/req", "CL peak RSS MiB",
         "base peak RSS MiB"],
        rows,
    )
    catch_up = [r.projection_catch_up_s for r in runs if r.projection_catch_up_s is not None]
    print(f"\nPOST /api/v1/clients, N={args.n} per run, medians of {args.rounds} rounds "
          f"(A B A B), CareLedger with live projections in process\n")
    print(table)
    print(f"\nClient directory catch-up after a run: max {max(catch_up, default=0):.2f}s; "
          f"idle RSS: " + ", ".join(f"{k} {v['idle_rss_mib']} MiB" for k, v in info.items()))
    path = write_results("http_register", {
        "machine": machine(), "loadavg_at_start": load_at_start,
        "params": vars(args),
        "servers": info,
        "summary": summary,
        "runs": [asdict(r) for r in runs],
        "table": table,
    })
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
