"""Invoices and client statements as PDF, with fpdf2 and its core fonts (Helvetica).

Core fonts only speak latin-1, so every text is passed through `latin1_safe` (accents outside latin-1
are dropped, dashes and quotes simplified, anything else becomes "?") instead of failing. The creation
date is the document's own date, so the same document always renders to the same bytes.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from application.billing.documents import (
    DocumentLine,
    InvoiceDocument,
    PartyDetails,
    StatementDocument,
    format_money,
)

FONT = "Helvetica"
MARGIN = 15.0
LINE_H = 4.6
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
Colour = tuple[int, int, int]
INK: Colour = (33, 37, 41)
MUTED: Colour = (108, 117, 125)
RULE: Colour = (206, 212, 218)
SHADE: Colour = (236, 239, 242)
VOID_MARK: Colour = (244, 196, 196)
VOID_INK: Colour = (176, 32, 32)

_REPLACEMENTS = {
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-",
    "\u2018": "'", "\u2019": "'", "\u201a": ",", "\u201b": "'", "\u201c": '"', "\u201d": '"', "\u201e": '"',
    "\u2026": "...", "\u2022": "*", "\u2122": "(TM)", "\u20ac": "EUR", "\u0141": "L", "\u0142": "l",
    "\u0110": "D", "\u0111": "d", "\u0126": "H", "\u0127": "h", "\u0131": "i", "\u0152": "OE", "\u0153": "oe",
    "\u200b": "", "\u200c": "", "\u200d": "", "\u2060": "", "\ufeff": "",
}  # fmt: skip


def latin1_safe(text: str) -> str:
    out: list[str] = []
    for ch in text:
        code = ord(ch)
        if ch == "\n" or 32 <= code < 127 or 160 <= code < 256:
            out.append(ch)
        elif ch in "\t\r":
            out.append(" ")
        elif code < 160:
            continue
        elif ch in _REPLACEMENTS:
            out.append(_REPLACEMENTS[ch])
        elif unicodedata.category(ch) == "Zs":
            out.append(" ")
        else:
            base = "".join(
                c for c in unicodedata.normalize("NFKD", ch) if ord(c) < 256 and not unicodedata.combining(c)
            )
            out.append(base or "?")
    return "".join(out)


def _date(on: date | None) -> str:
    return "" if on is None else f"{MONTHS[on.month - 1]} {on.day}, {on.year}"


def _quantity(q: Decimal) -> str:
    return f"{q.normalize():f}"


def _code(line: DocumentLine) -> str:
    return "-".join((line.code or "", *line.modifiers)).strip("-")


def _party_lines(party: PartyDetails) -> list[str]:
    lines = [a for a in party.address_lines if a.strip()]
    contact = [c for c in (party.phone, party.email) if c]
    if contact:
        lines.append("  |  ".join(contact))
    ids = [f"{label} {v}" for label, v in (("NPI", party.npi), ("Tax ID", party.tax_id)) if v]
    if ids:
        lines.append("  |  ".join(ids))
    return lines


@dataclass(frozen=True)
class _Col:
    title: str
    width: float
    align: str = "L"


class _Pdf(FPDF):
    def __init__(self, *, on: date, running_title: str, void: bool, title: str, author: str) -> None:
        super().__init__(orientation="P", unit="mm", format="letter")
        self.set_title(title)
        self.set_author(author)
        self.running_title = running_title
        self.void = void
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(True, margin=18)
        self.set_creation_date(datetime(on.year, on.month, on.day, tzinfo=UTC))
        self.set_producer("CareLedger")
        self.set_creator("CareLedger")
        self.alias_nb_pages()
        self.set_text_color(*INK)

    def normalize_text(self, text: str) -> str:
        return super().normalize_text(latin1_safe(text))

    @property
    def content_width(self) -> float:
        return float(self.w - self.l_margin - self.r_margin)

    def header(self) -> None:
        if self.void:
            self._void_mark()
        if self.page_no() > 1:
            self.set_font(FONT, "", 8)
            self.set_text_color(*MUTED)
            self.set_xy(self.l_margin, 8)
            self.cell(0, 4, f"{self.running_title} (continued)")
            self.set_text_color(*INK)
            self.set_y(MARGIN)

    def _void_mark(self) -> None:
        size = 130
        self.set_font(FONT, "B", size)
        self.set_text_color(*VOID_MARK)
        cx, cy = self.w / 2, self.h / 2
        with self.rotation(angle=45, x=cx, y=cy):
            self.text(cx - self.get_string_width("VOID") / 2, cy + size * 0.3528 * 0.35, "VOID")
        self.set_text_color(*INK)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, "", 8)
        self.set_text_color(*MUTED)
        self.cell(0, 4, f"{self.running_title}   |   Page {self.page_no()} of {{nb}}", align="C")
        self.set_text_color(*INK)

    def rule(self, y: float | None = None, colour: Colour = RULE) -> None:
        at = self.get_y() if y is None else y
        self.set_draw_color(*colour)
        self.line(self.l_margin, at, self.w - self.r_margin, at)

    def ensure_room(self, height: float) -> None:
        if self.will_page_break(height):
            self.add_page()

    def wrapped(self, width: float, text: str) -> list[str]:
        result = self.multi_cell(width, LINE_H, text, dry_run=True, output="LINES")
        return [str(line) for line in result] if isinstance(result, list) else [text]

    def fitting(self, width: float, text: str) -> tuple[str, int]:
        """The text as wrapped, cut so that one row never needs more than half a page."""
        lines = self.wrapped(width, text) or [""]
        most = int((self.page_break_trigger - self.t_margin) / LINE_H / 2)
        if len(lines) > most:
            last = lines[most - 1]
            while last and self.get_string_width(last + " ...") > width - 2 * self.c_margin:
                last = last[:-1]
            lines = [*lines[: most - 1], last.rstrip() + " ..."]
        return "\n".join(lines), len(lines)

    def row(
        self,
        cols: Sequence[_Col],
        cells: Sequence[str],
        *,
        style: str = "",
        shaded: bool = False,
        on_break: Callable[[], None] | None = None,
    ) -> None:
        self.set_font(FONT, style, 9)
        fitted = [self.fitting(c.width, t) for c, t in zip(cols, cells, strict=True)]
        cells = [text for text, _ in fitted]
        height = max(n for _, n in fitted) * LINE_H + 2
        if self.will_page_break(height):
            self.add_page()
            if on_break is not None:
                on_break()
            self.set_font(FONT, style, 9)
        y, x = self.get_y(), self.l_margin
        if shaded:
            self.set_fill_color(*SHADE)
            self.rect(x, y, sum(c.width for c in cols), height, style="F")
        for col, text in zip(cols, cells, strict=True):
            self.set_xy(x, y + 1)
            self.multi_cell(col.width, LINE_H, text, align=col.align, new_x=XPos.RIGHT, new_y=YPos.TOP)
            x += col.width
        self.set_xy(self.l_margin, y + height)
        self.rule()

    def grid(
        self, cols: Sequence[_Col], rows: Sequence[Sequence[str]], *, bold_rows: frozenset[int] = frozenset()
    ) -> None:
        def heading() -> None:
            self.row(cols, [c.title for c in cols], style="B", shaded=True)

        self.ensure_room(3 * (LINE_H + 2))
        heading()
        for i, cells in enumerate(rows):
            self.row(cols, cells, style="B" if i in bold_rows else "", on_break=heading)

    def party_block(self, x: float, y: float, width: float, caption: str | None, party: PartyDetails) -> float:
        self.set_xy(x, y)
        if caption:
            self.set_font(FONT, "B", 8)
            self.set_text_color(*MUTED)
            self.multi_cell(width, 4, caption.upper(), new_x=XPos.LEFT, new_y=YPos.NEXT)
            self.set_text_color(*INK)
        self.set_font(FONT, "B", 13 if caption is None else 11)
        self.multi_cell(width, 6 if caption is None else 5, party.name, new_x=XPos.LEFT, new_y=YPos.NEXT)
        self.set_font(FONT, "", 9)
        for line in _party_lines(party):
            self.multi_cell(width, LINE_H, line, new_x=XPos.LEFT, new_y=YPos.NEXT)
        return float(self.get_y())

    def letterhead(self, practice: PartyDetails, heading: str, facts: Sequence[tuple[str, str]], caption: str,
                   party: PartyDetails) -> None:
        """The first page: the practice left, the document's facts right, a rule, then whom it is for."""
        self.add_page()
        top = self.get_y()
        right_x = self.w - self.r_margin - 85
        left_end = self.party_block(self.l_margin, top, right_x - self.l_margin - 5, None, practice)
        right_end = self.key_values(right_x, top, heading, facts)
        self.set_y(max(left_end, right_end) + 4)
        self.rule(colour=INK)
        end = self.party_block(self.l_margin, self.get_y() + 3, 110, caption, party)
        self.set_xy(self.l_margin, end + 5)

    def key_values(self, x: float, y: float, title: str, pairs: Sequence[tuple[str, str]]) -> float:
        width = self.w - self.r_margin - x
        self.set_xy(x, y)
        self.set_font(FONT, "B", 18)
        self.cell(width, 9, title, align="R", new_x=XPos.LEFT, new_y=YPos.NEXT)
        for key, value in pairs:
            self.set_x(x)
            self.set_font(FONT, "", 9)
            self.set_text_color(*MUTED)
            self.cell(28, 5, key, align="R")
            self.set_text_color(*INK)
            self.set_font(FONT, "B", 9)
            self.cell(width - 28, 5, value, align="R", new_x=XPos.LEFT, new_y=YPos.NEXT)
        return float(self.get_y())

    def totals(self, pairs: Sequence[tuple[str, str]], *, strong: frozenset[str]) -> None:
        label_w, amount_w = 50.0, 32.0
        x = self.w - self.r_margin - label_w - amount_w
        self.ensure_room(len(pairs) * 6 + 4)
        self.set_y(self.get_y() + 2)
        for label, amount in pairs:
            self.set_x(x)
            self.set_font(FONT, "B" if label in strong else "", 10 if label in strong else 9)
            self.cell(label_w, 6, label, align="R")
            self.cell(amount_w, 6, amount, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def paragraph(self, heading: str, text: str, link: str | None = None) -> None:
        self.ensure_room(LINE_H * 3)
        self.set_font(FONT, "B", 9)
        self.multi_cell(0, LINE_H + 1, heading, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(FONT, "U" if link else "", 9)
        self.multi_cell(0, LINE_H, text, link=link, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_y(self.get_y() + 3)

    def bytes(self) -> bytes:
        return bytes(self.output())


class FpdfDocumentRenderer:
    """`DocumentRenderer` on fpdf2: Letter pages, Helvetica, deterministic bytes."""

    def invoice_pdf(self, doc: InvoiceDocument) -> bytes:
        def money(value: Decimal) -> str:
            return format_money(value, doc.currency)

        pdf = _Pdf(on=doc.issued_on, running_title=f"{doc.practice.name} - Invoice {doc.number}", void=doc.is_void,
                   title=f"Invoice {doc.number}", author=doc.practice.name)
        pdf.letterhead(doc.practice, "INVOICE", [
            ("Invoice no.", doc.number),
            ("Issued", _date(doc.issued_on)),
            ("Due", _date(doc.due_on)),
            ("Status", str(doc.status).replace("_", " ").title()),
            ("Balance due", money(doc.balance)),
        ], "Bill to", doc.bill_to)

        if doc.is_void:
            pdf.set_font(FONT, "B", 10)
            pdf.set_text_color(*VOID_INK)
            pdf.multi_cell(0, 6, "VOID - this invoice has been voided and is not payable.", new_x=XPos.LMARGIN)
            pdf.set_text_color(*INK)
            pdf.set_y(pdf.get_y() + 2)

        cols = (
            _Col("Date", 22),
            _Col("Code", 26),
            _Col("Description", pdf.content_width - 22 - 26 - 14 - 24 - 26),
            _Col("Qty", 14, "R"),
            _Col("Rate", 24, "R"),
            _Col("Amount", 26, "R"),
        )
        rows = [
            (
                _date(line.service_date),
                _code(line),
                line.description + (f"\n{line.clinician}" if line.clinician else ""),
                _quantity(line.quantity),
                money(line.unit_price),
                money(line.amount),
            )
            for line in doc.lines
        ]
        pdf.grid(cols, rows)

        totals = [("Subtotal", money(doc.subtotal))]
        if doc.discount or doc.discount_label:
            totals.append((doc.discount_label or "Discount", money(-abs(doc.discount))))
        if doc.tax or doc.tax_label:
            totals.append((doc.tax_label or "Tax", money(doc.tax)))
        totals += [("Total", money(doc.total)), ("Paid", money(-abs(doc.paid))), ("Balance due", money(doc.balance))]
        pdf.totals(totals, strong=frozenset({"Total", "Balance due"}))
        pdf.set_y(pdf.get_y() + 6)

        if doc.payment_link and not doc.is_void:
            pdf.paragraph("Pay online", doc.payment_link, link=doc.payment_link)
        if doc.notes:
            pdf.paragraph("Notes", doc.notes)
        return pdf.bytes()

    def statement_pdf(self, doc: StatementDocument) -> bytes:
        def money(value: Decimal) -> str:
            return format_money(value, doc.currency)

        pdf = _Pdf(on=doc.statement_date, running_title=f"{doc.practice.name} - Statement {_date(doc.statement_date)}",
                   void=False, title=f"Statement {doc.statement_date.isoformat()}", author=doc.practice.name)
        pdf.letterhead(doc.practice, "STATEMENT", [
            ("Statement date", _date(doc.statement_date)),
            ("Period", f"{_date(doc.period_start)} to {_date(doc.period_end)}"),
            ("Amount due", money(doc.amount_due)),
        ], "Statement for", doc.client)

        pdf.set_font(FONT, "B", 11)
        pdf.cell(0, 7, "Account summary", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        quarter = pdf.content_width / 4
        pdf.grid(
            (
                _Col("Opening balance", quarter, "R"),
                _Col("Charges", quarter, "R"),
                _Col("Payments & credits", quarter, "R"),
                _Col("Closing balance", quarter, "R"),
            ),
            [
                (
                    money(doc.opening_balance),
                    money(doc.total_charges),
                    money(doc.total_credits),
                    money(doc.closing_balance),
                )
            ],
        )
        pdf.set_y(pdf.get_y() + 6)

        pdf.ensure_room(20)
        pdf.set_font(FONT, "B", 11)
        pdf.cell(0, 7, "Activity", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        cols = (
            _Col("Date", 22),
            _Col("Description", pdf.content_width - 22 - 30 - 24 - 22 - 26),
            _Col("Reference", 30),
            _Col("Charges", 24, "R"),
            _Col("Credits", 22, "R"),
            _Col("Balance", 26, "R"),
        )
        rows = [(_date(doc.period_start), "Opening balance", "", "", "", money(doc.opening_balance))]
        rows += [
            (
                _date(e.on),
                e.description,
                e.reference or "",
                money(e.charges) if e.charges else "",
                money(e.credits) if e.credits else "",
                money(e.balance),
            )
            for e in doc.entries
        ]
        rows.append((_date(doc.period_end), "Closing balance", "", "", "", money(doc.closing_balance)))
        pdf.grid(cols, rows, bold_rows=frozenset({0, len(rows) - 1}))
        pdf.set_y(pdf.get_y() + 6)

        pdf.ensure_room(30)
        pdf.set_font(FONT, "B", 11)
        pdf.cell(0, 7, "Aging", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        sixth = pdf.content_width / 6
        aging = doc.aging
        pdf.grid(
            [
                _Col(title, sixth, "R")
                for title in ("Current", "31-60 days", "61-90 days", "91-120 days", "Over 120 days", "Total")
            ],
            [
                [
                    money(v)
                    for v in (aging.current, aging.d31_60, aging.d61_90, aging.d91_120, aging.over_120, aging.total)
                ]
            ],
        )
        pdf.totals([("Amount due", money(doc.amount_due))], strong=frozenset({"Amount due"}))
        pdf.set_y(pdf.get_y() + 6)
        if doc.message:
            pdf.paragraph("Message", doc.message)
        return pdf.bytes()
