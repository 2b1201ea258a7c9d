"""Answers written by a language model, every sentence checked against the passage it cites.

    make_answerer(settings, embedder)  # ExtractiveAnswerer without QA_LLM_URL, else LlmAnswerer

`LlmAnswerer` runs the extractive answerer first. Only a question it judges ANSWERED goes to the
model: a near miss or a question the archive cannot answer gets the extractive reply, and the
model is never asked. Then the model writes from the top passages (`qa.llm`), and as each of its
sentences is complete, `qa.verify` keeps it only if every passage it cites supports it.
Unsupported sentences are dropped, never shown, and a note says how many. When no sentence
survives, or the endpoint fails or is too slow, the extractive answer is given, with a note.

`stream` yields a `Draft` (the verified sentences so far) each time one is kept, then the final
`Answer`; `compose` returns only the final one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

from .answer import Answerer, ExtractiveAnswerer
from .embed import Embedder
from .llm import NOT_FOUND_REPLY, ChatClient, LlmError, build_messages
from .retrieve import SearchResult
from .schema import Answer, Citation, Hit, Outcome
from .settings import Settings
from .store import Snapshot
from .verify import MARKER, Check, Claim, Evidence, check, complete_claims, gather, quotable, split_claims

# Reasoning models put their thinking before the answer; it is not part of the answer.
_THINKING = re.compile(r"<think>.*?(</think>|$)", re.S | re.I)


@dataclass(frozen=True)
class Draft:
    """The part of an LLM answer verified so far, for streaming into a chat."""
    question: str
    text: str
    """Kept sentences, markers renumbered 1, 2, ... in order of first use."""
    citations: tuple[Citation, ...]
    backend: str


def make_answerer(settings: Settings, embedder: Callable[[], Embedder]) -> Answerer:
    """The answerer the settings ask for. `embedder`: gives the embedder when first needed."""
    if settings.llm.url:
        return LlmAnswerer(embedder)
    return ExtractiveAnswerer()


class LlmAnswerer:
    def __init__(self, embedder: Callable[[], Embedder], client: ChatClient | None = None,
                 extractive: Answerer | None = None, on_check: Callable[[Check], None] | None = None):
        self._embedder = embedder
        self._client = client
        self.extractive = extractive or ExtractiveAnswerer()
        self.on_check = on_check
        """Called with the verdict on every sentence the model writes (bench/llm_answers.py counts them)."""

    def compose(self, result: SearchResult, snap: Snapshot, settings: Settings) -> Answer:
        answer = None
        for answer in self.stream(result, snap, settings):
            pass
        return answer

    def stream(self, result: SearchResult, snap: Snapshot, settings: Settings) -> Iterator[Draft | Answer]:
        base = self.extractive.compose(result, snap, settings)
        if base.outcome is not Outcome.ANSWERED or not result.hits:
            yield base
            return
        llm = settings.llm
        backend = f"llm:{llm.model}"
        hits = result.hits[:llm.passages]
        run = _Run(hits, self._embed, settings, base.question, backend, self.on_check)
        client = self._client or ChatClient(llm)
        query = result.query
        follows = query.text.removeprefix(query.question).strip()  # a follow-up's earlier question
        text = ""
        try:
            for piece in client.stream(build_messages(query.question, [h.chunk for h in hits], follows)):
                text += piece
                shown = _THINKING.sub("", text)
                for claim in split_claims(shown)[:complete_claims(shown)][run.seen:]:
                    if run.add(claim):
                        yield run.draft()
        except LlmError as e:
            yield _fallback(base, f"The language model ({llm.model}) gave no answer: {e}. This is the answer "
                                  "quoted from the passages instead.")
            return
        for claim in split_claims(_THINKING.sub("", text))[run.seen:]:
            if run.add(claim):
                yield run.draft()
        if not run.kept:
            said = ("found no answer in the passages" if text.strip() == NOT_FOUND_REPLY else
                    "wrote no sentence that the passage it cites supports")
            yield _fallback(base, f"The language model ({llm.model}) {said}. This is the answer quoted "
                                  "from the passages instead.")
            return
        notes = base.notes
        if run.dropped:
            k = len(run.dropped)
            notes += (f"{k} sentence{'s' if k > 1 else ''} of the language model's answer "
                      f"{'were' if k > 1 else 'was'} left out: the passages cited do not support "
                      f"{'them' if k > 1 else 'it'}.",)
        draft = run.draft()
        yield Answer(question=base.question, text=draft.text, outcome=Outcome.ANSWERED, citations=draft.citations,
                     hits=base.hits, notes=notes, confidence=base.confidence, backend=backend)

    def _embed(self, texts: list[str]) -> np.ndarray:
        return self._embedder().embed(texts)


class _Run:
    """One answer being written: the claims seen, kept and dropped, and the citation numbers."""

    def __init__(self, hits: list[Hit], embed, settings: Settings, question: str, backend: str, on_check=None):
        self.hits, self.embed, self.settings = hits, embed, settings
        self.question, self.backend, self.on_check = question, backend, on_check
        self.seen = 0
        self.kept: list[tuple[Claim, Check]] = []
        self.dropped: list[Check] = []
        self.numbers: dict[int, int] = {}
        """Passage number as given to the model -> number in the answer (1, 2, ... by first use)."""
        self._evidence: dict[int, Evidence] = {}
        self._vectors: dict[str, np.ndarray] = {}

    def add(self, claim: Claim) -> bool:
        self.seen += 1
        cited = [n for n in claim.cited if 1 <= n <= len(self.hits)]
        # One encoder call for the sentence and the units of the passages it is first to cite.
        self.vectors([claim.plain] + [u for n in cited if n not in self._evidence for u in quotable(self.hits[n - 1].chunk)])
        passages = [self.evidence(n) if n in cited else None for n in range(1, len(self.hits) + 1)]
        verdict = check(claim, passages, self.vectors, self.settings.llm)
        if self.on_check:
            self.on_check(verdict)
        if not verdict.supported:
            self.dropped.append(verdict)
            return False
        for n in claim.cited:
            self.numbers.setdefault(n, len(self.numbers) + 1)
        self.kept.append((claim, verdict))
        return True

    def evidence(self, n: int) -> Evidence:
        if n not in self._evidence:
            self._evidence[n] = gather(self.hits[n - 1].chunk, self.vectors)
        return self._evidence[n]

    def vectors(self, texts: list[str]) -> np.ndarray:
        """`embed`, remembering every text encoded in this answer."""
        new = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if new:
            self._vectors.update(zip(new, self.embed(new)))
        return np.stack([self._vectors[t] for t in texts])

    def draft(self) -> Draft:
        out, item = "", False
        for claim, _ in self.kept:
            text = MARKER.sub(lambda m: "".join(f"[{self.numbers[int(n)]}]" for n in re.findall(r"\d+", m[1])),
                              claim.text)
            # List items and what follows them each start a line; sentences run on.
            out += ("\n" if claim.item or item else " ") + text if out else text
            item = claim.item
        quoted: dict[int, list[str]] = {}
        for _, verdict in self.kept:
            for n, unit in verdict.support.items():
                if unit not in quoted.setdefault(n, []):
                    quoted[n].append(unit)
        citations = tuple(Citation(n=new, chunk=self.hits[old - 1].chunk, sentences=tuple(quoted.get(old, ())))
                          for old, new in sorted(self.numbers.items(), key=lambda x: x[1]))
        return Draft(self.question, out.strip(), citations, self.backend)


def _fallback(base: Answer, note: str) -> Answer:
    return Answer(question=base.question, text=base.text, outcome=base.outcome, citations=base.citations,
                  hits=base.hits, notes=base.notes + (note,), confidence=base.confidence, missing=base.missing,
                  backend="extractive")
