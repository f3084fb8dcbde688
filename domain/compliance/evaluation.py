"""Which compliance findings hold at a moment, from plain facts and a rule set.

`evaluate(ruleset, facts, now, tz)` is a pure function: the same facts, moment and rules give the
same findings in the same order. A finding exists only while its condition does (a note signed
at or before `now` yields nothing), so the application opens and resolves alerts by diffing the
findings' `key`s between two evaluations. `evaluate_as_of` judges a moment by the rules in force
on that moment's local date.

Day counting: `today` is `now`'s calendar date in the practice time zone `tz`; the facts' dates
(session date, plan review, expiry, ...) are practice-local dates. A "days_since" step at N holds
from 00:00 local on anchor + N days, i.e. while `today - anchor >= N` (and `< until`). A session
on Monday 1 January gets its reminder on Saturday 6 January (day 5), the supervisor alert on
Monday 8 January (day 7) and the billing hold on Monday 15 January (day 14). Expiry dates are the
first local date a thing is no longer valid: a consent expiring 1 June gets its reminder from
2 May (-30) and the alert from 1 June (0).

Facts that lie after `now` do not count yet (a signature at 10:00 does not clear a 09:00
evaluation; a review dated tomorrow is not a review today), so past moments can be re-judged from
complete histories. `since` is the date a finding's step began to hold; `due` the date the next
step of its ladder begins (None at the last step).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from uuid import UUID
from zoneinfo import ZoneInfo

from domain.compliance import rules as r
from domain.compliance.rules import Rule, RuleSet, RuleSetVersions, Severity, Step, Target
from domain.errors import InvalidCommand

INFORMED = "informed_consent"
GUARDIAN = "guardian_consent"
TELEHEALTH = "telehealth_consent"
INFORMED_CONSENT_VALID_FOR = timedelta(days=365)
AGE_OF_MAJORITY = 18


@dataclass(frozen=True)
class NoteFact:
    note_id: UUID
    client_id: UUID
    clinician_id: UUID
    supervisor_id: UUID | None
    session_date: date
    signed_at: datetime | None = None


@dataclass(frozen=True)
class PlanFact:
    plan_id: UUID
    client_id: UUID
    clinician_id: UUID
    supervisor_id: UUID | None
    reviewed_on: tuple[date, ...]
    """The plan's signing date and every review since; the latest on or before today counts."""
    closed_on: date | None = None


@dataclass(frozen=True)
class ConsentFact:
    client_id: UUID
    type: str  # INFORMED | GUARDIAN | TELEHEALTH
    signed_on: date
    expires_on: date | None = None
    """First date it is no longer valid. None: an informed consent lapses 365 days after signing,
    the others hold until withdrawn (the fact removed)."""


@dataclass(frozen=True)
class ClientFact:
    client_id: UUID
    clinician_id: UUID | None
    supervisor_id: UUID | None
    active_since: date
    discharged_on: date | None = None
    birth_date: date | None = None
    emancipated: bool = False
    telehealth_since: date | None = None
    high_risk_since: date | None = None
    safety_plan_on: date | None = None
    missing_demographics: tuple[str, ...] = ()
    """Seed 001 data-quality rule 4: which required fields are empty (field names, never values)."""


@dataclass(frozen=True)
class StaffFact:
    user_id: UUID
    supervisor_id: UUID | None = None
    license_type: str | None = None
    since: date | None = None
    """First day on staff: months that ended before it owe no supervision hours."""


@dataclass(frozen=True)
class TrainingFact:
    user_id: UUID
    completed_on: date
    expires_on: date


@dataclass(frozen=True)
class SupervisionFact:
    session_id: UUID
    supervisee_id: UUID
    supervisor_id: UUID
    session_date: date
    hours: Decimal
    signed_at: datetime | None = None


@dataclass(frozen=True)
class ClinicianWeekFact:
    """One clinician's appointments in the week starting `week_start` (7 local days)."""

    clinician_id: UUID
    supervisor_id: UUID | None
    week_start: date
    scheduled: int
    completed: int
    no_shows: int


@dataclass(frozen=True)
class PracticeMonthFact:
    month: date  # first day of the month
    scheduled: int
    completed: int


@dataclass(frozen=True)
class Facts:
    notes: Sequence[NoteFact] = ()
    plans: Sequence[PlanFact] = ()
    consents: Sequence[ConsentFact] = ()
    clients: Sequence[ClientFact] = ()
    staff: Sequence[StaffFact] = ()
    trainings: Sequence[TrainingFact] = ()
    supervision: Sequence[SupervisionFact] = ()
    clinician_weeks: Sequence[ClinicianWeekFact] = ()
    practice_months: Sequence[PracticeMonthFact] = ()
    unlinked_notes: Sequence[NoteFact] = ()
    """Session notes (drafted by `now`) with no appointment link: seed 001 data-quality rule 2."""


FindingKey = tuple[str, str, str, UUID | None, date | None]


@dataclass(frozen=True)
class Finding:
    ruleset: str
    rule_version: int
    rule_code: str
    step: str
    severity: Severity
    target: Target
    subject_type: str  # note | plan | client | staff | supervision | clinician | practice
    subject_id: UUID | None
    message: str
    action: str
    since: date
    due: date | None
    violation: bool
    client_id: UUID | None = None
    clinician_id: UUID | None = None
    supervisor_id: UUID | None = None
    period: date | None = None

    @property
    def key(self) -> FindingKey:
        """Identity across evaluations (rule version excluded, so a rule change keeps alerts)."""
        return (self.rule_code, self.step, self.subject_type, self.subject_id, self.period)


@dataclass(frozen=True)
class AsOf:
    """"Were we compliant on date X?": the findings at the end of that local day under the rule
    version in force on it."""

    practice_id: UUID
    on: date
    moment: datetime
    ruleset: str
    rule_version: int
    effective_from: date
    findings: list[Finding]

    @property
    def violations(self) -> list[Finding]:
        return [f for f in self.findings if f.violation]

    @property
    def compliant(self) -> bool:
        return not self.violations


@dataclass(frozen=True)
class _Ctx:
    ruleset: RuleSet
    facts: Facts
    now: datetime
    today: date
    consents_by: Mapping[tuple[UUID, str], Sequence[ConsentFact]]
    """Consents signed by today, by client and type (so coverage rules cost one lookup per client)."""


def local_today(now: datetime, tz: ZoneInfo) -> date:
    if now.tzinfo is None:
        raise InvalidCommand("now must be timezone-aware")
    return now.astimezone(tz).date()


def evaluate(ruleset: RuleSet, facts: Facts, now: datetime, tz: ZoneInfo) -> list[Finding]:
    today = local_today(now, tz)
    consents_by: dict[tuple[UUID, str], list[ConsentFact]] = defaultdict(list)
    for c in facts.consents:
        if c.signed_on <= today:
            consents_by[c.client_id, c.type].append(c)
    ctx = _Ctx(ruleset, facts, now, today, consents_by)
    found: list[Finding] = []
    for rule in ruleset.rules:
        if rule.kind != r.ESC_VIOLATION_SPREAD:
            found.extend(_EVALUATORS[rule.kind](ctx, rule))
    for rule in ruleset.rules:
        if rule.kind == r.ESC_VIOLATION_SPREAD:
            found.extend(_violation_spread(ctx, rule, found))
    order = {rule.code: i for i, rule in enumerate(ruleset.rules)}
    steps = {(rule.code, s.name): i for rule in ruleset.rules for i, s in enumerate(rule.steps)}
    return sorted(
        found,
        key=lambda f: (order[f.rule_code], steps[f.rule_code, f.step], str(f.subject_id), f.period or date.min),
    )


def evaluate_as_of(versions: RuleSetVersions, facts: Facts, now: datetime, tz: ZoneInfo) -> list[Finding]:
    """Findings at `now` under the rule set version in force on `now`'s local date."""
    return evaluate(versions.in_force(local_today(now, tz)), facts, now, tz)


# -- helpers -----------------------------------------------------------------------------------


def _ladder(rule: Rule, n: int, anchor: date) -> list[tuple[Step, date, date | None]]:
    """The steps holding at position `n` (in the rule's unit) with their since and due dates."""
    nxt = min((s.at for s in rule.steps if s.at > n), default=None)
    due = None if nxt is None else anchor + timedelta(days=nxt)
    return [
        (s, anchor + timedelta(days=s.at), due)
        for s in rule.steps
        if s.at <= n and (s.until is None or n < s.until)
    ]


def _emit(
    ctx: _Ctx,
    rule: Rule,
    n: int,
    anchor: date,
    *,
    subject_type: str,
    subject_id: UUID | None,
    values: Mapping[str, object],
    client_id: UUID | None = None,
    clinician_id: UUID | None = None,
    supervisor_id: UUID | None = None,
    period: date | None = None,
) -> Iterable[Finding]:
    for step, since, due in _ladder(rule, n, anchor):
        rendered = {**values, "since": since, "deadline": due}
        yield Finding(
            ruleset=ctx.ruleset.name,
            rule_version=ctx.ruleset.version,
            rule_code=rule.code,
            step=step.name,
            severity=step.severity,
            target=step.target,
            subject_type=subject_type,
            subject_id=subject_id,
            message=step.message.format_map(rendered),
            action=step.action,
            since=since,
            due=due,
            violation=step.violation,
            client_id=client_id,
            clinician_id=clinician_id,
            supervisor_id=supervisor_id,
            period=period,
        )


def _signed(at: datetime | None, now: datetime) -> bool:
    return at is not None and at <= now


def _percent(part: int, whole: int) -> Decimal:
    return Decimal(part * 100) / Decimal(whole)


def _show(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _month_start(d: date) -> date:
    return d.replace(day=1)


def _next_month(d: date) -> date:
    return date(d.year + d.month // 12, d.month % 12 + 1, 1)


def _previous_month(d: date) -> date:
    first = _month_start(d)
    return _month_start(first - timedelta(days=1))


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _consent_expiry(c: ConsentFact) -> date | None:
    if c.expires_on is None and c.type == INFORMED:
        return c.signed_on + INFORMED_CONSENT_VALID_FOR
    return c.expires_on


def _active(client: ClientFact, today: date) -> bool:
    return client.active_since <= today and (client.discharged_on is None or today < client.discharged_on)


def _consents(ctx: _Ctx, client_id: UUID, type_: str) -> Sequence[ConsentFact]:
    return ctx.consents_by.get((client_id, type_), ())


def _covered_since(ctx: _Ctx, client_id: UUID, type_: str, start: date) -> date | None:
    """None when a consent of `type_` is valid today; else the date coverage has been missing since."""
    lapsed = [start]
    for c in _consents(ctx, client_id, type_):
        expiry = _consent_expiry(c)
        if expiry is None or ctx.today < expiry:
            return None
        lapsed.append(expiry)
    return max(lapsed)


def _unsigned_notes(ctx: _Ctx) -> dict[UUID, list[NoteFact]]:
    by_clinician: dict[UUID, list[NoteFact]] = defaultdict(list)
    for n in ctx.facts.notes:
        if n.session_date <= ctx.today and not _signed(n.signed_at, ctx.now):
            by_clinician[n.clinician_id].append(n)
    for notes in by_clinician.values():
        notes.sort(key=lambda n: (n.session_date, str(n.note_id)))
    return by_clinician


# -- evaluators, one per rule kind ---------------------------------------------------------------


def _note_signature(ctx: _Ctx, rule: Rule) -> Iterable[Finding]:
    for notes in _unsigned_notes(ctx).values():
        for n in notes:
            days = (ctx.today - n.session_date).days
            yield from _emit(
                ctx, rule, days, n.session_date, subject_type="note", subject_id=n.note_id,
                values={"session_date": n.session_date, "days": days},
                client_id=n.client_id, clinician_id=n.clinician_id, supervisor_id=n.supervisor_id,
            )


def _plan_review(ctx: _Ctx, rule: Rule) -> Iterable[Finding]:
    for p in ctx.facts.plans:
        if p.closed_on is not None and p.closed_on <= ctx.today:
            continue
        reviews = [d for d in p.reviewed_on if d <= ctx.today]
        if not reviews:
            continue
        last = max(reviews)
        days = (ctx.today - last).days
        yield from _emit(
            ctx, rule, days, last, subject_type="plan", subject_id=p.plan_id,
            values={"reviewed_on": last, "days": days},
            client_id=p.client_id, clinician_id=p.clinician_id, supervisor_id=p.supervisor_id,
        )


def _informed_consent(ctx: _Ctx, rule: Rule) -> Iterable[Finding]:
    """Per active client, the signed informed consent that runs longest; none at all counts as
    lapsed on the day the client became active."""
    for client in ctx.facts.clients:
        if not _active(client, ctx.today):
            continue
        expiries = [e for c in _consents(ctx, client.client_id, INFORMED) if (e := _consent_expiry(c)) is not None]
        expires_on = max(expiries, default=client.active_since)
        days = (ctx.today - expires_on).days
        yield from _emit(
            ctx, rule, days, expires_on, subject_type="client", subject_id=client.client_id,
            values={"expires_on": expires_on, "days_left": -days},
            client_id=client.client_id, clinician_id=client.clinician_id, supervisor_id=client.supervisor_id,
        )


def _coverage(ctx: _Ctx, rule: Rule, type_: str, start_of: Callable[[ClientFact], date | None]) -> Iterable[Finding]:
    for client in ctx.facts.clients:
        start = start_of(client)
        if not _active(client, ctx.today) or start is None or start > ctx.today:
            continue
        since = _covered_since(ctx, client.client_id, type_, start)
        if since is None:
            continue
        yield from _emit(
            ctx, rule, 0, since, subject_type="client", subject_id=client.client_id, values={},
            client_id=client.client_id, clinician_id=client.clinician_id, supervisor_id=client.supervisor_id,
        )


def _minor_consent(ctx: _Ctx, rule: Rule) -> Iterable[Finding]:
    today = ctx.today

    def start(c: ClientFact) -> date | None:
        minor = c.birth_date is not None and _age(c.birth_date, today) < AGE_OF_MAJORITY
        return c.active_since if minor and not c.emancipated else None

    return _coverage(ctx, rule, GUARDIAN, start)


def _telehealth_consent(ctx: _Ctx, rule: Rule) -> Iterable[Finding]:
    return _coverage(ctx, rule, TELEHEALTH, lambda c: c.telehealth_since)


def _safety_plan(ctx: _Ctx, rule: Rule) -> Iterable[Finding]:
    """A high-risk client needs a safety plan dated on or after the day they were flagged."""
    for c in ctx.facts.clients:
        flagged = c.high_risk_since
        if not _active(c, ctx.today) or flagged is None or flagged > ctx.today:
            continue
        if c.safety_plan_on is not None and flagged <= c.safety_plan_on <= ctx.today:
            continue
        yield from _emit(
            ctx, rule, (ctx.today - flagged).days, flagged, subject_type="client", subject_id=c.client_id,
            values={}, client_id=c.client_id, clinician_id=c.clinician_id, supervisor_id=c.supervisor_id,
        )


def _hipaa_training(ctx: _Ctx, rule: Rule) -> Iterable[Finding]:
    """Per staff member, the completed training that runs longest; none counts as lapsed today."""
    for s in ctx.facts.staff:
        expiries = [t.expires_on for t in ctx.facts.trainings if t.user_id == s.user_id and t.completed_on <= ctx.today]
        expires_on = max(expiries, default=ctx.today)
        days = (ctx.today - expires_on).days
        yield from _emit(
            ctx, rule, days, expires_on, subject_type="staff", subject_id=s.user_id,
            values={"expires_on": expires_on, "days_left": -days},
            clinician_id=s.user_id, supervisor_id=s.supervisor_id,
        )


def _supervision_hours(ctx: _Ctx, rule: Rule) -> Iterable[Finding]:
    """Steps before 0 watch the current month's hours so far; steps from 0 judge the month
    before, whose shortfall is reported throughout the following month."""
    for s in ctx.facts.staff:
        if s.license_type is None or s.license_type not in rule.params:
            continue
        required = rule.params[s.license_type]
        for month in (_previous_month(ctx.today), _month_start(ctx.today)):
            month_end = _next_month(month)
            if s.since is not None and month_end <= s.since:
                continue
            counted_until = min(month_end, ctx.today + timedelta(days=1))
            logged = (
                x.hours
                for x in ctx.facts.supervision
                if x.supervisee_id == s.user_id and month <= x.session_date < counted_until
            )
            hours = sum(logged, Decimal(0))
            if hours >= required:
                continue
            yield from _emit(
                ctx, rule, (ctx.today - month_end).days, month_end, subject_type="staff", subject_id=s.user_id,
                values={"hours": hours, "required": required, "license_type": s.license_type,
                        "month": month.strftime("%Y-%m"), "month_end": month_end - timedelta(days=1)},
                clinician_id=s.user_id, supervisor_id=s.supervisor_id, period=month,
            )


def _supervision_note(ctx: _Ctx, rule: Rule) -> Iterable[Finding]:
    for x in ctx.facts.supervision:
        if x.session_date > ctx.today or _signed(x.signed_at, ctx.now):
            continue
        days = (ctx.today - x.session_date).days
        yield from _emit(
            ctx, rule, days, x.session_date, subject_type="supervision", subject_id=x.session_id,
            values={"session_date": x.session_date, "days": days},
            clinician_id=x.supervisee_id, supervisor_id=x.supervisor_id,
        )


def _unsigned_backlog(ctx: _Ctx, rule: Rule) -> Iterable[Finding]:
    limit = int(rule.param("max_unsigned"))
    for clinician, notes in _unsigned_notes(ctx).items():
        if len(notes) > limit:
            since = notes[limit].session_date
            yield from _emit(
                ctx, rule, 0, since, subject_type="clinician", subject_id=clinician,
                values={"count": len(notes), "max_unsigned": limit},
                clinician_id=clinician, supervisor_id=notes[-1].supervisor_id,
            )


def _overdue_note(ctx: _Ctx, rule: Rule) -> Iterable[Finding]:
    """Unsigned on or after day `overdue_days` (the day of the 7-day supervisor alert)."""
    days = int(rule.param("overdue_days"))
    for clinician, notes in _unsigned_notes(ctx).items():
        overdue = [n for n in notes if (ctx.today - n.session_date).days >= days]
        if overdue:
            yield from _emit(
                ctx, rule, 0, overdue[0].session_date + timedelta(days=days),
                subject_type="clinician", subject_id=clinician,
                values={"count": len(overdue), "overdue_days": days, "oldest": overdue[0].session_date},
                clinician_id=clinician, supervisor_id=notes[-1].supervisor_id,
            )


def _recent_weeks(ctx: _Ctx) -> dict[UUID, list[ClinicianWeekFact]]:
    """Per clinician, completed weeks with appointments, newest first, from the last week that
    ended within the past 7 days back to the first gap."""
    by_clinician: dict[UUID, list[ClinicianWeekFact]] = defaultdict(list)
    for w in ctx.facts.clinician_weeks:
        if w.week_start + timedelta(days=7) <= ctx.today and w.scheduled > 0:
            by_clinician[w.clinician_id].append(w)
    runs: dict[UUID, list[ClinicianWeekFact]] = {}
    for clinician, weeks in by_clinician.items():
        weeks.sort(key=lambda w: w.week_start, reverse=True)
        if weeks[0].week_start + timedelta(days=14) <= ctx.today:
            continue
        run = [weeks[0]]
        for w in weeks[1:]:
            if run[-1].week_start - w.week_start != timedelta(days=7):
                break
            run.append(w)
        runs[clinician] = run
    return runs


def _low_kvr(ctx: _Ctx, rule: Rule) -> Iterable[Finding]:
    floor, weeks = rule.param("floor_percent"), int(rule.param("weeks"))
    for clinician, run in _recent_weeks(ctx).items():
        window = run[:weeks]
        if len(window) < weeks or any(_percent(w.completed, w.scheduled) >= floor for w in window):
            continue
        latest = window[0]
        yield from _emit(
            ctx, rule, 0, latest.week_start + timedelta(days=7), subject_type="clinician", subject_id=clinician,
            values={"floor_percent": floor, "weeks": weeks, "kvr": _show(_percent(latest.completed, latest.scheduled))},
            clinician_id=clinician, supervisor_id=latest.supervisor_id,
        )


def _no_show(ctx: _Ctx, rule: Rule) -> Iterable[Finding]:
    limit = rule.param("max_percent")
    for clinician, run in _recent_weeks(ctx).items():
        latest = run[0]
        rate = _percent(latest.no_shows, latest.scheduled)
        if rate > limit:
            yield from _emit(
                ctx, rule, 0, latest.week_start + timedelta(days=7), subject_type="clinician", subject_id=clinician,
                values={"rate": _show(rate), "week": latest.week_start, "max_percent": limit},
                clinician_id=clinician, supervisor_id=latest.supervisor_id,
            )


def _practice_kvr(ctx: _Ctx, rule: Rule) -> Iterable[Finding]:
    """The last completed month against the one before, in percentage points of KVR."""
    latest_month = _previous_month(ctx.today)
    previous_month = _previous_month(latest_month)
    months = {m.month: m for m in ctx.facts.practice_months if m.scheduled > 0}
    latest, previous = months.get(latest_month), months.get(previous_month)
    if latest is None or previous is None:
        return
    now_kvr, was_kvr = _percent(latest.completed, latest.scheduled), _percent(previous.completed, previous.scheduled)
    if was_kvr - now_kvr > rule.param("max_drop_points"):
        yield from _emit(
            ctx, rule, 0, _next_month(latest_month), subject_type="practice", subject_id=None,
            values={"previous": _show(was_kvr), "latest": _show(now_kvr),
                    "previous_month": previous_month.strftime("%Y-%m"), "latest_month": latest_month.strftime("%Y-%m")},
        )


def _violation_spread(ctx: _Ctx, rule: Rule, found: Sequence[Finding]) -> Iterable[Finding]:
    limit = int(rule.param("max_clinicians"))
    first: dict[UUID, date] = {}
    for f in found:
        if f.violation and f.clinician_id is not None:
            first[f.clinician_id] = min(first.get(f.clinician_id, f.since), f.since)
    if len(first) > limit:
        since = sorted(first.values())[limit]
        yield from _emit(
            ctx, rule, 0, since, subject_type="practice", subject_id=None,
            values={"count": len(first), "max_clinicians": limit},
        )


def _note_link(ctx: _Ctx, rule: Rule) -> Iterable[Finding]:
    for n in ctx.facts.unlinked_notes:
        yield from _emit(
            ctx, rule, 0, n.session_date, subject_type="note", subject_id=n.note_id,
            values={"session_date": n.session_date},
            client_id=n.client_id, clinician_id=n.clinician_id, supervisor_id=n.supervisor_id,
        )


def _demographics(ctx: _Ctx, rule: Rule) -> Iterable[Finding]:
    for c in ctx.facts.clients:
        if _active(c, ctx.today) and c.missing_demographics:
            yield from _emit(
                ctx, rule, 0, c.active_since, subject_type="client", subject_id=c.client_id,
                values={"missing": ", ".join(f.replace("_", " ") for f in c.missing_demographics)},
                client_id=c.client_id, clinician_id=c.clinician_id, supervisor_id=c.supervisor_id,
            )


_EVALUATORS: dict[str, Callable[[_Ctx, Rule], Iterable[Finding]]] = {
    r.NOTE_SIGNATURE: _note_signature,
    r.PLAN_REVIEW: _plan_review,
    r.INFORMED_CONSENT: _informed_consent,
    r.SUPERVISION_HOURS: _supervision_hours,
    r.SUPERVISION_NOTE: _supervision_note,
    r.MINOR_CONSENT: _minor_consent,
    r.TELEHEALTH_CONSENT: _telehealth_consent,
    r.SAFETY_PLAN: _safety_plan,
    r.HIPAA_TRAINING: _hipaa_training,
    r.ESC_UNSIGNED_BACKLOG: _unsigned_backlog,
    r.ESC_OVERDUE_NOTE: _overdue_note,
    r.ESC_LOW_KVR: _low_kvr,
    r.ESC_NO_SHOW: _no_show,
    r.ESC_PRACTICE_KVR: _practice_kvr,
    r.DQ_NOTE_LINK: _note_link,
    r.DQ_DEMOGRAPHICS: _demographics,
}
