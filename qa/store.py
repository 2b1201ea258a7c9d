"""The index on disk, and the in-memory `Snapshot` a search runs against.

Layout of `index/` (documented in index/README.md):

    CURRENT                 name of the live generation; replaced atomically (os.replace)
    .lock                   held by the one process writing a generation
    gen-<time>-<rand>/      one complete, never-modified index
        manifest.json       a `Manifest`: format, model, chunking, rows, one entry per issue, and
                            the size and SHA-256 of every other file of the generation
        chunks.jsonl        one Chunk per line; line i is row i of the vectors
        vectors.npy         float32 (n, dim), unit rows: the source of truth for reuse
        units.npy           float32 (u, dim): one row per quotable unit (Chunk.units), chunk by chunk
        dense.faiss         FAISS index over vectors.npy
        bm25/               bm25s files + df.json
        issues/<date>.json  the parsed Issue, for reading whole sections
    models/<hash>/          ONNX export of the embedding model that questions run on; not a
                            generation: shared by all of them, never swept (qa/onnx_embed.py)

A writer builds a new generation beside the live one and then points CURRENT at it, so a
crash or kill at any moment leaves CURRENT naming a complete generation. A reader verifies
the generation against its manifest before using it; when the live one fails, it serves the
newest other generation that passes and says so (`Snapshot.warning`) until `qa index`
writes a repaired one. Each write keeps the live and the previous generation and sweeps
the rest (older generations, half-written ones, CURRENT's temp files).
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from .integrity import FileEntry, IndexDamaged, IndexMissing, check_files, expect_rows, reading
from .lexical import Lexicon, tokenize
from .schema import Chunk, Issue

__all__ = ["IndexDamaged", "IndexMissing", "Manifest", "IssueEntry", "Snapshot", "FaissIndex", "load_snapshot",
           "load_generation", "current_generation", "generations", "read_manifest", "peek_manifest"]

# 2: units.npy (one vector per quotable sentence, list item or line).
# 3: the manifest's `rows` and `files` (the size and SHA-256 of every file).
FORMAT = 3
# Below this many vectors an exact search is fast enough (about 15 ms at 100k on 2 cores)
# and needs no training; above it HNSW keeps queries in milliseconds.
FLAT_LIMIT = 100_000
# A filtered HNSW search scores up to this many allowed rows exactly (about 20 ms at 50k).
EXACT_FILTERED = 50_000
# Readers hash every file before using a generation, not only compare sizes: bytes garbled in
# place (same size) inside vectors.npy or dense.faiss parse fine and would be served silently.
# Measured (shared 2-core machine, median of 8): the shipped 4-issue index loads in 3.8 ms instead
# of 3.1; a 40,500-passage index (164 MB, the 1,000-issue scale) in 1.10 s instead of 0.89.
HASH_ON_LOAD = True
# gen-<date>T<time>[.<microseconds>]-<random hex>: names sort by age; nothing else is a generation.
GEN_NAME = re.compile(r"gen-\d{8}T\d{6}(?:\.\d{6})?-[0-9a-f]+")


@dataclass(frozen=True)
class IssueEntry:
    """What the manifest records of one indexed issue."""
    source: str
    """The corpus file name it was read from."""
    sha256: str
    """Hash of that file's bytes: a file with the same name and hash is not read again."""
    chunks: int
    """Its rows in chunks.jsonl (and vectors.npy)."""

    @classmethod
    def from_dict(cls, d) -> "IssueEntry":
        if not (isinstance(d, dict) and isinstance(d.get("source"), str) and isinstance(d.get("sha256"), str)
                and isinstance(d.get("chunks"), int) and not isinstance(d.get("chunks"), bool)):
            raise ValueError("an issue entry needs source, sha256 and chunks")
        return cls(source=d["source"], sha256=d["sha256"], chunks=d["chunks"])


@dataclass(frozen=True)
class Manifest:
    """The description of one generation, saved as its manifest.json (written last)."""
    model: str
    """Name of the embedding model the vectors come from; another model means a full rebuild."""
    dim: int
    """Width of each vector."""
    chunking: dict
    """The settings the chunks were cut with; other settings mean a full rebuild."""
    issues: dict[str, IssueEntry]
    """Issue date -> its entry."""
    created: str = ""
    """When the generation was written (local time, ISO 8601)."""
    backend: str = ""
    """What ran the model ("onnx" or "torch"); never forces a rebuild, as both give the same vectors."""
    rows: int = 0
    """Chunks in the generation: lines of chunks.jsonl, rows of vectors.npy, FAISS and BM25 documents."""
    files: dict[str, FileEntry] = field(default_factory=dict)
    """Every other file of the generation by path relative to its folder: size and SHA-256."""
    format: int = FORMAT
    """Layout version; a generation of another version is not read (it is rebuilt)."""
    extra: dict = field(default_factory=dict)
    """Keys this version does not know, kept so another writer's additions survive a round trip."""

    def to_dict(self) -> dict:
        known = {"format": self.format, "model": self.model, "backend": self.backend, "dim": self.dim,
                 "chunking": self.chunking, "created": self.created, "rows": self.rows,
                 "issues": {d: {"source": e.source, "sha256": e.sha256, "chunks": e.chunks}
                            for d, e in self.issues.items()},
                 "files": {p: f.to_dict() for p, f in self.files.items()}}
        return {**self.extra, **known}

    @classmethod
    def from_dict(cls, d) -> "Manifest":
        """Raises ValueError naming what is missing or of the wrong type."""
        if not isinstance(d, dict):
            raise ValueError("is not a JSON object")
        kinds = {"format": int, "model": str, "dim": int, "chunking": dict, "issues": dict, "rows": int,
                 "files": dict}
        for key, kind in kinds.items():
            if not isinstance(d.get(key), kind) or isinstance(d.get(key), bool):
                raise ValueError(f"has no valid {key!r}")
        try:
            issues = {date: IssueEntry.from_dict(e) for date, e in d["issues"].items()}
            files = {p: FileEntry.from_dict(f) for p, f in d["files"].items()}
        except ValueError as e:
            raise ValueError(f"has an invalid entry: {e}") from None
        return cls(model=d["model"], dim=d["dim"], chunking=d["chunking"], issues=issues,
                   created=str(d.get("created", "")), backend=str(d.get("backend", "")), rows=d["rows"],
                   files=files, format=d["format"],
                   extra={k: v for k, v in d.items() if k not in {*kinds, "created", "backend"}})

    def required_files(self) -> list[str]:
        """Files a reader opens, which must be listed (and the files in bm25/, whatever bm25s wrote)."""
        return ["chunks.jsonl", "vectors.npy", "units.npy", "dense.faiss", "bm25/df.json",
                *(f"issues/{d}.json" for d in self.issues)]


def read_manifest(folder: Path) -> Manifest:
    path = folder / "manifest.json"
    with reading(path):
        raw = path.read_bytes()
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise IndexDamaged(path, "is not valid JSON (truncated or garbled)") from None
    if isinstance(data, dict) and data.get("format") != FORMAT and isinstance(data.get("format"), int):
        raise IndexDamaged(path, f"is index format {data['format']}; this version reads format {FORMAT}")
    try:
        return Manifest.from_dict(data)
    except ValueError as e:
        raise IndexDamaged(path, str(e)) from None


def peek_manifest(index_dir: Path) -> Manifest | None:
    """The live generation's manifest if it reads, else None; never raises (for reports only)."""
    gen = current_generation(index_dir)
    try:
        return read_manifest(Path(index_dir) / gen) if gen else None
    except IndexDamaged:
        return None


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
    manifest: Manifest
    chunks: list[Chunk]
    vectors: np.ndarray
    dense: VectorIndex
    lexicon: Lexicon
    issues: dict[str, Issue]
    unit_vectors: np.ndarray | None = None
    """One row per Chunk.units entry, chunk by chunk; `unit_start[r]:unit_start[r + 1]` are chunk r's."""
    generation: str = ""
    rows_by_issue: dict[str, np.ndarray] = field(default_factory=dict)
    live: str | None = None
    """What CURRENT named when this was loaded: a reader reloads when CURRENT changes."""
    damaged: str = ""
    """When this is not the generation CURRENT names: what is wrong with that one ("file: problem")."""

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

    @property
    def warning(self) -> str:
        """Empty when serving the live generation; else one line saying what is served and why."""
        if not self.damaged:
            return ""
        return (f"{self.damaged}; answering from {self.generation} (built {self.manifest.created or '?'}), "
                "the newest generation that verifies, until `qa index` repairs the index")


def current_generation(index_dir: Path) -> str | None:
    """The generation CURRENT names, or None when CURRENT is missing or garbled. Never raises."""
    try:
        with open(Path(index_dir) / "CURRENT", "rb") as f:
            name = f.read(256).decode("utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return name if GEN_NAME.fullmatch(name) else None


def generations(index_dir: Path) -> list[str]:
    """Generation folders (by name; not yet verified), newest first."""
    try:
        entries = list(Path(index_dir).iterdir())
    except OSError:
        return []
    return sorted((p.name for p in entries if GEN_NAME.fullmatch(p.name) and p.is_dir() and not p.is_symlink()),
                  reverse=True)


def load_snapshot(index_dir: Path, hashes: bool = HASH_ON_LOAD) -> Snapshot:
    """The live generation, verified; when it fails, the newest other generation that verifies,
    with `damaged` set. Raises IndexMissing (no index) or IndexDamaged (nothing verifies)."""
    index_dir = Path(index_dir)
    for attempt in range(3):
        live = current_generation(index_dir)
        try:
            if live is None:
                raise _current_problem(index_dir)
            return load_generation(index_dir / live, hashes, live=live)
        except IndexDamaged as e:
            if current_generation(index_dir) != live:
                time.sleep(0.05 * (attempt + 1))  # a writer swapped generations while we read: read again
                continue
            for gen in generations(index_dir):
                if gen == live:
                    continue
                try:
                    return load_generation(index_dir / gen, hashes=True, live=live, damaged=e.where)
                except IndexDamaged:
                    continue
            raise
    raise IndexDamaged(index_dir / "CURRENT", "keeps changing while it is read (another process is writing)",
                       "try again in a moment")


def _current_problem(index_dir: Path) -> IndexMissing:
    path = index_dir / "CURRENT"
    if path.is_dir():
        return IndexDamaged(path, "is a folder, not a file")
    if not path.exists():
        if not generations(index_dir):
            return IndexMissing(f"no index in {index_dir}: run `qa index` first")
        return IndexDamaged(path, "is missing")
    return IndexDamaged(path, "does not name a generation (empty or garbled)")


def load_generation(folder: Path, hashes: bool = HASH_ON_LOAD, live: str | None = None,
                    damaged: str = "") -> Snapshot:
    """One generation, checked against its manifest; raises IndexDamaged naming the file at fault."""
    if not folder.is_dir():
        raise IndexDamaged(folder, "does not exist (CURRENT names it)" if folder.name == live else "does not exist")
    manifest = read_manifest(folder)
    # bm25s reads every file of its folder, so each must be listed (and so checked), whatever they are.
    bm25 = sorted(f"bm25/{p.name}" for p in (folder / "bm25").iterdir()) if (folder / "bm25").is_dir() else []
    check_files(folder, manifest.files, manifest.required_files() + bm25, hashes)
    path = folder / "chunks.jsonl"
    with reading(path), open(path, encoding="utf-8") as f:
        chunks = [Chunk.from_dict(json.loads(line)) for line in f]
    expect_rows(path, "passages", len(chunks), manifest.rows)
    path = folder / "vectors.npy"
    with reading(path):
        vectors = np.load(path, allow_pickle=False)
    if vectors.dtype != np.float32 or vectors.shape != (manifest.rows, manifest.dim):
        raise IndexDamaged(path, f"is a {vectors.dtype} array of shape {vectors.shape}, the manifest says "
                                 f"float32 ({manifest.rows}, {manifest.dim})")
    path = folder / "units.npy"
    with reading(path):
        unit_vectors = np.load(path, allow_pickle=False)
    units = sum(len(c.units) for c in chunks)
    if unit_vectors.dtype != np.float32 or unit_vectors.shape != (units, manifest.dim):
        raise IndexDamaged(path, f"is a {unit_vectors.dtype} array of shape {unit_vectors.shape}; the passages "
                                 f"have {units} quotable units of dimension {manifest.dim}")
    path = folder / "dense.faiss"
    with reading(path):
        dense = FaissIndex.load(path)
    expect_rows(path, "vectors", dense.index.ntotal, manifest.rows)
    if dense.index.d != manifest.dim:
        raise IndexDamaged(path, f"holds {dense.index.d}-dimensional vectors, the manifest says {manifest.dim}")
    path = folder / "bm25"
    with reading(path):
        lexicon = Lexicon.load(path)
    expect_rows(path / "df.json", "documents", lexicon.n_docs, manifest.rows)
    expect_rows(path, "documents", lexicon.bm25_docs, manifest.rows)
    issues = {}
    for date in manifest.issues:
        path = folder / "issues" / f"{date}.json"
        with reading(path):
            issue = Issue.from_dict(json.loads(path.read_text(encoding="utf-8")))
        if issue.date != date:
            raise IndexDamaged(path, f"holds the issue of {issue.date}, not {date}")
        issues[date] = issue
    per_issue = Counter(c.issue_date for c in chunks)
    for date, entry in manifest.issues.items():
        expect_rows(folder / "chunks.jsonl", f"passages of issue {date}", per_issue.pop(date, 0), entry.chunks)
    if per_issue:
        raise IndexDamaged(folder / "chunks.jsonl", f"holds passages of issues the manifest does not list "
                                                    f"({', '.join(sorted(per_issue))})")
    return Snapshot(manifest=manifest, chunks=chunks, vectors=vectors, dense=dense, lexicon=lexicon,
                    issues=issues, unit_vectors=unit_vectors, generation=folder.name, live=live, damaged=damaged)
