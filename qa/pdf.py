"""Read an issue PDF into the text format the parser reads (see `qa.pdf_layout` for the format).

    read_pdf(data, "issue.pdf") -> PdfText(text, pages, seconds)

Stages, each a pure function over plain records:
  `extract_pages`   bytes -> pages of glyphs (character, box, type size, bold/italic) and
                    the boxes of drawn graphics; refuses encrypted, damaged and non-PDF files
  `group_lines`     glyphs -> lines: spaces from real space glyphs or wide gaps, superscripts
                    attached to their word ("CO2"), wide gaps kept as a tab (leaders, columns)
  then `qa.pdf_layout.layout_text`: furniture and chart labels dropped, lines joined into
  paragraphs and list items (across page breaks, undoing end-of-line hyphenation), blocks
  classified by type size and weight, and written out as markdown-style text.

Extraction uses pdfplumber (pdfminer.six): characters with their fonts and positions are
all the layout we need, and it is MIT-licensed and offline.
"""

from __future__ import annotations

import io
import re
import time
from collections import Counter
from dataclasses import dataclass

from .progress import Phase, Progress, Step
from .schema import IssueError

_BOLD = re.compile(r"bold|black|heavy|semibold|demi", re.I)
# pdf readers accept a header within the first 1,024 bytes and an end marker within the last 1,024.
_MARKER_WINDOW = 1024
# Typographic ligatures ("ﬁ" in "ﬁrms") spelled out; the rest of the text is left as printed.
_LIGATURES = str.maketrans({"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl",
                            "\ufb05": "st", "\ufb06": "st"})
# A glyph this much smaller than its line and raised (or lowered) is a superscript (subscript):
# browsers and word processors set them at 58-83 % of the type size.
_SCRIPT_RATIO = 0.85
# A gap wider than this many type sizes with no glyph in it separates two runs on one baseline
# (a TOC page number, a column, a right-aligned running header); word spaces in justified text
# stay under one em.
_RUN_GAP_EM = 2.0
# Without a space glyph, a gap of a quarter em is a word space (a normal space is 0.25-0.33 em;
# kerning and tracking stay well under it).
_WORD_GAP_EM = 0.25


@dataclass(frozen=True)
class Glyph:
    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    bold: bool = False


@dataclass(frozen=True)
class Line:
    """One line of text on a page, top-down coordinates in points."""
    page: int
    text: str
    """Words separated by spaces; runs far apart on the same baseline separated by a tab."""
    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    """The type size most of its glyphs have."""
    bold: bool
    """Every glyph (spaces aside) is bold."""
    bold_prefix: int = 0
    """How many leading characters of `text` are bold: a run-in label such as "At a glance:"."""
    first_word: float = 0.0
    """Width of its first word: would it have fitted on the line above? (forced line breaks)"""
    second_x: float = 0.0
    """Where its second word starts: the text indent after a bullet or a number."""


@dataclass(frozen=True)
class Page:
    number: int
    """1-based."""
    width: float
    height: float
    glyphs: tuple[Glyph, ...]
    shapes: tuple[tuple[float, float, float, float], ...] = ()
    """Boxes (x0, top, x1, bottom) of filled shapes and curves; hairlines and underlines left out."""
    images: tuple[tuple[float, float, float, float], ...] = ()


@dataclass(frozen=True)
class PdfText:
    text: str
    """The issue in the parser's text format."""
    pages: int
    seconds: float
    """Extraction time, from bytes to text."""


def read_pdf(data: bytes, name: str, progress: Progress | None = None) -> PdfText:
    """PDF bytes -> the issue's text; raises IssueError naming the file and the problem."""
    from .pdf_layout import layout_text
    t0 = time.perf_counter()
    pages = extract_pages(data, name, progress)
    lines = [group_lines(p) for p in pages]
    if not any(lines):
        images = any(p.images for p in pages)
        raise IssueError(f"{name}: no text layer" + (": the pages are images (a scan); run OCR first, "
                         "e.g. ocrmypdf, and add the result" if images else " (the pages are empty)"))
    text = layout_text(pages, lines)
    if not text.strip():
        raise IssueError(f"{name}: no text layer beyond page headers and numbers; run OCR first, e.g. ocrmypdf")
    return PdfText(text=text, pages=len(pages), seconds=time.perf_counter() - t0)


def extract_pages(data: bytes, name: str, progress: Progress | None = None) -> list[Page]:
    """Every page's glyphs and graphics boxes. Raises IssueError for what cannot be read."""
    if b"%PDF" not in data[:_MARKER_WINDOW]:
        raise IssueError(f"{name}: not a PDF file (no %PDF header); save the issue as PDF again")
    if b"%%EOF" not in data[-_MARKER_WINDOW:]:
        raise IssueError(f"{name}: the PDF is damaged or incomplete (it has no end marker); download it again")
    import pdfplumber
    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            total = len(pdf.pages)
            pages = []
            if progress:
                progress(0, total, Step(Phase.PAGES))
            for i, page in enumerate(pdf.pages):
                pages.append(_read_page(page, i + 1))
                page.close()  # pdfplumber caches every page's objects otherwise
                if progress:
                    progress(i + 1, total, Step(Phase.PAGES))
    except IssueError:
        raise
    except Exception as e:  # pdfminer raises many types for broken files; the cause decides the message
        if _is_password_error(e):
            raise IssueError(f"{name}: the PDF is encrypted with a password; save an unprotected copy "
                             "(print to PDF) and add that") from None
        raise IssueError(f"{name}: the PDF is damaged and cannot be read ({type(e).__name__}); "
                         "download it again") from None
    if not pages:
        raise IssueError(f"{name}: the PDF has no pages")
    return pages


def _is_password_error(e: BaseException) -> bool:
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
    seen = 0
    while e is not None and seen < 5:
        if isinstance(e, (PDFPasswordIncorrect, PDFEncryptionError)):
            return True
        e = e.__cause__ or e.__context__ or (e.args[0] if e.args and isinstance(e.args[0], BaseException) else None)
        seen += 1
    return False


def _read_page(page, number: int) -> Page:
    glyphs = []
    printed = set()
    for c in page.chars:
        if not c.get("upright", True) or not c["text"]:
            continue  # rotated text: watermarks and margin notes, not the issue's text
        spot = (c["text"], round(c["x0"] * 2), round(c["top"] * 2))
        if spot in printed:
            continue  # some producers print a glyph twice for a bolder look
        printed.add(spot)
        font = c.get("fontname", "").split("+")[-1]
        glyphs.append(Glyph(c["text"].translate(_LIGATURES), c["x0"], c["x1"], c["top"], c["bottom"], round(c["size"], 1),
                            bool(_BOLD.search(font))))
    shapes = [_box(o) for o in list(page.rects) + list(page.curves)
              if o["object_type"] == "curve" or min(o["x1"] - o["x0"], o["bottom"] - o["top"]) > 1.5]
    return Page(number, float(page.width), float(page.height), tuple(glyphs), tuple(shapes),
                tuple(_box(o) for o in page.images))


def _box(obj) -> tuple[float, float, float, float]:
    return (float(obj["x0"]), float(obj["top"]), float(obj["x1"]), float(obj["bottom"]))


def group_lines(page: Page) -> list[Line]:
    """The page's glyphs as lines, top to bottom (one column of text is assumed)."""
    rows: list[list[Glyph]] = []
    bands: list[tuple[float, float, float]] = []  # (top, bottom, size) of each row's largest glyphs
    last = -1
    for g in page.glyphs:
        if g.text.isspace() and last < 0:
            continue
        i = last if last >= 0 and _overlap(g, bands[last]) else _find_row(g, bands)
        if i is None:
            rows.append([g])
            bands.append((g.top, g.bottom, g.size))
            last = len(rows) - 1
            continue
        rows[i].append(g)
        if g.size > bands[i][2] + 0.05 and not g.text.isspace():
            bands[i] = (g.top, g.bottom, g.size)
        last = i
    lines = [_make_line(page.number, row, band) for row, band in zip(rows, bands)]
    return sorted((ln for ln in lines if ln is not None), key=lambda ln: (round(ln.top, 1), ln.x0))


def _overlap(g: Glyph, band: tuple[float, float, float]) -> bool:
    """Does the glyph sit on this row? Half its height inside the row's band."""
    top, bottom, _ = band
    h = max(g.bottom - g.top, 0.1)
    return min(g.bottom, bottom) - max(g.top, top) >= 0.5 * h


def _find_row(g: Glyph, bands) -> int | None:
    for i in range(len(bands) - 1, -1, -1):
        if _overlap(g, bands[i]):
            return i
    return None


def _make_line(page: int, row: list[Glyph], band) -> Line | None:
    glyphs = sorted(row, key=lambda g: g.x0)  # stable: a zero-width space stays before its glyph
    ink = [g for g in glyphs if not g.text.isspace()]
    if not ink:
        return None
    size = Counter(g.size for g in ink).most_common(1)[0][0]
    baseline = band[1]
    out: list[str] = []
    bold_chars: list[bool] = []
    prev: Glyph | None = None
    pending_space: Glyph | None = None
    spaced = False  # a space glyph with an advance since the previous ink
    for g in glyphs:
        if g.text.isspace():
            spaced = spaced or prev is not None
            pending_space = g
            continue
        script = g.size < _SCRIPT_RATIO * size and abs(g.bottom - baseline) > 0.15 * size
        if prev is not None:
            gap = g.x0 - prev.x1
            real_space = spaced and g.x0 - pending_space.x0 >= 0.5 * (pending_space.x1 - pending_space.x0)
            if gap > _RUN_GAP_EM * size:
                sep = "\t"
            elif script:
                sep = ""  # "CO2", a footnote marker: attached to the word it belongs to
            elif real_space or gap > _WORD_GAP_EM * size:
                sep = " "
            else:
                sep = ""
            out.append(sep)
            bold_chars.extend([g.bold] * len(sep))
        out.append(g.text)
        bold_chars.extend([g.bold] * len(g.text))
        prev, spaced = g, False
    text = "".join(out)
    prefix = 0
    while prefix < len(text) and bold_chars[prefix]:
        prefix += 1
    first = re.match(r"\S+", text).group()
    n_first = len(first.replace("\t", ""))
    first_word = ink[min(n_first, len(ink)) - 1].x1 - ink[0].x0
    second_x = ink[n_first].x0 if n_first < len(ink) else ink[-1].x1
    return Line(page=page, text=text, x0=ink[0].x0, x1=max(g.x1 for g in ink), top=band[0], bottom=band[1],
                size=size, bold=all(g.bold for g in ink), bold_prefix=prefix, first_word=first_word,
                second_x=second_x)
