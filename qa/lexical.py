"""Keyword side of the hybrid search: tokenizer, BM25 (bm25s) and document frequencies.

Document frequencies are kept beside BM25 because the answer composer and the abstention
check need them: a question's distinctive words are the ones few passages contain.
"""

from __future__ import annotations

import difflib
import functools
import json
import math
import re
from collections import Counter
from pathlib import Path

import numpy as np

# English stop words plus words every issue uses, which carry no distinction between passages.
STOPWORDS = frozenset("""
a about above after again against all also am an and any are aren as at be because been before being
below between both but by can cannot could did didn do does doesn doing don down during each few for from
further had has have having he her here hers herself him himself his how i if in into is isn it its itself
just let me more most my myself no nor not now of off on once only or other our ours ourselves out over own
same she should so some such than that the their theirs them themselves then there these they this those
through to too under until up very was we were what when where which while who whom why will with would you
your yours yourself yourselves s t ll re ve d m o y whats tell give say said says please know much many
""".split())

# Words of asking, not of topic: "What happened in corporate news in May?" is about nothing but
# its period, and a question need not find these words in the passages it is answered from.
ASKING_WORDS = """happen happened happening report reported mention mentioned announce announced say discuss
discussed cover covered write wrote newsletter issue issues edition anything something news latest recent update
updates detail details summary summarize merics according view think"""

_WORD = re.compile(r"[\w][\w+\-.']*[\w+]|\w", re.UNICODE)


@functools.lru_cache(maxsize=1)
def _stemmer():
    import Stemmer
    return Stemmer.Stemmer("english")


def words(text: str) -> list[str]:
    """Lower-cased word tokens, hyphens and decimals kept inside ("5g+", "2.55", "l4")."""
    out = []
    for w in _WORD.findall(text.lower().replace("’", "'")):
        w = w.strip("'.-")
        if w.endswith("'s"):
            w = w[:-2]
        if w:
            out.append(w)
    return out


@functools.lru_cache(maxsize=1)
def _asking() -> frozenset[str]:
    return frozenset(tokenize(ASKING_WORDS))


def topic_terms(text: str) -> set[str]:
    """The stems of what a question is about: its words, less the words of asking."""
    return set(tokenize(text)) - _asking()


@functools.lru_cache(maxsize=1024)
def token_set(text: str) -> frozenset[str]:
    """The stems of a text, read once: the verdict checks an article's text, a title block or a
    heading for every unit of every question, and the same few recur."""
    return frozenset(tokenize(text))


def tokenize(text: str) -> list[str]:
    """Stemmed content words: the BM25 vocabulary."""
    ws = [w for w in words(text) if w not in STOPWORDS]
    # Split compounds too ("lithium-ion" -> "lithium-ion", "lithium", "ion") so either form matches.
    ws += [p for w in ws if "-" in w for p in w.split("-") if p and p not in STOPWORDS]
    return _stemmer().stemWords(ws)


class Lexicon:
    """BM25 over the chunks plus document frequencies, saved in `bm25/`."""

    def __init__(self, bm25, df: dict[str, int], n_docs: int):
        self.bm25 = bm25
        self.df = df
        self.n_docs = n_docs
        self._spelled: dict[str, str] = {}

    @classmethod
    def build(cls, texts: list[str]) -> "Lexicon":
        import bm25s
        tokens = [tokenize(t) or ["_empty_"] for t in texts]
        bm25 = bm25s.BM25(k1=1.2, b=0.75)
        bm25.index(tokens, show_progress=False)
        df = Counter(t for toks in tokens for t in set(toks))
        return cls(bm25, dict(df), len(texts))

    def idf(self, term: str) -> float:
        return math.log(1 + (self.n_docs - self.df.get(term, 0) + 0.5) / (self.df.get(term, 0) + 0.5))

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        """BM25 score of every chunk (row order), zeros when no query word is indexed. A word the
        archive does not know is read as the archive's spelling of it ("certifcation")."""
        known = [w for w in (self.spelled(t) for t in query_tokens) if w in self.df]
        if not known:
            return np.zeros(self.n_docs, dtype=np.float32)
        return np.asarray(self.bm25.get_scores(known), dtype=np.float32)

    def spelled(self, stem: str) -> str:
        """The archive's spelling of a word it does not know ("shenzen" -> "shenzhen", "rehab" ->
        "rehabilit"), else the word.

        Only words of five letters or more, and only a close match (difflib ratio 0.85: one letter
        wrong, missing or extra in a word of seven or more): short words and names differ too often."""
        if stem in self.df or len(stem) < 5:
            return stem
        if stem not in self._spelled:
            if len(self._spelled) > 4096:  # bounded: a server sees endless made-up words
                self._spelled.clear()
            near = [w for w in self.df if w[:1] == stem[:1] and abs(len(w) - len(stem)) <= 2]
            close = difflib.get_close_matches(stem, near, n=1, cutoff=0.85)
            # Else a word cut short ("rehab", "petrochem"): the archive's most frequent word it begins.
            longer = [w for w in self.df if w.startswith(stem)]
            self._spelled[stem] = close[0] if close else max(longer, key=self.df.get) if longer else stem
        return self._spelled[stem]

    @property
    def bm25_docs(self) -> int:
        """Documents the BM25 matrix was built over: must equal `n_docs` and the chunk count."""
        return int(self.bm25.scores["num_docs"])

    def save(self, folder: Path) -> None:
        self.bm25.save(str(folder), show_progress=False)
        (folder / "df.json").write_text(json.dumps({"n_docs": self.n_docs, "df": self.df}))

    @classmethod
    def load(cls, folder: Path) -> "Lexicon":
        import bm25s
        bm25 = bm25s.BM25.load(str(folder), show_progress=False, mmap=False)
        meta = json.loads((folder / "df.json").read_text())
        return cls(bm25, meta["df"], meta["n_docs"])
