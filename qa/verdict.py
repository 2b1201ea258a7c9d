"""Does the quoted passage answer the question, or is it only the closest thing the archive has?

Three outcomes (`schema.Outcome`):
  - NOT_FOUND: nothing resembles the question, or it names something the archive never mentions;
  - NEAR_MISS: the closest passage lacks what the question states or asks for — its year
    ("the 2030 target" where the plan gives 2027), a figure, a specific name (Germany, Tesla),
    or, for an amount / count / date / share, a value of that attribute (revenue is not profit,
    a policy's date is not a comment deadline);
  - ANSWERED otherwise.
Each check follows from the question's own words (`qa.asks`); none is fitted to particular
questions. What is missing is said in the answer: "The issues don't give a 2030 figure."
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from .asks import Slot, has_evidence, supported
from .lexical import tokenize
from .schema import ITEM, Hit, Outcome
from .settings import Settings
from .store import Snapshot

_WHAT = {Slot.DATE: "a date", Slot.MONEY: "an amount", Slot.COUNT: "a number", Slot.SHARE: "a share or percentage"}


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    missing: tuple[str, ...] = ()
    """What the question asks or states that the quoted passage does not give."""
    confidence: float = 0.0

    @property
    def headline(self) -> str:
        return f"The issues don't give {_join(self.missing)}." if self.missing else ""


def judge(query, chosen, hits: list[Hit], snap: Snapshot, settings: Settings) -> Verdict:
    """The outcome for `chosen` units (of `hits`) as the answer to `query`."""
    asks = query.asks
    sim = max((u.sim for u in chosen), default=0.0)
    similar = max((h.dense for h in hits[:settings.answer.passages]), default=0.0)
    if not chosen or similar < settings.answer.unrelated_below:
        return Verdict(Outcome.NOT_FOUND, confidence=round(max(similar, 0.0) / 2, 3))
    cited = {u.hit for u in chosen}
    quoted = " ".join(u.text for u in chosen)
    around = " ".join(f"{hits[i].chunk.context} {hits[i].chunk.part_label}" for i in cited)
    scope = " ".join(_scope(hits[i], snap) for i in cited)
    quoted_tokens = set(tokenize(f"{quoted} {around}"))

    missing: list[str] = []
    missing += [f"anything for {y}" for y in asks.years if y not in f"{quoted} {around}"]
    missing += [f"the figure {f}" for f in asks.figures if f not in scope]
    unknown, absent = _names(asks.names, scope, snap, settings)
    if unknown and similar < settings.answer.unknown_name_similar:
        return Verdict(Outcome.NOT_FOUND, tuple(unknown), confidence=round(similar / 2, 3))
    missing += [f"anything on {n}" for n in absent]
    if asks.slot in _WHAT:
        if not any(has_evidence(asks.slot, u.text) for u in chosen):
            missing.append(_WHAT[asks.slot])
        elif asks.focus and not any(supported(f, quoted_tokens) for f in asks.focus):
            missing.append(f"the {asks.focus_phrase}")
    confidence = max(0.0, min(1.0, sim)) * (0.5 if missing else 1.0)
    return Verdict(Outcome.NEAR_MISS if missing else Outcome.ANSWERED, tuple(dict.fromkeys(missing)),
                   round(confidence, 3))


def _scope(hit: Hit, snap: Snapshot) -> str:
    """Where a name must appear: a news item itself, or the whole article it belongs to."""
    c = hit.chunk
    if c.part_kind == ITEM or c.issue_date not in snap.issues:
        return f"{c.context} {c.text}"
    section = snap.issues[c.issue_date].section(c.section_id)
    return " ".join([section.heading, *(p.text for p in section.parts)])


def _names(names: tuple[str, ...], scope: str, snap: Snapshot, settings: Settings) -> tuple[list[str], list[str]]:
    """(names the archive never mentions, specific names the cited passages don't mention).

    A name in many passages ("China", "MIIT") is the archive's general subject, not a detail
    a passage must repeat; a rare one ("Germany", "Tesla") is what the question is about."""
    lex = snap.lexicon
    here = set(tokenize(scope))
    unknown, absent = [], []
    for name in names:
        stems = [_spelled(t, lex.df) for t in tokenize(name)]
        if not stems or _abbreviates(name, scope):
            continue
        if not any(t in lex.df for t in stems):
            unknown.append(name)
        elif not all(t in here for t in stems):
            rare = [t for t in stems if t not in here and lex.df.get(t, 0) <= settings.answer.specific_share * lex.n_docs]
            if rare:
                absent.append(name)
    return unknown, absent


def _abbreviates(name: str, text: str) -> bool:
    """An acronym the text spells out: "EV" in "electric vehicles", "SMEs" in "small and medium-sized enterprises"."""
    letters = name.rstrip("s")
    if not (2 <= len(letters) <= 6 and letters.isupper() and letters.isalpha()):
        return False
    ws = [w for w in re.findall(r"[A-Za-z]+", text) if w.lower() not in _SKIP]
    n = len(letters)
    return any("".join(w[0] for w in ws[i:i + n]).upper() == letters for i in range(len(ws) - n + 1))


_SKIP = frozenset("and of the for to in on".split())


def _spelled(stem: str, vocabulary: dict[str, int]) -> str:
    """The archive's spelling of a word it does not know ("shenzen" -> "shenzhen"); else the word."""
    if stem in vocabulary or len(stem) < 5:
        return stem
    close = difflib.get_close_matches(stem, [w for w in vocabulary if w[:1] == stem[:1] and abs(len(w) - len(stem)) <= 2],
                                      n=1, cutoff=0.85)
    return close[0] if close else stem


def _join(items: tuple[str, ...]) -> str:
    items = tuple(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]
