"""Find the sentences an answer quotes inside the text of the section they came from.

A citation carries the quoted sentences (`Citation.sentences`); the reader wants to see
them in place, in the whole section. The sentences were cut from the same text, but a
chunk may rejoin a long paragraph's sentences with blank lines, so matching ignores how
whitespace is laid out. Everything here is plain text in, character offsets out: the web
UI turns spans into <mark> (after escaping).

    spans = find_spans(part.text, citation.sentences)   # [(412, 470)]
"""

from __future__ import annotations

import re
from typing import Iterable, Sequence

from .text import LIST_ITEM

Span = tuple[int, int]

_WS = re.compile(r"\s+")


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
        # A list marker is not part of what was said: "- Cultivate ..." highlights "Cultivate ...".
        needle = _WS.sub(" ", LIST_ITEM.sub("", sentence or "")).strip()
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


def locate(parts: Sequence, sentences: Sequence[str], chunk_text: str = "", part_index: int | None = None,
           part_label: str = "") -> dict[int, list[Span]]:
    """{part index: spans} of the cited sentences in a section's parts (objects with `.text`, `.label`).

    Looks in the part the chunk came from first (`Chunk.part_index`, then by its label) and in every
    part only when that finds nothing. When the sentences cannot be found (an answer that
    quotes no sentence), the whole chunk text is located instead.
    """
    order: list[int] = []
    if part_index is not None and 0 <= part_index < len(parts):
        order.append(part_index)
    order += [k for k, p in enumerate(parts) if p.label == part_label and k not in order]
    for wanted in ([s for s in sentences if s.strip()], [chunk_text] if chunk_text.strip() else []):
        if not wanted:
            continue
        for candidates in (order, range(len(parts))):
            found = {k: s for k in candidates if (s := find_spans(parts[k].text, wanted))}
            if found:
                return found
    return {}
