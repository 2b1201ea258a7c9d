"""Build or update the index from the corpus folder, incrementally and atomically.

Unchanged files (same name, same bytes) are neither parsed nor embedded again: their
chunks and vectors are copied from the live generation. A changed issue re-embeds only
chunks whose embedded text changed. A different model or chunk budget means a full rebuild.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .chunk import chunk_issue, enforce_limit, unit_embed_texts
from .embed import Embedder, make_embedder
from .parse import SUFFIXES, read_issue
from .schema import Chunk, Issue, IssueError
from .settings import Settings
from .store import IndexMissing, load_snapshot, publish, read_manifest, write_generation, writer_lock

class EmptyCorpus(ValueError):
    """Nothing in the corpus can be indexed; the live index is kept."""


# progress(done, total, what)
Progress = Callable[[int, int, str], None]


@dataclass
class UpdateReport:
    added: list[str] = field(default_factory=list)
    """Issue dates new to the index."""
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    """One message per file that could not be indexed, naming the file and the problem."""
    warnings: list[str] = field(default_factory=list)
    chunks_embedded: int = 0
    chunks_total: int = 0
    seconds: float = 0.0
    rebuilt: str = ""
    """Why everything was re-embedded, when it was ("no index yet", "model changed ...")."""
    generation: str = ""

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed or self.rebuilt)

    def summary(self) -> str:
        parts = [f"{len(self.added)} added", f"{len(self.updated)} updated", f"{len(self.removed)} removed",
                 f"{len(self.unchanged)} unchanged"]
        line = (f"Issues: {', '.join(parts)}; {self.chunks_embedded} of {self.chunks_total} chunks embedded "
                f"in {self.seconds:.1f} s")
        if self.rebuilt:
            line = f"Full rebuild ({self.rebuilt}). " + line
        if not self.changed:
            line = f"Index up to date. {line}"
        return line

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__} | {"summary": self.summary()}


def corpus_files(corpus_dir: Path) -> list[Path]:
    if not corpus_dir.is_dir():
        raise FileNotFoundError(f"corpus folder {corpus_dir} does not exist")
    return sorted(p for p in corpus_dir.iterdir()
                  if p.is_file() and p.suffix.lower() in SUFFIXES and not p.name.startswith("."))


def chunking_settings(settings: Settings, embedder: Embedder) -> dict:
    # version 2: chunks carry their quotable units, each embedded.
    return {"chunk_tokens": settings.chunk_tokens, "max_tokens": embedder.max_tokens, "version": 2}


def update_index(settings: Settings, embedder: Embedder | None = None, rebuild: bool = False,
                 progress: Progress | None = None) -> UpdateReport:
    """Bring `settings.index_dir` in line with `settings.corpus_dir`; see the module doc."""
    t0 = time.perf_counter()
    embedder = embedder or make_embedder(settings)
    report = UpdateReport()
    index_dir = Path(settings.index_dir)
    with writer_lock(index_dir):
        old = None
        manifest = read_manifest(index_dir)
        chunking = chunking_settings(settings, embedder)
        if rebuild:
            report.rebuilt = "asked for"
        elif manifest is None:
            report.rebuilt = "no index yet"
        elif manifest["model"] != embedder.name:
            report.rebuilt = f"model changed from {manifest['model']} to {embedder.name}"
        elif manifest["chunking"] != chunking:
            report.rebuilt = f"chunking changed from {manifest['chunking']} to {chunking}"
        else:
            try:
                old = load_snapshot(index_dir)
            except IndexMissing as e:
                report.rebuilt = str(e)

        old_by_source = {info["source"]: (date, info) for date, info in (old.manifest["issues"] if old else {}).items()}
        issues: dict[str, Issue] = {}
        kept_chunks: dict[str, list[int]] = {}  # issue date -> rows in the old snapshot
        fresh: list[Issue] = []
        files = corpus_files(Path(settings.corpus_dir))
        for n, path in enumerate(files):
            if progress:
                progress(n, len(files), f"reading {path.name}")
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            prior = old_by_source.get(path.name)
            if prior and prior[1]["sha256"] == digest:
                issue = old.issues[prior[0]]
            else:
                try:
                    issue = read_issue(path, _pages(progress, path.name))
                except IssueError as e:
                    report.refused.append(str(e))
                    if prior:  # keep what was indexed rather than lose the issue to a bad edit
                        report.warnings.append(f"{path.name}: kept the previously indexed version of issue {prior[0]}")
                        issue = old.issues[prior[0]]
                    else:
                        continue
            if issue.date in issues:
                report.refused.append(f"{path.name}: issue {issue.date} is already in the corpus as "
                                      f"{issues[issue.date].source}; remove one of the two files")
                continue
            issues[issue.date] = issue
            if old and prior and old.issues.get(prior[0]) is issue:
                kept_chunks[issue.date] = list(old.rows_by_issue.get(issue.date, []))
            else:
                fresh.append(issue)
                report.warnings.extend(f"{issue.source}: {w}" for w in issue.warnings)

        if not issues:
            raise EmptyCorpus(f"{settings.corpus_dir}: no issue could be indexed (no readable .md, .txt or .pdf issue); "
                              "the index was left as it was" + "".join(f"\n  refused: {r}" for r in report.refused))
        # Classify against the previous manifest even on a full rebuild, so the report stays true.
        before = manifest["issues"] if manifest else {}
        report.removed = sorted(set(before) - set(issues))
        for d in sorted(issues):
            if d in kept_chunks or (d in before and before[d]["sha256"] == issues[d].sha256):
                report.unchanged.append(d)
            else:
                (report.updated if d in before else report.added).append(d)

        if old and not report.changed:
            report.chunks_total = len(old.chunks)
            report.seconds = time.perf_counter() - t0
            report.generation = old.generation
            return report

        # Chunk the new and changed issues; reuse any vector whose exact text was embedded before.
        cache = {_key(c): i for i, c in enumerate(old.chunks)} if old else {}
        new_chunks: list[Chunk] = []
        oversize: list[str] = []
        for issue in fresh:
            new_chunks.extend(enforce_limit(chunk_issue(issue, settings.chunk_tokens),
                                            embedder.count_tokens, embedder.max_tokens, oversize))
        report.warnings.extend(f"{cid}: a single sentence longer than the model reads; its end is not embedded"
                               for cid in oversize)
        todo = [c for c in new_chunks if _key(c) not in cache]
        vectors_new = _embed(embedder, todo, progress)
        report.chunks_embedded = len(todo)
        by_key = {_key(c): vectors_new[i] for i, c in enumerate(todo)}

        chunks: list[Chunk] = []
        rows: list[np.ndarray] = []
        fresh_dates = {i.date for i in fresh}
        for date in sorted(issues):
            if date in fresh_dates:
                for c in (c for c in new_chunks if c.issue_date == date):
                    chunks.append(c)
                    rows.append(by_key[_key(c)] if _key(c) in by_key else old.vectors[cache[_key(c)]])
            else:
                for r in kept_chunks[date]:
                    chunks.append(old.chunks[r])
                    rows.append(old.vectors[r])
        vectors = np.vstack(rows).astype(np.float32) if rows else np.zeros((0, embedder.dim), np.float32)
        unit_vectors = _embed_units(embedder, chunks, old, progress)
        if progress:
            progress(1, 1, "writing the index")
        folder = write_generation(index_dir, {
            "model": embedder.name, "dim": embedder.dim, "chunking": chunking,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "issues": {d: {"source": i.source, "sha256": i.sha256,
                           "chunks": sum(1 for c in chunks if c.issue_date == d)} for d, i in issues.items()},
        }, chunks, vectors, list(issues.values()), unit_vectors)
        publish(index_dir, folder)
        report.generation = folder.name
        report.chunks_total = len(chunks)
        report.seconds = time.perf_counter() - t0
        return report


def _pages(progress: Progress | None, name: str) -> Progress | None:
    """A PDF's page progress, as "pages of <file>"."""
    if progress is None:
        return None
    return lambda done, total, _what: progress(done, total, f"pages of {name}")


def _key(c: Chunk) -> str:
    return hashlib.sha1(c.embed_text.encode()).hexdigest()


def _embed_units(embedder: Embedder, chunks: list[Chunk], old, progress: Progress | None) -> np.ndarray:
    """One vector per quotable unit, chunk by chunk; a unit embedded before (same text read by
    the embedder) reuses its vector, so an incremental update embeds only new sentences."""
    texts = [t for c in chunks for t in unit_embed_texts(c)]
    known: dict[str, np.ndarray] = {}
    if old is not None and len(old.unit_vectors):
        old_texts = [t for c in old.chunks for t in unit_embed_texts(c)]
        known = dict(zip(old_texts, old.unit_vectors))
    todo = list(dict.fromkeys(t for t in texts if t not in known))
    done = 0

    def step(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(done, len(todo), "embedding sentences")

    if todo:
        if progress:
            progress(0, len(todo), "embedding sentences")
        known.update(zip(todo, embedder.embed(todo, progress=step)))
    if not texts:
        return np.zeros((0, embedder.dim), np.float32)
    return np.vstack([known[t] for t in texts]).astype(np.float32)


def _embed(embedder: Embedder, chunks: list[Chunk], progress: Progress | None) -> np.ndarray:
    done = 0

    def step(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(done, len(chunks), "embedding")

    if not chunks:
        return np.zeros((0, embedder.dim), np.float32)
    if progress:
        progress(0, len(chunks), "embedding")  # the bar appears before the first batch is done
    return embedder.embed([c.embed_text for c in chunks], progress=step)
