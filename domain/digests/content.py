"""The text of the daily digest and the weekly performance report (seed 001, Module 7: "Daily
Digest Email", "Weekly Performance Report", "Monday Morning Email"), from plain figures.

Pure: the application gathers the figures, this module words them. What goes in is PHI-free by
construction: counts, dates, times, staff names and compliance alert texts (which name dates,
counts and rates, never a client). Nothing here takes a client's name, so none can come out.
Each letter also carries its `counts`, the figures recorded with the Sent event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time
from decimal import ROUND_HALF_UP, Decimal

from domain.scheduling.metrics import (
    HUNDRED,
    ONE_PLACE,
    MetricDefinition,
    MetricValue,
    cancellation_rate,
    kept_visit_rate,
    no_show_rate,
)
from domain.scheduling.metrics import METRICS as SCHEDULE_METRICS

SEVERITIES = ("critical", "warning", "info")
MAX_ALERT_LINES = 15
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
SAME_DAY_DOCUMENTATION = MetricDefinition(
    "same_day_documentation", "Same-Day Documentation Rate", "documentation_compliance",
    "completed sessions whose note was signed on the session's date / completed sessions x 100", "percent",
    ">= 90%", target_min=Decimal("90"), alert_below=Decimal("80"),
)
STATUS_WORDS = {
    "on_target": "on target", "watch": "off target", "alert": "needs attention", "no_data": "no data",
    "no_benchmark": "no benchmark",
}
ACTIONS = {
    "sign_note": "sign the note",
    "sign_note_to_release_billing": "sign the note to release the charge",
    "review_treatment_plan": "review the treatment plan",
    "renew_informed_consent": "renew the informed consent",
    "log_supervision_hours": "log supervision hours",
    "schedule_supervision": "schedule supervision",
    "sign_supervision_note": "sign the supervision note",
    "obtain_guardian_consent": "obtain the guardian's consent",
    "obtain_telehealth_consent": "obtain the telehealth consent",
    "write_safety_plan": "write the safety plan",
    "complete_hipaa_training": "complete HIPAA training",
    "review_documentation_backlog": "review the documentation backlog",
    "schedule_coaching": "schedule coaching",
    "review_client_engagement": "review client engagement",
    "review_practice_performance": "review practice performance",
    "review_practice_compliance": "review practice compliance",
    "link_note_to_appointment": "link the note to its appointment",
    "complete_demographics": "complete the client record",
}


@dataclass(frozen=True)
class Visits:
    """Appointments of a period (by local start date) and how they went."""

    scheduled: int = 0  # every appointment but the rescheduled ones (cancelled ones included)
    completed: int = 0
    no_shows: int = 0
    cancelled: int = 0
    signed_same_day: int = 0  # completed sessions whose session note was signed on the session's date

    def __add__(self, other: Visits) -> Visits:
        return Visits(self.scheduled + other.scheduled, self.completed + other.completed,
                      self.no_shows + other.no_shows, self.cancelled + other.cancelled,
                      self.signed_same_day + other.signed_same_day)


@dataclass(frozen=True)
class Alert:
    """An active compliance alert for the recipient. `about`: the staff member it concerns when
    that is not the recipient (a supervisee, for a supervisor), never a client."""

    severity: str
    message: str
    action: str
    about: str | None = None


@dataclass(frozen=True)
class Rollup:
    """A team's (supervisors) or the practice's (administrators) figures."""

    people: int
    visits: Visits  # yesterday (daily) or last week (weekly)
    previous: Visits = field(default_factory=Visits)  # the week before (weekly)
    unsigned_notes: int = 0
    alerts: int = 0
    critical_alerts: int = 0


@dataclass(frozen=True)
class DailyFacts:
    practice: str
    recipient: str
    on: date  # the practice-local date the digest is for
    time_zone: str
    sees_clients: bool
    yesterday: Visits
    unsigned_notes: int
    oldest_unsigned_days: int | None
    awaiting_cosign: int
    plans_due: int
    alerts: tuple[Alert, ...]
    appointments_today: int
    first_start: time | None  # practice-local
    team: Rollup | None = None
    practice_totals: Rollup | None = None


@dataclass(frozen=True)
class WeeklyFacts:
    practice: str
    recipient: str
    week_start: date  # Monday of last week
    sees_clients: bool
    last_week: Visits
    week_before: Visits
    unsigned_notes: int
    oldest_unsigned_days: int | None
    alerts: tuple[Alert, ...]
    team: Rollup | None = None
    practice_totals: Rollup | None = None


@dataclass(frozen=True)
class Letter:
    subject: str
    text: str
    counts: dict[str, int]


def long_date(d: date) -> str:
    return f"{WEEKDAYS[d.weekday()]} {d.day} {MONTHS[d.month - 1]} {d.year}"


def _short_date(d: date) -> str:
    return f"{d.day} {MONTHS[d.month - 1]}"


def _line(text: str) -> str:
    return " ".join(text.split())


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _percent(value: Decimal | None) -> str:
    return "no data" if value is None else f"{value}%"


def same_day_documentation(signed_same_day: int, completed: int) -> MetricValue:
    """Seed 001 "Same-Day Documentation Rate": notes signed the same day / sessions x 100."""
    d = SAME_DAY_DOCUMENTATION
    if completed == 0:
        return MetricValue(None, signed_same_day, completed, d.benchmark, "no_data")
    exact = Decimal(min(signed_same_day, completed)) * HUNDRED / Decimal(completed)
    return MetricValue(exact.quantize(ONE_PLACE, rounding=ROUND_HALF_UP), signed_same_day, completed, d.benchmark,
                       d.status(exact))


def measures(v: Visits) -> list[tuple[MetricDefinition, MetricValue]]:
    """The weekly report's measures with the metric dictionary's benchmarks."""
    return [
        (SCHEDULE_METRICS["kept_visit_rate"], kept_visit_rate(v.completed, v.scheduled)),
        (SCHEDULE_METRICS["no_show_rate"], no_show_rate(v.no_shows, v.scheduled)),
        (SCHEDULE_METRICS["cancellation_rate"], cancellation_rate(v.cancelled, v.scheduled)),
        (SAME_DAY_DOCUMENTATION, same_day_documentation(v.signed_same_day, v.completed)),
    ]


def _label(d: MetricDefinition) -> str:
    return {"kept_visit_rate": "Kept visit rate", "no_show_rate": "No-show rate",
            "cancellation_rate": "Cancellation rate", "same_day_documentation": "Same-day documentation"}.get(
        d.code, d.name)


def _change(now: Decimal | None, before: Decimal | None) -> str:
    if now is None or before is None:
        return ""
    diff = now - before
    if diff == 0:
        return ", no change"
    return f", {'+' if diff > 0 else '-'}{abs(diff)} points"


def _alert_counts(alerts: tuple[Alert, ...]) -> dict[str, int]:
    return {f"alerts_{s}": sum(1 for a in alerts if a.severity == s) for s in SEVERITIES}


def _alert_lines(alerts: tuple[Alert, ...], empty: str) -> list[str]:
    if not alerts:
        return [f"- {empty}"]
    ordered = sorted(alerts, key=lambda a: (
        SEVERITIES.index(a.severity) if a.severity in SEVERITIES else len(SEVERITIES), a.about or "", a.message))
    lines = []
    for a in ordered[:MAX_ALERT_LINES]:
        about = f" ({_line(a.about)})" if a.about else ""
        lines.append(f"- [{a.severity}]{about} {_line(a.message)}")
        lines.append(f"  Action: {ACTIONS.get(a.action, a.action.replace('_', ' '))}")
    if len(ordered) > MAX_ALERT_LINES:
        lines.append(f"- ... and {len(ordered) - MAX_ALERT_LINES} more in CareLedger.")
    return lines


def _unsigned(count: int, oldest_days: int | None) -> str:
    line = f"- Unsigned notes: {count}"
    if count and oldest_days is not None:
        line += f" (oldest: {_plural(oldest_days, 'day')})"
    return line


def _rollup_counts(prefix: str, r: Rollup, weekly: bool) -> dict[str, int]:
    counts = {
        f"{prefix}_people": r.people, f"{prefix}_scheduled": r.visits.scheduled,
        f"{prefix}_completed": r.visits.completed, f"{prefix}_no_shows": r.visits.no_shows,
        f"{prefix}_unsigned_notes": r.unsigned_notes, f"{prefix}_alerts": r.alerts,
        f"{prefix}_critical_alerts": r.critical_alerts,
    }
    if weekly:
        counts.update({
            f"{prefix}_cancelled": r.visits.cancelled, f"{prefix}_signed_same_day": r.visits.signed_same_day,
            f"{prefix}_prior_scheduled": r.previous.scheduled, f"{prefix}_prior_completed": r.previous.completed,
        })
    return counts


def _rollup_lines(title: str, r: Rollup, weekly: bool) -> list[str]:
    v = r.visits
    lines = ["", title, f"- Sessions completed: {v.completed} of {v.scheduled} scheduled; no-shows: {v.no_shows}"]
    if weekly:
        for definition, value in measures(v):
            lines.append(f"- {_label(definition)}: {_percent(value.value)} "
                         f"(benchmark {definition.benchmark}: {STATUS_WORDS[value.status]})")
    lines.append(f"- Unsigned notes: {r.unsigned_notes}")
    lines.append(f"- Active compliance alerts: {r.alerts} ({r.critical_alerts} critical)")
    return lines


def _footer(what: str) -> list[str]:
    return ["", "--", f"CareLedger sends {what}.", "It names no clients: open CareLedger for the details."]


def daily_digest(f: DailyFacts) -> Letter:
    yesterday = date.fromordinal(f.on.toordinal() - 1)
    personal = f.sees_clients or bool(f.yesterday.scheduled or f.appointments_today or f.unsigned_notes)
    y = f.yesterday
    lines = [f"Good morning, {_line(f.recipient)}.", "",
             f"Your daily digest from {_line(f.practice)} for {long_date(f.on)}."]
    if personal:
        kvr = kept_visit_rate(y.completed, y.scheduled)
        lines += ["", f"Yesterday ({long_date(yesterday)})",
                  f"- Sessions completed: {y.completed} of {y.scheduled} scheduled"
                  + (f" (kept visit rate {kvr.value}%)" if kvr.value is not None else ""),
                  f"- No-shows: {y.no_shows}",
                  f"- Notes signed the same day: {min(y.signed_same_day, y.completed)} of "
                  f"{_plural(y.completed, 'completed session')}"]
    lines += ["", "Pending tasks", _unsigned(f.unsigned_notes, f.oldest_unsigned_days)]
    if f.awaiting_cosign:
        lines.append(f"- Notes waiting for your co-signature: {f.awaiting_cosign}")
    lines.append(f"- Treatment plans due for review: {f.plans_due}")
    counts = _alert_counts(f.alerts)
    summary = ", ".join(f"{counts[f'alerts_{s}']} {s}" for s in SEVERITIES)
    lines.append(f"- Compliance alerts: {summary}" if f.alerts else "- Compliance alerts: none")
    if f.alerts:
        lines += ["  " + line for line in _alert_lines(f.alerts, "")]
    if personal:
        lines += ["", "Today"]
        if f.appointments_today and f.first_start is not None:
            lines.append(f"- Appointments: {f.appointments_today}, the first at {f.first_start:%H:%M} "
                         f"({f.time_zone} time)")
        else:
            lines.append("- No appointments today.")
    if f.team is not None:
        lines += _rollup_lines(f"Your team ({_plural(f.team.people, 'person', 'people')}), yesterday", f.team, False)
    if f.practice_totals is not None:
        lines += _rollup_lines(f"Practice totals ({_plural(f.practice_totals.people, 'staff member')}), yesterday",
                               f.practice_totals, False)
    lines += _footer("this digest every morning from 07:00 practice time")

    counts = {
        "scheduled": y.scheduled, "completed": y.completed, "no_shows": y.no_shows,
        "signed_same_day": min(y.signed_same_day, y.completed), "unsigned_notes": f.unsigned_notes,
        "awaiting_cosign": f.awaiting_cosign, "plans_due": f.plans_due, **counts,
        "appointments_today": f.appointments_today,
    }
    if f.oldest_unsigned_days is not None:
        counts["oldest_unsigned_days"] = f.oldest_unsigned_days
    if f.team is not None:
        counts.update(_rollup_counts("team", f.team, False))
    if f.practice_totals is not None:
        counts.update(_rollup_counts("practice", f.practice_totals, False))
    subject = _line(f"Daily digest for {long_date(f.on)} - {f.practice}")
    return Letter(subject, "\n".join(lines) + "\n", counts)


def weekly_report(f: WeeklyFacts) -> Letter:
    week_end = date.fromordinal(f.week_start.toordinal() + 6)
    last, before = f.last_week, f.week_before
    personal = f.sees_clients or bool(last.scheduled or before.scheduled)
    lines = [f"Good morning, {_line(f.recipient)}.", "",
             f"Your weekly performance report from {_line(f.practice)}: last week, {_short_date(f.week_start)} to "
             f"{_short_date(week_end)} {week_end.year}, against the week before."]
    goals: list[str] = []
    if personal:
        lines += ["", "Last week",
                  f"- Sessions completed: {last.completed} of {last.scheduled} scheduled "
                  f"(week before: {before.completed} of {before.scheduled})",
                  f"- No-shows: {last.no_shows} (week before: {before.no_shows})",
                  f"- Cancellations: {last.cancelled} (week before: {before.cancelled})",
                  f"- Notes signed the same day: {min(last.signed_same_day, last.completed)} of "
                  f"{_plural(last.completed, 'completed session')}",
                  "", "Against the benchmarks"]
        for (definition, now), (_, then) in zip(measures(last), measures(before), strict=True):
            lines.append(
                f"- {_label(definition)}: {_percent(now.value)} (week before: {_percent(then.value)}"
                f"{_change(now.value, then.value)}); benchmark {definition.benchmark}: {STATUS_WORDS[now.status]}"
            )
            if now.status in ("watch", "alert"):
                goals.append(f"- {_label(definition)}: back to {definition.benchmark} "
                             f"(last week {_percent(now.value)})")
        lines += ["", "Goals for this week"] + (goals or ["- Keep every measure on target."])
    lines += ["", "Action items", _unsigned(f.unsigned_notes, f.oldest_unsigned_days)]
    lines += _alert_lines(f.alerts, "No open compliance alerts for you.")
    if f.team is not None:
        lines += _rollup_lines(f"Your team ({_plural(f.team.people, 'person', 'people')}), last week", f.team, True)
    if f.practice_totals is not None:
        lines += _rollup_lines(f"Practice totals ({_plural(f.practice_totals.people, 'staff member')}), last week",
                               f.practice_totals, True)
    lines += _footer("this report every Monday from 07:00 practice time")

    counts = {
        "scheduled": last.scheduled, "completed": last.completed, "no_shows": last.no_shows,
        "cancelled": last.cancelled, "signed_same_day": min(last.signed_same_day, last.completed),
        "prior_scheduled": before.scheduled, "prior_completed": before.completed,
        "prior_no_shows": before.no_shows, "prior_cancelled": before.cancelled,
        "prior_signed_same_day": min(before.signed_same_day, before.completed),
        "unsigned_notes": f.unsigned_notes, **_alert_counts(f.alerts), "goals": len(goals),
    }
    if f.team is not None:
        counts.update(_rollup_counts("team", f.team, True))
    if f.practice_totals is not None:
        counts.update(_rollup_counts("practice", f.practice_totals, True))
    subject = _line(f"Weekly performance report, week of {long_date(f.week_start)} - {f.practice}")
    return Letter(subject, "\n".join(lines) + "\n", counts)
