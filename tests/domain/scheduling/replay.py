"""Round-trip events through a JSON mapper like the store's and fold them back into an aggregate:
state rebuilt from stored events must equal state built by the commands."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, Mapper, UUIDAsHex

from application.transcodings import DateAsISO


def _mapper() -> Mapper[Any]:
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO(), DateAsISO()):
        transcoder.register(transcoding)
    return Mapper(transcoder=transcoder)


def replayed(events: Sequence[Any]) -> Any:
    mapper = _mapper()
    aggregate: Any = None
    for e in events:
        copy: Any = mapper.to_domain_event(mapper.to_stored_event(e))
        aggregate = copy.mutate(aggregate)
    return aggregate
