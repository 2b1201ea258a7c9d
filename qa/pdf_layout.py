"""Lines of an issue PDF -> the text format `qa.parse` reads.

    drop_furniture   running headers and footers (the same text at the same height on most
                     pages, and everything above or below them), lone page numbers; what
                     positions cannot tell, the parser's text rule still catches
                     (`qa.text.strip_running_lines`, for every issue text)
    drop_chart_text  small type drawn over a chart (axis labels, values)
    build_blocks     paragraphs and list items, by spacing, indentation and markers; a block
                     cut by a page break continues on the next page
    classify         headings by larger type or an all-bold short block
    emit_text        "## Heading", "**Label:** text", "- bullet", "3. item", paragraphs
                     separated by blank lines; end-of-line hyphens undone where the word is one

Everything is decided from the document's own measurements (its body type size, its line
spacing, its column's right edge), not from fixed positions.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from enum import Enum

from .pdf import Line, Page
from .text import BULLET, BULLETS, PAGE_NUMBER

# A heading is set at least this much larger than the body text (type scales step by 1.2 or
# more; the CONTENTS lines of the newsletter are only 5 % larger than the body).
_HEADING_RATIO = 1.1
# A gap this much (in type sizes) beyond the usual line spacing separates paragraphs; the
# spacing inside a paragraph varies by a fraction of a point.
_PARAGRAPH_GAP_EM = 0.25
# A PDF's list markers: the bullet glyphs of qa.text, or a number or letter ("1.", "(a)").
_MARKER = re.compile(rf"^(?:{BULLET}|\(?(?:\d{{1,2}}|[a-z])[.)])(?=\s)")
_LEADER = re.compile(r"[\s.…]*(?:\.\s*){3,}[\s.…]*(?=\d{1,3}$)|\s*\t\s*(?=\d{1,3}$)")
# A bold run-in label without a colon has at most this many words ("At a glance", "Exhibit 1").
_RUN_IN_WORDS = 4
_HYPHENS = "-\u2010\u00ad"
_CJK = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")
_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")


class Kind(str, Enum):
    HEADING = "heading"
    PARAGRAPH = "paragraph"
    BULLET = "bullet"
    NUMBERED = "numbered"


@dataclass
class Block:
    kind: Kind
    lines: list[Line]
    text_x: float
    """Where its lines after the first start: the hanging indent of a list item."""
    level: int = 0
    """Heading level, 1 for the largest type."""
    closed: bool = False
    """A CONTENTS entry ended with its page number: nothing more joins it."""
    pages: set[int] = field(default_factory=set)

    @property
    def size(self) -> float:
        return self.lines[0].size


def layout_text(pages: list[Page], lines: list[list[Line]]) -> str:
    """The whole pipeline for one document."""
    lines = drop_furniture(lines)
    body = body_size(lines)
    lines = [drop_chart_text(ls, p, body) for ls, p in zip(lines, pages)]
    blocks = build_blocks(lines, body)
    classify(blocks, body)
    return emit_text(blocks, vocabulary(lines), right_edge(lines, body))


def soft_hyphen(pages: list[list[Line]]) -> str | None:
    """The character this document prints for a word broken at a line end, if it has its own.

    U+00AD, or U+2010 when it occurs only at line ends (browsers print soft hyphens with it):
    then a U+002D at a line end is a real hyphen ("lithium-" + "ion"). None: the document
    uses U+002D for both, and the words decide.
    """
    ends, inside = Counter(), Counter()
    for page in pages:
        for ln in page:
            t = ln.text.rstrip()
            if t[-1:] in "\u00ad\u2010":
                ends[t[-1]] += 1
            inside.update(ch for ch in t[:-1] if ch in "\u00ad\u2010")
    for ch in ("\u00ad", "\u2010"):
        if ends[ch] and not inside[ch]:
            return ch
    return None


def _key(line: Line) -> tuple[str, int]:
    """Text with its numbers blanked, and its height: the same on every page for furniture."""
    return re.sub(r"\d+", "#", line.text.lower()).strip(), round(line.top / 3)


def drop_furniture(pages: list[list[Line]]) -> list[list[Line]]:
    """Without running headers and footers and page numbers."""
    seen = Counter(k for page in pages for k in {_key(ln) for ln in page})
    need = max(2, math.ceil(len(pages) / 2))
    repeated = {k for k, n in seen.items() if n >= need}
    top_edge, bottom_edge = -1.0, math.inf
    for page in pages:
        rest = [ln for ln in page if _key(ln) not in repeated]
        for ln in page:
            if _key(ln) in repeated:
                if not rest or ln.bottom <= min(r.top for r in rest):
                    top_edge = max(top_edge, ln.bottom)
                elif ln.top >= max(r.bottom for r in rest):
                    bottom_edge = min(bottom_edge, ln.top)
    out = []
    for page in pages:
        kept = [ln for ln in page if _key(ln) not in repeated and top_edge < ln.top and ln.bottom < bottom_edge]
        while kept and PAGE_NUMBER.match(kept[-1].text.strip()):
            kept.pop()
        while kept and PAGE_NUMBER.match(kept[0].text.strip()):
            kept.pop(0)
        out.append(kept)
    return out


def body_size(pages: list[list[Line]]) -> float:
    """The type size most of the text is set in."""
    sizes = Counter()
    for page in pages:
        for ln in page:
            sizes[ln.size] += len(ln.text)
    return sizes.most_common(1)[0][0] if sizes else 10.0


def drop_chart_text(lines: list[Line], page: Page, body: float) -> list[Line]:
    """Without the small type of a chart (values, axis labels, legend).

    A chart is an image, or three or more shapes side by side (bars, slices, curves); a box
    or a shaded panel is one shape. Text smaller than the body type within two of its own
    line heights above or below a chart is the chart's; text in body size never is, so
    titles, boxes and the Note:/Source: lines under a chart stay.
    """
    regions = list(page.images) + [box for box, n in _clusters(page.shapes, body) if n >= 3]

    def on_chart(ln: Line) -> bool:
        if ln.size >= body - 0.5:
            return False
        pad = 2 * ln.size
        return any(ln.top < b[3] + pad and ln.bottom > b[1] - pad for b in regions)
    return [ln for ln in lines if not on_chart(ln)] if regions else lines


def _clusters(boxes, body: float):
    """Boxes merged where they overlap in height and are less than two body sizes apart (the
    bars of one chart): [(box, how many shapes)]."""
    out: list[list] = []
    for b in sorted(boxes):
        for c in out:
            x0, t, x1, btm = c[0]
            if b[0] <= x1 + 2 * body and b[2] >= x0 - 2 * body and b[1] <= btm and b[3] >= t:
                c[0] = (min(x0, b[0]), min(t, b[1]), max(x1, b[2]), max(btm, b[3]))
                c[1] += 1
                break
        else:
            out.append([b, 1])
    return [(c[0], c[1]) for c in out]


def line_gaps(pages: list[list[Line]]) -> dict[float, float]:
    """Per type size, the usual gap between two lines of one paragraph.

    The first quartile of the gaps between consecutive lines of that size: most gaps are
    inside paragraphs, but a list of two-line addresses has as many gaps between as inside.
    """
    gaps: dict[float, list[float]] = {}
    for page in pages:
        for a, b in zip(page, page[1:]):
            if a.size == b.size and b.top > a.bottom - 0.5 * a.size:
                gaps.setdefault(a.size, []).append(b.top - a.bottom)
    return {size: sorted(g)[len(g) // 4] for size, g in gaps.items()}


def build_blocks(pages: list[list[Line]], body: float) -> list[Block]:
    """Lines -> paragraphs and list items, in reading order, joined across page breaks."""
    gaps = line_gaps(pages)
    edge = right_edge(pages, body)
    blocks: list[Block] = []
    for page in pages:
        first_on_page = True
        for ln in page:
            cur = blocks[-1] if blocks else None
            if cur is not None and not cur.closed and (
                    _continues_across(cur, ln, edge) if first_on_page else _continues(cur, ln, gaps)):
                cur.lines.append(ln)
                if len(cur.lines) == 2 and cur.kind == Kind.PARAGRAPH:
                    cur.text_x = ln.x0
            else:
                blocks.append(_start(ln))
            blocks[-1].pages.add(ln.page)
            blocks[-1].closed = bool(_LEADER.search(ln.text))
            first_on_page = False
    return blocks


def _start(ln: Line) -> Block:
    m = _MARKER.match(ln.text)
    if not m:
        return Block(Kind.PARAGRAPH, [ln], ln.x0)
    kind = Kind.BULLET if m.group()[0] in BULLETS else Kind.NUMBERED
    return Block(kind, [ln], ln.second_x)


def _same_style(a: Line, b: Line) -> bool:
    return abs(a.size - b.size) <= 0.5 and a.bold == b.bold


def _continues(block: Block, ln: Line, gaps: dict[float, float]) -> bool:
    """Does line `ln`, just below the block's last line on the same page, belong to it?"""
    last = block.lines[-1]
    if _MARKER.match(ln.text) or not _same_style(last, ln):
        return False
    usual = gaps.get(ln.size, 0.3 * ln.size)
    if ln.top - last.bottom > usual + _PARAGRAPH_GAP_EM * ln.size:
        return False
    return _aligned(block, ln)


def _aligned(block: Block, ln: Line) -> bool:
    """Starts where the block's lines after the first start (a first-line indent allowed)."""
    first = block.lines[0]
    if len(block.lines) == 1:
        if abs(ln.x0 - block.text_x) <= 1 or abs(ln.x0 - first.x0) <= 1:
            return True
        # The first line of an indented paragraph starts up to 3 em right of the rest.
        return block.kind == Kind.PARAGRAPH and 0 < first.x0 - ln.x0 <= 3 * ln.size
    return abs(ln.x0 - block.text_x) <= 1


def _continues_across(block: Block, ln: Line, edge: float) -> bool:
    """Does the first line of a page continue the last block of the page before?"""
    last = block.lines[-1]
    if block.kind == Kind.HEADING or _MARKER.match(ln.text) or not _same_style(last, ln) or ln.bold_prefix:
        return False
    if block.kind != Kind.PARAGRAPH and block.text_x > block.lines[0].x0 + 1:
        return abs(ln.x0 - block.text_x) <= 1  # a list item's hanging indent: only its continuation starts there
    if abs(ln.x0 - block.text_x) > 1:
        return False
    full = last.x1 >= edge - 0.5 * last.size
    return full or not re.search(r"[.!?:;…\"”’)]$", last.text)


def right_edge(pages: list[list[Line]], body: float) -> float:
    """The right edge of the text column: where the longest body lines end."""
    ends = [ln.x1 for page in pages for ln in page if abs(ln.size - body) <= 0.5]
    return max(ends) if ends else 0.0


def classify(blocks: list[Block], body: float) -> None:
    """Mark headings: larger type, or a short block set entirely in bold."""
    sizes = sorted({b.size for b in blocks if b.size > _HEADING_RATIO * body}, reverse=True)
    for b in blocks:
        text = " ".join(ln.text for ln in b.lines)
        if b.size > _HEADING_RATIO * body:
            b.kind, b.level = Kind.HEADING, sizes.index(b.size) + 1
        elif b.kind == Kind.PARAGRAPH and all(ln.bold for ln in b.lines) and len(b.lines) <= 2 \
                and not text.rstrip().endswith("."):
            b.kind, b.level = Kind.HEADING, min(len(sizes) + 1, 4)
        b.level = min(b.level, 4)


@dataclass(frozen=True)
class Vocabulary:
    words: frozenset[str]
    """Words the document prints whole (not around a line-end hyphen), lower case."""
    hyphenated: frozenset[str]
    """Those of them with a hyphen ("lithium-ion")."""
    soft: str | None = None
    """See `soft_hyphen`."""


def vocabulary(pages: list[list[Line]]) -> Vocabulary:
    """What decides whether an end-of-line hyphen stays: the document's own words."""
    words: set[str] = set()
    for page in pages:
        prev_hyphen = False
        for ln in page:
            found = _WORD.findall(ln.text.lower())
            ends_hyphen = ln.text.rstrip()[-1:] in _HYPHENS
            lo, hi = (1 if prev_hyphen else 0), (len(found) - 1 if ends_hyphen else len(found))
            words.update(found[lo:hi])
            prev_hyphen = ends_hyphen
    return Vocabulary(frozenset(words), frozenset(w for w in words if "-" in w), soft_hyphen(pages))


def join_lines(left: str, right: str, vocab: Vocabulary) -> str:
    """Two lines of one paragraph as one, undoing an end-of-line hyphen where the word is one word."""
    left, right = left.rstrip(), right.lstrip()
    if not left or not right:
        return left + right
    if left[-1] in _HYPHENS and len(left) > 1 and left[-2].isalpha() and right[0].isalpha():
        if vocab.soft:  # the document tells its soft hyphens from its real ones
            return left[:-1] + right if left[-1] == vocab.soft else left[:-1] + "-" + right
        words, hyphenated = vocab.words, vocab.hyphenated
        head = re.search(r"([^\W\d_]+)$", left[:-1])
        tail = re.match(r"[^\W\d_]+", right)
        head_w, tail_w = (head.group(1) if head else ""), tail.group() if tail else ""
        joined = (head_w + tail_w).lower()
        if right[0].isupper():
            return left[:-1] + "-" + right  # "Sino-" + "EU": a compound of names
        if joined in words:
            return left[:-1] + right
        if f"{head_w}-{tail_w}".lower() in hyphenated:
            return left[:-1] + "-" + right
        if left[-1] != "\u00ad" and len(tail_w) >= 3 and tail_w.lower() in words:
            return left[:-1] + "-" + right  # the rest is a word of its own: a compound ("solid-" + "state")
        return left[:-1] + right  # a word broken at a syllable ("manufac-turing")
    if left[-1] in _HYPHENS and len(left) > 1 and left[-2].isdigit():
        return left + right  # "2020-" + "2027"
    if _CJK.match(left[-1]) and _CJK.match(right[0]):
        return left + right
    return f"{left} {right}"


def _forced_break(a: Line, b: Line, edge: float) -> bool:
    """The line ended early although the next line's first word would have fitted: a line break."""
    return edge - a.x1 > b.first_word + 0.5 * a.size and not _CJK.match(b.text[:1] or " ")


def _block_text(b: Block, vocab, edge: float, keep_breaks: bool) -> str:
    text = b.lines[0].text
    for prev, ln in zip(b.lines, b.lines[1:]):
        if keep_breaks and _forced_break(prev, ln, edge) and text[-1:] not in _HYPHENS:
            text = f"{text.rstrip()}\n{ln.text.strip()}"
        else:
            text = join_lines(text, ln.text, vocab)
    text = _LEADER.sub(".....\t", text)  # a CONTENTS entry: "title.....<tab>page"
    return re.sub(r"[ \u00a0]+", " ", text).strip()


def emit_text(blocks: list[Block], vocab, edge: float) -> str:
    """Blocks in the parser's format, separated by blank lines."""
    out: list[str] = []
    for b in blocks:
        if b.kind == Kind.HEADING:
            out.append("#" * b.level + " " + _block_text(b, vocab, edge, False).replace("\t", " "))
            continue
        leader = bool(_LEADER.search(b.lines[-1].text))
        text = _block_text(b, vocab, edge, keep_breaks=not leader)
        if b.kind == Kind.BULLET:
            text = "- " + _MARKER.sub("", text, count=1).strip()
        elif b.kind == Kind.PARAGRAPH:
            text = _label(b, text)
        out.append(text)
    return "\n\n".join(out) + "\n"


def _label(b: Block, text: str) -> str:
    """A bold run-in label at the start of a paragraph as **Label:**, or as **Label** when it has
    no colon: a few bold words ending where a word ends ("**At a glance** The MIIT ..."). Which
    of those are labels is the parser's call (`qa.parse._LABELS`); to the text, bold is no change."""
    n = b.lines[0].bold_prefix
    label = text[:n].rstrip()
    if 0 < n < len(text) and label.endswith((":", "：")):
        return f"**{label}** {text[n:].lstrip()}"
    if 0 < n < len(text) and (text[n].isspace() or text[n - 1].isspace()) and len(label.split()) <= _RUN_IN_WORDS:
        return f"**{label}** {text[n:].lstrip()}"
    return text
