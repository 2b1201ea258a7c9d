"""Text clean-up shared by the parser, the answer composer and the evaluation.

`clean_inline` removes the residue of the PDF-to-markdown conversion without changing
meaning; `normalize` is the looser form used to compare two texts (titles, gold facts).
Nothing here interprets HTML: a `<script>` in an issue stays the literal text `<script>`.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections import Counter

MONTHS = {m: i for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august",
     "september", "october", "november", "december"], start=1)}
MONTHS.update({m[:3]: i for m, i in list(MONTHS.items())})
MONTHS["sept"] = 9
MONTH_RE = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"

_LINK = re.compile(r"!?\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\([^()\s]*(?:\([^()]*\)[^()\s]*)*(?:\s+\"[^\"]*\")?\)")
_SUP = re.compile(r"\s*<(sup|sub)>\s*([^<]{0,20}?)\s*</\1>", re.I)
_EMPH = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_ITAL = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!<>|\"'])")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u202f\u3000]+")
_QUOTES = str.maketrans({"‘": "'", "’": "'", "‚": "'", "′": "'", "“": '"', "”": '"', "„": '"',
                         "″": '"', "–": "-", "—": "-", "‐": "-", "‑": "-", "−": "-"})


def _superscript(m: re.Match) -> str:
    """`CO <sup>2</sup>` -> `CO2`; a footnote marker after punctuation (`2024.<sup>1</sup>`) is dropped."""
    before = m.string[:m.start()].rstrip()
    if m.group(2).isdigit() and before[-1:] in ".,;:!?)\"”’'":
        return ""
    return m.group(2)


def clean_inline(line: str) -> str:
    """Markdown and conversion residue -> readable text, meaning unchanged.

    `[text](#)` -> `text`, `**bold**` -> `bold`, `CO <sup>2</sup>` -> `CO2`, `\\(` -> `(`,
    runs of spaces -> one space.
    """
    s = unicodedata.normalize("NFC", line)
    s = _SUP.sub(_superscript, s)
    # Links may nest escaped parentheses: [\(Link\)](#); unescape after unlinking.
    for _ in range(2):
        s = _LINK.sub(lambda m: m.group(1), s)
    s = _EMPH.sub(lambda m: m.group(2), s)
    s = _ITAL.sub(lambda m: m.group(1), s)
    s = s.replace("**", "")
    s = _ESCAPE.sub(lambda m: m.group(1), s)
    return _SPACES.sub(" ", s).strip()


def strip_heading(line: str) -> str:
    """A line with its heading marker (#..####) and surrounding emphasis removed, cleaned."""
    s = re.sub(r"^\s{0,3}#{1,6}\s*", "", line)
    return clean_inline(s).strip().rstrip("#").strip()


def normalize(text: str, fold_case: bool = True) -> str:
    """Loose form for comparing texts: cleaned, quotes and dashes straightened, lower case."""
    s = clean_inline(text).translate(_QUOTES)
    s = s.lower() if fold_case else s
    return _SPACES.sub(" ", re.sub(r"\s+", " ", s)).strip()


def parse_date(text: str) -> dt.date | None:
    """'November 6, 2024' / '6 November 2024' / 'Nov. 6, 2024' -> date; None when not a date."""
    t = text.strip().rstrip(".")
    m = re.fullmatch(rf"({MONTH_RE})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})", t, re.I) or \
        re.fullmatch(rf"(\d{{1,2}})(?:st|nd|rd|th)?\s+({MONTH_RE})\.?,?\s+(\d{{4}})", t, re.I)
    if not m:
        return None
    a, b, year = m.groups()
    month_name, day = (a, b) if not a.isdigit() else (b, a)
    try:
        return dt.date(int(year), month_number(month_name), int(day))
    except ValueError:
        return None


def month_number(name: str) -> int:
    n = name.lower().rstrip(".")
    return MONTHS.get(n) or MONTHS[n[:3]]


# Abbreviations after which a period does not end a sentence.
_ABBREV = {"e.g", "i.e", "etc", "vs", "no", "nos", "dr", "mr", "mrs", "ms", "prof", "co", "inc", "ltd",
           "corp", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
           "u.s", "u.k", "st", "art", "arts", "approx", "fig", "incl"}
_SENT_END = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+(?=[\"“'‘(\[]?[A-Z0-9])")


def split_sentences(paragraph: str) -> list[str]:
    """Sentences of one paragraph; keeps 'e.g.', 'U.S.', decimals and 'No. 5' intact."""
    out: list[str] = []
    start = 0
    for m in _SENT_END.finditer(paragraph):
        end = m.start()
        before = paragraph[start:end].rstrip("\"'”’)]")
        word = re.search(r"([\w.]+)\.$", before)
        if word and (word.group(1).lower() in _ABBREV or re.fullmatch(r"[A-Z]", word.group(1))):
            continue
        piece = paragraph[start:m.end()].strip()
        if piece:
            out.append(piece)
        start = m.end()
    tail = paragraph[start:].strip()
    if tail:
        out.append(tail)
    return out


# One list-item pattern for every stage: a bullet glyph or "1." / "1)" at the start of a line.
# The parser writes every item of a part's text as "- text" or "1. text", and a nested item
# indented by two spaces; raw issue text (converted from Word or a PDF) may use any of the glyphs.
BULLETS = "-•*–·▪◦●■‣►▸∙"
BULLET = f"[{re.escape(BULLETS)}]"
LIST_ITEM = re.compile(rf"^\s*(?:{BULLET}|\d{{1,2}}[.)])\s+")


def is_list_item(line: str) -> bool:
    return bool(LIST_ITEM.match(line))


def is_nested_item(line: str) -> bool:
    """A list item indented under another ("  - sub-item" in a part's text)."""
    return line.startswith(("  ", "\t")) and is_list_item(line)


def split_units(text: str, lines: bool = False) -> list[str]:
    """A part's text -> what an answer may quote, in order: sentences of paragraphs, whole list
    items (with their nested items), or, with `lines`, each line (a policy's title/issuer/date
    block, an exhibit's title, legend, note and source).

    A unit is never cut inside: an answer quotes whole bullets and whole sentences.
    """
    if lines:
        return [ln.strip() for ln in text.split("\n") if ln.strip()]
    out: list[str] = []
    for block in re.split(r"\n\s*\n", text):
        prose: list[str] = []
        for ln in (r for r in block.split("\n") if r.strip()):
            if not is_list_item(ln):
                prose.append(ln.strip())
                continue
            out.extend(split_sentences(" ".join(prose)))
            prose = []
            if is_nested_item(ln) and out and is_list_item(out[-1]):
                out[-1] += "\n" + ln.rstrip()
            else:
                out.append(ln.strip())
        out.extend(split_sentences(" ".join(prose)))
    return out


def is_lead_in(unit: str) -> bool:
    """A sentence that introduces the list after it ("Key goals for 2027 include:")."""
    return unit.rstrip().endswith(":") and not is_list_item(unit)



# Running headers and footers -------------------------------------------------------------
# A page number standing alone: "8", "- 8 -", "Page 8", "8 / 12", "8 of 12". The PDF reader
# (qa.pdf_layout) drops such lines at a page's edges; here they go only next to a running header.
PAGE_NUMBER = re.compile(r"^(?:page\s*)?[-–]?\s*\d{1,4}\s*[-–]?(?:\s*(?:/|of)\s*\d{1,4})?$", re.I)
# How often a line must recur to be a running header or footer, and how long it may be.
_RUNNING_MIN = 3
_RUNNING_WORDS = 12
_EDGE_NUMBER = re.compile(r"^(?:page\s+)?\d{1,3}\s+|\s+(?:page\s+)?\d{1,3}$", re.I)
# Furniture names the newsletter: "MERICS China Industries | November 2025", "merics.org",
# "MERICS | 4 December 2024". A byline such as "Analyst, MERICS" names it without a date or bar.
_NAMES_ISSUE = re.compile(rf"china\s+industries|merics\.org|merics\b.*(?:[|#]|\b{MONTH_RE}\b)|(?:[|#]|\b{MONTH_RE}\b).*\bmerics",
                          re.I)
# Never a running line: a labelled line ("Source: NBS", "Date: October 9, 2025", "Issuing bodies: ..."),
# which recurs once per article, often right before a page break; a chart title; a sentence.
_NOT_RUNNING = re.compile(r"^[^\W\d_][\w ]{0,24}[:：]\s|^(?:exhibit|chart|figure|table)\b|^merics\s+top\b|[.!?;:]$",
                          re.I)
# Pages without a running header (a full-page chart) make a gap of a page or two in the count.
_PAGE_STEP = 3


def _running_key(plain: str) -> str | None:
    """How a line would recur as a running header or footer: lower case, the page number at
    either end left out, other numbers blanked ("MERICS China Industries | November 2025 8" ->
    "merics china industries | november #"); None for a line that cannot be one (a sentence, a
    note or source line, a list item, a table row, a long line)."""
    s = plain.strip()
    if not s or s.startswith("|") or PAGE_NUMBER.match(s) or LIST_ITEM.match(s) or _NOT_RUNNING.search(s):
        return None
    s = _EDGE_NUMBER.sub("", s)
    if not re.search(r"[^\W\d_]{2}", s) or len(s.split()) > _RUNNING_WORDS:
        return None
    return re.sub(r"\d+", "#", _SPACES.sub(" ", s.lower())).strip()


def strip_running_lines(lines: list[str]) -> list[str]:
    """The lines of an issue's text without the running headers and footers a PDF-to-text
    conversion left between them, and the page numbers beside them.

    A running header is a short line that recurs at least three times, the same but for its
    numbers, and either names the newsletter (`_NAMES_ISSUE`) or stands next to a page number
    that counts up from one occurrence to the next. It goes with the lone page numbers beside
    it, also where it is glued onto the end of a text line ("... October 16, 2025 8 MERICS China
    Industries | November 2025" keeps "... October 16, 2025"). A line that repeats but is not
    such a line (a "Source: NBS", a byline "Analyst, MERICS", a label) stays.
    """
    plain = [strip_heading(ln) for ln in lines]
    keys = [_running_key(p) for p in plain]
    counts = Counter(k for k in keys if k)
    candidates = [k for k, n in counts.items() if n >= 2]
    if not candidates:
        return lines
    patterns = {k: _glued_pattern(k) for k in candidates}
    glued: dict[int, tuple[str, re.Match]] = {}  # line -> (running key, where it starts)
    for i, line in enumerate(lines):
        if keys[i] not in patterns:
            found = next(((k, m) for k, p in patterns.items() if (m := p.search(line)) and line[:m.start()].strip()), None)
            if found:
                glued[i] = found
    running = set()
    for k in candidates:
        if counts[k] + sum(1 for g, _ in glued.values() if g == k) < _RUNNING_MIN:
            continue
        if _NAMES_ISSUE.search(k) or _counts_pages([_page_beside(plain, i) for i, key in enumerate(keys) if key == k]):
            running.add(k)
    if not running:
        return lines
    drop: set[int] = set()
    pages: list[tuple[int, int]] = []  # (line, page number) of the page numbers beside them, in order
    for i, k in enumerate(keys):
        if k in running:
            drop.add(i)
            for j in _beside(plain, i):
                if PAGE_NUMBER.match(plain[j]):
                    drop.add(j)
                    pages.append((j, int(re.search(r"\d+", plain[j]).group())))
    pages.sort()
    out = []
    for i, line in enumerate(lines):
        if i in drop:
            continue
        if i in glued and glued[i][0] in running:
            m = glued[i][1]
            page = m["page"] and _fits(int(m["page"]), i, pages, counts[glued[i][0]])
            line = line[:m.end("page") if m["page"] and not page else m.start()].rstrip()
        out.append(line)
    return out


def _glued_pattern(key: str) -> re.Pattern:
    """A running line's text at the end of another line, a page number before or after it."""
    words = [re.escape(w).replace("\\#", "#").replace("#", r"\d+") for w in key.split()]
    return re.compile(r"(?:\s+(?:page\s+)?(?P<page>\d{1,3}))?\s+[*_]*" + r"\s+".join(words) + r"(?:\s+\d{1,3})?[*_\s]*$", re.I)


def _fits(n: int, i: int, pages: list[tuple[int, int]], running: int) -> bool:
    """Is n the page number of line i: after the page number before it and before the one after
    it, within a few pages of them; with none around, no more than the pages the running line's
    occurrences make?"""
    before = [p for j, p in pages if j < i][-1:]
    after = [p for j, p in pages if j > i][:1]
    if before or after:
        return all(0 < n - b <= _PAGE_STEP for b in before) and all(0 < a - n <= _PAGE_STEP for a in after)
    return 1 <= n <= running + _PAGE_STEP


def _beside(plain: list[str], i: int) -> list[int]:
    """The nearest non-blank line above and below line i."""
    out = []
    for step in (-1, 1):
        j = i + step
        while 0 <= j < len(plain) and not plain[j]:
            j += step
        if 0 <= j < len(plain):
            out.append(j)
    return out


def _page_beside(plain: list[str], i: int) -> int | None:
    for j in _beside(plain, i):
        if PAGE_NUMBER.match(plain[j]):
            return int(re.search(r"\d+", plain[j]).group())
    return None


def _counts_pages(numbers: list[int | None]) -> bool:
    """Page numbers beside at least three occurrences, counting up page by page."""
    seen = [n for n in numbers if n is not None]
    return len(seen) >= _RUNNING_MIN and all(0 < b - a <= _PAGE_STEP for a, b in zip(seen, seen[1:]))
