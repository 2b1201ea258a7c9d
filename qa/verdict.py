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

import re
from dataclasses import dataclass

from .asks import Slot, abbreviated, has_evidence, name_forms, supported
from .lexical import token_set, tokenize
from .schema import DOCUMENT, EXHIBIT, ITEM, Hit, Outcome
from .settings import Settings
from .store import Snapshot

_WHAT = {Slot.DATE: "a date", Slot.MONEY: "an amount", Slot.COUNT: "a number", Slot.SHARE: "a share or percentage",
         Slot.BODY: "which body", Slot.COMPANY: "which company", Slot.PLACE: "which place", Slot.SOURCE: "a source", Slot.DURATION: "how long"}
_CJK = re.compile(r"[\u3400-\u9fff]")


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    missing: tuple[str, ...] = ()
    """What the question asks or states that the quoted passage does not give."""
    confidence: float = 0.0
    caveats: tuple[str, ...] = ()
    """For an answer to a yes/no question: the question's years and figures the quote does not state."""

    @property
    def headline(self) -> str:
        return f"The issues don't give {_join(self.missing)}." if self.missing else ""


def judge(query, chosen, hits: list[Hit], snap: Snapshot, settings: Settings) -> Verdict:
    """The outcome for `chosen` units (of `hits`) as the answer to `query`: answered when a quoted
    unit, read where it stands, gives what is asked; else a near miss naming what is missing."""
    similar = max((h.dense for h in hits[:settings.answer.passages]), default=0.0)
    if not chosen or similar < settings.answer.unrelated_below:
        return Verdict(Outcome.NOT_FOUND, confidence=round(max(similar, 0.0) / 2, 3))
    # An acronym the top passages spell out ("HR" for Human Resources) is known, though never written so.
    unknown, _ = _names(query.asks.names, "", snap, settings)
    if unknown:
        unknown, _ = _names(tuple(unknown), " ".join(h.chunk.text for h in hits[:settings.answer.passages]), snap, settings)
    if unknown and similar < settings.answer.unknown_name_similar:
        return Verdict(Outcome.NOT_FOUND, tuple(f"anything on {n}" for n in unknown), round(similar / 2, 3))
    ranked = sorted(chosen, key=lambda u: -u.score)
    verdicts = [(u, _check(query.asks, u, hits[u.hit], snap, settings)) for u in ranked]
    unit, missing = next(((u, m) for u, m in verdicts if not m), verdicts[0])
    confidence = max(0.0, min(1.0, unit.sim)) * (0.5 if missing else 1.0)
    return Verdict(Outcome.NEAR_MISS if missing else Outcome.ANSWERED, tuple(dict.fromkeys(missing)), round(confidence, 3),
                   caveats=_caveats(query.asks, unit, hits[unit.hit], snap))


def _check(asks, unit, hit: Hit, snap: Snapshot, settings: Settings) -> list[str]:
    """What the question asks or states that this unit, read where it stands, does not give.

    Where it stands: its article's heading and part, its list's lead-in, a news item's date, and
    for an article the policy's title block; not the issue's date, which says when MERICS wrote,
    not what year a figure is for."""
    c = hit.chunk
    where = _where(unit, hit, snap)
    said = f"{unit.text} {where}"
    tokens = snap.unit_tokens(unit.index) | token_set(where)
    missing = []
    # "Is it true that ... by 2027?" answered by the 2030 target is a "no", not a near miss:
    # `_caveats` says which of the question's details the quote does not state.
    if asks.slot is not Slot.YESNO:
        years, figures = _unstated(asks, unit, hit, said)
        missing += [f"anything for {y}" for y in years] + [f"the figure {f}" for f in figures]
    _, absent = _names(asks.names, said, snap, settings)
    missing += [f"anything on {n}" for n in absent]
    evidence = has_evidence(asks, evidence_text(unit.text, c))
    if evidence is False:
        missing.append(_WHAT.get(asks.slot, "that"))
    elif asks.focus and not (asks.deadline and evidence) and not any(supported(f, tokens) for f in asks.focus) \
            and not _priced(asks, unit.text):
        missing.append(f"the {asks.focus_phrase}")
    elif asks.counted and not _counts(asks.counted, evidence_text(unit.text, c), snap):
        missing.append(f"the number of {' '.join(asks.counted)}")
    if asks.slot is Slot.TITLE and asks.chinese_title and not _CJK.search(unit.text):
        missing.append("a Chinese title")
    return missing


# A price is stated as what something went "for": "is purchasing Biotheus for USD 800 million".
_FOR_AMOUNT = re.compile(r"\bfor (?:about |around |roughly |some |up to |nearly )?(?:USD|CNY|EUR|RMB|US\$|\$|€|¥)\s?\d", re.I)
_PRICE = frozenset(tokenize("price cost pay paid"))


def _priced(asks, text: str) -> bool:
    """The quote gives the price asked for ("how much did it cost / pay") as what a deal went for."""
    return asks.slot is Slot.MONEY and any(f in _PRICE for f in asks.focus) and bool(_FOR_AMOUNT.search(text))


def evidence_text(unit: str, chunk) -> str:
    """What a unit says, read with what gives its figures their meaning: a chart's data line
    ("Gallium: 98") with the chart's title and legend ("Share of global refined output, in percent")."""
    if chunk.part_kind != EXHIBIT:
        return unit
    return " ".join([unit, *chunk.text.split("\n")[:2]])


def _where(unit, hit: Hit, snap: Snapshot) -> str:
    """Where a unit stands: its article's heading and part, its list's lead-in, the policy's title block."""
    c = hit.chunk
    return f"{c.section_heading} {c.part_label} {unit.lead} {_title_block(hit, snap)}"


def _unstated(asks, unit, hit: Hit, said: str) -> tuple[list[str], list[str]]:
    """The question's years the unit does not state (in itself, its lead-in or part label: a title
    block's date is not the year a figure is for) and its figures not stated where the unit stands."""
    own = f"{unit.text} {unit.lead} {hit.chunk.part_label}"
    return [y for y in asks.years if y not in own], [f for f in asks.figures if f not in said]


def _caveats(asks, unit, hit: Hit, snap: Snapshot) -> tuple[str, ...]:
    if asks.slot is not Slot.YESNO:
        return ()
    years, figures = _unstated(asks, unit, hit, f"{unit.text} {_where(unit, hit, snap)}")
    absent = tuple(years + figures)
    return (f"The quoted passage does not state {_join(absent)}: compare what it gives with the question.",) if absent else ()


def _title_block(hit: Hit, snap: Snapshot) -> str:
    """The policy's title, issuers and date, which every part of an article is about."""
    c = hit.chunk
    if c.part_kind == ITEM or c.issue_date not in snap.issues:
        return ""
    section = snap.issues[c.issue_date].section(c.section_id)
    return " ".join(p.text for p in section.parts if p.kind == DOCUMENT)


def _counts(counted: tuple[str, ...], text: str, snap: Snapshot) -> bool:
    """The unit counts what "how many X" asks: a number stands within a few words of a word of X
    (or of its family). Words the archive never uses are the asker's own, which no passage could
    repeat, so they are not held against the passage."""
    known = [t for t in counted if t in snap.lexicon.df]
    if not known:
        return True
    ws = [(w.strip(",."), (tokenize(w) or [""])[0]) for w in re.findall(r"[\w,.'-]+", text)]
    for i, (_, stem) in enumerate(ws):
        if i and stem in _ANY_COUNTED and _NUMBERISH.fullmatch(ws[i - 1][0]):
            return True  # "up to 150,000 units": units of whatever was asked
        if any(supported(t, {stem}) for t in known) and \
                any(_NUMBERISH.fullmatch(w) for w, _ in ws[max(0, i - _NEAR):i + _NEAR + 1]):
            return True
    return False


# Nouns that count whatever the question counts ("how many cars": "150,000 units").
_ANY_COUNTED = frozenset(tokenize("units"))
# Words between a number and what it counts: "400 high-skilled training bases", "terminals ... reached 535 million".
_NEAR = 6


_NUMBERISH = re.compile(r"(?!(?:19|20)\d\d\b)\d[\d,.]*|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
                        r"twenty|thirty|forty|fifty|hundreds?|thousands?|millions?|billions?|dozens?|several", re.I)


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
    a passage must repeat; a rare one ("Germany", "Tesla") is what the question is about. A name
    counts as said in any of its forms ("US" as "Washington") and, word by word, by an acronym
    spelt out ("Mercedes-BYD EV": "Mercedes-Benz ... with BYD ... electric vehicle")."""
    lex = snap.lexicon
    here = token_set(scope)
    unknown, absent = [], []
    for name in names:
        spellings = name_forms(name)
        forms = [[lex.spelled(t) for t in tokenize(f)] for f in spellings]
        if not forms[0] or any(abbreviated(f, scope) for f in spellings):
            continue
        if not any(stems and all(t in lex.df for t in stems) for stems in forms[1:]) and \
                not any(t in lex.df for t in forms[0]):
            unknown.append(name)
        elif not any(stems and all(t in here for t in stems) for stems in forms):
            unsaid = [w for w in re.findall(r"[\w'’&]+", name) if not abbreviated(w, scope)
                      and any(lex.spelled(t) not in here for t in tokenize(w))]
            rare = [lex.spelled(t) for w in unsaid for t in tokenize(w)
                    if lex.df.get(lex.spelled(t), 0) <= settings.answer.specific_share * lex.n_docs]
            if rare:
                absent.append(name)
    return unknown, absent


def _join(items: tuple[str, ...]) -> str:
    items = tuple(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]
