from __future__ import annotations

import pytest

from domain.messaging.sms_keywords import Intent, Keyword, classify


@pytest.mark.parametrize(
    ("body", "intent", "keyword"),
    [
        ("C", Intent.CONFIRM, "C"),
        ("c", Intent.CONFIRM, "C"),
        (" Confirm. ", Intent.CONFIRM, "CONFIRM"),
        ("yes!", Intent.CONFIRM, "YES"),
        ("R", Intent.RESCHEDULE, "R"),
        ("reschedule\n", Intent.RESCHEDULE, "RESCHEDULE"),
        ("STOP", Intent.OPT_OUT, "STOP"),
        ("Stop.", Intent.OPT_OUT, "STOP"),
        ("stop all", Intent.OPT_OUT, "STOPALL"),
        ("STOPALL", Intent.OPT_OUT, "STOPALL"),
        ("unsubscribe", Intent.OPT_OUT, "UNSUBSCRIBE"),
        ("Cancel", Intent.OPT_OUT, "CANCEL"),
        ("end", Intent.OPT_OUT, "END"),
        ("QUIT", Intent.OPT_OUT, "QUIT"),
        ("revoke", Intent.OPT_OUT, "REVOKE"),
        ("opt-out", Intent.OPT_OUT, "OPTOUT"),
        ("Opt Out", Intent.OPT_OUT, "OPTOUT"),
        ("\uff33\uff34\uff2f\uff30", Intent.OPT_OUT, "STOP"),  # full-width letters from some keyboards
        ("start", Intent.OPT_IN, "START"),
        ("Unstop", Intent.OPT_IN, "UNSTOP"),
        ("help", Intent.HELP, "HELP"),
        ("INFO?", Intent.HELP, "INFO"),
    ],
)
def test_keywords(body: str, intent: Intent, keyword: str) -> None:
    assert classify(body) == Keyword(intent, keyword)


@pytest.mark.parametrize(
    "body",
    ["", "   ", "please stop texting me", "yes please", "Can I come at 3 instead?", "CC", "confirmed", "😀", "STOP STOP"],
)
def test_anything_else_is_unknown_and_keeps_no_text(body: str) -> None:
    result = classify(body)
    assert result.intent is Intent.UNKNOWN
    assert result.keyword is None
