"""The daily digest and the weekly report, worded from plain figures: exact text, exact counts."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, time

from domain.digests.content import (
    MAX_ALERT_LINES,
    Alert,
    DailyFacts,
    Rollup,
    Visits,
    WeeklyFacts,
    daily_digest,
    same_day_documentation,
    weekly_report,
)

NOTE_ALERT = Alert("warning", "Note for the session on 2026-03-02 is unsigned (day 5); sign it before 2026-03-09.",
                   "sign_note")
KVR_ALERT = Alert("warning", "KVR below 70% for 2 weeks running (latest 50.0%).", "schedule_coaching", about="Sam Lee")
HOLD_ALERT = Alert("critical", "Charge for the session on 2026-02-20 is on billing hold: note unsigned after 14 days.",
                   "sign_note_to_release_billing")


def daily(**changes: object) -> DailyFacts:
    facts = DailyFacts(
        practice="Peachtree Counseling", recipient="Dana Reed", on=date(2026, 3, 10), time_zone="America/New_York",
        sees_clients=True, yesterday=Visits(scheduled=4, completed=2, no_shows=1, cancelled=1, signed_same_day=1),
        unsigned_notes=2, oldest_unsigned_days=3, awaiting_cosign=0, plans_due=1, alerts=(NOTE_ALERT,),
        appointments_today=3, first_start=time(9, 30),
    )
    return replace(facts, **changes)  # type: ignore[arg-type]


def weekly(**changes: object) -> WeeklyFacts:
    facts = WeeklyFacts(
        practice="Peachtree Counseling", recipient="Dana Reed", week_start=date(2026, 3, 2), sees_clients=True,
        last_week=Visits(scheduled=8, completed=6, no_shows=1, cancelled=1, signed_same_day=4),
        week_before=Visits(scheduled=5, completed=5, no_shows=0, cancelled=0, signed_same_day=5),
        unsigned_notes=2, oldest_unsigned_days=3, alerts=(NOTE_ALERT,),
    )
    return replace(facts, **changes)  # type: ignore[arg-type]


def test_the_daily_digest_of_a_clinician() -> None:
    letter = daily_digest(daily())
    assert letter.subject == "Daily digest for Tuesday 10 March 2026 - Peachtree Counseling"
    assert letter.text == (
        "Good morning, Dana Reed.\n"
        "\n"
        "Your daily digest from Peachtree Counseling for Tuesday 10 March 2026.\n"
        "\n"
        "Yesterday (Monday 9 March 2026)\n"
        "- Sessions completed: 2 of 4 scheduled (kept visit rate 50.0%)\n"
        "- No-shows: 1\n"
        "- Notes signed the same day: 1 of 2 completed sessions\n"
        "\n"
        "Pending tasks\n"
        "- Unsigned notes: 2 (oldest: 3 days)\n"
        "- Treatment plans due for review: 1\n"
        "- Compliance alerts: 0 critical, 1 warning, 0 info\n"
        "  - [warning] Note for the session on 2026-03-02 is unsigned (day 5); sign it before 2026-03-09.\n"
        "    Action: sign the note\n"
        "\n"
        "Today\n"
        "- Appointments: 3, the first at 09:30 (America/New_York time)\n"
        "\n"
        "--\n"
        "CareLedger sends this digest every morning from 07:00 practice time.\n"
        "It names no clients: open CareLedger for the details.\n"
    )
    assert letter.counts == {
        "scheduled": 4, "completed": 2, "no_shows": 1, "signed_same_day": 1, "unsigned_notes": 2,
        "oldest_unsigned_days": 3, "awaiting_cosign": 0, "plans_due": 1, "alerts_critical": 0, "alerts_warning": 1,
        "alerts_info": 0, "appointments_today": 3,
    }


def test_a_quiet_day() -> None:
    letter = daily_digest(daily(yesterday=Visits(), unsigned_notes=0, oldest_unsigned_days=None, plans_due=0,
                                alerts=(), appointments_today=0, first_start=None))
    assert "- Sessions completed: 0 of 0 scheduled\n" in letter.text  # no rate without visits
    assert "- Notes signed the same day: 0 of 0 completed sessions\n" in letter.text
    assert "- Unsigned notes: 0\n" in letter.text and "oldest" not in letter.text
    assert "- Compliance alerts: none\n" in letter.text
    assert "Today\n- No appointments today.\n" in letter.text
    assert "oldest_unsigned_days" not in letter.counts


def test_staff_who_see_no_clients_get_only_their_tasks() -> None:
    letter = daily_digest(daily(sees_clients=False, yesterday=Visits(), unsigned_notes=0, oldest_unsigned_days=None,
                                appointments_today=0, first_start=None))
    assert "Yesterday" not in letter.text and "Today" not in letter.text
    assert "Pending tasks\n- Unsigned notes: 0\n" in letter.text


def test_a_supervisor_sees_the_team_and_supervisee_alerts_name_the_supervisee() -> None:
    team = Rollup(people=2, visits=Visits(5, 4, 1, 0, 3), unsigned_notes=3, alerts=2, critical_alerts=1)
    letter = daily_digest(daily(alerts=(NOTE_ALERT, KVR_ALERT, HOLD_ALERT), awaiting_cosign=2, team=team))
    assert (
        "- Notes waiting for your co-signature: 2\n"
        "- Treatment plans due for review: 1\n"
        "- Compliance alerts: 1 critical, 2 warning, 0 info\n"
        "  - [critical] Charge for the session on 2026-02-20 is on billing hold: note unsigned after 14 days.\n"
        "    Action: sign the note to release the charge\n"
        "  - [warning] Note for the session on 2026-03-02 is unsigned (day 5); sign it before 2026-03-09.\n"
        "    Action: sign the note\n"
        "  - [warning] (Sam Lee) KVR below 70% for 2 weeks running (latest 50.0%).\n"
        "    Action: schedule coaching\n"
    ) in letter.text
    assert (
        "Your team (2 people), yesterday\n"
        "- Sessions completed: 4 of 5 scheduled; no-shows: 1\n"
        "- Unsigned notes: 3\n"
        "- Active compliance alerts: 2 (1 critical)\n"
    ) in letter.text
    assert {k: v for k, v in letter.counts.items() if k.startswith("team_")} == {
        "team_people": 2, "team_scheduled": 5, "team_completed": 4, "team_no_shows": 1, "team_unsigned_notes": 3,
        "team_alerts": 2, "team_critical_alerts": 1,
    }


def test_an_administrator_sees_practice_totals() -> None:
    totals = Rollup(people=1, visits=Visits(10, 8, 1, 1, 6), unsigned_notes=4, alerts=5, critical_alerts=2)
    letter = daily_digest(daily(practice_totals=totals))
    assert "Practice totals (1 staff member), yesterday\n- Sessions completed: 8 of 10 scheduled; no-shows: 1\n" in (
        letter.text)
    assert letter.counts["practice_alerts"] == 5 and letter.counts["practice_people"] == 1


def test_long_alert_lists_are_cut_but_counted() -> None:
    alerts = tuple(Alert("info", f"Client record is missing phone ({i}).", "complete_demographics") for i in range(20))
    letter = daily_digest(daily(alerts=alerts))
    assert letter.text.count("[info]") == MAX_ALERT_LINES
    assert f"- ... and {20 - MAX_ALERT_LINES} more in CareLedger.\n" in letter.text
    assert letter.counts["alerts_info"] == 20


def test_headers_stay_on_one_line() -> None:
    letter = daily_digest(daily(practice="Peachtree\r\nBcc: eve@example.test"))
    assert letter.subject == "Daily digest for Tuesday 10 March 2026 - Peachtree Bcc: eve@example.test"


def test_the_weekly_report_compares_weeks_and_benchmarks() -> None:
    letter = weekly_report(weekly())
    assert letter.subject == "Weekly performance report, week of Monday 2 March 2026 - Peachtree Counseling"
    assert letter.text == (
        "Good morning, Dana Reed.\n"
        "\n"
        "Your weekly performance report from Peachtree Counseling: last week, 2 March to 8 March 2026, "
        "against the week before.\n"
        "\n"
        "Last week\n"
        "- Sessions completed: 6 of 8 scheduled (week before: 5 of 5)\n"
        "- No-shows: 1 (week before: 0)\n"
        "- Cancellations: 1 (week before: 0)\n"
        "- Notes signed the same day: 4 of 6 completed sessions\n"
        "\n"
        "Against the benchmarks\n"
        "- Kept visit rate: 75.0% (week before: 100.0%, -25.0 points); benchmark >= 85%: needs attention\n"
        "- No-show rate: 12.5% (week before: 0.0%, +12.5 points); benchmark <= 10%: off target\n"
        "- Cancellation rate: 12.5% (week before: 0.0%, +12.5 points); benchmark <= 15%: on target\n"
        "- Same-day documentation: 66.7% (week before: 100.0%, -33.3 points); benchmark >= 90%: needs attention\n"
        "\n"
        "Goals for this week\n"
        "- Kept visit rate: back to >= 85% (last week 75.0%)\n"
        "- No-show rate: back to <= 10% (last week 12.5%)\n"
        "- Same-day documentation: back to >= 90% (last week 66.7%)\n"
        "\n"
        "Action items\n"
        "- Unsigned notes: 2 (oldest: 3 days)\n"
        "- [warning] Note for the session on 2026-03-02 is unsigned (day 5); sign it before 2026-03-09.\n"
        "  Action: sign the note\n"
        "\n"
        "--\n"
        "CareLedger sends this report every Monday from 07:00 practice time.\n"
        "It names no clients: open CareLedger for the details.\n"
    )
    assert letter.counts == {
        "scheduled": 8, "completed": 6, "no_shows": 1, "cancelled": 1, "signed_same_day": 4, "prior_scheduled": 5,
        "prior_completed": 5, "prior_no_shows": 0, "prior_cancelled": 0, "prior_signed_same_day": 5,
        "unsigned_notes": 2, "alerts_critical": 0, "alerts_warning": 1, "alerts_info": 0, "goals": 3,
    }


def test_a_week_on_target_and_one_without_data() -> None:
    letter = weekly_report(weekly(last_week=Visits(10, 9, 1, 0, 9), week_before=Visits(), alerts=(),
                                  unsigned_notes=0, oldest_unsigned_days=None))
    assert "- Kept visit rate: 90.0% (week before: no data); benchmark >= 85%: on target\n" in letter.text
    assert "- No-show rate: 10.0% (week before: no data); benchmark <= 10%: on target\n" in letter.text
    assert "Goals for this week\n- Keep every measure on target.\n" in letter.text
    assert "Action items\n- Unsigned notes: 0\n- No open compliance alerts for you.\n" in letter.text


def test_the_weekly_rollup_states_the_team_measures() -> None:
    team = Rollup(people=3, visits=Visits(20, 17, 2, 1, 12), previous=Visits(18, 16, 1, 1, 10), unsigned_notes=5,
                  alerts=4, critical_alerts=1)
    letter = weekly_report(weekly(team=team))
    assert (
        "Your team (3 people), last week\n"
        "- Sessions completed: 17 of 20 scheduled; no-shows: 2\n"
        "- Kept visit rate: 85.0% (benchmark >= 85%: on target)\n"
        "- No-show rate: 10.0% (benchmark <= 10%: on target)\n"
        "- Cancellation rate: 5.0% (benchmark <= 15%: on target)\n"
        "- Same-day documentation: 70.6% (benchmark >= 90%: needs attention)\n"
        "- Unsigned notes: 5\n"
        "- Active compliance alerts: 4 (1 critical)\n"
    ) in letter.text
    assert letter.counts["team_prior_scheduled"] == 18 and letter.counts["team_signed_same_day"] == 12


def test_same_day_documentation_rate() -> None:
    assert same_day_documentation(0, 0).status == "no_data"
    nine = same_day_documentation(9, 10)
    assert (str(nine.value), nine.status) == ("90.0", "on_target")
    assert same_day_documentation(17, 20).status == "watch"
    assert same_day_documentation(3, 4).status == "alert"
