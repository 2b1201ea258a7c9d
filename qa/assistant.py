"""The Python API: one `Assistant` per index, used by the CLI, the web UI and notebooks.

    from qa import Assistant
    qa = Assistant()                       # ./corpus and ./index, or QA_* environment
    print(qa.ask("What are the new energy storage targets for 2027?").text)

Searches run against an immutable snapshot of the index. `update` and `add_issue` build a
new generation on disk and swap the snapshot in afterwards, so a question in flight
finishes on the old one and the next question sees the new issue, with no restart.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from .answer import Answerer, ExtractiveAnswerer
from .embed import Embedder, make_embedder
from .indexer import Progress, UpdateReport, update_index
from .parse import SUFFIXES, parse_issue, read_intake
from .query import Filters, interpret
from .retrieve import SearchResult, search
from .schema import ARTICLE, Answer, CORPORATE_NEWS, Issue, IssueError, POLICY_NEWS, Section
from .settings import Settings
from .store import Snapshot, current_generation, load_snapshot


@dataclass(frozen=True)
class Preview:
    """What an uploaded file would add, shown before anything is indexed."""
    issue: Issue
    status: str
    """"new", "same" (already indexed, identical), or "changed" (same date, different content)."""
    existing_source: str | None
    target_name: str
    """The corpus file name it would be saved as (derived from the issue date, never the upload name)."""
    pages: int | None = None
    """Page count when the upload is a PDF."""
    seconds: float = 0.0
    """Time taken to extract a PDF's text."""

    def summary(self) -> dict:
        return {**issue_summary(self.issue, None), "status": self.status,
                "existing_source": self.existing_source, "target_name": self.target_name,
                "pages": self.pages, "extraction_seconds": round(self.seconds, 2)}


def issue_summary(issue: Issue, snap: Snapshot | None) -> dict:
    counts = {}
    if snap:
        for c in snap.chunks:
            if c.issue_date == issue.date:
                counts[c.section_id] = counts.get(c.section_id, 0) + 1
    news = {s.kind: len(s.parts) for s in issue.sections if s.kind != ARTICLE}
    return {
        "issue_date": issue.date, "title": issue.title, "source": issue.source,
        "period_start": issue.period_start, "period_end": issue.period_end,
        "authors": list(issue.authors), "editors": list(issue.editors),
        "articles": [s.title for s in issue.articles],
        "sections": [{"id": s.id, "kind": s.kind, "heading": s.heading, "chunks": counts.get(s.id, 0)}
                     for s in issue.sections],
        "policy_news": news.get(POLICY_NEWS, 0), "corporate_news": news.get(CORPORATE_NEWS, 0),
        "chunks": sum(counts.values()), "warnings": list(issue.warnings),
    }


class Assistant:
    def __init__(self, settings: Settings | None = None, embedder: Embedder | None = None,
                 answerer: Answerer | None = None):
        self.settings = settings or Settings.load()
        self._embedder = embedder
        self.answerer = answerer or ExtractiveAnswerer()
        self._snapshot: Snapshot | None = None
        self._swap = threading.Lock()

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = make_embedder(self.settings)
        return self._embedder

    @property
    def snapshot(self) -> Snapshot:
        """The live index; reloaded when another process published a newer generation."""
        snap = self._snapshot
        index_dir = Path(self.settings.index_dir)
        if snap is None or snap.generation != current_generation(index_dir):
            with self._swap:
                if self._snapshot is None or self._snapshot.generation != current_generation(index_dir):
                    self._snapshot = load_snapshot(index_dir)
                snap = self._snapshot
        return snap

    # Questions -------------------------------------------------------------------------

    def search(self, question: str, k: int | None = None, filters: Filters | None = None,
               history: list[dict] | None = None) -> SearchResult:
        snap = self.snapshot
        query = interpret(question, history, filters, snap.dates, self.settings.today,
                          self.settings.max_question_chars)
        return search(snap, self.embedder, query, self.settings, k)

    def ask(self, question: str, filters: Filters | None = None, history: list[dict] | None = None) -> Answer:
        snap = self.snapshot
        query = interpret(question, history, filters, snap.dates, self.settings.today,
                          self.settings.max_question_chars)
        result = search(snap, self.embedder, query, self.settings, max(self.settings.k, 5))
        return self.answerer.compose(result, snap, self.settings)

    def compose(self, result: SearchResult) -> Answer:
        """The answer to a search already run (e.g. with k=10 for evaluation)."""
        return self.answerer.compose(result, self.snapshot, self.settings)

    # The library -----------------------------------------------------------------------

    def list_issues(self) -> list[dict]:
        snap = self.snapshot
        return [issue_summary(snap.issues[d], snap) for d in sorted(snap.issues, reverse=True)]

    def get_issue(self, date: str) -> Issue:
        try:
            return self.snapshot.issues[date]
        except KeyError:
            raise KeyError(f"no issue dated {date} in the index") from None

    def get_section(self, date: str, section_id: str) -> Section:
        return self.get_issue(date).section(section_id)

    # Changing the index ----------------------------------------------------------------

    def update(self, rebuild: bool = False, progress: Progress | None = None) -> UpdateReport:
        report = update_index(self.settings, self.embedder, rebuild=rebuild, progress=progress)
        with self._swap:
            self._snapshot = load_snapshot(Path(self.settings.index_dir))
        return report

    def preview(self, data: bytes, filename: str, progress: Progress | None = None) -> Preview:
        """Parse an upload without touching corpus or index; raises IssueError with the reason."""
        name = safe_display_name(filename)
        limit = self.settings.max_pdf_bytes if name.lower().endswith(".pdf") else self.settings.max_upload_bytes
        if len(data) > limit:
            raise IssueError(f"{name}: {len(data):,} bytes is larger than the {limit:,}-byte limit")
        intake = read_intake(data, name, progress)
        issue = parse_issue(intake.text, name, hashlib.sha256(data).hexdigest())
        target = f"merics-china-industries-{issue.date}{_suffix(name)}"
        existing = None
        try:
            info = self.snapshot.manifest["issues"].get(issue.date)
        except FileNotFoundError:
            info = None
        if info:
            existing = info["source"]
            status = "same" if info["sha256"] == issue.sha256 else "changed"
        else:
            status = "new"
        return Preview(issue=issue, status=status, existing_source=existing, target_name=target,
                       pages=intake.pages, seconds=intake.seconds)

    def add_issue(self, data: bytes, filename: str, replace: bool = False,
                  progress: Progress | None = None, preview: Preview | None = None) -> UpdateReport:
        """Save an uploaded issue into the corpus under a name derived from its date, then update.

        `preview`: this upload's preview, made just before, so a PDF is not read once more.
        """
        if preview is None or preview.issue.sha256 != hashlib.sha256(data).hexdigest():
            preview = self.preview(data, filename)
        if preview.status == "same":
            report = UpdateReport(unchanged=[preview.issue.date])
            report.warnings.append(f"{preview.issue.source}: issue {preview.issue.date} is already indexed, unchanged")
            return report
        if preview.status == "changed" and not replace:
            raise IssueError(f"{preview.issue.source}: issue {preview.issue.date} is already indexed "
                             f"(as {preview.existing_source}) with different content; confirm to replace it")
        corpus = Path(self.settings.corpus_dir)
        corpus.mkdir(parents=True, exist_ok=True)
        target = corpus / preview.target_name
        tmp = corpus / f".upload-{hashlib.sha1(data).hexdigest()[:12]}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, target)
        if preview.existing_source and preview.existing_source != target.name:
            old = corpus / Path(preview.existing_source).name
            if old.exists():
                old.unlink()
        return self.update(progress=progress)


def safe_display_name(filename: str) -> str:
    """The upload's base name, for messages only: never used as a path."""
    base = re.split(r"[\\/]", filename or "")[-1]
    base = re.sub(r"[^\w.\- ()]", "_", base).strip(" .") or "upload"
    return base[:120]


def _suffix(name: str) -> str:
    low = name.lower()
    return next((s for s in SUFFIXES if low.endswith(s)), ".txt").replace(".markdown", ".md")
