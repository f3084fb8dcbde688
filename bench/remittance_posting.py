"""835 remittance posting: a 10,000-claim file read, matched and posted.

1. seed (untimed for the result, reported): one fresh database gets the dataset's practice
   (`bench/era_dataset.py`, one seed), a clinician, its clients (names, birth dates, primary
   insurance with the member id) and every billed charge, entered and billed under the claim number
   and line reference (REF*6R) the dataset gave it; domain aggregates through `store.save`, a few
   hundred per call, as `system:bench`. The read models are brought up to date before measuring.
2. measured, in a fresh subprocess (peak RSS sampled from here): the earlier 835 whose payments the
   main file reverses is uploaded and processed (timed on its own), and the read models catch up
   with its postings; then the main file imported through `k.remittances.import_file` (what the
   CLI and the API call; the file is parsed once), timed in three parts:
   - read: parsing and balancing the bytes;
   - post: the posting plan and writing the postings to the charges, a batch per transaction;
   - match: the rest (keep the bytes, record the file, gather candidate charges from the billing
     ledger and the clients, match, record the run and the payment);
   and inside them the service's own steps (wrapped in that process only). The processing report
   gives the auto-match rate and the postings written; `truth` scores matching: a matched claim is
   right when its charges are exactly the lines the payer answered. Then the same bytes imported
   again: the upload finds the stored remittance and processing it again posts nothing and records nothing.

Usage: .venv/bin/python bench/remittance_posting.py [--claims 10000] [--seed 7]
       [--database-url URL (an empty database on any server; kept)] [--profile] [--keep] [--no-progress]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid5

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

if TYPE_CHECKING:
    from eventsourcing.domain import Aggregate

    from bench.era_dataset import Dataset
    from interfaces.container import Container

SEED_NAMESPACE = UUID("0b7e1c52-6a0e-4f0c-9d43-2f8f3a5e1c77")
SAVE_BATCH = 300
DIAGNOSES = ["F41.1"]
CARE_LEVEL = "basic"
ZONE = "America/New_York"
ACTOR = "system:bench"


def charge_id_for(practice_id: UUID, line_ref: str) -> UUID:
    """The seeded charge of a dataset line: the child process recomputes it to score matching."""
    return uuid5(SEED_NAMESPACE, f"{practice_id}/charge/{line_ref}")


def client_id_for(practice_id: UUID, client_key: str) -> UUID:
    return uuid5(SEED_NAMESPACE, f"{practice_id}/client/{client_key}")


def at(day: date, hour: int) -> datetime:
    return datetime.combine(day, clock_time(hour), UTC)


@dataclass(frozen=True)
class Seeded:
    practice_id: UUID
    clients: int
    charges: int
    events: int
    saves: int
    seconds: float

    def summary(self) -> dict[str, Any]:
        return {"practice_id": str(self.practice_id), "clients": self.clients, "charges": self.charges,
                "events": self.events, "saves": self.saves, "seconds": round(self.seconds, 2),
                "events_per_s": round(self.events / self.seconds) if self.seconds else None}


def progress_bar(enabled: bool) -> Progress:
    return Progress(
        TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TimeRemainingColumn(), console=Console(stderr=True), disable=not enabled, transient=False,
    )


def seed_history(k: Container, data: Dataset, slug: str, *, progress: bool = True, batch: int = SAVE_BATCH) -> Seeded:
    """The dataset's practice, clients and billed charges in `k`'s database (the practice must be new)."""
    from application import audit
    from domain.billing.charge import Charge
    from domain.clients.client import Client
    from domain.identity.membership import Membership
    from domain.practices.practice import practice_id_for

    history = data.history
    pid = practice_id_for(slug)
    started = time.perf_counter()
    saves = events = 0
    first_day = min(c.service_date for c in history.charges)
    with audit.acting(audit.system(ACTOR, practice_id=pid)), progress_bar(progress) as bar:
        k.practices.register(history.practice_name, slug, ZONE)
        k.practices.sign_baa(pid, "Bench Signer", "Owner", "v1", first_day - timedelta(days=30))
        clinician = Membership.invite(pid, f"clinician@{slug}.bench.test", "Bench Clinician", "clinician", "0" * 64,
                                      at(first_day, 9), license_type="LPC")
        k.store.save(clinician)
        saves, events = 3, 3

        def save(aggregates: list[Aggregate]) -> None:
            nonlocal saves, events
            if aggregates:
                events += len(k.store.save(*aggregates))
                saves += 1

        task = bar.add_task("clients", total=len(history.clients))
        pending: list[Aggregate] = []
        client_ids: dict[str, UUID] = {}
        for c in history.clients:
            client_ids[c.key] = client_id_for(pid, c.key)
            pending.append(Client.register(
                pid, CARE_LEVEL, client_id=client_ids[c.key], first_name=c.first_name, last_name=c.last_name,
                date_of_birth=c.birth_date, insurance_primary={
                    "payer": history.payer_name, "payer_id": history.payer_id, "member_id": c.member_id},
            ))
            if len(pending) >= batch:
                save(pending)
                bar.advance(task, len(pending))
                pending = []
        save(pending)
        bar.advance(task, len(pending))

        task = bar.add_task("charges", total=len(history.charges))
        pending = []
        for line in history.charges:
            charge = Charge.enter(
                practice_id=pid, client_id=client_ids[line.client_key], clinician_id=clinician.id,
                appointment_id=None, service_date=line.service_date, cpt=line.cpt,
                charge_modifiers=list(line.modifiers), charge_units=line.units, diagnosis_codes=DIAGNOSES,
                diagnosis_pointers=[1], unit_fee=line.unit_fee, payer=history.payer_name,
                entered_at=at(line.service_date, 20), by=clinician.id, today=line.billed_on,
                charge_id=charge_id_for(pid, line.line_ref), line_ref=line.line_ref,
            )
            charge.bill(line.claim_number, payer=history.payer_name, hold_reason=None, at=at(line.billed_on, 15),
                        by=clinician.id)
            pending.append(charge)
            if len(pending) >= batch:
                save(pending)
                bar.advance(task, len(pending))
                pending = []
        save(pending)
        bar.advance(task, len(pending))
    return Seeded(pid, len(history.clients), len(history.charges), events, saves, time.perf_counter() - started)


def catch_up(k: Container, *, progress: bool = True) -> dict[str, float]:
    """Every read model up to the log's head (the remittance service may read any of them)."""
    head = k.store.recorder.max_notification_id() or 0
    seconds: dict[str, float] = {}
    with progress_bar(progress) as bar:
        for runner in k.runners:
            task = bar.add_task(runner.name[:10], total=max(1, head - runner.position()))
            first = runner.position()

            def note(position: int, _head: int, task: TaskID = task, first: int = first) -> None:
                bar.update(task, completed=position - first)

            started = time.perf_counter()
            runner.catch_up(progress=note)
            seconds[runner.name] = round(time.perf_counter() - started, 2)
    return seconds


class Probe:
    """Times the remittance service's phases by wrapping the names it calls, in this process only:
    reading the file (`read_era`), balancing it (`file_summary`), the candidates (`build_candidates`,
    the billing ledger and the clients), matching (`match_claims`), the posting plan and posting."""

    FUNCTIONS = ("read_era", "file_summary", "build_candidates", "match_claims", "plan_postings")
    METHODS = ("_post",)

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.phase = ""

    def _timed(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                key = f"{self.phase}{name}"
                self.seconds[key] = self.seconds.get(key, 0.0) + time.perf_counter() - started

        return timed

    @contextmanager
    def installed(self) -> Iterator[Probe]:
        import application.remittance.service as module
        from application.remittance.service import RemittanceService

        saved: list[tuple[object, str, Any]] = [(module, n, getattr(module, n)) for n in self.FUNCTIONS]
        saved += [(RemittanceService, n, RemittanceService.__dict__[n]) for n in self.METHODS]
        for owner, name, fn in saved:
            setattr(owner, name, self._timed(name, fn))
        try:
            yield self
        finally:
            for owner, name, fn in saved:
                setattr(owner, name, fn)

    @contextmanager
    def in_phase(self, phase: str) -> Iterator[None]:
        self.phase = f"{phase}:"
        try:
            yield
        finally:
            self.phase = ""

    def take(self, phase: str) -> dict[str, float]:
        return {k.split(":", 1)[1]: v for k, v in self.seconds.items() if k.startswith(f"{phase}:")}


def _rss_mib() -> float:
    import psutil

    return round(psutil.Process().memory_info().rss / 2**20, 1)


def score(data: Dataset, practice_id: UUID, outcomes: Sequence[Any]) -> dict[str, Any]:
    """Matching against `truth`: a matched claim is right when its charges are exactly the lines
    the payer answered (`truth[i].line_refs`); the outcomes in file order line up with `truth`."""
    ordered = sorted(outcomes, key=lambda o: (o.transaction_set, o.position))
    if len(ordered) != len(data.truth):
        raise RuntimeError(f"{len(ordered)} claim outcomes for {len(data.truth)} claims in the file")
    matched = right = missed = unknown_left = 0
    wrong: list[dict[str, Any]] = []
    by_kind: dict[str, dict[str, int]] = {}
    for outcome, truth in zip(ordered, data.truth, strict=True):
        expected = {charge_id_for(practice_id, ref) for refs in truth.line_refs for ref in refs}
        for kind in truth.kinds:
            levels = by_kind.setdefault(kind, {})
            levels[outcome.level] = levels.get(outcome.level, 0) + 1
        if outcome.status == "matched":
            matched += 1
            if set(outcome.charge_ids) == expected:
                right += 1
            elif len(wrong) < 20:
                wrong.append({"index": truth.index, "kinds": list(truth.kinds), "level": outcome.level,
                              "claim_number": outcome.claim_number})
        elif expected:
            missed += 1
        else:
            unknown_left += 1
    return {
        "matched": matched, "right": right, "accuracy": round(right / matched, 4) if matched else None,
        "answerable": sum(1 for t in data.truth if t.line_refs), "missed": missed,
        "unknown_patients_left_for_review": unknown_left, "wrong_examples": wrong,
        "levels_by_kind": {k: dict(sorted(v.items())) for k, v in sorted(by_kind.items())},
    }


def _report_numbers(report: Any) -> dict[str, Any]:
    t = report.totals
    return {
        "claims": report.claims, "reversals": report.reversals, "balanced": report.balanced,
        "findings": len(report.findings), "matched_by_level": report.matched_by_level, "unmatched": report.unmatched,
        "auto_match_rate": float(report.auto_match_rate), "postings_written": report.postings_written,
        "refused": len(report.refused), "status": report.status, "run": report.run,
        "totals": {"charged": t.charged, "paid": t.paid, "adjusted": t.adjusted, "payment": t.payment,
                   "provider_adjustments": t.provider_adjustments, "posted_payments": t.posted_payments,
                   "posted_adjustments": t.posted_adjustments, "unmatched_paid": t.unmatched_paid},
    }


def measure(k: Container, data: Dataset, practice_id: UUID, *, progress: bool = True,
            profile: cProfile.Profile | None = None) -> dict[str, Any]:
    """The earlier 835, then the main file imported as the CLI and the API do (read, match, post),
    then the same bytes again. The read models are expected up to date with the seeded history."""
    from application import audit

    service = k.remittances
    head = k.store.recorder.max_notification_id
    result: dict[str, Any] = {"rss_mib_at_start": _rss_mib()}
    with audit.acting(audit.system(ACTOR, practice_id=practice_id)), Probe().installed() as probe:
        started = time.perf_counter()
        earlier, _ = service.upload(practice_id, "prior.835", data.prior_era_bytes)
        earlier_report = service.process(practice_id, earlier.id)
        result["prior_file"] = {"seconds": round(time.perf_counter() - started, 2),
                                **_report_numbers(earlier_report)}
        result["catch_up_after_prior_s"] = catch_up(k, progress=progress)

        events_before = head() or 0
        with probe.in_phase("import"), progress_bar(progress) as bar:
            task = bar.add_task("posting", total=None)

            def note(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            if profile is not None:
                profile.enable()
            started = time.perf_counter()
            report = service.import_file(practice_id, f"era-{data.seed}.835", data.era_bytes, progress=note)
            total_s = time.perf_counter() - started
            if profile is not None:
                profile.disable()
        if not report.created:
            raise RuntimeError("the main file was uploaded before: use an empty database")
        remittance = service.get(practice_id, report.remittance_id)
        events = (head() or 0) - events_before
        phases = probe.take("import")
        phases["the rest (store, load, record the run, payment)"] = total_s - sum(phases.values())
        read_s = phases.get("read_era", 0.0) + phases.get("file_summary", 0.0)
        post_s = phases.get("_post", 0.0) + phases.get("plan_postings", 0.0)
        timings: dict[str, float | dict[str, float]] = {
            "read_s": read_s, "match_s": total_s - read_s - post_s, "post_s": post_s, "total_s": total_s,
            "phases_s": phases,
        }
        outcomes = service.claims(practice_id, remittance.id)
        result["main_file"] = {
            "bytes": len(data.era_bytes), "events_written": events, "rss_mib_after_import": _rss_mib(),
            **_report_numbers(report),
            "seconds": {n: round(v, 3) if isinstance(v, float) else {p: round(s, 3) for p, s in v.items()}
                        for n, v in timings.items()},
            "claims_per_s": round(report.claims / total_s, 1),
            "truth": score(data, practice_id, outcomes),
        }

        events_before = head() or 0
        started = time.perf_counter()
        rerun = service.import_file(practice_id, f"era-{data.seed}-again.835", data.era_bytes)
        rerun_s = time.perf_counter() - started
        result["rerun"] = {
            "same_remittance": rerun.remittance_id == remittance.id, "stored_again": rerun.created,
            "seconds": round(rerun_s, 3),
            "postings_written": rerun.postings_written, "events_written": (head() or 0) - events_before,
            "posted_payments_unchanged": rerun.totals.posted_payments == report.totals.posted_payments,
            "posted_adjustments_unchanged": rerun.totals.posted_adjustments == report.totals.posted_adjustments,
        }
    return result


def run(k: Container, *, claims: int, seed: int, slug: str, progress: bool = False) -> dict[str, Any]:
    """Everything in one process (the smoke test): seed, catch up, measure."""
    from bench.era_dataset import generate_remittance_dataset

    data = generate_remittance_dataset(seed, claims)
    seeded = seed_history(k, data, slug, progress=progress)
    caught_up = catch_up(k, progress=progress)
    return {"claims": claims, "seed": seed, "seeding": seeded.summary(), "catch_up_s": caught_up,
            **measure(k, data, seeded.practice_id, progress=progress)}


def child(args: argparse.Namespace) -> int:
    """The measured process: the database is seeded and its read models are up to date."""
    from _common import ROOT, use_careledger_env

    sys.path.insert(0, str(ROOT))
    from bench.era_dataset import generate_remittance_dataset

    url, data_dir = args.child
    use_careledger_env(Path(data_dir), url)
    from domain.practices.practice import practice_id_for
    from interfaces.container import Container

    data = generate_remittance_dataset(args.seed, args.claims)
    k = Container(database_url=url)
    k.store  # noqa: B018 - connect before measuring
    profile = cProfile.Profile() if args.profile else None
    try:
        result = measure(k, data, practice_id_for(slug_for(args)), progress=not args.no_progress, profile=profile)
    finally:
        k.close()
    if profile is not None:
        for order in ("tottime", "cumulative"):
            text = io.StringIO()
            pstats.Stats(profile, stream=text).sort_stats(order).print_stats(35)
            print(f"--- cProfile of import_file() (main file), by {order} ---\n{text.getvalue()}", file=sys.stderr)
    print(json.dumps(result, default=str))
    return 0


def slug_for(args: argparse.Namespace) -> str:
    return f"bench-remittance-{args.seed}-{args.claims}"


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--claims", type=int, default=10_000, help="claims the payer answers in the main file")
    parser.add_argument("--seed", type=int, default=7, help="the dataset's seed (bench/era_dataset.py)")
    parser.add_argument("--database-url", help="an empty database to seed and measure in (kept afterwards)")
    parser.add_argument("--profile", action="store_true", help="cProfile the main file's processing (to stderr)")
    parser.add_argument("--keep", action="store_true", help="keep the fresh database and its dev keys")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--child", nargs=2, metavar=("URL", "DATA_DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)

    from _common import (
        ROOT,
        create_database,
        dbname_of,
        exit_on_sigterm,
        fresh_database,
        log,
        machine,
        markdown_table,
        note_load,
        run_measured_child,
        use_careledger_env,
        write_results,
    )

    sys.path.insert(0, str(ROOT))
    from bench.era_dataset import generate_remittance_dataset

    exit_on_sigterm()
    load_at_start = note_load()
    started = time.perf_counter()
    data = generate_remittance_dataset(args.seed, args.claims)
    generated_s = time.perf_counter() - started
    log(f"dataset seed {args.seed}: {len(data.history.clients):,} clients, {len(data.history.charges):,} billed "
        f"charges on {len(data.history.claim_numbers):,} claims; the 835 holds {data.totals.claims:,} claims "
        f"({len(data.era_bytes) / 2**20:.1f} MiB), the earlier one {data.prior_totals.claims:,} "
        f"({generated_s:.1f}s)")
    with ExitStack() as stack:
        if args.database_url or args.keep:
            url = args.database_url or create_database("remittance")
            data_dir = Path(tempfile.mkdtemp(prefix=f"cl-bench-{dbname_of(url)}-")) / "v"
            log(f"keeping database {dbname_of(url)} (CARELEDGER_DATA_DIR={data_dir})")
        else:
            data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="cl-bench-"))) / "v"
            url = stack.enter_context(fresh_database("remittance"))
        use_careledger_env(data_dir, url)
        from interfaces.container import Container

        k = Container(database_url=url)
        try:
            k.migrate()
            seeded = seed_history(k, data, slug_for(args), progress=not args.no_progress)
            log(f"seeded {seeded.events:,} events in {seeded.seconds:.1f}s ({seeded.summary()['events_per_s']:,}/s, "
                f"{seeded.saves} saves); bringing the read models up to date")
            caught_up = catch_up(k, progress=not args.no_progress)
            log(f"read models up to date in {sum(caught_up.values()):.1f}s; measuring in a fresh process")
        finally:
            k.close()
        child_args = [sys.executable, __file__, "--child", url, str(data_dir), "--claims", str(args.claims),
                      "--seed", str(args.seed)]
        child_args += ["--profile"] * args.profile + ["--no-progress"] * args.no_progress
        measured = run_measured_child(child_args, timeout=3600)

    main_file, rerun, truth = measured["main_file"], measured["rerun"], measured["main_file"]["truth"]
    seconds = main_file["seconds"]
    levels = main_file["matched_by_level"]
    table = markdown_table(
        ["claims in file", "read s", "match s", "post s", "total s", "claims/s", "auto-match rate",
         "by level 1/2/3/4", "review", "accuracy (matched)", "postings", "peak RSS MiB", "re-run s", "re-run postings"],
        [[main_file["claims"], round(seconds["read_s"], 2), round(seconds["match_s"], 2), round(seconds["post_s"], 2),
          round(seconds["total_s"], 2), main_file["claims_per_s"], f"{main_file['auto_match_rate']:.2%}",
          "/".join(str(levels[x]) for x in ("1", "2", "3", "4")), main_file["unmatched"],
          f"{truth['accuracy']:.2%}" if truth["accuracy"] is not None else "-", main_file["postings_written"],
          measured["sampled_peak_rss_mib"], rerun["seconds"],
          rerun["postings_written"]]],
    )
    phases = seconds["phases_s"]
    phase_table = markdown_table(["phase", "s"], [[k, round(v, 3)] for k, v in phases.items()])
    print(f"\n835 posting: seed {args.seed}, {len(data.history.charges):,} billed charges, "
          f"{main_file['claims']:,} claims in the file ({data.reversals} reversals), "
          f"the earlier file ({measured['prior_file']['claims']} claims) in {measured['prior_file']['seconds']}s\n")
    print(table)
    print("\nWhere the time goes (wrapped functions of the service, in the measured process)\n")
    print(phase_table)
    results = {"machine": machine(), "loadavg_at_start": load_at_start, "params": vars(args),
               "dataset": {"seed": args.seed, "clients": len(data.history.clients),
                           "charges": len(data.history.charges), "claims_billed": len(data.history.claim_numbers),
                           "claims_in_file": data.totals.claims, "reversals": data.reversals,
                           "generation_s": round(generated_s, 2)},
               "seeding": seeded.summary(), "catch_up_s": caught_up, **measured,
               "total_seconds": round(time.perf_counter() - started, 1), "tables": [table, phase_table]}
    path = write_results("remittance_posting", results)
    print(f"\nwrote {path}")
    print(json.dumps({"benchmark": "remittance_posting", "claims": main_file["claims"], **{
        k: round(v, 3) for k, v in seconds.items() if isinstance(v, float)},
        "auto_match_rate": main_file["auto_match_rate"], "accuracy": truth["accuracy"],
        "postings_written": main_file["postings_written"], "peak_rss_mib": measured["sampled_peak_rss_mib"],
        "rerun_s": rerun["seconds"], "rerun_postings": rerun["postings_written"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
