"""Compose a short, cited answer from the retrieved passages, without an LLM.

`Answerer.compose(result, snapshot)` is the seam for a future LLM backend: it receives
the same passages and returns the same `Answer` (text with [n] markers + citations).
The extractive default picks the sentences and bullets that carry the question's
distinctive words, keeps a bullet list whole when the question asks for a list, and
declines when the best passage neither resembles the question nor contains its words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from .lexical import tokenize
from .retrieve import SearchResult
from .schema import DOCUMENT, ITEM, Answer, Citation, Hit, Outcome
from .settings import Settings
from .store import Snapshot
from .text import split_sentences

NO_ANSWER = ("I found nothing in the indexed China Industries issues that answers this. "
             "Try other words, or widen the filters.")
# A list question: the answer is the bullets, not one sentence.
_LIST_Q = re.compile(r"\b(targets?|goals?|aims?|objectives?|measures?|steps|priorit\w+|areas|include\w*|key|"
                     r"main|list|what are|which are|plans?|tasks|requirements|points)\b", re.I)
_BULLET = re.compile(r"^(?:- |\d{1,2}[.)] )")
_NUMERIC_Q = re.compile(r"\b(how (many|much|big|large|high|far)|what (share|percentage|proportion|number|amount|"
                        r"scale|size|level|rate)|percent\w*|by how)\b", re.I)
_HAS_NUMBER = re.compile(r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|twenty|thirty|hundred|"
                         r"thousand|million|billion|half|third|quarter|dozen|several)\b", re.I)


# Words of asking, not of topic: a question need not find them in the passages.
_ASKING = frozenset(tokenize("happen happened happening report reported mention mentioned announce announced say "
                             "discuss discussed cover covered write wrote newsletter issue issues edition anything "
                             "something news latest recent update updates detail details summary summarize"))


class Answerer(Protocol):
    def compose(self, result: SearchResult, snap: Snapshot, settings: Settings) -> Answer: ...


@dataclass
class _Unit:
    hit: int  # index into hits
    text: str
    kind: str  # "sent" | "bullet" | "lead" | "line"
    group: int  # units of one bullet list (lead + bullets) share a group
    score: float = 0.0


def confidence(result: SearchResult, snap: Snapshot) -> tuple[float, float]:
    """(best cosine, share of the question's distinctive-word weight found in the top passages)."""
    if not result.hits:
        return 0.0, 0.0
    q_terms = set(tokenize(result.query.topic or result.query.focus)) - _ASKING
    lex = snap.lexicon
    # Words in most passages ("china", "policy") say nothing about whether this is answerable.
    weights = {t: lex.idf(t) for t in q_terms if lex.df.get(t, 0) < 0.2 * lex.n_docs}
    total = sum(weights.values())
    if not total:  # a browsing question: the filters and dates chose the passages
        return max(h.dense for h in result.hits[:3]), 1.0
    found = set()
    for h in result.hits[:3]:
        found |= set(tokenize(h.chunk.embed_text))
    return max(h.dense for h in result.hits[:3]), sum(w for t, w in weights.items() if t in found) / total


def should_abstain(result: SearchResult, snap: Snapshot, settings: Settings) -> bool:
    """Decline when the archive evidently lacks the answer. Tuned on the train split, where
    similarity alone separated off-topic questions (cosine < 0.26) but not near-misses,
    which share vocabulary with real passages; those are caught by the year and name rules."""
    if not result.hits:
        return True
    dense, coverage = confidence(result, snap)
    if dense < settings.abstain_below:
        return True  # nothing in the archive resembles the question
    if coverage < settings.abstain_coverage and dense < settings.abstain_below + 0.1:
        return True  # barely similar, and the question's own words are missing too
    top = " ".join(h.chunk.embed_text for h in result.hits[:3])
    if any(y not in top for y in result.query.years):
        return True  # "the 2030 target" when the passages only know 2027
    unknown = [n for n in result.query.names if not any(t in snap.lexicon.df for t in tokenize(n))]
    return bool(unknown) and dense < 0.7  # a name the archive never mentions ("India")


class ExtractiveAnswerer:
    def __init__(self, passages: int = 3, max_units: int = 3):
        self.passages = passages
        self.max_units = max_units

    def compose(self, result: SearchResult, snap: Snapshot, settings: Settings) -> Answer:
        query, hits = result.query, result.hits
        notes = tuple(query.notes) + tuple(result.notes)
        if should_abstain(result, snap, settings):
            return Answer(question=query.question, text=NO_ANSWER, outcome=Outcome.NOT_FOUND, hits=tuple(hits), notes=notes)
        units = self._units(hits[:self.passages])
        if not units:
            return Answer(question=query.question, text=NO_ANSWER, outcome=Outcome.NOT_FOUND, hits=tuple(hits), notes=notes)
        lex = snap.lexicon
        weights = {t: lex.idf(t) for t in set(tokenize(query.focus))}
        total = sum(weights.values()) or 1.0
        numbers = set(re.findall(r"\b\d[\d,.]*\b", query.focus))
        wants_number = bool(_NUMERIC_Q.search(query.focus))
        context = [set(tokenize(h.chunk.context)) for h in hits[:self.passages]]

        def score(text: str, hit: int) -> float:
            toks = set(tokenize(text))
            # The section title counts at half weight: it says what every sentence under it is about.
            s = sum(w if t in toks else 0.5 * w if t in context[hit] else 0.0 for t, w in weights.items()) / total
            s += 0.3 * sum(1 for n in numbers if n in text)
            if wants_number and _HAS_NUMBER.search(text):
                s += 0.15
            return s + 0.25 / (1 + hit)  # passages ranked higher are likelier answers

        for u in units:
            u.score = score(u.text, u.hit)
            if hits[u.hit].chunk.part_kind == DOCUMENT and query.part != DOCUMENT:
                u.score *= 0.7  # the title block matches topic words but rarely answers the question
        chosen = self._select(units, query.focus, score)
        return _render(query.question, hits, chosen, notes)

    def _units(self, hits: list[Hit]) -> list[_Unit]:
        units: list[_Unit] = []
        group = 0
        for hi, h in enumerate(hits):
            c = h.chunk
            if c.part_kind in (DOCUMENT, ITEM):
                # A news item or the policy's title/issuer/date block is quoted whole.
                units.append(_Unit(hi, c.text, "line", group))
                group += 1
                continue
            lead_group = None
            if _has_continued_list(c):
                lead = c.context.split(" — ")[-1].split(". ", 1)[-1]
                units.append(_Unit(hi, lead, "lead", group))
                lead_group = group
            for block in re.split(r"\n\s*\n", c.text):
                lines = [ln for ln in block.split("\n") if ln.strip()]
                if lines and all(_BULLET.match(ln) for ln in lines):
                    g = lead_group if lead_group is not None else group
                    units.extend(_Unit(hi, ln, "bullet", g) for ln in lines)
                    lead_group = None
                    group += 1
                    continue
                sentences = split_sentences(" ".join(lines))
                for si, s in enumerate(sentences):
                    is_lead = si == len(sentences) - 1 and s.rstrip().endswith(":")
                    units.append(_Unit(hi, s, "lead" if is_lead else "sent", group))
                if not (sentences and sentences[-1].rstrip().endswith(":")):
                    group += 1
            group += 1
        return units

    def _select(self, units: list[_Unit], focus: str, score) -> list[_Unit]:
        best = max(units, key=lambda u: u.score)
        if _LIST_Q.search(focus):
            # A list question is answered by a whole list (lead-in + bullets) when one fits as well.
            lists: dict[tuple[int, int], list[_Unit]] = {}
            for u in units:
                if u.kind in ("lead", "bullet") and u.hit <= 1:
                    lists.setdefault((u.hit, u.group), []).append(u)
            scored = [(score(" ".join(x.text for x in m), m[0].hit), m) for m in lists.values()
                      if sum(x.kind == "bullet" for x in m) >= 2]
            if scored:
                list_score, members = max(scored, key=lambda x: x[0])
                if list_score >= 0.9 * best.score:
                    return members[:9]
        chosen = [best]
        for u in sorted(units, key=lambda u: -u.score):
            if len(chosen) >= self.max_units or u.score < 0.6 * best.score:
                break
            if u is best or sum(c.hit == u.hit for c in chosen) >= 2 or u.kind == "lead":
                continue
            chosen.append(u)
        return sorted(chosen, key=lambda u: (u.hit, units.index(u)))


def _has_continued_list(c) -> bool:
    """The chunk is the continuation of a bullet list whose lead-in sits in its context."""
    return c.context.rstrip().endswith(":")


def _render(question: str, hits: list[Hit], chosen: list[_Unit], notes: tuple[str, ...]) -> Answer:
    numbers: dict[int, int] = {}
    quoted: dict[int, list[str]] = {}
    lines: list[str] = []
    for u in chosen:
        n = numbers.setdefault(u.hit, len(numbers) + 1)
        c = hits[u.hit].chunk
        text = u.text
        if c.part_kind == ITEM:
            text = f"{c.part_label}: {text}"
        if u.kind != "lead":
            quoted.setdefault(u.hit, []).append(u.text)
        lines.append(text if u.kind == "lead" else f"{text} [{n}]")
    out = ""
    for i, line in enumerate(lines):
        if i:
            block = {"bullet", "lead", "line"}
            out += "\n" if chosen[i].kind in block or chosen[i - 1].kind in block else " "
        out += line
    citations = tuple(Citation(n=n, chunk=hits[h].chunk, sentences=tuple(quoted.get(h, ())))
                      for h, n in sorted(numbers.items(), key=lambda x: x[1]))
    return Answer(question=question, text=out.strip(), citations=citations,
                  hits=tuple(hits), notes=notes)
