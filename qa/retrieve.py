"""Hybrid retrieval: dense (FAISS) and BM25 rankings fused, in stages you can test alone:

    allowed_rows  -> the rows the user's filters allow, and the question's periods
    candidates    -> dense and BM25 scores of the best rows of each ranking
    fuse          -> one score per row (weighted sum of scaled scores, or reciprocal rank)
    boost         -> the part or news kind the question asks for; its period
    diversify     -> best rows first, near-duplicates dropped, a cap per section

A period the question names ("in November 2024", "the plan released in January 2023") is
evidence, not a filter: passages from it (by issue date, news-item date or the policy's own
date) get a boost, so the article about a plan dated January 2023 still ranks first in a
later issue. Only a question that is nothing but a period ("corporate news in September 2022")
is narrowed to it, and when nothing is from that period the search says so and looks everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .embed import Embedder
from .lexical import tokenize, topic_terms
from .query import Query, Window
from .schema import Hit
from .settings import Fusion, Settings, UnitDense
from .store import Snapshot

# Candidates taken from each ranking before fusion, when the whole index is searched.
CANDIDATES = 200
# Passages this similar to one already listed add nothing and are skipped.
NEAR_DUPLICATE = 0.95


@dataclass(frozen=True)
class SearchResult:
    hits: list[Hit]
    query: Query
    notes: tuple[str, ...]
    query_vector: np.ndarray
    """The question's vector, which the answerer compares with the passages' sentences."""


def allowed_rows(snap: Snapshot, query: Query) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
    """(rows the filters allow, rows in the question's periods or None, notes).

    The periods narrow the allowed rows only for a question that asks about nothing else."""
    f = query.filters
    mask = np.ones(len(snap.chunks), dtype=bool)
    if f.issues:
        mask &= np.isin(snap.row_issue, list(f.issues))
    if f.date_from:
        mask &= snap.row_issue >= f.date_from
    if f.date_to:
        mask &= snap.row_issue <= f.date_to
    if f.kinds:
        mask &= np.isin(snap.row_kind, list(f.kinds))
    notes: list[str] = []
    if query.latest:
        if mask.any():
            mask &= snap.row_issue == max(np.unique(snap.row_issue[mask]))
        return mask, None, notes
    if not query.windows:
        return mask, None, notes
    within = mask & np.logical_or.reduce([window_mask(snap, w) for w in query.windows])
    period = " and ".join(w.label for w in query.windows)
    if not within.any():
        notes.append(f"Nothing in the archive is from {period}; searched all issues instead")
        return mask, None, notes
    if not topic_terms(query.topic):  # "What happened in corporate news in September 2022?"
        notes.append(f"Searched material from {period} only")
        return within, None, notes
    notes.append(f"Put material from {period} first")
    return mask, within, notes


def window_mask(snap: Snapshot, window: Window) -> np.ndarray:
    """Rows in the window: by issue date; unless the window names an issue, also by the
    item/policy date, or (undated passages) by the issue's reporting period."""
    a, b = window.first, window.last
    m = (snap.row_issue >= a) & (snap.row_issue <= b)
    if window.names_issue:
        return m
    dated = snap.row_date != ""
    m |= dated & (snap.row_date >= a) & (snap.row_date <= b)
    m |= ~dated & (snap.row_period_start != "") & (snap.row_period_start <= b) & (snap.row_period_end >= a)
    return m


def search(snap: Snapshot, embedder: Embedder, query: Query, settings: Settings, k: int | None = None) -> SearchResult:
    k = k or settings.search.k
    mask, period, notes = allowed_rows(snap, query)
    qv = embedder.embed([query.text])[0]
    if not mask.any():
        return SearchResult([], query, tuple(notes) + ("No passage matches the filters",), qv)
    dense, bm25 = candidates(snap, qv, query, mask, settings)
    scores = fuse(settings, dense, bm25)
    scores = boost(scores, snap, query, period, settings)
    order = rank(scores, snap, query)
    hits = diversify(order, scores, dense, bm25, snap, qv, settings, k)
    return SearchResult(hits, query, tuple(notes), qv)


def candidates(snap: Snapshot, qv: np.ndarray, query: Query, mask: np.ndarray,
               settings: Settings) -> tuple[np.ndarray, np.ndarray]:
    """(dense, bm25): per row, its score in each ranking, NaN outside that ranking's top CANDIDATES."""
    n = len(snap.chunks)
    dense = np.full(n, np.nan, dtype=np.float32)
    scores, ids = snap.dense.search(qv[None, :], CANDIDATES, allowed=None if mask.all() else np.flatnonzero(mask))
    valid = ids[0] >= 0
    dense[ids[0][valid]] = scores[0][valid]
    if settings.search.unit_dense is not UnitDense.OFF and len(snap.unit_vectors):
        dense = _with_sentences(dense, snap, qv, mask, settings.search.unit_dense)

    bm25 = np.full(n, np.nan, dtype=np.float32)
    raw = np.where(mask, snap.lexicon.scores(tokenize(query.text)), 0.0)
    positive = np.flatnonzero(raw > 0)
    top = positive[np.argsort(-raw[positive], kind="stable")][:CANDIDATES]
    bm25[top] = raw[top]
    return dense, bm25


def _with_sentences(dense: np.ndarray, snap: Snapshot, qv: np.ndarray, mask: np.ndarray, how: str) -> np.ndarray:
    """A passage is as close to the question as its closest sentence ("max"), or halfway ("mean")."""
    rows = np.flatnonzero(~np.isnan(dense))
    starts, ends = snap.unit_start[rows], snap.unit_start[rows + 1]
    has = ends > starts
    rows, starts, ends = rows[has], starts[has], ends[has]
    if not len(rows):
        return dense
    idx = np.concatenate([np.arange(a, b) for a, b in zip(starts, ends)])
    sims = snap.unit_vectors[idx] @ qv
    best = np.maximum.reduceat(sims, np.concatenate([[0], np.cumsum(ends - starts)[:-1]]))
    out = dense.copy()
    out[rows] = np.maximum(dense[rows], best) if how == "max" else (dense[rows] + best) / 2
    return out


def fuse(settings: Settings, dense: np.ndarray, bm25: np.ndarray) -> np.ndarray:
    """One score per row (NaN: in neither ranking)."""
    out = np.full(len(dense), np.nan, dtype=np.float64)
    for scores, weight in ((dense, settings.search.dense_weight), (bm25, settings.search.bm25_weight)):
        rows = np.flatnonzero(~np.isnan(scores))
        if not len(rows):
            continue
        if settings.search.fusion is Fusion.SCORE:
            # Cosines and BM25 live on different scales: scale each list to 0..1 over its candidates.
            vals = scores[rows].astype(np.float64)
            span = (vals.max() - vals.min()) or 1.0
            part = weight * (vals - vals.min()) / span
        else:
            ranks = np.empty(len(rows))
            ranks[np.argsort(-scores[rows], kind="stable")] = np.arange(1, len(rows) + 1)
            part = weight / (settings.search.rrf_k + ranks)
        out[rows] = np.where(np.isnan(out[rows]), 0.0, out[rows]) + part
    return out


def boost(scores: np.ndarray, snap: Snapshot, query: Query, period: np.ndarray | None,
          settings: Settings) -> np.ndarray:
    """The part or news kind the question asks for, and its period, raise a passage's score."""
    out = scores.copy()
    live = ~np.isnan(out)
    if query.part:
        out[live & (snap.row_part == query.part)] *= settings.search.part_boost
    if query.kind:
        out[live & (snap.row_kind == query.kind)] *= settings.search.part_boost
    if period is not None:
        out[live & period] += settings.search.date_boost
    return out


def rank(scores: np.ndarray, snap: Snapshot, query: Query) -> list[int]:
    """Rows best first; a question about several periods gets the best passage of each first."""
    live = np.flatnonzero(~np.isnan(scores))
    order = [int(r) for r in live[np.argsort(-scores[live], kind="stable")]]
    if len(query.windows) > 1:
        masks = [window_mask(snap, w) for w in query.windows]
        firsts = list(dict.fromkeys(r for r in (next((r for r in order if m[r]), None) for m in masks) if r is not None))
        order = firsts + [r for r in order if r not in firsts]
    return order


def diversify(order: list[int], scores: np.ndarray, dense: np.ndarray, bm25: np.ndarray, snap: Snapshot,
              qv: np.ndarray, settings: Settings, k: int) -> list[Hit]:
    """The first k rows, skipping near-duplicates of rows already taken and rows past the cap per section."""
    hits: list[Hit] = []
    per_section: dict[tuple[str, str], int] = {}
    chosen: list[int] = []
    for r in order:
        c = snap.chunks[r]
        key = (c.issue_date, c.section_id)
        if per_section.get(key, 0) >= settings.search.per_section:
            continue
        if chosen and float(np.max(snap.vectors[chosen] @ snap.vectors[r])) >= NEAR_DUPLICATE:
            continue
        per_section[key] = per_section.get(key, 0) + 1
        chosen.append(r)
        cos = float(snap.vectors[r] @ qv)
        hits.append(Hit(chunk=c, score=float(scores[r]), rank=len(hits) + 1, dense=cos,
                        bm25=0.0 if np.isnan(bm25[r]) else float(bm25[r]), row=r))
        if len(hits) >= k:
            break
    return hits
