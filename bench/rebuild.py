"""Projection rebuild: how fast the `clients` projection replays the log, and whether the
rebuilding process's memory stays flat as the log grows.

One fresh database is filled through the application layer (domain aggregates saved through
`container.store`, many aggregates per save) in stages of 25k, 50k and 100k events. After each
stage a separate process runs `runner.rebuild()` of the `clients` projection over the whole log,
so its peak RSS belongs to that size alone. At the largest size another process times reading
the notification log raw, and reading plus decoding it (decrypting the PHI) without projecting.

Usage: .venv/bin/python bench/rebuild.py [--sizes 25000 50000 100000] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import random
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

import psutil
from _common import (
    exit_on_sigterm,
    fresh_database,
    log,
    machine,
    markdown_table,
    mib,
    note_load,
    run_measured_child,
    use_careledger_env,
    write_results,
)

if TYPE_CHECKING:
    from interfaces.container import Container

SLUG = "bench"
CLIENTS_PER_SAVE = 100
FIRST = ("Ana", "Ben", "Chloe", "Dmitri", "Esther", "Farid", "Grace", "Hiro", "Imani", "Jonas")
LAST = ("Smith", "Nguyen", "Okafor", "Garcia", "Kowalski", "Haddad", "Tanaka", "Johnson")
TEAM_ROLES = ("clinician", "supervisor", "care_team")


def demographics(rng: random.Random, i: int) -> dict[str, Any]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    return {
        "first_name": first,
        "last_name": last,
        "date_of_birth": date(1950, 1, 1) + timedelta(days=rng.randrange(365 * 60)),
        "gender": rng.choice(("female", "male", "non-binary", None)),
        "email": f"{first.lower()}.{last.lower()}{i}@example.test",
        "phone": f"+1 404 555 {i % 10_000:04d}",
        "address": {"line1": f"{100 + i} Peachtree St", "city": "Atlanta", "state": "GA",
                    "zip": "30303"},
        "insurance_primary": {"payer": "Aetna", "member_id": f"M{rng.randrange(10**8, 10**9)}"},
    }


class Filler:
    """Appends a realistic mix of events through the domain and `store.save(*aggregates)`."""

    def __init__(self, k: Container, practice_id: UUID, seed: int = 7) -> None:
        self.k = k
        self.practice_id = practice_id
        self.rng = random.Random(seed)
        self.staff: list[UUID] = []
        self.clients = 0
        self.seconds = 0.0

    def head(self) -> int:
        return self.k.store.recorder.max_notification_id() or 0

    def _staff(self, n: int) -> list[Any]:
        from datetime import UTC, datetime, timedelta

        from domain.identity.membership import Membership

        members = []
        expires = datetime.now(tz=UTC) + timedelta(days=7)
        for _ in range(n):
            i = len(self.staff)
            role = self.rng.choice(("clinician", "supervisor", "care_team"))
            member = Membership.invite(self.practice_id, f"staff{i}@bench.test", f"Staff Member {i}", role,
                                       "0" * 64, expires, license_type="LPC")
            if self.rng.random() < 0.2:
                member.change_role("clinician" if role != "clinician" else "supervisor")
            self.staff.append(member.id)
            members.append(member)
        return members

    def _client(self) -> Any:
        from domain.clients.client import Client

        rng = self.rng
        client = Client.register(self.practice_id, rng.choice(("basic", "intermediate")),
                                 **demographics(rng, self.clients))
        self.clients += 1
        for staff_id in rng.sample(self.staff, rng.choice((1, 1, 2))):
            client.assign(staff_id, rng.choice(TEAM_ROLES))
        if rng.random() < 0.5:
            client.update_demographics({"phone": f"+1 678 555 {rng.randrange(10_000):04d}"}
                                       | ({"last_name": rng.choice(LAST)} if rng.random() < 0.3
                                          else {}))
        if rng.random() < 0.4:
            client.change_status("inactive", "no_show_policy", "Three missed sessions.")
        if rng.random() < 0.2:
            client.change_care_level("intensive")
        return client

    def fill_to(self, target: int) -> None:
        from application import audit

        started = time.perf_counter()
        with audit.acting(audit.system("system:bench", practice_id=self.practice_id)):
            if not self.staff:
                self.k.store.save(*self._staff(40))
            head = self.head()
            while head < target:
                batch: list[Any] = [self._client() for _ in range(CLIENTS_PER_SAVE)]
                if self.rng.random() < 0.1:
                    batch += self._staff(2)
                recordings = self.k.store.save(*batch)
                head = max(r.notification.id for r in recordings)
        self.seconds += time.perf_counter() - started


def run_child(mode: str, url: str, data_dir: Path, profile: bool) -> dict[str, Any]:
    """Run this script in a subprocess (`--child`) and sample its RSS from here."""
    args = [sys.executable, __file__, "--child", mode, url, str(data_dir)]
    if profile:
        args.append("--profile")
    return run_measured_child(args, timeout=600)


# --- child processes ------------------------------------------------------------------------------


def _rss_now() -> int:
    return int(psutil.Process().memory_info().rss)


def child_rebuild(k: Container) -> dict[str, Any]:
    """Rebuild, noting this process's RSS after every batch. (Not ru_maxrss: on Linux a child
    inherits its parent's high-water mark through fork, and the parent holds the filler.)"""
    runner = k.runner("clients")
    head = runner.status().head
    start_rss = _rss_now()
    samples: list[tuple[int, int]] = []

    def note(position: int, _head: int) -> None:
        samples.append((position, _rss_now()))

    started = time.perf_counter()
    done = runner.rebuild(progress=note)
    seconds = time.perf_counter() - started
    rows = k.client_directory.query("SELECT count(*) AS n FROM client_directory")[0]["n"]
    peak = max((rss for _, rss in samples), default=start_rss)
    half = [rss for position, rss in samples if position <= head // 2]
    return {
        "events": done,
        "head": head,
        "directory_rows": rows,
        "seconds": round(seconds, 2),
        "events_per_s": round(done / seconds),
        "rss_before_mib": mib(start_rss),
        "rss_at_half_mib": mib(max(half, default=start_rss)),
        "peak_rss_mib": mib(peak),
        "growth_mib": mib(peak - start_rss),
        "keystore_cached_keys": len(getattr(k.keystore, "_cache", {})),
    }


READ_PASSES = (
    ("read", "read only (select_notifications, pages of 500)"),
    ("decode_lookup", "read + decode, one key query per new subject (cold cache)"),
    ("decode_prefetch", "read + decode, keys prefetched per page (as the runner does)"),
)


def _read_pass(k: Container, label: str) -> dict[str, Any]:
    recorder, mapper = k.store.recorder, k.store.mapper
    subjects = getattr(recorder, "select_subjects_between", None)
    prefetch = getattr(k.keystore, "prefetch", None)
    if label == "decode_prefetch" and (subjects is None or prefetch is None):
        return {"skipped": "this version has no key prefetch"}
    position, count, started = 0, 0, time.perf_counter()
    while True:
        page = recorder.select_notifications(start=position, limit=500, inclusive_of_start=False)
        if not page:
            break
        if label == "decode_prefetch":
            prefetch(subjects(page[0].id, page[-1].id))
        if label != "read":
            for n in page:
                mapper.to_domain_event(n)
        count += len(page)
        position = page[-1].id
    seconds = time.perf_counter() - started
    return {"events": count, "seconds": round(seconds, 2), "events_per_s": round(count / seconds)}


def child_read(url: str) -> dict[str, Any]:
    """Each pass with a container of its own, so every decode pass starts with no cached keys."""
    from interfaces.container import Container

    result: dict[str, Any] = {"rss_before_mib": mib(_rss_now())}
    for label, _ in READ_PASSES:
        k = Container(database_url=url)
        try:
            result[label] = _read_pass(k, label)
        finally:
            k.close()
    result["rss_after_mib"] = mib(_rss_now())
    return result


def child(mode: str, url: str, data_dir: Path, profile: bool) -> int:
    use_careledger_env(data_dir, url)
    from interfaces.container import Container

    k = Container(database_url=url)
    k.store  # noqa: B018 - connect before measuring
    profiler = cProfile.Profile() if profile else None
    try:
        if profiler:
            profiler.enable()
        result = child_rebuild(k) if mode == "rebuild" else child_read(url)
        if profiler:
            profiler.disable()
            text = io.StringIO()
            pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(25)
            result["profile_top_tottime"] = text.getvalue()
    finally:
        k.close()
    print(json.dumps(result))
    return 0


# --- parent ----------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[25_000, 50_000, 100_000])
    parser.add_argument("--profile", action="store_true", help="cProfile the largest rebuild")
    parser.add_argument("--child", nargs=3, metavar=("MODE", "URL", "DATA_DIR"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, url, data_dir = args.child
        return child(mode, url, Path(data_dir), args.profile)
    exit_on_sigterm()
    load_at_start = note_load()

    sizes = sorted(args.sizes)
    rebuilds: list[dict[str, Any]] = []
    with ExitStack() as stack:
        data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="cl-bench-"))) / "v"
        url = stack.enter_context(fresh_database("rebuild"))
        use_careledger_env(data_dir, url)
        from application import audit
        from domain.practices.practice import practice_id_for
        from interfaces.container import Container

        k = Container(database_url=url)
        stack.callback(k.close)
        k.migrate()
        pid = practice_id_for(SLUG)
        with audit.acting(audit.system("system:bench", practice_id=pid)):
            k.practices.register("Bench Practice", SLUG, "America/New_York")
            k.practices.sign_baa(pid, "Bench Owner", None, "v1", k.clock.now().date())
        filler = Filler(k, pid)
        for size in sizes:
            filler.fill_to(size)
            head = filler.head()
            log(f"filled to {head:,} events ({filler.clients:,} clients, {len(filler.staff)} staff) "
                f"at {head / filler.seconds:,.0f} events/s")
            profile = args.profile and size == sizes[-1]
            result = run_child("rebuild", url, data_dir, profile)
            result["size"] = size
            rebuilds.append(result)
            log(f"rebuild of {result['events']:,} events: {result['events_per_s']:,} events/s, "
                f"RSS {result['rss_before_mib']} -> peak {result['peak_rss_mib']} MiB "
                f"(sampled from outside {result['sampled_peak_rss_mib']}), "
                f"{result['keystore_cached_keys']:,} keys cached")
            if profile:
                print(result["profile_top_tottime"], file=sys.stderr)
        read = run_child("read", url, data_dir, False)
        log("log read: " + ", ".join(f"{label} {read[label].get('events_per_s', '-')} events/s"
                                     for label, _ in READ_PASSES))
        fill = {"events": filler.head(), "clients": filler.clients, "staff": len(filler.staff),
                "seconds": round(filler.seconds, 2),
                "events_per_s": round(filler.head() / filler.seconds),
                "clients_per_save": CLIENTS_PER_SAVE}

    table = markdown_table(
        ["events in log", "clients", "rebuild s", "events/s", "RSS before MiB",
         "peak RSS MiB (per batch)", "peak RSS MiB (sampled)", "growth MiB", "keys cached"],
        [[r["events"], r["directory_rows"], r["seconds"], r["events_per_s"], r["rss_before_mib"],
          r["peak_rss_mib"], r["sampled_peak_rss_mib"], r["growth_mib"],
          r["keystore_cached_keys"]] for r in rebuilds],
    )
    read_table = markdown_table(
        ["notification log pass (fresh process)", "events", "seconds", "events/s"],
        [[title, read[key].get("events", "-"), read[key].get("seconds", "-"),
          read[key].get("events_per_s", read[key].get("skipped", "-"))]
         for key, title in READ_PASSES],
    )
    print(f"\nFill: {fill['events']:,} events ({fill['clients']:,} clients, {fill['staff']} staff) "
          f"in {fill['seconds']}s = {fill['events_per_s']:,} events/s "
          f"({CLIENTS_PER_SAVE} clients per save)\n")
    print("Rebuild of the `clients` projection (fresh process per size, batch 500)\n")
    print(table)
    print()
    print(read_table)
    for r in rebuilds:
        r.pop("profile_top_tottime", None)
    path = write_results("rebuild", {
        "machine": machine(), "loadavg_at_start": load_at_start, "params": {"sizes": sizes},
        "fill": fill, "rebuilds": rebuilds, "log_read": read, "tables": [table, read_table],
    })
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
