"""Find the sentences an answer quotes inside the text of the section they came from.

A citation carries the quoted sentences (`Citation.sentences`); the reader wants to see
them in place, in the whole section. The sentences were cut from the same text, but a
chunk may rejoin a long paragraph's sentences with blank lines, so matching ignores how
whitespace is laid out. Everything here is plain text in, character offsets out: the web
UI turns spans into <mark> (after escaping), the CLI can bracket them with `mark`.

    spans = find_spans(part.text, citation.sentences)
    print(mark(part.text, spans))          # ... »Cultivate between three to five companies«
"""

from __future__ import annotations

import re
from typing import Iterable, Sequence

Span = tuple[int, int]

_WS = re.compile(r"\s+")
# A list marker is not part of what was said: "- Cultivate ..." highlights "Cultivate ...".
_MARKER = re.compile(r"^\s*(?:[-•*]|\d{1,2}[.)])\s+")


def _squeeze(text: str) -> tuple[str, list[int]]:
    """`text` with each whitespace run made one space, and the original offset of each character."""
    out: list[str] = []
    where: list[int] = []
    for m in re.finditer(r"\s+|\S+", text):
        if m.group().isspace():
            out.append(" ")
            where.append(m.start())
        else:
            out.append(m.group())
            where.extend(range(m.start(), m.end()))
    return "".join(out), where


def find_spans(text: str, sentences: Iterable[str]) -> list[Span]:
    """Sorted, non-overlapping (start, end) offsets in `text` of every occurrence of each sentence.

    Whitespace differences are ignored, and so is a leading list marker of a sentence.
    A sentence that does not occur is skipped (the caller can tell from an empty result).
    """
    squeezed, where = _squeeze(text)
    spans: list[Span] = []
    for sentence in sentences:
        needle = _WS.sub(" ", _MARKER.sub("", sentence or "")).strip()
        if not needle:
            continue
        start = 0
        while (i := squeezed.find(needle, start)) >= 0:
            j = i + len(needle)
            spans.append((where[i], where[j - 1] + 1))
            start = j
    return merge(spans)


def merge(spans: Iterable[Span]) -> list[Span]:
    """Sorted spans with overlapping or touching ones joined."""
    out: list[Span] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def mark(text: str, spans: Sequence[Span], before: str = "»", after: str = "«") -> str:
    """`text` with each span wrapped in `before` / `after` (plain-text highlighting for a terminal)."""
    out, pos = [], 0
    for a, b in merge(spans):
        out += [text[pos:a], before, text[a:b], after]
        pos = b
    out.append(text[pos:])
    return "".join(out)


def part_index(chunk_id: str) -> int | None:
    """The section part a chunk was cut from: chunk ids are "<date>/<section>/<part>/<piece>"."""
    pieces = chunk_id.split("/")
    return int(pieces[2]) if len(pieces) >= 4 and pieces[2].isdigit() else None


def locate(parts: Sequence, sentences: Sequence[str], chunk_text: str = "", chunk_id: str = "",
           part_label: str = "") -> dict[int, list[Span]]:
    """{part index: spans} of the cited sentences in a section's parts (objects with `.text`, `.label`).

    Looks in the part the chunk came from first (by its id, then by its label) and in every
    part only when that finds nothing. When the sentences cannot be found (an answer that
    quotes no sentence), the whole chunk text is located instead.
    """
    order: list[int] = []
    i = part_index(chunk_id) if chunk_id else None
    if i is not None and 0 <= i < len(parts):
        order.append(i)
    order += [k for k, p in enumerate(parts) if p.label == part_label and k not in order]
    for wanted in ([s for s in sentences if s.strip()], [chunk_text] if chunk_text.strip() else []):
        if not wanted:
            continue
        for candidates in (order, range(len(parts))):
            found = {k: s for k in candidates if (s := find_spans(parts[k].text, wanted))}
            if found:
                return found
    return {}
