"""Separators and segments of X12 text as payers actually send it.

Separators come from each ISA; text without an envelope gets them guessed from its first
GS or ST segment. Line breaks inside a `~`-terminated file are wrapping, not data, and are
dropped; when the terminator is itself a line break, a stray `~` around segments is ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from domain.remittance.era835.errors import EraReadError

LINE_BREAK = "\n"
_LINE_BREAKS = re.compile(r"[\r\n]")
_START_ISA = re.compile(r"ISA[^A-Za-z0-9\s]")
_START_BARE = re.compile(r"(?<![A-Za-z0-9])(?:GS|ST)[^A-Za-z0-9\s]")
_ISA_MAX_LENGTH = 250
_TERMINATOR_SCAN = 300
_NOT_A_TERMINATOR = frozenset(" -._/#&+()")


@dataclass(frozen=True, slots=True)
class Separators:
    element: str
    component: str
    segment: str
    repetition: str | None = None

    @property
    def line_based(self) -> bool:
        return self.segment == LINE_BREAK


DEFAULT_SEPARATORS = Separators(element="*", component=":", segment="~")


@dataclass(frozen=True, slots=True)
class Segment:
    id: str
    elements: tuple[str, ...]
    separators: Separators

    def get(self, position: int) -> str:
        """Element XXnn numbered as X12 does (1 is the first after the id); '' when absent."""
        if 1 <= position <= len(self.elements):
            return self.elements[position - 1]
        return ""

    def text(self, position: int) -> str:
        return self.get(position).strip()


def decode(data: bytes | str) -> str:
    if isinstance(data, str):
        text = data
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16", errors="replace")
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
    return text.lstrip("\ufeff")


def tokenize(data: bytes | str) -> list[Segment]:
    """Split X12 text into segments, re-reading the separators at every ISA."""
    text = decode(data)
    if not text.strip():
        raise EraReadError("The input is empty.")
    start = _find_start(text)
    if start is None:
        raise EraReadError("The input has no ISA, GS or ST segment; it is not X12.")
    segments: list[Segment] = []
    separators: Separators | None = None
    pos = start
    while pos < len(text):
        pos = _skip_gap(text, pos, separators)
        if text.startswith("ISA", pos):
            separators = _isa_separators(text, pos) or separators
        if separators is None:
            separators = _bare_separators(text, pos)
        raw, pos = _next_segment(text, pos, separators)
        if raw:
            parts = raw.split(separators.element)
            segments.append(Segment(parts[0].strip(), tuple(parts[1:]), separators))
    return segments


def _find_start(text: str) -> int | None:
    found = [m.start() for m in (_START_ISA.search(text), _START_BARE.search(text)) if m]
    return min(found) if found else None


def _skip_gap(text: str, pos: int, separators: Separators | None) -> int:
    stray = "~" if separators is None or separators.line_based else ""
    while pos < len(text) and (text[pos].isspace() or text[pos] in stray):
        pos += 1
    return pos


def _next_segment(text: str, pos: int, separators: Separators) -> tuple[str, int]:
    if separators.line_based:
        found = _LINE_BREAKS.search(text, pos)
        end = found.start() if found else len(text)
        raw = text[pos:end].strip()
        if "~" not in (separators.element, separators.component):
            raw = raw.strip("~").strip()
        return raw, end + 1
    end = text.find(separators.segment, pos)
    if end == -1:
        end = len(text)
    raw = _LINE_BREAKS.sub("", text[pos:end]).strip()
    return raw, end + len(separators.segment)


def _isa_separators(text: str, pos: int) -> Separators | None:
    element = text[pos + 3 : pos + 4]
    if not _is_delimiter(element):
        return None
    index = pos + 3
    for _ in range(15):
        index = text.find(element, index + 1)
        if index == -1 or index - pos > _ISA_MAX_LENGTH:
            return None
    component = text[index + 1 : index + 2]
    terminator = text[index + 2 : index + 3] or "~"
    if not _is_delimiter(component) or component == element:
        return None
    if terminator in "\r\n":
        terminator = LINE_BREAK
    elif terminator.isalnum() or terminator in (" ", element, component):
        return None
    fields = text[pos : index + 1].split(element)
    version, repetition = fields[12].strip(), fields[11].strip()
    has_repetition = version >= "00402" and len(repetition) == 1 and _is_delimiter(repetition)
    return Separators(element, component, terminator, repetition if has_repetition else None)


def _bare_separators(text: str, pos: int) -> Separators:
    header = next((h for h in ("ISA", "GS", "ST") if text.startswith(h, pos)), "")
    element = text[pos + len(header) : pos + len(header) + 1]
    if not header or not _is_delimiter(element):
        return DEFAULT_SEPARATORS
    terminator = "~"
    for char in text[pos + len(header) + 1 : pos + _TERMINATOR_SCAN]:
        if char.isalnum() or char == element or char in _NOT_A_TERMINATOR:
            continue
        terminator = LINE_BREAK if char in "\r\n" else char
        break
    component = _evident_component(text, element, terminator) or ":"
    return Separators(element, component, terminator)


def _evident_component(text: str, element: str, terminator: str) -> str | None:
    e = re.escape(element)
    svc = re.search(f"SVC{e}[A-Z][A-Z0-9]([^A-Za-z0-9\\s])[A-Za-z0-9]", text)
    plb = re.search(f"PLB{e}[^{e}]*{e}[^{e}]*{e}[A-Z0-9]{{2}}([^A-Za-z0-9\\s])", text)
    for found in (svc, plb):
        if found and found.group(1) not in (element, terminator, "~", "-", "."):
            return found.group(1)
    return None


def _is_delimiter(char: str) -> bool:
    return len(char) == 1 and not char.isalnum() and not char.isspace()
