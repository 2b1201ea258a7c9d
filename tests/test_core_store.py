"""The FAISS wrapper on its own: filtered search must not lose rows on HNSW.

A real IndexHNSWFlat is built on small random data by lowering FLAT_LIMIT; with an ID
filter, faiss's graph walk drops what the filter rejects, so a narrow filter used to
return almost nothing (found by the 10,000-issue benchmark).
"""

from __future__ import annotations

import numpy as np

from qa import store


def _unit(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_hnsw_filtered_search_returns_every_allowed_row(monkeypatch, tmp_path):
    monkeypatch.setattr(store, "FLAT_LIMIT", 100)
    x = _unit(3000)
    index = store.FaissIndex.build(x)
    index.save(tmp_path / "dense.faiss")
    index = store.FaissIndex.load(tmp_path / "dense.faiss")
    assert type(index.index).__name__ == "IndexHNSWFlat"
    allowed = np.random.default_rng(1).choice(len(x), 40, replace=False)
    scores, ids = index.search(x[:1], 200, allowed=allowed)
    assert sorted(ids[0].tolist()) == sorted(allowed.tolist())
    expected = np.sort(x[allowed] @ x[0])[::-1]
    assert np.allclose(scores[0], expected, atol=1e-5)


def test_flat_filtered_search_matches_exact_scores():
    x = _unit(500, seed=2)
    index = store.FaissIndex.build(x)
    assert type(index.index).__name__ == "IndexFlatIP"
    allowed = np.arange(0, 500, 7)
    scores, ids = index.search(x[3:4], 10, allowed=allowed)
    best = allowed[np.argsort(-(x[allowed] @ x[3]))[:10]]
    assert ids[0].tolist() == best.tolist()
