"""PDF documents in Japanese (reports, statements, invoices): A4 pages with Noto Sans CJK JP embedded as a
subset (only the glyphs used), a title, paragraphs, tables with right-aligned numbers and yen, and page
numbers in the footer. Built on fpdf2; every app's PDF goes through `Document`.

Speed (documents are made by the ten thousand at a month close): the full Noto Sans CJK collection is 19 MB
and 65,535 glyphs; fpdf2 parses it for every document (~0.45 s) and subsets it with fontTools when writing
(~0.7 s, most of it walking CFF subroutines and recomputing glyph bounds). So documents use a *common* font
instead: the glyphs of JIS X 0208 (every kanji of the JIS level 1 and 2 sets, kana, full-width forms),
ASCII, Latin-1 and the usual symbols, cut once from the full font without subroutines and cached under
VAR_DIR/fonts (keyed by the source font's path, size and mtime), parsed once per process and cloned per
document. The full font is added as a fallback only to the rare document that needs a character outside
that set (e.g. 髙 or 𠮷 in a name). Measured on this machine: ~0.8 s per one-page document before, ~25 ms
after.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from fontTools import subset as ftsubset
from fontTools import ttLib
from fontTools.ttLib.tables._c_m_a_p import CmapSubtable
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import SubsetMap, TTFFont
from fpdf.output import OutputProducer
from fpdf.util import escape_parens

logger = logging.getLogger(__name__)

FONT_FAMILY = "NotoSansCJKJP"
FULL_FONT_FAMILY = "NotoSansCJKJPFull"
# Bump when the common set or the way it is cut changes: the cached file's name includes it.
COMMON_FONT_VERSION = 1
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


def _common_codepoints() -> set[int]:
    """The characters Japanese business documents use: JIS X 0208 (decoded from every EUC-JP double-byte
    code), ASCII, Latin-1, general punctuation, letter-like symbols, arrows, maths, box drawing, shapes,
    enclosed numbers (①), CJK symbols, kana, half- and full-width forms, and a few common IBM extension kanji."""
    points: set[int] = set(range(0x20, 0x7F)) | set(range(0xA0, 0x180))
    for start, end in (
        (0x2000, 0x2070),
        (0x2100, 0x2300),
        (0x2460, 0x2500),
        (0x2500, 0x2700),
        (0x3000, 0x3100),
        (0x3200, 0x3400),
        (0xFF00, 0xFFF0),
    ):
        points.update(range(start, end))
    for high in range(0xA1, 0xFF):
        for low in range(0xA1, 0xFF):
            try:
                points.update(ord(ch) for ch in bytes((high, low)).decode("euc_jp"))
            except UnicodeDecodeError:
                continue
    points.update(ord(ch) for ch in "髙﨑德塚")
    return points


def _to_truetype(font: ttLib.TTFont) -> None:
    """Replace the CFF outlines of `font` by TrueType (quadratic) ones, in place: a document's font is then
    cut by copying each glyph's bytes, where CFF needs every charstring interpreted and recompiled."""
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    order = font.getGlyphOrder()
    glyph_set = font.getGlyphSet()
    glyf: Any = ttLib.newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = {}
    for name in order:
        pen = TTGlyphPen(glyph_set)
        glyph_set[name].draw(Cu2QuPen(pen, 1.0, reverse_direction=True))
        glyf.glyphs[name] = pen.glyph()
    for tag in ("CFF ", "VORG"):
        if tag in font:
            del font[tag]
    font["glyf"] = glyf
    font["loca"] = ttLib.newTable("loca")
    maxp = font["maxp"]
    maxp.tableVersion = 0x00010000
    for attribute in (
        "maxTwilightPoints",
        "maxStorage",
        "maxFunctionDefs",
        "maxInstructionDefs",
        "maxStackElements",
        "maxSizeOfInstructions",
        "maxComponentElements",
        "maxComponentDepth",
    ):
        setattr(maxp, attribute, 0)
    maxp.maxZones = 1
    post = font["post"]
    post.formatType = 2.0
    post.extraNames = []
    post.mapping = {}
    post.glyphOrder = order
    font["head"].glyphDataFormat = 0
    font.sfntVersion = "\x00\x01\x00\x00"


def _build_common_font(source: Path, target: Path) -> None:
    """Cut the common glyphs out of `source` into a TrueType `target` (written atomically: concurrent builders
    in other processes each write their own temporary file and the last rename wins with the same content)."""
    font = ttLib.TTFont(str(source), fontNumber=0, lazy=True)
    options = ftsubset.Options(notdef_outline=True, recommended_glyphs=True, layout_features=[], glyph_names=True)
    options.desubroutinize = True
    options.drop_tables += ["GSUB", "GPOS", "GDEF", "BASE", "VORG", "vhea", "vmtx", "DSIG"]
    subsetter = ftsubset.Subsetter(options)
    subsetter.populate(unicodes=_common_codepoints())
    subsetter.subset(font)
    _to_truetype(font)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".ttf.tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            font.save(out)
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _font_cache_dir() -> Path:
    from django.conf import settings

    if settings.configured and getattr(settings, "VAR_DIR", None):
        return Path(settings.VAR_DIR) / "fonts"
    return Path(tempfile.gettempdir()) / "banso-fonts"


@lru_cache(maxsize=1)
def common_font() -> Path | None:
    """The cached common-glyph font (built on first use, ~15 s), or None if it cannot be built (then the
    full font is used for everything, slowly but correctly)."""
    source = japanese_font()
    stat = source.stat()
    key = hashlib.sha256(f"{source.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{COMMON_FONT_VERSION}".encode())
    target = _font_cache_dir() / f"NotoSansCJKJP-common-{key.hexdigest()[:16]}.ttf"
    if not target.is_file():
        try:
            _build_common_font(source, target)
        except Exception:
            logger.exception("Could not build the common Japanese font from %s; using the full font", source)
            return None
    return target


# Small tables a document's font copies as they are; glyf, loca, hmtx, post and cmap are made per document.
_COPIED_TABLES = ("head", "hhea", "maxp", "OS/2", "name", "gasp")


class _Prototype:
    """A font parsed once per process (fpdf2's TTFFont with its widths and character map). Each document gets
    a copy of it whose `ttfont` is its own, because fpdf2 subsets that TTFont in place when writing.

    For a TrueType font (the common font) the document's TTFont is built at output time with only the glyphs
    the document used, sharing the prototype's undecoded glyph bytes: nothing proportional to the font's
    8,000+ glyphs is decoded per document. Other fonts (the full collection, as a fallback) are reopened
    lazily from the file."""

    def __init__(self, owner: FPDF, path: Path, fontkey: str) -> None:
        self.path = path
        self.collection = 0 if path.suffix.lower() == ".ttc" else None
        self.font = TTFFont(owner, path, fontkey, "", None, None, None, self.collection or 0)
        # Line breaks and tabs are layout, not glyphs: they must not bring in the fallback font.
        self.characters = frozenset(chr(point) for point in self.font.cmap) | {"\n", "\r", "\t"}
        source = self.font.ttfont
        self.compact = "glyf" in source and self.collection is None
        if self.compact:
            self.order = source.getGlyphOrder()
            self.glyph_id = source.getReverseGlyphMap()
            self.glyphs = source["glyf"].glyphs
            self.metrics = source["hmtx"].metrics
            self.tables = {tag: source.reader[tag] for tag in _COPIED_TABLES if tag in source.reader}
            self.post = {
                name: getattr(source["post"], name)
                for name in (
                    "italicAngle",
                    "underlinePosition",
                    "underlineThickness",
                    "isFixedPitch",
                    "minMemType42",
                    "maxMemType42",
                    "minMemType1",
                    "maxMemType1",
                )
            }

    def clone(self, index: int) -> TTFFont:
        font = copy.copy(self.font)
        font.i = index
        font.ttfont = (
            ttLib.TTFont(recalcTimestamp=False, recalcBBoxes=False)
            if self.compact
            else ttLib.TTFont(
                str(self.path), recalcTimestamp=False, recalcBBoxes=False, lazy=True, fontNumber=self.collection or 0
            )
        )
        font.cw = self.font.cw
        font.missing_glyphs = []
        font.biggest_size_pt = 0
        font._hbfont = None
        font.subset = SubsetMap(font)
        return font

    def prepare_output(self, font: TTFFont) -> None:
        """Give a compact document font only the glyphs it used, just before fpdf2 subsets and embeds it."""
        if not self.compact:
            return
        used = {".notdef", *font.subset.get_all_glyph_names()}
        order = sorted((name for name in used if name in self.glyph_id), key=self.glyph_id.__getitem__)
        ttfont = ttLib.TTFont(recalcTimestamp=False, recalcBBoxes=False)
        ttfont.setGlyphOrder(order)
        for tag, data in self.tables.items():
            table = ttLib.newTable(tag)
            table.decompile(data, ttfont)
            ttfont[tag] = table
        glyf: Any = ttLib.newTable("glyf")
        glyf.glyphOrder = order
        glyf.glyphs = {name: self.glyphs[name] for name in order}
        ttfont["glyf"] = glyf
        ttfont["loca"] = ttLib.newTable("loca")
        hmtx: Any = ttLib.newTable("hmtx")
        hmtx.metrics = {name: self.metrics[name] for name in order}
        ttfont["hmtx"] = hmtx
        post: Any = ttLib.newTable("post")
        post.formatType = 3.0
        for name, value in self.post.items():
            setattr(post, name, value)
        ttfont["post"] = post
        cmap: Any = ttLib.newTable("cmap")
        cmap.tableVersion = 0
        subtable = CmapSubtable.newSubtable(4)
        subtable.platformID, subtable.platEncID, subtable.language = 3, 1, 0
        subtable.cmap = {point: name for point, name in self.font.cmap.items() if name in used and point <= 0xFFFF}
        cmap.tables = [subtable]
        ttfont["cmap"] = cmap
        font.ttfont = ttfont


_prototypes: dict[tuple[str, str], _Prototype] = {}
_prototypes_lock = threading.Lock()


def _prototype(owner: FPDF, path: Path, fontkey: str) -> _Prototype:
    key = (str(path), fontkey)
    with _prototypes_lock:
        if key not in _prototypes:
            _prototypes[key] = _Prototype(owner, path, fontkey)
        return _prototypes[key]


class _OutputProducer(OutputProducer):
    """Prepares each document font once the last glyph is known: fpdf2 draws the last footer and fills in the
    page count ({nb}) inside output(), after the caller's last call."""

    def _add_fonts(self, *args: Any, **kwargs: Any) -> Any:
        if isinstance(self.fpdf, Document):
            self.fpdf.prepare_fonts()
        return super()._add_fonts(*args, **kwargs)


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
        self._font_prototypes: dict[str, _Prototype] = {}
        # table_row's per-document map of characters to the primary font's subset codes (for str.translate).
        self._codes: dict[int, str] = {}
        self._mapped: set[str] = set()
        self._boxes: dict[tuple[float, float, float, bool, bool], tuple[str, str, str, float]] = {}
        full = japanese_font()
        common = common_font()
        self._primary = self._install_font(FONT_FAMILY, common or full)
        self._needs_fallback = common is not None
        self.set_font(FONT_FAMILY, size=10)
        self.set_auto_page_break(auto=True, margin=18)
        self.set_margins(15, 15, 15)
        if title:
            self.set_title(title)
        self.alias_nb_pages()
        self.add_page()

    def _install_font(self, family: str, path: Path) -> _Prototype:
        """What add_font does, from the per-process prototype instead of parsing the font again."""
        fontkey = family.lower()
        prototype = _prototype(self, path, fontkey)
        self.fonts[fontkey] = prototype.clone(len(self.fonts) + 1)
        self._font_prototypes[fontkey] = prototype
        return prototype

    def prepare_fonts(self) -> None:
        for fontkey, prototype in self._font_prototypes.items():
            font = self.fonts[fontkey]
            if isinstance(font, TTFFont):
                prototype.prepare_output(font)

    def output(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("output_producer_class", _OutputProducer)
        try:
            return super().output(*args, **kwargs)
        finally:
            # fpdf2 memoises SubsetMap.pick/get_glyph with functools.cache, keyed by the SubsetMap: every
            # document's font would stay in memory for the life of the process (a leak over 10,000 PDFs).
            SubsetMap.pick.cache_clear()
            SubsetMap.get_glyph.cache_clear()

    def normalize_text(self, text: str) -> str:
        """Add the full font as a fallback the first time a character outside the common font appears."""
        if self._needs_fallback and not self._primary.characters.issuperset(text):
            self._needs_fallback = False
            self._install_font(FULL_FONT_FAMILY, japanese_font())
            self.set_fallback_fonts([FULL_FONT_FAMILY])
        return super().normalize_text(text)

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
        """Header row, then one line per row; numbers (count, yen, rate) right-aligned, text cut with "…" to
        its column. The header repeats on a new page."""
        line = 6.5

        def header() -> None:
            self.set_fill_color(230, 236, 244)
            self.table_row([(width, name, "L" if kind == "text" else "R") for name, kind, width in columns], line, True)

        header()
        for row in rows:
            if self.will_page_break(line):
                self.add_page()
                header()
            self.table_row(
                [
                    (width, format_cell(value, kind), "L" if kind == "text" else "R")
                    for (_name, kind, width), value in zip(columns, row, strict=True)
                ],
                line,
            )
        self.ln(2)

    def fit(self, text: str, width: float) -> str:
        """`text` cut with "…" so that it fits in a cell `width` mm wide (with the cell margins)."""
        font = self.current_font
        if not isinstance(font, TTFFont):
            return text
        room = (width - 2 * self.c_margin) * self.k * 1000 / self.font_size_pt
        widths = font.cw
        total = 0.0
        for index, char in enumerate(text):
            width_of_char = widths[ord(char)]
            if total + width_of_char > room:
                ellipsis = widths[ord("…")]
                while index > 0 and total + ellipsis > room:
                    index -= 1
                    total -= widths[ord(text[index])]
                return text[:index] + "…"
            total += width_of_char
        return text

    def table_row(
        self, cells: Sequence[tuple[float, str, str]], height: float, fill: bool = False, border: bool = True
    ) -> None:
        """One row of cells (width mm, text, "L" or "R"), bordered unless `border` is False, then a new line.

        A month's statement has hundreds of rows and the close writes thousands of them: fpdf2's cell()
        costs ~0.13 ms (text fragments, line breaking), so rows whose characters are all in the common font
        are written straight to the page as the same PDF operators cell() would write (~10x faster). Other
        rows go through cell(), which brings in the fallback font."""
        font = self.current_font
        if not isinstance(font, TTFFont) or not all(
            self._primary.characters.issuperset(text) for _w, text, _a in cells
        ):
            for width, text, align in cells:
                self.cell(width, height, self.fit(text, width), border=1 if border else 0, fill=fill, align=align)
            self.ln(height)
            return
        if self.page_break_trigger < self.y + height and self.accept_page_break:
            self.add_page()
        if not self.current_font_is_set_on_page:
            self._out(self._set_font_for_page(font, self.font_size_pt))
        k, widths, margin = self.k, font.cw, self.c_margin
        units_per_point = 1000 / self.font_size_pt
        top = f"{(self.h - self.y) * k:.2f}"
        baseline = f"{(self.h - (self.y + height / 2 + 0.3 * self.font_size)) * k:.2f}"
        codes, mapped, boxes = self._codes, self._mapped, self._boxes
        paint = ("B" if border else "f") if fill else ("S" if border else "n")  # fill and/or stroke the cell
        parts = []
        x = self.x
        for width, raw, align in cells:
            text = raw
            units = sum(map(widths.__getitem__, map(ord, text)))
            if units > (width - 2 * margin) * k * units_per_point:
                text = self.fit(raw, width)
                units = sum(map(widths.__getitem__, map(ord, text)))
            new = set(text).difference(mapped)
            if new:
                for char in new:
                    codes[ord(char)] = chr(font.subset.pick(ord(char)) or 0)
                mapped.update(new)
            encoded = escape_parens(text.translate(codes).encode("utf-16-be").decode("latin-1"))
            key = (x, width, height, fill, border)
            box = boxes.get(key)
            if box is None:
                # The parts of a cell that depend only on its column: formatted once per table.
                box = boxes[key] = (
                    f"q {x * k:.2f} ",
                    f" {width * k:.2f} {-height * k:.2f} re {paint} BT ",
                    f"{(x + margin) * k:.2f}",
                    (x + width - margin) * k,
                )
            text_x = f"{box[3] - units / units_per_point:.2f}" if align == "R" else box[2]
            parts.append(f"{box[0]}{top}{box[1]}{text_x} {baseline} Td 0 g ({encoded}) Tj ET Q")
            x += width
        self._out("\n".join(parts))
        self.ln(height)

    def to_bytes(self) -> bytes:
        return bytes(self.output())
