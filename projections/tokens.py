"""Normalising names for the blind index (pure; the keyed hashing is an adapter's)."""

from __future__ import annotations

import re
import unicodedata

MAX_PREFIX = 24
_WORD = re.compile(r"[a-z0-9]+")


def normalise(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", text.lower())
    ascii_only = "".join(c for c in folded if not unicodedata.combining(c))
    return _WORD.findall(ascii_only)


def prefixes(words: list[str]) -> list[str]:
    out: set[str] = set()
    for word in words:
        for n in range(1, min(len(word), MAX_PREFIX) + 1):
            out.add(word[:n])
    return sorted(out)
