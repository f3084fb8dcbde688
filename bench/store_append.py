"""The write path alone: appending Client events through `container.store` (no HTTP), next to
the raw eventsourcing library (the peers' es_bench.py) on the same PostgreSQL.

Two patterns, as in es_bench.py:
  4-commands  register, then update demographics, change status and assign a care-team member,
              each through ClientService (load, change, save): 4 transactions per client.
  one-save    the same four events made in memory and saved at once: 1 transaction per client.
CareLedger's events carry the audit envelope and encrypted PHI; the registration also stores the
client's wrapped data key and every event its subject-index row, in the same transaction.
Rounds alternate CareLedger and the library (A B A B) and the table shows medians.

Usage: .venv/bin/python bench/store_append.py [--n 4000] [--rounds 2] [--profile]
"""

from __future__ import annotations

import argparse
import ast
import cProfile
import io
import pstats
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

from _common import (
    dbname_of,
    exit_on_sigterm,
    fresh_database,
    log,
    machine,
    markdown_table,
    median,
    note_load,
    peers_or_none,
    use_careledger_env,
    write_results,
)

if TYPE_CHECKING:
    from interfaces.container import Container

SLUG = "bench"
CASES = ("4-commands", "one-save")


def demographics(i: int) -> dict[str, Any]:
    return {
        "first_name": f"Ana{i}",
        "last_name": "Nguyen",
        "date_of_birth": date(1990, 4, 1 + i % 28),
        "email": f"a{i}@example.test",
        "phone": "+15555550100",
    }


class Bench:
    def __init__(self, k: Container) -> None:
        from application import audit
        from domain.practices.practice import practice_id_for

        self.k = k
        self.practice_id = practice_id_for(SLUG)
        self.actor = audit.system("system:bench", practice_id=self.practice_id)
        with audit.acting(self.actor):
            k.practices.register("Bench Practice", SLUG, "America/New_York")
            k.practices.sign_baa(self.practice_id, "Bench Owner", None, "v1", k.clock.now().date())
            saved = k.members.invite(self.practice_id, "casey@bench.test", "Casey Clinician", "clinician",
                                     license_type="LPC").saved
        self.staff_id: UUID = saved.id
        self.i = 0

    def four_commands(self) -> None:
        clients, pid = self.k.clients, self.practice_id
        self.i += 1
        cid = clients.register(pid, "basic", demographics(self.i)).id
        clients.update_demographics(pid, cid, {"phone": "+15555550199"})
        clients.change_status(pid, cid, "inactive", "moved_away", None)
        clients.assign(pid, cid, self.staff_id, "clinician")

    def one_save(self) -> None:
        from application import audit
        from domain.clients.client import Client

        self.i += 1
        client = Client.register(self.practice_id, "basic", **demographics(self.i))
        client.update_demographics({"phone": "+15555550199"})
        client.change_status("inactive", "moved_away", None)
        client.assign(self.staff_id, "clinician")
        with audit.because("moved_away"):
            self.k.store.save(client)

    def run(self, case: str, n: int, profile: bool = False) -> dict[str, Any]:
        """n events = n / 4 clients; returns events/s and transactions/s."""
        from application import audit

        step: Callable[[], None] = self.four_commands if case == "4-commands" else self.one_save
        profiler = cProfile.Profile() if profile else None
        with audit.acting(self.actor):
            step()  # warm-up
            if profiler:
                profiler.enable()
            started = time.perf_counter()
            for _ in range(n // 4):
                step()
            seconds = time.perf_counter() - started
            if profiler:
                profiler.disable()
                text = io.StringIO()
                pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(40)
                print(text.getvalue(), file=sys.stderr)
        tx = n if case == "4-commands" else n // 4
        return {"case": case, "events": n, "seconds": round(seconds, 2),
                "events_per_s": round(n / seconds), "tx_per_s": round(tx / seconds)}


def es_bench(peers: Path, url: str, n: int) -> list[dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, str(peers / "es_bench.py"), dbname_of(url), str(n)],
        capture_output=True, text=True, timeout=300, check=True,
    )
    results = []
    for line in done.stdout.splitlines():
        if line.startswith("{"):
            result: dict[str, Any] = ast.literal_eval(line)
            if "tx_per_s" not in result:  # es_bench gives it for one-save only
                result["tx_per_s"] = result["events_per_s"]
            results.append(result)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4000, help="events per case and round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--profile", action="store_true",
                        help="cProfile CareLedger's 4-commands case in the last round")
    args = parser.parse_args()
    exit_on_sigterm()
    load_at_start = note_load()
    peers = peers_or_none("es_bench.py")

    runs: list[dict[str, Any]] = []
    with ExitStack() as stack:
        data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="cl-bench-"))) / "v"
        url = stack.enter_context(fresh_database("append_es"))
        lib_url = stack.enter_context(fresh_database("append_lib")) if peers else None
        use_careledger_env(data_dir, url)
        from interfaces.container import Container

        k = Container(database_url=url)
        stack.callback(k.close)
        k.migrate()
        bench = Bench(k)
        for round_no in range(1, args.rounds + 1):
            for case in CASES:
                profile = args.profile and case == "4-commands" and round_no == args.rounds
                result = {"system": "careledger", "round": round_no,
                          **bench.run(case, args.n, profile)}
                runs.append(result)
                log(f"round {round_no} careledger    {case:10}: {result['events_per_s']:,} events/s, "
                    f"{result['tx_per_s']:,} tx/s")
            if peers and lib_url:
                for result in es_bench(peers, lib_url, args.n):
                    runs.append({"system": "eventsourcing", "round": round_no, **result})
                    log(f"round {round_no} eventsourcing {result['case']:10}: "
                        f"{result['events_per_s']:,} events/s, {result['tx_per_s']:,} tx/s")

    rows, summary = [], []
    for case in CASES:
        med = {}
        for system in ("careledger", "eventsourcing"):
            mine = [r for r in runs if r["system"] == system and r["case"] == case]
            med[system] = {"events_per_s": median([r["events_per_s"] for r in mine]),
                           "tx_per_s": median([r["tx_per_s"] for r in mine])} if mine else None
        lib = med["eventsourcing"]
        ratio = round(med["careledger"]["events_per_s"] / lib["events_per_s"], 3) if lib else None
        summary.append({"case": case, **med, "ratio": ratio})
        rows.append([case, med["careledger"]["events_per_s"], med["careledger"]["tx_per_s"],
                     lib["events_per_s"] if lib else "skipped", lib["tx_per_s"] if lib else "-",
                     ratio if ratio is not None else "-"])
    table = markdown_table(
        ["case", "CareLedger events/s", "CareLedger tx/s", "eventsourcing events/s",
         "eventsourcing tx/s", "ratio"], rows,
    )
    print(f"\nStore append, N={args.n} events per case, medians of {args.rounds} rounds (A B A B)\n")
    print(table)
    path = write_results("store_append", {"machine": machine(),
                                          "loadavg_at_start": load_at_start,
                                          "params": vars(args),
                                          "summary": summary, "runs": runs, "table": table})
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
