"""Build or update the index from the corpus folder, incrementally and atomically.

Unchanged files (same name, same bytes) are neither parsed nor embedded again: their
chunks and vectors are copied from the live generation. A changed issue re-embeds only
chunks whose embedded text changed. A different model or chunk budget means a full rebuild;
a different backend (ONNX or torch) does not, since both give the same vectors. Each update
first makes the ONNX export of the model in index/models/ when it is missing or damaged.

Only a generation whose every file matches its manifest's hashes is reused. When the live
one is damaged, the update repairs: it reuses the newest generation that verifies, or
re-embeds everything when none does. `--rebuild` reads nothing of the old index, so it
works from any state of index/. `check_index` is `qa index --check`.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .chunk import chunk_issue, enforce_limit, unit_embed_texts
from .embed import Embedder, make_embedder, model_folder, resolve_model
from .parse import SUFFIXES, read_issue
from .progress import Phase, Progress, Step
from .schema import Chunk, Issue, IssueError
from .settings import Settings
from .store import (IndexDamaged, IndexMissing, IssueEntry, Manifest, Snapshot, current_generation, generations,
                    load_generation, load_snapshot, peek_manifest)
from .writer import publish, sweep, write_generation, writer_lock

class EmptyCorpus(ValueError):
    """Nothing in the corpus can be indexed; the live index is kept."""


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
    sentences_embedded: int = 0
    """Quotable units (sentences, list items) newly embedded; the others reuse their vectors."""
    chunks_total: int = 0
    seconds: float = 0.0
    rebuilt: str = ""
    """Why everything was re-embedded, when it was ("no index yet", "model changed ...")."""
    repaired: str = ""
    """What was wrong with the live generation this run replaced ("file: problem"), when it was damaged."""
    generation: str = ""
    exported: str = ""
    """The ONNX export of the model this run made (index/models/<hash>), if it made one."""

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed or self.rebuilt or self.repaired)

    def summary(self) -> str:
        parts = [f"{len(self.added)} added", f"{len(self.updated)} updated", f"{len(self.removed)} removed",
                 f"{len(self.unchanged)} unchanged"]
        line = (f"Issues: {', '.join(parts)}; {self.chunks_embedded} of {self.chunks_total} chunks embedded "
                f"in {self.seconds:.1f} s")
        if self.rebuilt:
            line = f"Full rebuild ({self.rebuilt}). " + line
        if self.repaired:
            line = f"Repaired a damaged index ({self.repaired}). " + line
        if not self.changed:
            line = f"Index up to date. {line}"
        if self.exported:
            line += f". Made the ONNX export of the model that questions run on: {self.exported}"
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
    with writer_lock(Path(settings.index_dir)):
        # The export of the configured model, which questions will run on; not when the caller
        # indexes with another model (a stand-in), whose vectors that export would not match.
        same_model = embedder is None or embedder.name == resolve_model(settings.model)[1]
        exported, problems = prepare_export(settings) if same_model else ("", [])
        report = _update(settings, embedder or make_embedder(settings), rebuild, progress)
    report.exported = exported
    report.warnings[:0] = problems
    return report


def prepare_export(settings: Settings) -> tuple[str, list[str]]:
    """Make the ONNX export that questions run on, when it is missing or damaged:
    (its folder if this call made it, else ""; warnings when it cannot be made)."""
    folder = model_folder(settings)
    if folder is None:
        return "", []
    from .onnx_export import ExportError, ensure_export
    try:
        export, made = ensure_export(Path(settings.index_dir), folder)
    except ExportError as e:
        return "", [f"{e}; questions will use torch"]
    return (str(export) if made else ""), []


def _reusable(index_dir: Path, embedder: Embedder, chunking: dict, rebuild: bool,
              report: UpdateReport) -> tuple[Snapshot | None, dict[str, IssueEntry]]:
    """The verified generation whose chunks and vectors may be reused (None: embed everything),
    and the issues indexed before, to report changes against. Sets report.rebuilt / repaired."""
    if rebuild:
        # --rebuild reads nothing it replaces: a garbled manifest only costs the report its "before".
        report.rebuilt = "asked for"
        prior = peek_manifest(index_dir)
        return None, prior.issues if prior else {}
    try:
        old = load_snapshot(index_dir, hashes=True)
    except IndexDamaged as e:
        report.rebuilt = "no generation of the index verifies"
        report.repaired = e.where
        prior = peek_manifest(index_dir)
        return None, prior.issues if prior else {}
    except IndexMissing:
        report.rebuilt = "no index yet"
        return None, {}
    if old.damaged:
        report.repaired = f"{old.damaged}; reused what verifies in {old.generation}"
    m = old.manifest
    if m.model != embedder.name:
        report.rebuilt = f"model changed from {m.model} to {embedder.name}"
    elif m.chunking != chunking:
        report.rebuilt = f"chunking changed from {m.chunking} to {chunking}"
    return (None if report.rebuilt else old), m.issues


def _update(settings: Settings, embedder: Embedder, rebuild: bool, progress: Progress | None) -> UpdateReport:
    """The body of update_index; the caller holds the writer lock."""
    t0 = time.perf_counter()
    report = UpdateReport()
    index_dir = Path(settings.index_dir)
    chunking = chunking_settings(settings, embedder)
    old, before = _reusable(index_dir, embedder, chunking, rebuild, report)

    old_by_source = {e.source: (date, e) for date, e in (old.manifest.issues if old else {}).items()}
    issues: dict[str, Issue] = {}
    kept_chunks: dict[str, list[int]] = {}  # issue date -> rows in the old snapshot
    fresh: list[Issue] = []
    files = corpus_files(Path(settings.corpus_dir))
    for n, path in enumerate(files):
        if progress:
            progress(n, len(files), Step(Phase.READING, path.name))
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        prior = old_by_source.get(path.name)
        if prior and prior[1].sha256 == digest:
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
    report.removed = sorted(set(before) - set(issues))
    for d in sorted(issues):
        if d in kept_chunks or (d in before and before[d].sha256 == issues[d].sha256):
            report.unchanged.append(d)
        else:
            (report.updated if d in before else report.added).append(d)

    if old and not report.changed:
        # Nothing to write; still clear what crashed writers left (the lock is ours).
        others = [g for g in generations(index_dir) if g != old.generation][:1]
        sweep(index_dir, {old.generation, *others})
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
    unit_vectors, report.sentences_embedded = _embed_units(embedder, chunks, old, progress)
    if progress:
        progress(1, 1, Step(Phase.WRITING))
    manifest = Manifest(model=embedder.name, backend=str(embedder.backend), dim=embedder.dim, chunking=chunking,
                        created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                        issues={d: IssueEntry(source=i.source, sha256=i.sha256,
                                              chunks=sum(1 for c in chunks if c.issue_date == d))
                                for d, i in issues.items()})
    folder = write_generation(index_dir, manifest, chunks, vectors, list(issues.values()), unit_vectors)
    publish(index_dir, folder, keep=old.generation if old else None)
    report.generation = folder.name
    report.chunks_total = len(chunks)
    report.seconds = time.perf_counter() - t0
    return report


def add_issue_file(settings: Settings, embedder: Embedder, data: bytes, target_name: str, date: str,
                   replaces: str | None = None, progress: Progress | None = None) -> UpdateReport:
    """Save an upload as corpus/`target_name` (dropping `replaces`, the file it supersedes) and
    index it, under the writer lock. The upload lands in corpus and index together or in
    neither: when indexing fails or refuses it, the corpus is put back as it was."""
    corpus = Path(settings.corpus_dir)
    with writer_lock(Path(settings.index_dir)):
        corpus.mkdir(parents=True, exist_ok=True)
        target = corpus / target_name
        old = corpus / Path(replaces).name if replaces and Path(replaces).name not in ("", ".", "..") else None
        saved = {p: p.read_bytes() for p in (target, old) if p is not None and p.is_file()}
        try:
            _write_atomic(target, data)
            if old is not None and old != target and old.is_file():
                old.unlink()
            report = _update(settings, embedder, False, progress)
            refusal = next((r for r in report.refused if r.startswith(f"{target_name}:")), None)
            if refusal is None and date in report.added + report.updated + report.unchanged:
                return report
        except BaseException:
            _restore(target, saved)
            raise
        _restore(target, saved)
        _update(settings, embedder, False, None)  # the index follows the corpus back
        raise IssueError(refusal or f"{target_name}: issue {date} was not indexed; the corpus is unchanged")


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".upload-{hashlib.sha1(data).hexdigest()[:12]}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _restore(target: Path, saved: dict[Path, bytes]) -> None:
    if target not in saved:
        target.unlink(missing_ok=True)
    for path, data in saved.items():
        _write_atomic(path, data)


def _pages(progress: Progress | None, name: str) -> Progress | None:
    """A PDF's page progress, naming the file ("pages of <file>")."""
    if progress is None:
        return None
    return lambda done, total, _what: progress(done, total, Step(Phase.PAGES, name))


def _key(c: Chunk) -> str:
    return hashlib.sha1(c.embed_text.encode()).hexdigest()


def _embed_units(embedder: Embedder, chunks: list[Chunk], old, progress: Progress | None) -> tuple[np.ndarray, int]:
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
            progress(done, len(todo), Step(Phase.EMBEDDING_SENTENCES))

    if todo:
        if progress:
            progress(0, len(todo), Step(Phase.EMBEDDING_SENTENCES))
        known.update(zip(todo, embedder.embed(todo, progress=step)))
    if not texts:
        return np.zeros((0, embedder.dim), np.float32), len(todo)
    return np.vstack([known[t] for t in texts]).astype(np.float32), len(todo)


def _embed(embedder: Embedder, chunks: list[Chunk], progress: Progress | None) -> np.ndarray:
    done = 0

    def step(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(done, len(chunks), Step(Phase.EMBEDDING))

    if not chunks:
        return np.zeros((0, embedder.dim), np.float32)
    if progress:
        progress(0, len(chunks), Step(Phase.EMBEDDING))  # the bar appears before the first batch is done
    return embedder.embed([c.embed_text for c in chunks], progress=step)


@dataclass
class IndexHealth:
    """What `qa index --check` found: every generation hashed and counted."""
    index_dir: str
    live: str | None
    """The generation CURRENT names (None: CURRENT is missing or garbled)."""
    problems: dict[str, str] = field(default_factory=dict)
    """Generation (or "CURRENT") -> "file: problem"; verified generations are absent."""
    verified: dict[str, str] = field(default_factory=dict)
    """Generation -> "N issues, M passages, built ..." for those that verify."""
    serving: str | None = None
    """What a reader uses now: the live generation, a fallback, or None."""

    @property
    def ok(self) -> bool:
        return self.live is not None and self.serving == self.live

    def lines(self) -> list[str]:
        out = []
        if self.live is None:
            out.append(f"CURRENT: {self.problems.get('CURRENT', 'missing')}")
        for gen in sorted({*self.problems, *self.verified} - {"CURRENT"}, reverse=True):
            role = " (live)" if gen == self.live else " (served instead)" if gen == self.serving else ""
            out.append(f"{gen}{role}: " + (f"verified, {self.verified[gen]}" if gen in self.verified
                                          else f"DAMAGED: {self.problems[gen]}"))
        if not self.ok:
            out.append("run `qa index` to repair the index" if self.serving or self.problems
                       else f"no index in {self.index_dir}: run `qa index` first")
        return out

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__} | {"ok": self.ok}


def check_index(index_dir: Path) -> IndexHealth:
    """Hash and count every generation in `index_dir` (readers only compare what they load)."""
    index_dir = Path(index_dir)
    health = IndexHealth(index_dir=str(index_dir), live=current_generation(index_dir))
    if health.live is None and (index_dir / "CURRENT").exists():
        health.problems["CURRENT"] = "does not name a generation (empty, garbled or a folder)"
    names = generations(index_dir)
    if health.live and health.live not in names:
        health.problems[health.live] = f"{index_dir / health.live}: does not exist (CURRENT names it)"
    for gen in names:
        try:
            snap = load_generation(index_dir / gen, hashes=True, live=health.live)
        except IndexDamaged as e:
            health.problems[gen] = e.where
            continue
        health.verified[gen] = (f"{len(snap.issues)} issues, {len(snap.chunks)} passages, "
                                f"built {snap.manifest.created or '?'}")
    health.serving = health.live if health.live in health.verified else next(iter(health.verified), None)
    return health
