"""Text clean-up shared by the parser, the answer composer and the evaluation.

`clean_inline` removes the residue of the PDF-to-markdown conversion without changing
meaning; `normalize` is the looser form used to compare two texts (titles, gold facts).
Nothing here interprets HTML: a `<script>` in an issue stays the literal text `<script>`.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

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


def parse_month_day(text: str) -> tuple[int, int] | None:
    m = re.fullmatch(rf"\s*({MONTH_RE})\.?\s+(\d{{1,2}})\s*", text, re.I)
    if not m:
        return None
    month, day = month_number(m.group(1)), int(m.group(2))
    return (month, day) if 1 <= day <= 31 else None


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

