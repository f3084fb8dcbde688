"""Optimistic concurrency: when another writer saved one of the same aggregates first, run the
command again on the state that won (it reloads), so only a real collision fails."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from eventsourcing.persistence import IntegrityError

T = TypeVar("T")


def retrying(attempt: Callable[[], T], attempts: int) -> T:
    """`attempt` up to `attempts` times, with a short growing jitter between tries; the last
    try's IntegrityError reaches the caller."""
    for n in range(attempts - 1):
        try:
            return attempt()
        except IntegrityError:
            time.sleep(random.uniform(0, 0.002 * (n + 1)))
    return attempt()
