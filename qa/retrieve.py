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
from .schema import Chunk, Hit, format_date
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
    n = len(snap.chunks)
    mask = np.ones(n, dtype=bool)
    if f.issues:
        mask &= np.fromiter((c.issue_date in f.issues for c in snap.chunks), bool, n)
    if f.date_from:
        mask &= np.fromiter((c.issue_date >= f.date_from for c in snap.chunks), bool, n)
    if f.date_to:
        mask &= np.fromiter((c.issue_date <= f.date_to for c in snap.chunks), bool, n)
    if f.kinds:
        mask &= np.fromiter((c.section_kind in f.kinds for c in snap.chunks), bool, n)
    notes: list[str] = []
    if query.latest and snap.issues:
        latest = max(d for d in snap.issues if mask[snap.rows_by_issue[d]].any()) if mask.any() else None
        if latest:
            mask &= np.fromiter((c.issue_date == latest for c in snap.chunks), bool, n)
    elif query.window:
        narrowed = mask & np.fromiter((_in_window(c, snap, query) for c in snap.chunks), bool, n)
        if narrowed.any():
            mask = narrowed
        else:
            a, b = query.window
            notes.append(f"No {'issue' if query.issue_only else 'material'} from {format_date(a)} to "
                         f"{format_date(b)} in the archive; searched all issues instead")
    return mask, notes


def _in_window(c: Chunk, snap: Snapshot, query: Query) -> bool:
    a, b = query.window
    if a <= c.issue_date <= b:
        return True
    if query.issue_only:
        return False
    if any(a <= d <= b for d in c.dates):
        return True
    issue = snap.issues.get(c.issue_date)
    return bool(issue and issue.period_start and issue.period_end
                and issue.period_start <= b and a <= issue.period_end
                and not c.dates)  # a dated item outside the window stays out


def search(snap: Snapshot, embedder: Embedder, query: Query, settings: Settings, k: int | None = None) -> SearchResult:
    k = k or settings.k
    mask, notes = allowed_rows(snap, query)
    qv = embedder.embed([query.text])[0]
    rows = np.flatnonzero(mask)
    if len(rows) == 0:
        return SearchResult([], query, tuple(notes) + ("No passage matches the filters",), qv)

    dense_all = np.full(len(snap.chunks), -1.0, dtype=np.float32)
    if mask.all() and len(rows) > CANDIDATES:
        scores, ids = snap.dense.search(qv[None, :], CANDIDATES)
        valid = ids[0] >= 0
        dense_all[ids[0][valid]] = scores[0][valid]
        dense_rank_rows = ids[0][valid]
    else:
        # A filtered or small index: exact scores over the allowed rows only.
        dense_all[rows] = snap.vectors[rows] @ qv
        dense_rank_rows = rows[np.argsort(-dense_all[rows], kind="stable")][:CANDIDATES]

    bm25_all = snap.lexicon.scores(tokenize(query.text))
    bm25_allowed = np.where(mask, bm25_all, 0.0)
    positive = np.flatnonzero(bm25_allowed > 0)
    bm25_rank_rows = positive[np.argsort(-bm25_allowed[positive], kind="stable")][:CANDIDATES]

    fused: dict[int, float] = {}
    for rank, r in enumerate(dense_rank_rows, 1):
        fused[int(r)] = fused.get(int(r), 0.0) + settings.dense_weight / (settings.rrf_k + rank)
    for rank, r in enumerate(bm25_rank_rows, 1):
        fused[int(r)] = fused.get(int(r), 0.0) + settings.bm25_weight / (settings.rrf_k + rank)
    for r in fused:
        c = snap.chunks[r]
        if query.part and c.part_kind == query.part:
            fused[r] *= settings.part_boost
        if query.kind and c.section_kind == query.kind:
            fused[r] *= settings.part_boost

    order = sorted(fused, key=lambda r: -fused[r])
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
        hits.append(Hit(chunk=c, score=fused[r], rank=len(hits) + 1, dense=dense, bm25=float(bm25_all[r])))
        if len(hits) >= k:
            break
    return SearchResult(hits, query, tuple(notes), qv)
