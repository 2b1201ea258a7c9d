"""Read one China Industries issue (markdown, plain text or PDF) into an `Issue`.

A PDF is first turned into the same text format by `qa.pdf`; everything below reads text,
after the running headers, footers and page numbers a PDF-to-text conversion leaves between
its lines are taken out (`qa.text.strip_running_lines`).

The converted PDFs differ in markup (headings `#`..`####`, bold, or none), so every rule
here looks at a line's *plain* text (markers stripped) and at its neighbours, never at
heading depth. Article headings are found by their number plus either the CONTENTS title
(fuzzy: quotes, typos, `<sup>`) or the "At a glance" that follows them, which is what
keeps a numbered list inside an article from becoming a section.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from .progress import Progress
from .schema import (ARTICLE, AT_A_GLANCE, COMMENT, CORPORATE_NEWS, DOCUMENT, EXHIBIT, EXPLAINER,
                     ITEM, POLICY_NEWS, Issue, IssueError, Part, Section, format_date)
from .text import (BULLET, BULLETS, LIST_ITEM, MONTH_RE, clean_inline, is_list_item, month_number, normalize,
                   parse_date, strip_heading, strip_running_lines)

TEXT_SUFFIXES = (".md", ".txt", ".markdown")
SUFFIXES = TEXT_SUFFIXES + (".pdf",)

_MASTHEAD = re.compile(
    rf"^(?P<m>{MONTH_RE})\.?\s+(?P<d>\d{{1,2}}),?\s+(?P<y>\d{{4}})"
    rf"(?:\s*\(\s*reporting\s+period\s*:?\s*(?P<pm1>{MONTH_RE})\.?\s+(?P<pd1>\d{{1,2}})(?:,?\s*(?P<py1>\d{{4}}))?"
    rf"\s*[-–—]+\s*(?P<pm2>{MONTH_RE})\.?\s+(?P<pd2>\d{{1,2}})(?:,?\s*(?P<py2>\d{{4}}))?\s*\))?", re.I)
_TOC_ENTRY = re.compile(r"^(?P<title>.*?\S)\s*(?:\.{2,}|…+|\t)[\s.…]*(?P<page>\d{1,3})$")
_NUMBERED = re.compile(r"^(?P<n>\d{1,2})\s*[.)]\s+(?P<title>\S.*)$")
_TOP5 = re.compile(r"^merics\s+top\s*(?:5|five)$", re.I)
_NOTEWORTHY = re.compile(r"^noteworthy$", re.I)
_POLICY = re.compile(r"^policy\s+news\s*:?$", re.I)
_CORPORATE = re.compile(r"^(?:corporate|company|business)\s+news\s*:?$", re.I)
_BOILERPLATE = re.compile(r"^(?:authors?|editors?|publisher|contact|imprint)$", re.I)
_GLANCE = re.compile(r"^at\s+a\s+glance\b", re.I)
# A news item's date, as the issues write it: "July 31", "Jul. 31st", "31 July", "July 31, 2025",
# "31 July 2025"; without a year the item is the issue's (`resolve_year`).
_NEWS_DATE = (rf"(?:(?P<m1>{MONTH_RE})\.?\s+(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?"
              rf"|(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?\.?\s+(?P<m2>{MONTH_RE})\.?)(?![\w-])(?:,?\s+(?P<y>\d{{4}})(?!\d))?")
# A news item's first line: its date, then a colon or a dash and the text ("July 31: The MIIT ...",
# "31 July 2025 – The MIIT ..."), or the date alone with the text on the lines below.
_ITEM = re.compile(rf"^(?:{BULLET}\s*)?(?P<date>{_NEWS_DATE})"
                   rf"(?:(?:\s*[:：]|\s*[–—]|\s+-)\s*(?P<text>.*)|\s*[:：–—-]?\s*)$", re.I)
# A bullet before a news item's date; "*" only with a space after it, as "**31 July**" is bold.
_ITEM_BULLET = re.compile(rf"^\s*(?:[{re.escape(BULLETS.replace('*', ''))}]\s*|\*\s+)")
_CJK = r"[\u3400-\u9fff\uf900-\ufaff]"

# Part labels at the start of a line inside an article ("MERICs comment:" included), followed
# by a colon and the part's first words. The third field says whether the label may also go
# without a colon: alone on its line ("AT A GLANCE", "MERICS comment", "Exhibit 1"), the part's
# text on the lines below, or set in bold before the text ("**At a glance** The MIIT ...");
# only names no sentence or plain line is made of, not "Comment" or "Date".
_LABELS = [
    (AT_A_GLANCE, r"at\s+a\s+glance", True),
    (COMMENT, r"merics\s+comments?", True),
    (COMMENT, r"comments?", False),
    (EXPLAINER, r"explainer|box|background", False),
    (EXHIBIT, r"exhibit\s*\d*|chart\s*\d*|figure\s*\d*", True),
    ("caption", r"sources?|notes?", False),
    (DOCUMENT, r"article|policy\s+document|document|original\s+document|(?:policy\s+|document\s+|full\s+)?title", False),
    ("issuers", r"issuing\s+bod(?:y|ies)|issued\s+by|issuers?", False),
    ("date", r"date(?:\s+of\s+issue)?|issued\s+on|published", False),
]
# One group per label, in _LABELS order: _label_of finds which one matched. `rest` is None when
# the line is the label alone, without a colon.
_LABEL = re.compile(r"^(?:" + "|".join(f"({p})" for _, p, _ in _LABELS) + r")(?:\s*[:：]\s*(?P<rest>.*)|\s*)$",
                    re.I)
# A bold (or italic) run opening a line: a label without a colon when `_LABELS` allows one.
_LEAD_RUN = re.compile(r"^\s{0,3}(?:#{1,6}\s*)?(?P<mark>\*\*|__|\*|_)(?P<run>[^*_]+?)(?P=mark)\s*[-–—]?\s*(?P<rest>\S.*)$")
_PART_NAMES = {AT_A_GLANCE: "At a glance", COMMENT: "MERICS comment", EXPLAINER: "Explainer",
               EXHIBIT: "Exhibit", DOCUMENT: "Policy document"}


@dataclass
class _Line:
    raw: str
    plain: str  # heading markers, emphasis and link residue removed


@dataclass(frozen=True)
class Intake:
    """An issue file's text, as the parser reads it, and what reading it took."""
    text: str
    pages: int | None = None
    """Page count of a PDF; None for a text file."""
    seconds: float = 0.0
    """Time to extract the text from a PDF."""


def read_issue(path: str | Path, progress: Progress | None = None) -> Issue:
    """Parse an issue file; raises IssueError naming the file and the problem.

    progress(done, total, what) hears about the pages of a PDF as they are read.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise IssueError(f"{path.name}: cannot be read ({e.strerror or e})") from None
    return parse_issue_bytes(data, path.name, progress)


def parse_issue_bytes(data: bytes, name: str, progress=None) -> Issue:
    """The issue in a file's bytes; the hash that marks it changed is of these bytes (a PDF's too)."""
    return parse_issue(read_intake(data, name, progress).text, name, hashlib.sha256(data).hexdigest())


def read_intake(data: bytes, name: str, progress=None) -> Intake:
    """Bytes of a .md/.txt or .pdf issue -> its text. Raises IssueError for what is not one."""
    if name.lower().endswith(".pdf"):
        if not data.strip():
            raise IssueError(f"{name}: the file is empty")
        from .pdf import read_pdf
        pdf = read_pdf(data, name, progress)
        return Intake(pdf.text, pdf.pages, pdf.seconds)
    return Intake(decode_issue(data, name))


def decode_issue(data: bytes, name: str) -> str:
    """Bytes -> text, refusing what is not a text issue: empty, binary, not UTF-8."""
    if not name.lower().endswith(TEXT_SUFFIXES):
        raise IssueError(f"{name}: not an issue file (expected .md, .txt or .pdf)")
    if not data.strip():
        raise IssueError(f"{name}: the file is empty")
    if data[:1024].lstrip().startswith(b"%PDF"):
        raise IssueError(f"{name}: this is a PDF file with a text file's name; rename it to .pdf")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise IssueError(f"{name}: the file is UTF-16 text, not UTF-8; save it as UTF-8")
    if b"\x00" in data[:65536]:
        raise IssueError(f"{name}: this is a binary file, not a text issue")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise IssueError(f"{name}: not UTF-8 text (invalid byte 0x{data[e.start]:02x} at offset {e.start}); "
                         "convert the file to UTF-8") from None
    controls = sum(1 for ch in text[:65536] if ord(ch) < 32 and ch not in "\n\r\t\f")
    if controls > 0.01 * min(len(text), 65536):
        raise IssueError(f"{name}: this is a binary file, not a text issue")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def parse_issue(text: str, source: str = "<text>", sha256: str = "") -> Issue:
    """Text of one issue -> Issue. Raises IssueError when it isn't a China Industries issue."""
    sha256 = sha256 or hashlib.sha256(text.encode()).hexdigest()
    raw_lines = text.split("\n")
    # The masthead may be the running header's text too: look for it before the headers go.
    looks_like = any("china industries" in strip_heading(raw).lower() for raw in raw_lines[:80])
    lines = [_Line(raw, strip_heading(raw)) for raw in strip_running_lines(raw_lines)]
    warnings: list[str] = []

    date, period = _find_masthead(lines)
    if date is None:
        if not looks_like:
            raise IssueError(f"{source}: not a MERICS China Industries issue "
                             "(no 'China Industries' masthead and no issue date)")
        raise IssueError(f"{source}: no issue date found (expected a masthead line such as "
                         "'DECEMBER 04, 2024 (REPORTING PERIOD: ...)')")
    if not looks_like:
        warnings.append("no 'China Industries' masthead line; parsed by structure alone")

    toc_titles, body_start = _read_contents(lines)
    boiler = _first(lines, lambda ln: bool(_BOILERPLATE.match(ln.plain)), body_start) or len(lines)
    # NOTEWORTHY follows the articles: a CONTENTS entry of that name (no page number) must not end them.
    first_glance = _first(lines, lambda ln: bool(_GLANCE.match(ln.plain)), body_start, boiler)
    after_glance = body_start if first_glance is None else first_glance
    noteworthy = _first(lines, lambda ln: bool(_NOTEWORTHY.match(ln.plain)), after_glance, boiler)
    news_start = noteworthy + 1 if noteworthy is not None else None
    if noteworthy is None:  # no NOTEWORTHY heading: the news start at their first heading
        noteworthy = news_start = _first(lines, lambda ln: bool(_news_heading(ln.plain)), after_glance, boiler)
    articles_end = noteworthy if noteworthy is not None else boiler

    sections: list[Section] = []
    heads = _find_article_heads(lines, toc_titles, body_start, articles_end, warnings)
    for i, (n, title, start) in enumerate(heads):
        end = heads[i + 1][2] if i + 1 < len(heads) else articles_end
        sections.append(_parse_article(n, title, lines[start:end], date, warnings))
    if news_start is not None:
        sections.extend(_parse_noteworthy(lines[news_start:boiler], date, warnings))
    if not sections:
        raise IssueError(f"{source}: no sections found (no 'MERICS TOP 5' articles with 'At a glance', "
                         "no NOTEWORTHY news)")
    if not heads:
        warnings.append("no Top-5 articles found")
    elif len(heads) != 5:
        warnings.append(f"found {len(heads)} Top-5 articles, expected 5")
    authors, editors = _read_people(lines, boiler)
    return Issue(date=date.isoformat(), source=source, sha256=sha256, sections=tuple(sections),
                 period_start=period[0].isoformat() if period else None,
                 period_end=period[1].isoformat() if period else None,
                 authors=authors, editors=editors, warnings=tuple(warnings))


def _first(lines, pred, start=0, end=None):
    for i in range(start, len(lines) if end is None else end):
        if pred(lines[i]):
            return i
    return None


def _find_masthead(lines: list[_Line]):
    for ln in lines[:120]:
        m = _MASTHEAD.match(ln.plain)
        if not m:
            continue
        try:
            date = dt.date(int(m["y"]), month_number(m["m"]), int(m["d"]))
        except ValueError:
            continue
        period = None
        if m["pm1"]:
            period = (_period_date(m["pm1"], m["pd1"], m["py1"], date),
                      _period_date(m["pm2"], m["pd2"], m["py2"], date))
        return date, period
    return None, None


def _period_date(month: str, day: str, year: str | None, issue: dt.date) -> dt.date:
    if year:
        return dt.date(int(year), month_number(month), int(day))
    return resolve_year(month_number(month), int(day), issue)


def resolve_year(month: int, day: int, issue: dt.date) -> dt.date:
    """The month/day nearest before the issue date: a December item in a January issue is last year's.

    A week of slack lets an item dated just after the masthead stay in the issue's year.
    """
    for year in (issue.year, issue.year - 1):
        try:
            d = dt.date(year, month, day)
        except ValueError:  # 29 February
            d = dt.date(year, month, 28)
        if d <= issue + dt.timedelta(days=7):
            return d
    return d


def _read_contents(lines: list[_Line]) -> tuple[dict[int, str], int]:
    """Numbered titles from CONTENTS, and where the body starts (the MERICS TOP 5 heading)."""
    first_glance = _first(lines, lambda ln: bool(_GLANCE.match(ln.plain))) or len(lines)
    tops = [i for i in range(first_glance) if _TOP5.match(lines[i].plain)]
    contents = _first(lines, lambda ln: ln.plain.lower().rstrip(":") in ("contents", "content", "table of contents"),
                      0, first_glance)
    # Without a TOP 5 heading the body search starts right after CONTENTS: its entries may look
    # like headings, but _find_article_heads prefers the line an "At a glance" follows.
    body_start = tops[-1] + 1 if tops else (contents + 1 if contents is not None else 0)
    titles: dict[int, str] = {}
    if contents is not None:
        for ln in lines[contents + 1:first_glance]:
            toc = _TOC_ENTRY.match(ln.plain)
            title = toc["title"].rstrip(". ") if toc else ln.plain
            m = _NUMBERED.match(title)
            if m and int(m["n"]) not in titles:
                titles[int(m["n"])] = m["title"]
            if _NOTEWORTHY.match(title.rstrip(". ")) and titles:
                break
    return titles, body_start


def _similar(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, _squash(a), _squash(b)).ratio()


def _squash(s: str) -> str:
    return re.sub(r"[^a-z0-9\u3400-\u9fff]", "", normalize(s))


def _followed_by_glance(lines: list[_Line], i: int, end: int) -> bool:
    seen = 0
    for ln in lines[i + 1:end]:
        if ln.plain:
            seen += 1
            if _GLANCE.match(ln.plain):
                return True
            if seen >= 3:
                return False
    return False


def _find_article_heads(lines, toc, start, end, warnings) -> list[tuple[int, str, int]]:
    """[(number, title, line index)] of the Top-5 article headings, in order.

    A candidate for heading n is a line numbered n whose title matches CONTENTS, or any
    line matching the CONTENTS title closely; one followed by "At a glance" is preferred,
    so a list item that happens to repeat a title does not end the article early.
    """
    heads: list[tuple[int, str, int]] = []
    n, cursor = 1, start
    while True:
        expected = toc.get(n)
        best, best_rank = None, 0
        for i in range(cursor, end):
            title = _candidate_title(lines, i, end, n, expected)
            if title is None:
                continue
            glance = _followed_by_glance(lines, i, end)
            matches = bool(expected) and _similar(title, expected) >= 0.75
            rank = 2 * glance + matches
            if rank > best_rank:
                best, best_rank = (n, title, i), rank
            if rank == 3 or (rank == 2 and not expected):
                break
        if best and expected and _similar(best[1], expected) < 0.75:
            warnings.append(f"article {n}: heading {best[1]!r} differs from CONTENTS {expected!r}")
        if not best:
            if expected:
                warnings.append(f"article {n} ({expected!r}) listed in CONTENTS but not found in the body")
            if n > max(toc, default=0):
                break
            n += 1
            continue
        heads.append(best)
        cursor, n = best[2] + 1, n + 1
    return heads


def _candidate_title(lines, i: int, end: int, n: int, expected: str | None) -> str | None:
    """The heading title if line i could be article n's heading, else None."""
    plain = lines[i].plain
    m = _NUMBERED.match(plain)
    if m and int(m["n"]) == n:
        title = m["title"]
        if expected and i + 1 < end and not _GLANCE.match(lines[i + 1].plain):
            joined = f"{title} {lines[i + 1].plain}".strip()  # a title wrapped onto a second line
            if _similar(joined, expected) > _similar(title, expected) + 0.05:
                title = joined
        if (expected and _similar(title, expected) >= 0.75) or _followed_by_glance(lines, i, end):
            return title
        return None
    if expected and plain and _similar(plain, expected) >= 0.9 and _followed_by_glance(lines, i, end):
        return plain
    return None


def _label_of(plain: str, raw: str = ""):
    """(part kind, label word, text after the colon) when the line starts a part, else None.

    With the line's `raw` text, a label set in bold without a colon before the part's first words
    counts too, where `_LABELS` lets it go without a colon."""
    m = _LABEL.match(plain)
    if not m:
        run = _LEAD_RUN.match(raw)
        lab = _label_of(clean_inline(run["run"])) if run else None
        return (lab[0], lab[1], clean_inline(run["rest"])) if lab and not lab[2] else None
    for (kind, _, alone), group in zip(_LABELS, m.groups()):
        if group:
            return (kind, group, m["rest"] or "") if m["rest"] is not None or alone else None
    return None


def _is_caption(plain: str) -> bool:
    """A chart's "Note:" or "Source:" line."""
    lab = _label_of(plain)
    return bool(lab) and lab[0] == "caption"


def _parse_article(n: int, title: str, lines: list[_Line], issue_date: dt.date, warnings) -> Section:
    blocks = _read_blocks(_after_title(title, lines[1:]))
    parts: list[Part] = []
    doc_lines: dict[str, str] = {}
    for kind, label, body in blocks:
        if kind in (DOCUMENT, "issuers", "date"):
            doc_lines[kind] = " ".join(clean_inline(b.raw) for b in body if b.plain)
            continue
        if kind == EXHIBIT:
            label, shown = _title_exhibit(label, [ln.plain for ln in body if ln.plain])
            text = "\n".join(shown)
        else:
            text = _join_blocks(body)
        if text:
            parts.append(Part(kind=kind, label=label, text=text))

    policy_title = policy_zh = policy_date = None
    issuers: tuple[str, ...] = ()
    if doc_lines:
        policy_title, policy_zh = _split_policy_title(doc_lines.get(DOCUMENT, ""))
        issuers = _split_issuers(doc_lines.get("issuers", ""))
        raw_date = doc_lines.get("date", "")
        parsed = parse_date(raw_date)
        if raw_date and not parsed:
            warnings.append(f"article {n}: could not read the policy date {raw_date!r}")
        policy_date = parsed.isoformat() if parsed else None
        shown = []
        if policy_title:
            shown.append(f"Article: {policy_title}" + (f" ({policy_zh})" if policy_zh else ""))
        if issuers:
            shown.append(f"Issuing {'bodies' if len(issuers) > 1 else 'body'}: {', '.join(issuers)}")
        if raw_date:
            shown.append(f"Date: {raw_date}")
        if shown:
            parts.append(Part(kind=DOCUMENT, label=_PART_NAMES[DOCUMENT], text="\n".join(shown), date=policy_date))
    if not any(p.kind == AT_A_GLANCE for p in parts):
        warnings.append(f"article {n}: no 'At a glance' summary")
    return Section(id=str(n), kind=ARTICLE, number=n, title=clean_inline(title), parts=tuple(parts),
                   policy_title=policy_title, policy_title_zh=policy_zh, issuers=issuers, policy_date=policy_date)


def _after_title(title: str, lines: list[_Line]) -> list[_Line]:
    """The article's lines without the rest of a heading wrapped onto the next line."""
    first = next((i for i, ln in enumerate(lines) if ln.plain), None)
    if first is not None and not _label_of(lines[first].plain) and normalize(title).endswith(normalize(lines[first].plain)):
        return lines[first + 1:]
    return lines


def _read_blocks(lines: list[_Line]) -> list[tuple[str, str, list[_Line]]]:
    """An article's lines -> [(part kind, label, lines)], in order.

    A chart is a block of its own: its title line ("Exhibit 1: ..."), legend and data lines, and
    its "Note:" and "Source:" lines, kept line by line. It ends after its source line (or a blank
    line after a note), and the text after it continues the part the chart interrupted, e.g. the
    MERICS comment that says "(see exhibit 1)". A chart whose title has no "Exhibit" label
    (`_chart_start`) is found from its note or source, and takes its title and data lines back
    from the part above."""
    blocks: list[tuple[str, str, list[_Line]]] = []
    current = resume = None
    chart_open = False
    for previous, ln in zip([None, *lines], lines):
        gap = previous is not None and not previous.plain  # a blank line before this one
        lab = _label_of(ln.plain, ln.raw)
        if _is_caption(ln.plain):
            if current is None or current[0] != EXHIBIT or not chart_open:
                interrupted = current is not None and current[0] != EXHIBIT
                resume = current if current is None or interrupted else resume
                start = _chart_start(current[2]) if interrupted else None
                chart = [] if start is None else current[2][start:]
                if chart:  # the chart's title and data lines are not the interrupted part's
                    del current[2][start:]
                label = _titled(_PART_NAMES[EXHIBIT], chart[0].plain) if chart else _PART_NAMES[EXHIBIT]
                current = (EXHIBIT, label, chart)
                blocks.append(current)
            current[2].append(ln)
            chart_open = not lab[1].lower().startswith("source")
            continue
        if lab:
            kind, word, rest = lab
            label = _PART_NAMES.get(kind, kind)
            if kind == EXHIBIT:
                resume = current if current is None or current[0] != EXHIBIT else resume
                label = _titled(word, rest) if rest else label
                if rest and not _LABEL.match(ln.plain):  # "**Exhibit 1** Output ...": shown as its label
                    ln = _Line(ln.raw, label)
                current, chart_open = (EXHIBIT, label, [ln]), True
            else:
                if kind == EXPLAINER and rest:
                    label, rest = _titled(word, rest), ""
                current, resume, chart_open = (kind, label, [_Line(rest, rest)] if rest else []), None, False
            blocks.append(current)
        elif current is not None and current[0] == EXHIBIT and not chart_open:
            if ln.plain:  # the chart is over: back to the part it interrupted
                if resume is None:
                    resume = (COMMENT if any(b[0] == COMMENT for b in blocks) else AT_A_GLANCE, "", [])
                current = (resume[0], resume[1] or _PART_NAMES[resume[0]], [_Line("", ""), ln])
                blocks.append(current)
        elif current is None:
            if ln.plain:
                current = (AT_A_GLANCE, _PART_NAMES[AT_A_GLANCE], [ln])
                blocks.append(current)
        elif current[0] == EXHIBIT:
            if not ln.plain:
                continue
            if gap and any(_is_caption(x.plain) for x in current[2]):
                # Text after a blank line that follows the chart's note is the interrupted part again.
                chart_open = False
                if resume is None:
                    resume = (COMMENT if any(b[0] == COMMENT for b in blocks) else AT_A_GLANCE, "", [])
                current = (resume[0], resume[1] or _PART_NAMES[resume[0]], [_Line("", ""), ln])
                blocks.append(current)
            else:
                current[2].append(ln)
        else:
            current[2].append(ln)
    return _merge_continued(blocks)


def _titled(word: str, title: str) -> str:
    """A part's label with its title: ("EXHIBIT 1", "Output, 2024") -> "Exhibit 1: Output, 2024"."""
    return f"{clean_inline(word).capitalize()}: {title}"


# A chart's title, legend and data lines are short and none ends as a sentence or a lead-in does.
_CHART_WORDS = 25
_SENTENCE_END = re.compile(r"[.!?;:][\"'”’)\]]*$")


def _chart_start(body: list[_Line]) -> int | None:
    """Where, in a part's lines above a "Note:" or "Source:" line, a chart without an "Exhibit"
    label starts: the paragraph just above (no blank line before the note) when it is a title
    line, not a list item, then any description and data lines, each at most _CHART_WORDS words
    and none ending like a sentence. None when that paragraph is prose or a list, or opens the
    part (a chart is never a part's first lines)."""
    start = len(body)
    while start > 0 and body[start - 1].plain:
        start -= 1
    chart = body[start:]
    if not chart or start == 0 or is_list_item(chart[0].raw):
        return None
    if all(len(ln.plain.split()) <= _CHART_WORDS and not _SENTENCE_END.search(ln.plain) for ln in chart):
        return start
    return None


def _title_exhibit(label: str, lines: list[str]) -> tuple[str, list[str]]:
    """An exhibit's label and lines; a title on the line below a bare "Exhibit 1" joins it:
    ["Exhibit 1", "Output, 2024", ...] -> "Exhibit 1: Output, 2024", ["Exhibit 1: Output, 2024", ...]."""
    head = _label_of(lines[0]) if lines else None
    if head and head[0] == EXHIBIT and not head[2] and len(lines) > 1 and not _label_of(lines[1]):
        label = _titled(head[1], lines[1])
        return label, [label, *lines[2:]]
    return label, lines


def _merge_continued(blocks):
    """A part resumed after a chart is one part with the text before the chart."""
    out: list[tuple[str, str, list[_Line]]] = []
    for kind, label, body in blocks:
        prior = next((b for b in reversed(out) if b[0] == kind and b[1] == label), None)
        if prior is not None and kind not in (EXHIBIT, DOCUMENT, "issuers", "date") and out[-1][0] == EXHIBIT:
            prior[2].extend(body)
        else:
            out.append((kind, label, body))
    return out


def _split_issuers(text: str) -> tuple[str, ...]:
    """'MIIT, MOF and NDB' -> 3 bodies; 'Ministry of Industry and Information Technology' -> 1."""
    out: list[str] = []
    for piece in (x.strip() for x in re.split(r"[,;]", text) if x.strip()):
        parts = [x.strip() for x in re.split(r"\s+(?:and|&)\s+", piece)]
        # Split on "and" only between acronyms: inside a ministry's full name it is part of the name.
        out.extend(parts if len(parts) > 1 and all(re.fullmatch(r"[A-Z][A-Za-z]{1,9}", x) and
                                                   sum(c.isupper() for c in x) >= 2 for x in parts) else [piece])
    return tuple(out)


def _split_policy_title(text: str) -> tuple[str | None, str | None]:
    t = re.sub(r"\(\s*\(?\s*link\s*\)?\s*\)|\(\s*link\s*\)|\blink\b\s*$", "", text, flags=re.I).strip()
    m = re.match(rf"^(?P<en>.*?)\s*[(（](?P<zh>[^()（）]*{_CJK}.*)[)）]\s*$", t)
    if m:
        return m["en"].strip() or None, m["zh"].strip()
    return (t or None), None


def _join_blocks(body: list[_Line]) -> str:
    """Part lines -> paragraphs and '- ' bullets; a paragraph cut by a page break is rejoined."""
    blocks: list[str] = []
    kinds: list[str] = []  # "p" paragraph or "b" bullet
    fresh = True
    for ln in body:
        if not ln.plain:
            fresh = True
            continue
        raw = re.sub(r"^\s{0,3}#{1,6}\s*", "", ln.raw)
        if item := LIST_ITEM.match(raw):
            marker = item.group().strip()  # "1." is kept, any bullet glyph becomes "-"
            body_text = clean_inline(raw[item.end():])
            # An indented item under another is nested: "  - " keeps it with its parent item.
            nested = "  " if kinds and kinds[-1] == "b" and len(raw) - len(raw.lstrip()) >= 2 else ""
            blocks.append(nested + (f"{marker} {body_text}" if marker[0].isdigit() else f"- {body_text}"))
            kinds.append("b")
            fresh = False
            continue
        text = ln.plain
        if blocks and (not fresh or (_continues(blocks[-1]) and text[:1].islower())):
            blocks[-1] = f"{blocks[-1]} {text}"
        else:
            blocks.append(text)
            kinds.append("p")
        fresh = False
    out = ""
    for i, b in enumerate(blocks):
        if i:
            out += "\n" if kinds[i] == "b" and kinds[i - 1] == "b" else "\n\n"
        out += b
    return out.strip()


def _continues(block: str) -> bool:
    return not re.search(r"[.!?:;\"”’)]$", block)


_NEWS_TITLES = {POLICY_NEWS: "Policy news", CORPORATE_NEWS: "Corporate news"}
_UNDATED = "Undated"
"""The label of a news section's text that is no dated item."""


def _news_heading(plain: str):
    """POLICY_NEWS or CORPORATE_NEWS for a news heading ("### Corporate news", "Policy news:")."""
    return POLICY_NEWS if _POLICY.match(plain) else CORPORATE_NEWS if _CORPORATE.match(plain) else None


def _news_item(plain: str):
    """The `_ITEM` match of a news item's first line, None for any other line (or a day past 31)."""
    m = _ITEM.match(plain)
    return m if m and 1 <= int(m["d1"] or m["d2"]) <= 31 else None


def _parse_noteworthy(lines: list[_Line], issue_date: dt.date, warnings) -> list[Section]:
    """The news items under their "Policy news" and "Corporate news" headings.

    An item starts at a line that opens with its date (`_ITEM`); the lines after it, up to the
    next item or heading, continue it. Nothing under a news heading is dropped unseen: its text
    before the first dated item (a note, or all of it when no item has a date the parser reads)
    is kept as one undated part, and a warning says so; an empty heading is warned about."""
    groups: dict[str, list[Part]] = {POLICY_NEWS: [], CORPORATE_NEWS: []}
    kind = None
    item: list[str] | None = None
    loose: list[_Line] = []  # lines under the heading before its first dated item
    found: dict[str, int] = {}  # items under each heading read so far

    def flush(heading_ends: bool):
        nonlocal item, loose
        if item and kind:
            part = _make_item(item, issue_date)
            if part.text:
                groups[kind].append(part)
                found[kind] += 1
            else:
                warnings.append(f"{_NEWS_TITLES[kind].lower()}: the date {part.label} has no item text under it")
        item = None
        text = _join_blocks(loose)
        if text and kind:
            groups[kind].append(Part(kind=ITEM, label=_UNDATED, text=text))
            where = "text before the first dated item" if not heading_ends or found[kind] else \
                "no dated items under the heading (expected 'July 31: ...' or '31 July 2025 – ...'); its text"
            warnings.append(f"{_NEWS_TITLES[kind].lower()}: {where} is kept as one undated part: {_snippet(text)!r}")
        elif text:
            warnings.append(f"noteworthy: text before the first news heading was left out: {_snippet(text)!r}")
        elif heading_ends and kind and not found[kind] and not groups[kind]:
            warnings.append(f"{_NEWS_TITLES[kind].lower()}: the heading has no news items under it")
        loose = []

    for ln in lines:
        heading = _news_heading(ln.plain)
        if heading:
            flush(True)
            kind = heading
            found.setdefault(kind, 0)
            continue
        if not ln.plain:
            if item is None:
                loose.append(ln)
            continue
        if _news_item(ln.plain):
            flush(False)
            if kind is None:
                warnings.append("noteworthy items before a 'Policy news' heading were filed as policy news")
                kind = POLICY_NEWS
                found.setdefault(kind, 0)
            item = [ln.raw]
        elif item is not None:
            item.append(ln.raw)
        else:
            loose.append(ln)
    flush(True)
    return [Section(id=k.replace("_", "-"), kind=k, title=_NEWS_TITLES[k], parts=tuple(v))
            for k, v in groups.items() if v]


def _snippet(text: str, words: int = 8) -> str:
    head = text.split()
    return " ".join(head[:words]) + (" ..." if len(head) > words else "")


def _make_item(raw_lines: list[str], issue_date: dt.date) -> Part:
    lines = [_ITEM_BULLET.sub("", re.sub(r"^\s{0,3}#{1,6}\s+", "", r), count=1).strip() for r in raw_lines]
    raw = " ".join(lines)
    sources = ()
    m = re.search(r"\((\s*\[[^\]]+\]\([^)]*\)\s*(?:,\s*\[[^\]]+\]\([^)]*\)\s*)*)\)\s*\.?\s*$", raw)
    if m:
        sources = tuple(clean_inline(s) for s in re.findall(r"\[([^\]]+)\]", m.group(1)))
    head = _news_item(clean_inline(raw))
    if head and head["text"]:
        body = head["text"].strip()
    else:  # the date alone on the first line, the text below it
        head = _news_item(strip_heading(lines[0]))
        body = clean_inline(" ".join(lines[1:]))
    date = _item_date(head, issue_date)
    if not sources:
        tail = re.search(r"\(([^()]{2,120})\)\s*\.?$", body)
        if tail and all(len(s.split()) <= 6 for s in tail.group(1).split(",")):
            sources = tuple(s.strip() for s in tail.group(1).split(",") if s.strip())
    return Part(kind=ITEM, label=format_date(date.isoformat()), text=body, date=date.isoformat(), sources=sources)


def _item_date(head: re.Match, issue_date: dt.date) -> dt.date:
    """A news item's date: its own year, or the issue's (`resolve_year`) when it gives none."""
    month, day = month_number(head["m1"] or head["m2"]), int(head["d1"] or head["d2"])
    if not head["y"]:
        return resolve_year(month, day, issue_date)
    try:
        return dt.date(int(head["y"]), month, day)
    except ValueError:  # 31 June
        return dt.date(int(head["y"]), month, 28)


def _read_people(lines: list[_Line], start: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Names under AUTHORS and EDITORS: the first line of each blank-separated block."""
    people: dict[str, list[str]] = {"authors": [], "editors": []}
    current = None
    new_block = True
    for ln in lines[start:]:
        low = ln.plain.lower()
        if low in ("authors", "author"):
            current, new_block = "authors", True
        elif low in ("editors", "editor"):
            current, new_block = "editors", True
        elif _BOILERPLATE.match(ln.plain) or low.startswith("for more information"):
            current = None
        elif not ln.plain:
            new_block = True
        elif current and new_block:
            people[current].append(ln.plain.rstrip(",").strip())
            new_block = False
    return tuple(people["authors"]), tuple(people["editors"])
