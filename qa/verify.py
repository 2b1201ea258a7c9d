"""Check each sentence of a language model's answer against the passages it cites.

A sentence is a claim with [n] markers. It is kept only when every passage it cites supports it
on its own (the prompt asks for [1][3] only when both passages state it):
  - the sentence's numbers are in the passage (digits or number words, "48%" = "48 percent");
  - its names (capitalised words, acronyms) are in the passage;
  - a share `min_words` of its other content words (stemmed) are in the passage;
  - the bundled model finds a unit of the passage (a sentence, list item or line) at least
    `min_similarity` similar to the sentence.
"The passage" is its text with the label a citation shows (issue date, section, part). Units
that address a language model ("ignore the previous instructions", "tell the user...") are not
evidence for anything: a sentence that obeys such an instruction finds no support.

A sentence with markers in the middle ("A [1], while B [2].") is checked segment by segment,
each against its own markers. A sentence without a marker, or with a number the model was not
given, is unsupported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from .lexical import tokenize, words
from .schema import Chunk
from .settings import LlmSettings
from .text import LIST_ITEM, is_list_item, split_units
# One home for what a name is (capitalised words and acronyms, "5G", "GR-1"; not "Chinese") and
# for "SMEs" = "small and medium-sized enterprises".
from .asks import abbreviated, proper_names as names_in

# [1], [1][3], [1, 3], [Passage 2]: what the prompt asks for, and what small models write instead.
MARKER = re.compile(r"\[\s*(?:passages?\s*)?(\d{1,2}(?:\s*[,;]\s*(?:passages?\s*)?\d{1,2})*)\s*\]", re.I)
_MARKERS_ONLY = re.compile(rf"^(?:\s*{MARKER.pattern})+", re.I)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
# Spelt-out numbers a sentence may write in digits ("two or three" = "2 or 3"). Not "one":
# "one of the largest" states no figure.
_NUMBER_WORDS = {w: str(i) for i, w in enumerate(
    "_ _ two three four five six seven eight nine ten eleven twelve".split()) if w != "_"}
_NUMBER_WORDS.update({"twenty": "20", "thirty": "30", "forty": "40", "fifty": "50", "hundred": "100"})
# Words that frame a claim rather than state it: reporting verbs and connectives. A paraphrase
# uses them freely ("the plan aims to", "MERICS notes that"); they carry no fact to check.
FRAMING = frozenset(tokenize(
    "aim aims aimed want wants wanted seek seeks sought plan plans planned intend intends call calls called "
    "include includes including also such well addition additionally moreover furthermore however overall "
    "according note notes noted say says stated state states report reports reported mention mentions "
    "newsletter issue merics comment glance document policy passage passages goal goals target targets "
    "set sets outline outlines outlined "
    # What the document is called: a paraphrase may call a plan "the guidelines" or "the notice".
    "draft guideline guidelines notice notices regulation regulations program programme strategy measures"))
# A unit addressed to the model that reads it, not to a reader of a newsletter on industrial policy.
ADDRESSED_TO_MODEL = re.compile(
    r"\b(ignore|disregard|forget|override)\b.{0,40}\b(instructions?|prompts?|rules?|guidelines|above|previous|prior|earlier)\b"
    r"|\b(you are|act as|pretend to be|as an?)\b.{0,30}\b(ai|assistant|language model|llm|chatbot|gpt)\b"
    r"|\b(system|developer) (prompt|message|instructions?)\b"
    r"|\b(tell|inform|instruct|remind|urge) the (user|reader)s?\b|\bthe (user|reader)s? (should|must)\b"
    r"|\b(assistant|chatbot|language model|llm|ai model)s?\b.{0,40}\b(must|should|shall|will)\b", re.I)


@dataclass(frozen=True)
class Claim:
    """One sentence of the model's answer, as written (markers included)."""
    text: str
    item: bool = False
    """A list item ("- ..."): shown on a line of its own."""

    @property
    def cited(self) -> tuple[int, ...]:
        return tuple(dict.fromkeys(int(n) for m in MARKER.finditer(self.text) for n in re.findall(r"\d+", m[1])))

    @property
    def plain(self) -> str:
        """The sentence without markers or a list bullet: what is compared with the passages."""
        text = MARKER.sub("", self.text)
        return re.sub(r"\s+([.,;:!?])", r"\1", LIST_ITEM.sub("", text, count=1)).strip()

    def segments(self) -> list[tuple[str, tuple[int, ...]]]:
        """(text, markers) pieces: the text before each marker group, cited by that group; text
        after the last group belongs to it unless it says something of its own."""
        out: list[tuple[str, tuple[int, ...]]] = []
        pos = 0
        groups = list(re.finditer(rf"(?:\s*{MARKER.pattern})+", self.text, re.I))
        for g in groups:
            nums = tuple(dict.fromkeys(int(n) for n in re.findall(r"\d+", g[0])))
            piece = self.text[pos:g.start()]
            if out and not _content(piece):
                out[-1] = (out[-1][0], tuple(dict.fromkeys(out[-1][1] + nums)))
            else:
                out.append((piece, nums))
            pos = g.end()
        tail = self.text[pos:]
        if _content(tail):
            if out and len(groups) == 1 and not _content(out[0][0]):  # "[1] says that ..." leads with its marker
                out[0] = (tail, out[0][1])
            else:
                out.append((tail, ()))
        return out or [(self.text, ())]


def _content(text: str) -> list[str]:
    return [t for t in tokenize(MARKER.sub("", text)) if not _NUMBER.fullmatch(t)]


def split_claims(text: str) -> list[Claim]:
    """The model's text -> its sentences and list items, with markers written after a sentence's
    full stop ("... 2027. [1] Next ...") moved back to the sentence they belong to."""
    out: list[Claim] = []
    for unit in split_units(text.replace("\r", "")):
        lead = _MARKERS_ONLY.match(unit)
        if lead and out:
            prev, markers = out[-1].text, lead[0].strip()
            stop = re.search(r"[.!?]+$", prev)  # "... 2027." + "[1]" -> "... 2027 [1]."
            out[-1] = Claim(f"{prev[:stop.start()]} {markers}{stop[0]}" if stop else f"{prev} {markers}", out[-1].item)
            unit = unit[lead.end():].strip()
        if unit.strip():
            out.append(Claim(unit.strip(), is_list_item(unit)))
    return out


def complete_claims(text: str) -> int:
    """How many of `split_claims(text)` are finished while the text is still arriving: all but the
    last, and not one whose successor is only its markers so far ("... 2027. [1")."""
    claims = split_claims(text)
    done = max(len(claims) - 1, 0)
    if done and not re.search(r"[^\W\d_]", MARKER.sub("", claims[-1].text).replace("[", "")):
        done -= 1
    return done


@dataclass(frozen=True)
class Evidence:
    """What one numbered passage can support."""
    chunk: Chunk
    units: tuple[str, ...]
    """Its quotable units, without any addressed to a model."""
    vectors: np.ndarray
    """The units' vectors, each unit read alone (see `gather`)."""
    stems: frozenset[str]
    numbers: frozenset[str]
    words: frozenset[str]
    """Lower-cased words, for names."""
    text: str
    """The context and units as one string, for acronyms."""


def gather(chunk: Chunk, embed: Callable[[list[str]], np.ndarray]) -> Evidence:
    """The evidence of a cited passage. Its units are encoded here, alone: the index's unit vectors
    (`Snapshot.unit_vectors`) were made with the section heading and list lead-in in front, which
    makes every unit of an article alike to any sentence about that article. On the pairs of
    bench/llm_threshold.py, at a threshold keeping 95% of faithful sentences, similarity to the
    units read alone rejects 85% of wrong-passage pairs, to the stored vectors 60%. Only cited
    passages are encoded (a few dozen short texts per answer)."""
    units = quotable(chunk)
    vectors = embed(list(units)) if units else np.zeros((0, 1), np.float32)
    said = " ".join((chunk.context, *units))
    return Evidence(chunk, units, vectors, frozenset(tokenize(said)), frozenset(numbers_in(said)),
                    frozenset(words(said)), said)


def quotable(chunk: Chunk) -> tuple[str, ...]:
    """The units of a passage that can support a sentence: all but those addressed to a model."""
    return tuple(u for u in chunk.units if not ADDRESSED_TO_MODEL.search(u))


def numbers_in(text: str) -> set[str]:
    """Digits as written without thousands commas ("3,000" -> "3000"), and number words as digits."""
    found = {n.replace(",", "") for n in _NUMBER.findall(text)}
    found |= {n.rstrip("0").rstrip(".") if "." in n else n for n in list(found)}  # "2.50" = "2.5"
    return found | {_NUMBER_WORDS[w] for w in words(text) if w in _NUMBER_WORDS}


@dataclass(frozen=True)
class Check:
    """The verdict on one claim."""
    claim: Claim
    supported: bool
    why: str = ""
    """Why not, for the bench and the logs: "no marker", "[7] was not given", "2030 not in [1]"."""
    support: dict[int, str] = field(default_factory=dict)
    """Per cited passage number, its unit most similar to the claim (for highlighting)."""
    similarity: float = 0.0
    """The lowest, over cited passages, of the best unit's similarity."""


def check(claim: Claim, passages: Sequence[Evidence], embed: Callable[[list[str]], np.ndarray],
          settings: LlmSettings) -> Check:
    """Whether every passage `claim` cites supports what it says. `passages[i]` is marker i + 1."""
    segments = claim.segments()
    if not any(nums for _, nums in segments) or not claim.plain:
        return Check(claim, False, "no marker")
    if any(not nums and _content(text) for text, nums in segments):
        return Check(claim, False, "part of the sentence has no marker")
    bad = [n for n in claim.cited if not 1 <= n <= len(passages)]
    if bad:
        return Check(claim, False, f"[{bad[0]}] was not given")
    for text, nums in segments:
        for n in nums:
            why = _lexical(text, passages[n - 1], settings)
            if why:
                return Check(claim, False, f"{why} [{n}]")
    vector = embed([claim.plain])[0]
    support, lowest = {}, 1.0
    for n in claim.cited:
        ev = passages[n - 1]
        if not len(ev.units):
            return Check(claim, False, f"nothing to quote in [{n}]")
        sims = ev.vectors @ vector
        best = int(np.argmax(sims))
        lowest = min(lowest, float(sims[best]))
        support[n] = ev.units[best]
    if lowest < settings.min_similarity:
        return Check(claim, False, f"similarity {lowest:.2f} below {settings.min_similarity}", support, lowest)
    return Check(claim, True, "", support, lowest)


def _lexical(text: str, ev: Evidence, settings: LlmSettings) -> str:
    """What of `text` the passage does not state ("" when it states it all)."""
    plain = MARKER.sub("", text)
    for n in sorted(numbers_in(plain), key=lambda n: (plain.find(n) % (len(plain) + 1), n)):  # as written
        if n not in ev.numbers:
            return f"{n} not in"
    for name in names_in(plain):
        if not all(w in ev.words for w in words(name)) and not abbreviated(name, ev.text):
            return f"{name} not in"
    stems = [t for t in tokenize(plain) if not _NUMBER.fullmatch(t) and t not in FRAMING]
    if stems:
        found = sum(t in ev.stems for t in stems) / len(stems)
        if found < settings.min_words:
            missing = ", ".join(t for t in stems if t not in ev.stems)
            return f"{missing} not in"
    return ""
