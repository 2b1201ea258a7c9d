"""Hybrid retrieval: dense (FAISS) and BM25 rankings fused by weighted reciprocal rank.

Filters narrow the candidate rows before ranking. A date window read from the question
is a filter too, but a soft one: when nothing matches it, the search runs without it and
says so, rather than answering "nothing found" for a question the archive can answer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .embed import Embedder
from .lexical import tokenize
from .query import Query
from .schema import Hit
from .settings import Settings
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


def allowed_rows(snap: Snapshot, query: Query) -> tuple[np.ndarray, list[str]]:
    """Boolean mask of the chunks the filters and the question's date window allow."""
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
    elif query.windows:
        narrowed = mask & np.logical_or.reduce([_window_mask(snap, w) for w in query.windows])
        if narrowed.any():
            mask = narrowed
        else:
            notes.append("Nothing in the archive from the period the question names; searched all issues instead")
    return mask, notes


def _window_mask(snap: Snapshot, window: tuple[str, str, bool]) -> np.ndarray:
    """Rows in the window: by issue date; unless the window names an issue, also by the
    item/policy date, or (undated passages) by the issue's reporting period."""
    a, b, issue_only = window
    m = (snap.row_issue >= a) & (snap.row_issue <= b)
    if issue_only:
        return m
    dated = snap.row_date != ""
    m |= dated & (snap.row_date >= a) & (snap.row_date <= b)
    m |= ~dated & (snap.row_period_start != "") & (snap.row_period_start <= b) & (snap.row_period_end >= a)
    return m


def search(snap: Snapshot, embedder: Embedder, query: Query, settings: Settings, k: int | None = None) -> SearchResult:
    k = k or settings.k
    mask, notes = allowed_rows(snap, query)
    qv = embedder.embed([query.text])[0]
    rows = np.flatnonzero(mask)
    if len(rows) == 0:
        return SearchResult([], query, tuple(notes) + ("No passage matches the filters",), qv)

    dense_all = np.full(len(snap.chunks), -1.0, dtype=np.float32)
    scores, ids = snap.dense.search(qv[None, :], CANDIDATES, allowed=None if mask.all() else rows)
    valid = ids[0] >= 0
    dense_rank_rows = ids[0][valid]
    dense_all[dense_rank_rows] = scores[0][valid]

    bm25_all = snap.lexicon.scores(tokenize(query.text))
    bm25_allowed = np.where(mask, bm25_all, 0.0)
    positive = np.flatnonzero(bm25_allowed > 0)
    bm25_rank_rows = positive[np.argsort(-bm25_allowed[positive], kind="stable")][:CANDIDATES]

    fused = _fuse(settings, dense_rank_rows, dense_all, bm25_rank_rows, bm25_allowed)
    for r in fused:
        c = snap.chunks[r]
        if query.part and c.part_kind == query.part:
            fused[r] *= settings.part_boost
        if query.kind and c.section_kind == query.kind:
            fused[r] *= settings.part_boost

    order = sorted(fused, key=lambda r: -fused[r])
    if len(query.windows) > 1:
        # A question about several periods gets the best passage of each period first.
        masks = [_window_mask(snap, w) for w in query.windows]
        firsts = [next((r for r in order if m[r]), None) for m in masks]
        firsts = list(dict.fromkeys(r for r in firsts if r is not None))
        order = firsts + [r for r in order if r not in firsts]
    hits: list[Hit] = []
    per_section: dict[tuple[str, str], int] = {}
    chosen: list[int] = []
    for r in order:
        c = snap.chunks[r]
        key = (c.issue_date, c.section_id)
        if per_section.get(key, 0) >= settings.per_section:
            continue
        if chosen and float(np.max(snap.vectors[chosen] @ snap.vectors[r])) >= NEAR_DUPLICATE:
            continue
        per_section[key] = per_section.get(key, 0) + 1
        chosen.append(r)
        dense = float(dense_all[r]) if dense_all[r] > -1 else float(snap.vectors[r] @ qv)
        hits.append(Hit(chunk=c, score=fused[r], rank=len(hits) + 1, dense=dense, bm25=float(bm25_all[r]), row=int(r)))
        if len(hits) >= k:
            break
    return SearchResult(hits, query, tuple(notes), qv)


def _fuse(settings: Settings, dense_rows, dense_all, bm25_rows, bm25_all) -> dict[int, float]:
    fused: dict[int, float] = {}
    if settings.fusion == "score":
        # Cosines and BM25 live on different scales: scale each list to 0..1 over its candidates.
        for rows, scores, weight in ((dense_rows, dense_all, settings.dense_weight),
                                     (bm25_rows, bm25_all, settings.bm25_weight)):
            if len(rows) == 0:
                continue
            vals = scores[rows]
            lo, hi = float(vals.min()), float(vals.max())
            span = (hi - lo) or 1.0
            for r, v in zip(rows, vals):
                fused[int(r)] = fused.get(int(r), 0.0) + weight * (float(v) - lo) / span
        return fused
    for rows, weight in ((dense_rows, settings.dense_weight), (bm25_rows, settings.bm25_weight)):
        for rank, r in enumerate(rows, 1):
            fused[int(r)] = fused.get(int(r), 0.0) + weight / (settings.rrf_k + rank)
    return fused
