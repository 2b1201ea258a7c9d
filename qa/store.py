"""The index on disk, and the in-memory `Snapshot` a search runs against.

Layout of `index/` (documented in index/README.md):

    CURRENT                 name of the live generation; replaced atomically (os.replace)
    .lock                   held by the one process writing a generation
    gen-<time>-<rand>/      one complete, never-modified index
        manifest.json       format, model, chunking settings, one entry (hash, source) per issue
        chunks.jsonl        one Chunk per line; line i is row i of the vectors
        vectors.npy         float32 (n, dim), unit rows: the source of truth for reuse
        units.npy           float32 (u, dim): one row per quotable unit (Chunk.units), chunk by chunk
        dense.faiss         FAISS index over vectors.npy
        bm25/               bm25s files + df.json
        issues/<date>.json  the parsed Issue, for reading whole sections

A writer builds a new generation beside the live one and then points CURRENT at it, so a
crash or kill at any moment leaves CURRENT naming a complete generation.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from .lexical import Lexicon, tokenize
from .schema import Chunk, Issue

# 2: units.npy (one vector per quotable sentence, list item or line).
FORMAT = 2
# Below this many vectors an exact search is fast enough (about 15 ms at 100k on 2 cores)
# and needs no training; above it HNSW keeps queries in milliseconds.
FLAT_LIMIT = 100_000
# A filtered HNSW search scores up to this many allowed rows exactly (about 20 ms at 50k).
EXACT_FILTERED = 50_000


class IndexMissing(FileNotFoundError):
    pass


class VectorIndex(Protocol):
    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(scores, row ids), each (len(queries), k), best first; ids of -1 pad a short result.
        `allowed`: row ids to search among (a filter); None searches all."""


class FaissIndex:
    """Inner product over unit vectors (= cosine); exact below FLAT_LIMIT, HNSW above."""

    def __init__(self, index):
        self.index = index

    @classmethod
    def build(cls, vectors: np.ndarray) -> "FaissIndex":
        import faiss
        n, dim = vectors.shape
        if n <= FLAT_LIMIT:
            index = faiss.IndexFlatIP(dim)
        else:
            index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = 80
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        return cls(index)

    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        import faiss
        k = min(k, self.index.ntotal if allowed is None else len(allowed))
        if k <= 0:
            return np.zeros((len(queries), 0), np.float32), np.zeros((len(queries), 0), np.int64)
        hnsw = hasattr(self.index, "hnsw")
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        if allowed is not None and hnsw and len(allowed) <= EXACT_FILTERED:
            # HNSW with an ID filter walks the graph and drops what the filter rejects, so a
            # narrow filter returns almost nothing; score the allowed rows exactly instead.
            ids = np.asarray(allowed, dtype=np.int64)
            scores = queries @ self.index.reconstruct_batch(ids).T
            top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
            return np.take_along_axis(scores, top, axis=1), ids[top]
        params = None
        if allowed is not None:
            sel = faiss.IDSelectorBatch(np.ascontiguousarray(allowed, dtype=np.int64))
            params = faiss.SearchParametersHNSW(sel=sel, efSearch=max(512, 4 * k)) if hnsw \
                else faiss.SearchParameters(sel=sel)
        elif hnsw:
            params = faiss.SearchParametersHNSW(efSearch=max(64, k))
        return self.index.search(queries, k, params=params)

    def save(self, path: Path) -> None:
        import faiss
        faiss.write_index(self.index, str(path))

    @classmethod
    def load(cls, path: Path) -> "FaissIndex":
        import faiss
        return cls(faiss.read_index(str(path)))


@dataclass
class Snapshot:
    """One loaded generation; never mutated, so searches in flight keep a consistent view."""
    manifest: dict
    chunks: list[Chunk]
    vectors: np.ndarray
    dense: VectorIndex
    lexicon: Lexicon
    issues: dict[str, Issue]
    unit_vectors: np.ndarray | None = None
    """One row per Chunk.units entry, chunk by chunk; `unit_start[r]:unit_start[r + 1]` are chunk r's."""
    generation: str = ""
    rows_by_issue: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self):
        self._unit_tokens: dict[int, frozenset[str]] = {}
        self.unit_start = np.concatenate([[0], np.cumsum([len(c.units) for c in self.chunks])]).astype(np.int64)
        if self.unit_vectors is None:
            self.unit_vectors = np.zeros((0, self.vectors.shape[1] if self.vectors.ndim == 2 else 0), np.float32)
        if not self.rows_by_issue:
            by: dict[str, list[int]] = {}
            for i, c in enumerate(self.chunks):
                by.setdefault(c.issue_date, []).append(i)
            self.rows_by_issue = {d: np.asarray(r) for d, r in by.items()}
        # Per-row columns, so filters are numpy comparisons rather than a loop over every chunk.
        self.row_issue = np.array([c.issue_date for c in self.chunks], dtype="U10")
        self.row_kind = np.array([c.section_kind for c in self.chunks], dtype="U16")
        self.row_part = np.array([c.part_kind for c in self.chunks], dtype="U16")
        self.row_date = np.array([c.dates[0] if c.dates else "" for c in self.chunks], dtype="U10")
        periods = {d: (i.period_start or "", i.period_end or "") for d, i in self.issues.items()}
        self.row_period_start = np.array([periods.get(c.issue_date, ("", ""))[0] for c in self.chunks], dtype="U10")
        self.row_period_end = np.array([periods.get(c.issue_date, ("", ""))[1] for c in self.chunks], dtype="U10")

    def unit_tokens(self, index: int) -> frozenset[str]:
        """The stems of unit `index` (a row of unit_vectors), tokenized once per snapshot."""
        toks = self._unit_tokens.get(index)
        if toks is None:
            r = int(np.searchsorted(self.unit_start, index, side="right")) - 1
            toks = self._unit_tokens[index] = frozenset(tokenize(self.chunks[r].units[index - int(self.unit_start[r])]))
        return toks

    @property
    def dates(self) -> list[str]:
        return sorted(self.issues)


def current_generation(index_dir: Path) -> str | None:
    try:
        name = (index_dir / "CURRENT").read_text().strip()
    except FileNotFoundError:
        return None
    return name if name and (index_dir / name / "manifest.json").exists() else None


def read_manifest(index_dir: Path) -> dict | None:
    gen = current_generation(index_dir)
    return json.loads((index_dir / gen / "manifest.json").read_text()) if gen else None


def load_snapshot(index_dir: Path) -> Snapshot:
    for attempt in range(3):
        gen = current_generation(index_dir)
        if gen is None:
            raise IndexMissing(f"no index in {index_dir}: run `qa index` first")
        try:
            return _load_generation(index_dir / gen)
        except FileNotFoundError:
            # A writer replaced and cleaned up this generation between our two reads.
            time.sleep(0.05 * (attempt + 1))
    return _load_generation(index_dir / current_generation(index_dir))


def _load_generation(folder: Path) -> Snapshot:
    manifest = json.loads((folder / "manifest.json").read_text())
    if manifest.get("format") != FORMAT:
        raise IndexMissing(f"{folder} has index format {manifest.get('format')}, expected {FORMAT}: "
                           "rebuild with `qa index --rebuild`")
    with open(folder / "chunks.jsonl", encoding="utf-8") as f:
        chunks = [Chunk.from_dict(json.loads(line)) for line in f]
    issues = {}
    for p in sorted((folder / "issues").glob("*.json")):
        issue = Issue.from_dict(json.loads(p.read_text(encoding="utf-8")))
        issues[issue.date] = issue
    return Snapshot(manifest=manifest, chunks=chunks, vectors=np.load(folder / "vectors.npy"),
                    dense=FaissIndex.load(folder / "dense.faiss"), lexicon=Lexicon.load(folder / "bm25"),
                    issues=issues, unit_vectors=np.load(folder / "units.npy"), generation=folder.name)


def write_generation(index_dir: Path, manifest: dict, chunks: list[Chunk], vectors: np.ndarray,
                     issues: list[Issue], unit_vectors: np.ndarray) -> Path:
    """Write a complete generation in a new folder; CURRENT is not touched."""
    index_dir.mkdir(parents=True, exist_ok=True)
    folder = index_dir / f"gen-{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}"
    tmp = folder.with_name(folder.name + ".tmp")
    (tmp / "issues").mkdir(parents=True)
    try:
        _write_files(tmp, manifest, chunks, vectors, issues, unit_vectors)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    os.rename(tmp, folder)
    return folder


def _write_files(tmp: Path, manifest: dict, chunks: list[Chunk], vectors: np.ndarray, issues: list[Issue],
                 unit_vectors: np.ndarray) -> None:
    with open(tmp / "chunks.jsonl", "w", encoding="utf-8") as f:
        for c in chunks:
            f.write(json.dumps(c.to_dict(), ensure_ascii=False) + "\n")
    np.save(tmp / "vectors.npy", vectors.astype(np.float32))
    np.save(tmp / "units.npy", unit_vectors.astype(np.float32))
    FaissIndex.build(vectors).save(tmp / "dense.faiss")
    (tmp / "bm25").mkdir()
    Lexicon.build([c.embed_text for c in chunks]).save(tmp / "bm25")
    for issue in issues:
        (tmp / "issues" / f"{issue.date}.json").write_text(
            json.dumps(issue.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8")
    # The manifest goes last: a folder without one is never loaded.
    (tmp / "manifest.json").write_text(json.dumps({**manifest, "format": FORMAT}, indent=1))
    _fsync_tree(tmp)


def publish(index_dir: Path, folder: Path) -> None:
    """Point CURRENT at `folder` atomically, then drop generations no reader should need."""
    previous = current_generation(index_dir)
    tmp = index_dir / f".CURRENT.{secrets.token_hex(4)}"
    with open(tmp, "w") as f:
        f.write(folder.name + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, index_dir / "CURRENT")
    _fsync_dir(index_dir)
    keep = {folder.name, previous}
    for old in index_dir.glob("gen-*"):
        if old.name not in keep:
            shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def writer_lock(index_dir: Path):
    """One writer at a time; a second waits instead of interleaving generations."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _fsync_tree(folder: Path) -> None:
    for p in folder.rglob("*"):
        if p.is_file():
            with open(p, "rb") as f:
                os.fsync(f.fileno())
    for d in [folder, *[p for p in folder.rglob("*") if p.is_dir()]]:
        _fsync_dir(d)


def _fsync_dir(d: Path) -> None:
    fd = os.open(d, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
