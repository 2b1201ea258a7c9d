"""Compose a short, cited answer from the retrieved passages, without an LLM.

`Answerer.compose(result, snapshot, settings)` is the seam for an LLM backend: it receives the
same passages and returns the same `Answer` (text with [n] markers, citations, an outcome).

The extractive default quotes whole units of the top passages — sentences, list items, or the
lines of a policy's title/issuer/date block — chosen by what the question asks:
  - similarity of the question to each unit (its vector was made at indexing, so nothing is
    encoded at question time), plus the question's own words found in it;
  - the kind of answer asked (`qa.asks.Slot`): a date, an amount, a count, a body...; a unit
    that contains one is preferred, and for "who issued" / "when was it issued" the policy's
    own issuer or date line;
  - the years, figures and names the question states.
A list question is answered with the whole list (lead-in and every item), never a spliced part.
`qa.verdict` then decides whether the quote answers the question or is only the closest passage.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .asks import Slot, has_evidence, supported
from .lexical import token_set, tokenize, topic_terms
from .retrieve import SearchResult
from .schema import COMMENT, DOCUMENT, EXHIBIT, ITEM, Answer, Citation, Hit, Outcome
from .settings import Settings
from .store import Snapshot
from .text import is_lead_in, is_list_item
from .verdict import Verdict, evidence_text, judge

NO_ANSWER = ("I found nothing in the indexed China Industries issues that answers this. "
             "Try other words, or widen the filters.")
NOT_ENGLISH = ("The China Industries issues are in English, and this question appears to be in {language}. "
               "Ask it in English for a cited answer.")

# The policy-document block's lines, by what they state.
_DOC_LINE = {Slot.BODY: re.compile(r"^issu", re.I), Slot.DATE: re.compile(r"^date\b", re.I),
             Slot.TITLE: re.compile(r"^article\b", re.I)}


class Answerer(Protocol):
    def compose(self, result: SearchResult, snap: Snapshot, settings: Settings) -> Answer: ...


@dataclass
class Unit:
    """One quotable unit of a retrieved passage, scored for the question."""
    hit: int
    """Index into the search hits."""
    index: int
    """Row in the index's unit vectors."""
    text: str
    group: int
    """Units of one list (lead-in and items) share a group; other units have their own."""
    lead: str = ""
    """For a list item, the lead-in that says what the list is ("Key goals by 2027 include:")."""
    opens_part: bool = False
    """The part's first unit: an exhibit's title line, the first sentence of a summary."""
    score: float = 0.0
    sim: float = 0.0
    """Cosine similarity of the question and the unit."""

    @property
    def is_item(self) -> bool:
        return is_list_item(self.text)

    @property
    def is_lead(self) -> bool:
        return is_lead_in(self.text)


class ExtractiveAnswerer:
    def compose(self, result: SearchResult, snap: Snapshot, settings: Settings) -> Answer:
        query, hits = result.query, result.hits
        notes = tuple(query.notes) + tuple(result.notes)
        if query.asks.language != "en":
            return Answer(question=query.question, text=NOT_ENGLISH.format(language=query.asks.language),
                          outcome=Outcome.NOT_FOUND, hits=tuple(hits), notes=notes)
        units = candidate_pool(hits, query.asks, snap, settings)
        if not units:
            return Answer(question=query.question, text=NO_ANSWER, outcome=Outcome.NOT_FOUND, hits=tuple(hits), notes=notes)
        score_units(units, result, snap, settings)
        chosen = select_units(units, query.asks.slot, settings)
        chosen = cover_periods(chosen, units, hits, query)
        verdict = judge(query, chosen, hits, snap, settings)
        if verdict.outcome is Outcome.NOT_FOUND:
            return Answer(question=query.question, text=NO_ANSWER, outcome=Outcome.NOT_FOUND, hits=tuple(hits),
                          notes=notes, confidence=verdict.confidence)
        return render(query.question, hits, chosen, notes, verdict)


def candidate_pool(hits: list[Hit], asks, snap: Snapshot, settings: Settings) -> list[Unit]:
    """The units of the top passages; when none of them holds the kind of answer asked (a date, an
    amount...), also those of the lower-ranked passages from the same sections: an article's answer
    may sit in a chunk that ranked below its neighbours (a comment deadline at the end of the summary)."""
    top = list(range(min(len(hits), settings.answer.passages)))
    units = candidate_units(hits, snap, top)
    if has_evidence(asks, "") is None or any(has_evidence(asks, evidence_text(u.text, hits[u.hit].chunk)) for u in units):
        return units
    sections = {(hits[i].chunk.issue_date, hits[i].chunk.section_id) for i in top}
    more = [i for i in range(len(top), len(hits)) if (hits[i].chunk.issue_date, hits[i].chunk.section_id) in sections]
    return candidate_units(hits, snap, top + more) if more else units


def candidate_units(hits: list[Hit], snap: Snapshot, which: list[int] | None = None) -> list[Unit]:
    """Every unit of the passages `which` (default all), in order, with list groups marked."""
    units: list[Unit] = []
    group = 0
    for hi in (range(len(hits)) if which is None else which):
        h = hits[hi]
        row = h.row if h.row >= 0 else snap.chunks.index(h.chunk)
        start = int(snap.unit_start[row])
        in_list = h.chunk.context.rstrip().endswith(":")  # the passage continues a list
        lead = h.chunk.context.split(". ", 1)[-1] if in_list else ""
        group += 1
        for j, text in enumerate(snap.chunks[row].units):
            if is_lead_in(text) or not (is_list_item(text) and in_list):
                group += 1
            in_list = is_lead_in(text) or (is_list_item(text) and in_list)
            lead = text if is_lead_in(text) else lead if in_list else ""
            units.append(Unit(hi, start + j, text, group, lead if is_list_item(text) else "",
                              opens_part=j == 0 and h.chunk.id.endswith("/0")))
    return units


def score_units(units: list[Unit], result: SearchResult, snap: Snapshot, settings: Settings) -> None:
    """Similarity + the question's words + the kind of answer asked + stated details + rank."""
    query, hits, w = result.query, result.hits, settings.answer
    asks = query.asks
    sims = snap.unit_vectors[[u.index for u in units]] @ result.query_vector
    weights = _word_weights(units, query, snap)
    total = sum(weights.values()) or 1.0
    headings = [token_set(f"{h.chunk.section_heading} {h.chunk.part_label}") for h in hits]
    for u, sim in zip(units, sims):
        h = hits[u.hit].chunk
        toks = snap.unit_tokens(u.index)
        words = sum(v if t in toks else w.heading_words * v if t in headings[u.hit] else 0.0
                    for t, v in weights.items()) / total
        u.sim = float(sim)
        s = u.sim + w.words * words + w.rank / (1 + u.hit)
        evidence = has_evidence(asks, evidence_text(u.text, h))
        if evidence:
            s += w.evidence
        if asks.focus and all(supported(f, toks | headings[u.hit]) for f in asks.focus):
            s += w.evidence
        s += w.detail * sum(d in u.text for d in asks.years + asks.figures)
        if h.part_kind == DOCUMENT:
            # "Was it issued by MIIT alone?" is settled by the issuer line, as "who issued it" is.
            slot = Slot.BODY if asks.slot is Slot.YESNO and query.part == DOCUMENT else asks.slot
            line = None if asks.deadline else _DOC_LINE.get(slot)
            # The title block names every policy's issuer and date; it answers only the question that asks for those.
            s += w.evidence if line and line.match(u.text) else -w.evidence
        elif h.part_kind == EXHIBIT and not _about_chart(query.question, asks.slot, u.text):
            s -= 10.0  # a chart's title or note says what the chart shows: it answers only questions about the chart
        elif h.part_kind == EXHIBIT and asks.slot is Slot.TITLE and u.opens_part:
            s += w.evidence  # "what is the chart called": its title line
        elif h.part_kind == COMMENT and query.part == COMMENT:
            s += w.evidence / 2
        u.score = s


_CHART = re.compile(r"\b(exhibits?|charts?|figures?|graphs?|tables?|data|shows?|source)\b", re.I)


def _about_chart(question: str, slot: Slot, unit: str) -> bool:
    """A chart's lines answer a question about the chart, its source, or a value of its data series."""
    if _CHART.search(question) or (slot is Slot.SOURCE and unit.lower().startswith("source")):
        return True
    return slot in (Slot.COUNT, Slot.SHARE, Slot.MONEY) and len(re.findall(r"\d+(?:[.,]\d+)?", unit)) >= 3


def _word_weights(units: list[Unit], query, snap: Snapshot) -> dict[str, float]:
    """The question's words, weighted by how well they tell the candidate units apart: rare in
    the archive (idf) and rare among these units. A word every unit shares ("carbon footprint
    pilot" in the pilot's own article) says which passage, not which sentence."""
    terms = topic_terms(query.focus)
    unit_tokens = [snap.unit_tokens(u.index) for u in units]
    n = len(units)
    lex = snap.lexicon
    return {t: lex.idf(t) * math.log(1 + n / (1 + sum(t in toks for toks in unit_tokens))) for t in terms}


def select_units(units: list[Unit], slot: Slot, settings: Settings) -> list[Unit]:
    """The best unit; for a list, the whole list; else up to `max_units` close runners-up."""
    w = settings.answer
    best = max(units, key=lambda u: u.score)
    members = [u for u in units if u.group == best.group and u.hit == best.hit]
    if (best.is_item or best.is_lead) and sum(u.is_item for u in members) >= 2 and slot not in _ONE_VALUE:
        return members[:w.max_list]
    chosen = [best]
    for u in sorted(units, key=lambda u: -u.score):
        if len(chosen) >= w.max_units or u.score < min(w.keep_ratio, w.same_passage_ratio) * best.score:
            break
        ratio = w.same_passage_ratio if u.hit == best.hit else w.keep_ratio
        if u is best or u.is_lead or u.score < ratio * best.score or sum(c.hit == u.hit for c in chosen) >= 2:
            continue
        chosen.append(u)
    if w.next_unit:
        after = next((u for u in units if u.hit == best.hit and u.index == best.index + 1 and not u.is_lead), None)
        if after is not None and after not in chosen:
            chosen.append(after)
    return sorted(chosen, key=lambda u: (u.hit, u.index))


def cover_periods(chosen: list[Unit], units: list[Unit], hits: list[Hit], query) -> list[Unit]:
    """A question about several years or periods ("the 2022 and 2024 plans") quotes the best
    unit of each, when the quote so far leaves one out."""
    wanted = [(y, y) for y in query.asks.years] if len(query.asks.years) > 1 else \
        [(w.first[:4], w.last) for w in query.windows] if len(query.windows) > 1 else []
    out = list(chosen)
    for first, last in wanted:
        def within(u: Unit) -> bool:
            c = hits[u.hit].chunk
            return any(first <= d[:len(first)] and d[:len(last)] <= last for d in (c.issue_date, *c.dates)) \
                or (first == last and first in u.text)
        if any(within(u) for u in out):
            continue
        extra = [u for u in units if within(u) and not u.is_lead]
        if extra:
            out.append(max(extra, key=lambda u: u.score))
    return sorted(out, key=lambda u: (u.hit, u.index))


# Questions answered by one value: quote the unit that has it, not the list around it.
_ONE_VALUE = (Slot.DATE, Slot.MONEY, Slot.COUNT, Slot.SHARE, Slot.BODY, Slot.TITLE, Slot.DURATION)


def render(question: str, hits: list[Hit], chosen: list[Unit], notes: tuple[str, ...], verdict: Verdict) -> Answer:
    numbers: dict[int, int] = {}
    quoted: dict[int, list[str]] = {}
    lines: list[tuple[str, bool]] = []  # (text, starts a line of its own)
    for u in chosen:
        n = numbers.setdefault(u.hit, len(numbers) + 1)
        c = hits[u.hit].chunk
        text = f"{c.part_label}: {u.text}" if c.part_kind == ITEM else u.text
        own_line = u.is_item or u.is_lead or c.part_kind in (ITEM, DOCUMENT, EXHIBIT)
        if u.is_lead:
            lines.append((text, True))
            continue
        quoted.setdefault(u.hit, []).append(u.text)
        lines.append((f"{text} [{n}]", own_line))
    out = ""
    for i, (line, own) in enumerate(lines):
        out += ("\n" if own or (i and lines[i - 1][1]) else " ") if i else ""
        out += line
    if verdict.outcome is Outcome.NEAR_MISS:
        out = f"{verdict.headline}\nThe closest passage says:\n{out}"
    citations = tuple(Citation(n=n, chunk=hits[h].chunk, sentences=tuple(quoted.get(h, ())))
                      for h, n in sorted(numbers.items(), key=lambda x: x[1]))
    return Answer(question=question, text=out.strip(), outcome=verdict.outcome, citations=citations, hits=tuple(hits),
                  notes=notes + verdict.caveats, confidence=verdict.confidence, missing=verdict.missing)
