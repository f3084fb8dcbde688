"""What an inbound text asks for, read the way carriers read keywords.

Carriers and Twilio match a keyword only when it is the whole message, ignoring case, spacing
and punctuation ("Stop.", " stop ", "OPT-OUT"). The carrier words (STOP, START, HELP and their
synonyms) are honoured before anything of ours: CANCEL is an opt-out word to a carrier, so it
opts out here too and never cancels an appointment. YES confirms (it is also a carrier opt-in
word, which only matters to a number that opted out, and there it opts in as well).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import StrEnum


class Intent(StrEnum):
    CONFIRM = "confirm"
    RESCHEDULE = "reschedule"
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    UNKNOWN = "unknown"


KEYWORDS: dict[str, Intent] = {
    **dict.fromkeys(("C", "CONFIRM", "YES"), Intent.CONFIRM),
    **dict.fromkeys(("R", "RESCHEDULE"), Intent.RESCHEDULE),
    **dict.fromkeys(
        ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"), Intent.OPT_OUT
    ),
    **dict.fromkeys(("START", "UNSTOP"), Intent.OPT_IN),
    **dict.fromkeys(("HELP", "INFO"), Intent.HELP),
}


@dataclass(frozen=True)
class Keyword:
    intent: Intent
    keyword: str | None  # the keyword as matched (e.g. "STOPALL"); None for anything else


def normalise(body: str) -> str:
    """Upper-case letters and digits only: "Opt-out!" -> "OPTOUT"."""
    text = unicodedata.normalize("NFKC", body or "")
    return "".join(ch for ch in text if ch.isalnum()).upper()


def classify(body: str) -> Keyword:
    word = normalise(body)
    intent = KEYWORDS.get(word)
    if intent is None:
        return Keyword(Intent.UNKNOWN, None)
    return Keyword(intent, word)
