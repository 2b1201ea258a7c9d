"""Writing generations of the index: built aside, published atomically, swept; one writer at a time.

The layout is described in `qa/store.py`. A writer holds `writer_lock`, builds a complete
generation in `gen-<time>.tmp/`, renames it, then `publish` points CURRENT at it with one
os.replace: a crash or kill at any moment leaves CURRENT naming a complete generation.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import secrets
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np

from .integrity import IndexDamaged, record_files
from .lexical import Lexicon
from .schema import Chunk, Issue
from .store import FORMAT, FaissIndex, Manifest, current_generation


def write_generation(index_dir: Path, manifest: Manifest, chunks: list[Chunk], vectors: np.ndarray,
                     issues: list[Issue], unit_vectors: np.ndarray) -> Path:
    """Write a complete generation in a new folder, its manifest completed with the row count and
    every file's size and hash; CURRENT is not touched."""
    index_dir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S.%f")  # microseconds: names sort by age
    folder = index_dir / f"gen-{stamp}-{secrets.token_hex(3)}"
    tmp = folder.with_name(folder.name + ".tmp")
    (tmp / "issues").mkdir(parents=True)
    try:
        _write_files(tmp, chunks, vectors, issues, unit_vectors)
        # The manifest goes last: a folder without one is never loaded.
        done = replace(manifest, rows=len(chunks), files=record_files(tmp), format=FORMAT)
        (tmp / "manifest.json").write_text(json.dumps(done.to_dict(), indent=1))
        _fsync_tree(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    os.rename(tmp, folder)
    return folder


def _write_files(tmp: Path, chunks: list[Chunk], vectors: np.ndarray, issues: list[Issue],
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


def publish(index_dir: Path, folder: Path, keep: str | None = None) -> None:
    """Point CURRENT at `folder` atomically, then sweep: what stays is `folder` and `keep` (the
    generation it was built from), or else the generation CURRENT named before."""
    previous = current_generation(index_dir)
    current = index_dir / "CURRENT"
    if current.is_dir() and not current.is_symlink():
        shutil.rmtree(current)  # a stray folder in CURRENT's place; os.replace cannot replace it
    tmp = index_dir / f".CURRENT.{secrets.token_hex(4)}"
    with open(tmp, "w") as f:
        f.write(folder.name + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, current)
    _fsync_dir(index_dir)
    sweep(index_dir, {folder.name, keep or previous})


def sweep(index_dir: Path, keep: set) -> list[str]:
    """Delete generations not in `keep`, half-written ones and CURRENT's temp files; nothing else
    (index/models/, README.md, .lock stay). Only the writer-lock holder calls this."""
    removed = []
    for p in Path(index_dir).iterdir():
        name = p.name
        if name.startswith(".CURRENT.") or (name.startswith("gen-") and name not in keep):
            with contextlib.suppress(OSError):
                shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
                removed.append(name)
    return removed


@contextlib.contextmanager
def writer_lock(index_dir: Path):
    """One writer at a time; a second waits instead of interleaving generations."""
    index_dir = Path(index_dir)
    if index_dir.exists() and not index_dir.is_dir():
        raise IndexDamaged(index_dir, "is a file, not a folder", "move it away, then run `qa index`")
    index_dir.mkdir(parents=True, exist_ok=True)
    lock = index_dir / ".lock"
    if lock.is_dir() and not lock.is_symlink():
        shutil.rmtree(lock, ignore_errors=True)  # a folder can hold no lock: only in the way of the file
    try:
        f = open(lock, "a")
    except OSError as e:
        raise IndexDamaged(lock, f"cannot be opened ({e.strerror})", "remove it, then run `qa index`") from None
    with f:
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
