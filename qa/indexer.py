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

An update is four stages, each a plain function over the previous one's result:
  plan    `plan_update`: the generation to reuse or why everything is re-embedded, and each
          corpus file added, updated, unchanged, removed or refused (a `Plan`)
  chunk   `chunk_changed` cuts what changed; `arrange_rows` lays it out with the kept rows
  embed   `embed_passages`, `embed_units`: only texts no earlier generation embedded
  write   `write_update` writes the generation aside and swaps it in (`keep_live` when
          nothing changed)
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
    # version 2: chunks carry their quotable units, each embedded. 3: a small last piece of a part joins
    # the one before it, and the parser reads more layouts (labels on their own line, plain-text charts).
    return {"chunk_tokens": settings.index.chunk_tokens, "max_tokens": embedder.max_tokens, "version": 3}


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


def _update(settings: Settings, embedder: Embedder, rebuild: bool, progress: Progress | None) -> UpdateReport:
    """The body of update_index, stage by stage; the caller holds the writer lock."""
    t0 = time.perf_counter()
    index_dir = Path(settings.index_dir)
    plan = plan_update(settings, embedder, rebuild, progress)
    report = plan.report
    if plan.old and not report.changed:
        keep_live(index_dir, plan.old)
        report.chunks_total = len(plan.old.chunks)
        report.generation = plan.old.generation
    else:
        rows = arrange_rows(plan, chunk_changed(plan.fresh, settings.index.chunk_tokens, embedder, report))
        vectors, report.chunks_embedded = embed_passages(embedder, rows, plan.old, progress)
        unit_vectors, report.sentences_embedded = embed_units(embedder, rows.chunks, plan.old, progress)
        report.generation = write_update(index_dir, plan, embedder, rows.chunks, vectors, unit_vectors, progress)
        report.chunks_total = len(rows.chunks)
    report.seconds = time.perf_counter() - t0
    return report


# Stage 1, plan: what the new generation holds, what it reuses, and what changed --------------

@dataclass
class Plan:
    """What an update will do, worked out before anything is chunked or embedded."""
    report: UpdateReport
    """Filled in so far: added / updated / unchanged / removed / refused, warnings, rebuilt, repaired."""
    chunking: dict
    old: Snapshot | None = None
    """The verified generation whose chunks and vectors are reused; None: everything is embedded."""
    before: dict[str, IssueEntry] = field(default_factory=dict)
    """The issues indexed before (even when `old` is not reused), which the report is made against."""
    issues: dict[str, Issue] = field(default_factory=dict)
    """Date -> issue, for every issue the new generation holds."""
    kept: dict[str, list[int]] = field(default_factory=dict)
    """Date -> its rows in `old`, for issues copied as they are."""
    fresh: list[Issue] = field(default_factory=list)
    """Issues to chunk again (new, changed, or all of them on a full rebuild), in corpus file order."""


def plan_update(settings: Settings, embedder: Embedder, rebuild: bool = False,
                progress: Progress | None = None) -> Plan:
    """Read the corpus against the index: whether everything must be re-embedded (and why),
    and which issue is added, updated, unchanged, removed or refused. Raises EmptyCorpus."""
    plan = Plan(report=UpdateReport(), chunking=chunking_settings(settings, embedder))
    plan.old, plan.before = _reusable(Path(settings.index_dir), embedder, plan.chunking, rebuild, plan.report)
    _read_corpus(plan, corpus_files(Path(settings.corpus_dir)), progress)
    if not plan.issues:
        raise EmptyCorpus(f"{settings.corpus_dir}: no issue could be indexed (no readable .md, .txt or .pdf issue); "
                          "the index was left as it was" + "".join(f"\n  refused: {r}" for r in plan.report.refused))
    classify(plan)
    return plan


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


def _read_corpus(plan: Plan, files: list[Path], progress: Progress | None) -> None:
    """Fill plan.issues / kept / fresh from the corpus files; a refused file goes to the report."""
    old, report = plan.old, plan.report
    old_by_source = {e.source: (date, e) for date, e in (old.manifest.issues if old else {}).items()}
    for n, path in enumerate(files):
        if progress:
            progress(n, len(files), Step(Phase.READING, path.name))
        prior = old_by_source.get(path.name)
        issue = _read_file(path, prior, old, report, progress)
        if issue is None:
            continue
        if issue.date in plan.issues:
            report.refused.append(f"{path.name}: issue {issue.date} is already in the corpus as "
                                  f"{plan.issues[issue.date].source}; remove one of the two files")
            continue
        plan.issues[issue.date] = issue
        if old and prior and old.issues.get(prior[0]) is issue:
            plan.kept[issue.date] = list(old.rows_by_issue.get(issue.date, []))
        else:
            plan.fresh.append(issue)
            report.warnings.extend(f"{issue.source}: {w}" for w in issue.warnings)


def _read_file(path: Path, prior: tuple[str, IssueEntry] | None, old: Snapshot | None, report: UpdateReport,
               progress: Progress | None) -> Issue | None:
    """The issue in `path`: the indexed one when its bytes are those indexed (`prior`: its date and
    entry in `old`), else parsed. None when refused and nothing of it was indexed before."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if prior and prior[1].sha256 == digest:
        return old.issues[prior[0]]
    try:
        return read_issue(path, _pages(progress, path.name))
    except IssueError as e:
        report.refused.append(str(e))
        if not prior:
            return None
        # Keep what was indexed rather than lose the issue to a bad edit.
        report.warnings.append(f"{path.name}: kept the previously indexed version of issue {prior[0]}")
        return old.issues[prior[0]]


def _pages(progress: Progress | None, name: str) -> Progress | None:
    """A PDF's page progress, naming the file ("pages of <file>")."""
    if progress is None:
        return None
    return lambda done, total, _what: progress(done, total, Step(Phase.PAGES, name))


def issue_status(entry: IssueEntry | None, sha256: str) -> str:
    """How an issue stands against the index entry for its date: "new" (none), "same" (the same
    bytes) or "changed" (same date, different content). The indexer's report and the upload
    preview both ask this, and must agree."""
    if entry is None:
        return "new"
    return "same" if entry.sha256 == sha256 else "changed"


def classify(plan: Plan) -> None:
    """Sort the planned issues into the report's added / updated / unchanged / removed, against the
    issues indexed before even on a full rebuild, so the report stays true."""
    report = plan.report
    report.removed = sorted(set(plan.before) - set(plan.issues))
    lists = {"new": report.added, "changed": report.updated, "same": report.unchanged}
    for d in sorted(plan.issues):
        status = "same" if d in plan.kept else issue_status(plan.before.get(d), plan.issues[d].sha256)
        lists[status].append(d)


# Stage 2, chunk: the new and changed issues cut into passages, laid out with the kept rows -----

@dataclass
class Rows:
    """The rows of the new generation, by issue date."""
    chunks: list[Chunk]
    reused: list[int | None]
    """Per row, its row in the old generation when the row is copied from there; None when cut now."""
    cut: list[Chunk]
    """The chunks cut by this update, in the order they were cut (issue by issue in corpus order)."""


def chunk_changed(fresh: list[Issue], chunk_tokens: int, embedder: Embedder, report: UpdateReport) -> list[Chunk]:
    """Chunk `fresh`, each chunk cut to what the model reads; warns of sentences that do not fit."""
    cut: list[Chunk] = []
    oversize: list[str] = []
    for issue in fresh:
        cut.extend(enforce_limit(chunk_issue(issue, chunk_tokens), embedder.count_tokens, embedder.max_tokens,
                                 oversize))
    report.warnings.extend(f"{cid}: a single sentence longer than the model reads; its end is not embedded"
                           for cid in oversize)
    return cut


def arrange_rows(plan: Plan, cut: list[Chunk]) -> Rows:
    """Issue by issue in date order: the chunks just cut for a fresh issue, the old rows for a kept one."""
    rows = Rows(chunks=[], reused=[], cut=cut)
    fresh_dates = {i.date for i in plan.fresh}
    for date in sorted(plan.issues):
        if date in fresh_dates:
            new = [c for c in cut if c.issue_date == date]
            rows.chunks.extend(new)
            rows.reused.extend([None] * len(new))
        else:
            rows.chunks.extend(plan.old.chunks[r] for r in plan.kept[date])
            rows.reused.extend(plan.kept[date])
    return rows


# Stage 3, embed: only texts never embedded before; any vector of the same text is reused ------

def embed_passages(embedder: Embedder, rows: Rows, old: Snapshot | None,
                   progress: Progress | None) -> tuple[np.ndarray, int]:
    """One vector per row, and how many passages were embedded: a kept row keeps its vector, a
    chunk just cut reuses the vector of an old chunk with the same embedded text."""
    cache = {_key(c): i for i, c in enumerate(old.chunks)} if old else {}
    by_key = {k: old.vectors[i] for k, i in cache.items()}
    todo = [c for c in rows.cut if _key(c) not in cache]
    by_key.update(zip(map(_key, todo), _embed_texts(embedder, [c.embed_text for c in todo], Phase.EMBEDDING,
                                                    progress)))
    vectors = [old.vectors[r] if r is not None else by_key[_key(c)] for c, r in zip(rows.chunks, rows.reused)]
    if not vectors:
        return np.zeros((0, embedder.dim), np.float32), len(todo)
    return np.vstack(vectors).astype(np.float32), len(todo)


def embed_units(embedder: Embedder, chunks: list[Chunk], old: Snapshot | None,
                progress: Progress | None) -> tuple[np.ndarray, int]:
    """One vector per quotable unit, chunk by chunk; a unit embedded before (same text read by
    the embedder) reuses its vector, so an incremental update embeds only new sentences."""
    texts = [t for c in chunks for t in unit_embed_texts(c)]
    known: dict[str, np.ndarray] = {}
    if old is not None and len(old.unit_vectors):
        old_texts = [t for c in old.chunks for t in unit_embed_texts(c)]
        known = dict(zip(old_texts, old.unit_vectors))
    todo = list(dict.fromkeys(t for t in texts if t not in known))
    known.update(zip(todo, _embed_texts(embedder, todo, Phase.EMBEDDING_SENTENCES, progress)))
    if not texts:
        return np.zeros((0, embedder.dim), np.float32), len(todo)
    return np.vstack([known[t] for t in texts]).astype(np.float32), len(todo)


def _embed_texts(embedder: Embedder, texts: list[str], phase: Phase, progress: Progress | None) -> np.ndarray:
    """Embed `texts`, reporting `phase` after each of the embedder's batches."""
    if not texts:
        return np.zeros((0, embedder.dim), np.float32)
    what = Step(phase)
    done = 0

    def step(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(done, len(texts), what)

    if progress:
        progress(0, len(texts), what)  # the bar appears before the first batch is done
    return embedder.embed(texts, progress=step)


def _key(c: Chunk) -> str:
    return hashlib.sha1(c.embed_text.encode()).hexdigest()


# Stage 4, write: the new generation written aside, then swapped in ------------------------------

def write_update(index_dir: Path, plan: Plan, embedder: Embedder, chunks: list[Chunk], vectors: np.ndarray,
                 unit_vectors: np.ndarray, progress: Progress | None = None) -> str:
    """Write the generation and make it the live one; returns its name. The old live generation
    stays on disk as the fallback a reader uses if the new one is damaged."""
    if progress:
        progress(1, 1, Step(Phase.WRITING))
    manifest = Manifest(model=embedder.name, backend=str(embedder.backend), dim=embedder.dim, chunking=plan.chunking,
                        created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                        issues={d: IssueEntry(source=i.source, sha256=i.sha256,
                                              chunks=sum(1 for c in chunks if c.issue_date == d))
                                for d, i in plan.issues.items()})
    folder = write_generation(index_dir, manifest, chunks, vectors, list(plan.issues.values()), unit_vectors)
    publish(index_dir, folder, keep=plan.old.generation if plan.old else None)
    return folder.name


def keep_live(index_dir: Path, live: Snapshot) -> None:
    """Nothing to write; still clear what crashed writers left (the lock is ours), keeping the
    live generation and the newest other one."""
    others = [g for g in generations(index_dir) if g != live.generation][:1]
    sweep(index_dir, {live.generation, *others})


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
