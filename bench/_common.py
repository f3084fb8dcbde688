"""Shared helpers for the bench scripts: throw-away databases, managed subprocesses, RSS
sampling, the peers folder, machine facts and result files. Not part of the product."""

from __future__ import annotations

import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil
import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
VENV_BIN = Path(sys.executable).parent
PEERS = Path(os.environ.get("CARELEDGER_PEERS", "/work/shared/peers"))
# The server the bench databases are created on (any database name; it is replaced).
SERVER_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def exit_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit so `finally` blocks stop servers and drop databases."""

    def handler(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def note_load() -> list[float]:
    """The load average now; warns when other work shares the machine (numbers get noisy)."""
    load = [round(x, 2) for x in os.getloadavg()]
    if load[0] > 0.5 * (os.cpu_count() or 1):
        log(f"WARNING: load average {load} before starting: other processes share this machine")
    return load


def peers_or_none(*names: str) -> Path | None:
    """The peers folder if it (and the named files in it) exist; else say why and return None."""
    missing = [n for n in names if not (PEERS / n).exists()]
    if not PEERS.is_dir() or missing:
        log(f"SKIP peers: {PEERS} is absent or lacks {', '.join(missing) or 'everything'}; "
            "the peer anchors are not measured.")
        return None
    return PEERS


# --- databases ---------------------------------------------------------------------------------


def url_for(dbname: str) -> str:
    info = conninfo_to_dict(SERVER_URL)
    info["dbname"] = dbname
    return make_conninfo(**info)


def dbname_of(url: str) -> str:
    return str(conninfo_to_dict(url)["dbname"])


def _admin() -> psycopg.Connection[Any]:
    return psycopg.connect(url_for("postgres"), autocommit=True)


def create_database(label: str) -> str:
    name = f"careledger_bench_{datetime.now(UTC):%Y%m%d%H%M%S}_{os.getpid()}_{label}"
    with _admin() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return url_for(name)


def drop_database(url: str) -> None:
    with _admin() as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname_of(url)))
        )


@contextmanager
def fresh_database(label: str) -> Iterator[str]:
    """An empty database that is dropped on the way out, errors included."""
    url = create_database(label)
    log(f"created database {dbname_of(url)}")
    try:
        yield url
    finally:
        drop_database(url)
        log(f"dropped database {dbname_of(url)}")


def postgres_version() -> str:
    with _admin() as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "?"


# --- CareLedger's environment --------------------------------------------------------------------


def careledger_env(data_dir: Path, database_url: str | None = None) -> dict[str, str]:
    """Dev-mode settings (keys generated once into `data_dir`) for this process and children."""
    env = {
        "CARELEDGER_ENV": "dev",
        "CARELEDGER_DATA_DIR": str(data_dir),
        "CARELEDGER_LOG_LEVEL": os.environ.get("CARELEDGER_LOG_LEVEL", "WARNING"),
    }
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def use_careledger_env(data_dir: Path, database_url: str | None = None) -> None:
    os.environ.update(careledger_env(data_dir, database_url))
    from adapters.settings import get_settings

    get_settings.cache_clear()


# --- subprocesses ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running(
    args: Sequence[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
    log_file: Path | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Start a subprocess; on the way out terminate it (then kill it) by its pid."""
    out = open(log_file, "ab") if log_file else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(
        list(args), env={**os.environ, **(env or {})}, cwd=cwd, stdout=out, stderr=out
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if log_file:
            out.close()  # type: ignore[union-attr]


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310
                if response.status < 500:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f}s")


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310
        return json.loads(response.read())


class RssSampler:
    """Samples a process's resident set (plus its children's) on a thread; keeps the peak."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.process = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"rss-{pid}", daemon=True)

    def _rss(self) -> int:
        try:
            procs = [self.process, *self.process.children(recursive=True)]
            return sum(p.memory_info().rss for p in procs)
        except psutil.Error:
            return 0

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            self._stop.wait(self.interval)

    def reset(self) -> int:
        """Return the peak so far and start a new window."""
        peak, self.peak = self.peak, self._rss()
        return peak

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


# --- reporting ----------------------------------------------------------------------------------


def mib(n_bytes: float) -> float:
    return round(n_bytes / 2**20, 1)


def median(values: Sequence[float]) -> float:
    return round(statistics.median(values), 2) if values else float("nan")


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    def cell(v: object) -> str:
        if isinstance(v, float):
            return f"{v:,.2f}" if abs(v) < 100 else f"{v:,.0f}"
        if isinstance(v, int):
            return f"{v:,}"
        return str(v)

    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu,
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "postgres": postgres_version(),
        "python": platform.python_version(),
        "eventsourcing": metadata.version("eventsourcing"),
        "platform": platform.platform(),
        "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
    }


def code_version() -> dict[str, Any]:
    """The commit measured, and which product files differed from it (read-only git)."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
        return done.stdout.rstrip("\n")

    changed = [line[3:] for line in git("status", "--porcelain").splitlines()
               if not line[3:].startswith("bench/")]
    return {"commit": git("rev-parse", "--short", "HEAD").strip(),
            "uncommitted_product_files": changed}


CODE_AT_START = code_version()


def write_results(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {"benchmark": name, "at": datetime.now(UTC).isoformat(timespec="seconds"),
               "code": CODE_AT_START, **data}
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    return path


def run_measured_child(args: list[str], timeout: float) -> dict[str, Any]:
    """Run a benchmark's `--child` subprocess, sampling its RSS from here; returns the JSON object
    it printed last, with `sampled_peak_rss_mib` added."""
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    try:
        with RssSampler(proc.pid, interval=0.02) as rss:
            out, _ = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args[1:4])} failed with {proc.returncode}")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    result["sampled_peak_rss_mib"] = mib(rss.peak)
    return result
