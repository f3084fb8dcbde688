"""Given events, when a command, then events (or an error and no new events)."""

from __future__ import annotations

from typing import Any


def given(*aggregate_and_commands: Any) -> Any:
    """Return an aggregate whose history is committed: only later events count as new."""
    aggregate = aggregate_and_commands[0]
    aggregate.collect_events()
    return aggregate


def then_events(aggregate: Any) -> list[str]:
    return [type(e).__name__ for e in aggregate.collect_events()]


def then_no_new_events(aggregate: Any) -> None:
    assert aggregate.collect_events() == []
