"""PDF documents in Japanese (reports, statements, invoices): A4 pages with Noto Sans CJK JP embedded as a
subset (only the glyphs used), a title, paragraphs, tables with right-aligned numbers and yen, and page
numbers in the footer. Built on fpdf2; every app's PDF goes through `Document`."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos

FONT_FAMILY = "NotoSansCJKJP"
FONT_FALLBACKS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
)


class FontMissing(RuntimeError):
    """No Japanese font is installed: PDFs cannot be made."""


@lru_cache(maxsize=1)
def japanese_font() -> Path:
    """The Noto Sans CJK JP file: what fontconfig answers, else the usual install paths."""
    candidates: list[str] = []
    if shutil.which("fc-match"):
        try:
            found = subprocess.run(
                ["fc-match", "-f", "%{file}", "Noto Sans CJK JP"],  # noqa: S607
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            found = ""
        if "NotoSansCJK" in found or "NotoSansJP" in found:
            candidates.append(found)
    candidates.extend(FONT_FALLBACKS)
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise FontMissing(
        "The Japanese font Noto Sans CJK JP is not installed (apt-get install fonts-noto-cjk); "
        f"looked in: {', '.join(candidates)}"
    )


Cell = str | int | float | None
# (header, kind, width in mm); kind: "text", "count", "yen", "rate" (a fraction shown as 12.3%)
TableColumn = tuple[str, str, float]


def format_cell(value: Cell, kind: str) -> str:
    if value is None or value == "":
        return "—"
    if kind == "count":
        return f"{int(value):,}"
    if kind == "yen":
        return f"¥{int(value):,}"
    if kind == "rate":
        return f"{float(value) * 100:.1f}%"
    if kind == "decimal":
        return f"{float(value):,.1f}"
    return str(value)


class Document(FPDF):
    """An A4 portrait document in Japanese with page numbers ("1 / 3") at the foot of every page."""

    def __init__(self, title: str = "") -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        font = japanese_font()
        options: dict[str, Any] = {"collection_font_number": 0} if font.suffix.lower() == ".ttc" else {}
        self.add_font(FONT_FAMILY, "", str(font), **options)
        self.set_font(FONT_FAMILY, size=10)
        self.set_auto_page_break(auto=True, margin=18)
        self.set_margins(15, 15, 15)
        if title:
            self.set_title(title)
        self.alias_nb_pages()
        self.add_page()

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT_FAMILY, size=8)
        self.cell(0, 6, f"{self.page_no()} / {{nb}}", align="C")
        self.set_font(FONT_FAMILY, size=10)

    def title_block(self, title: str, subtitle: str = "") -> None:
        self.set_font(FONT_FAMILY, size=16)
        self.multi_cell(0, 9, title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if subtitle:
            self.set_font(FONT_FAMILY, size=10)
            self.multi_cell(0, 6, subtitle, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(FONT_FAMILY, size=10)
        self.ln(3)

    def heading(self, text: str) -> None:
        self.ln(2)
        self.set_font(FONT_FAMILY, size=12)
        self.multi_cell(0, 7, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(FONT_FAMILY, size=10)

    def paragraph(self, text: str) -> None:
        self.multi_cell(0, 5.5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1)

    def data_table(self, columns: Sequence[TableColumn], rows: Sequence[Sequence[Cell]]) -> None:
        """Header row, then one line per row; numbers (count, yen, rate) right-aligned. The header repeats
        on a new page."""
        line = 6.5

        def header() -> None:
            self.set_fill_color(230, 236, 244)
            for name, kind, width in columns:
                self.cell(width, line, name, border=1, fill=True, align="L" if kind == "text" else "R")
            self.ln(line)

        header()
        for row in rows:
            if self.will_page_break(line):
                self.add_page()
                header()
            for (_name, kind, width), value in zip(columns, row, strict=True):
                self.cell(width, line, format_cell(value, kind), border=1, align="L" if kind == "text" else "R")
            self.ln(line)
        self.ln(2)

    def to_bytes(self) -> bytes:
        return bytes(self.output())
