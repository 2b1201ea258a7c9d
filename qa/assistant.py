"""The Python API: one `Assistant` per index, used by the CLI, the web UI and notebooks.

    from qa import Assistant
    qa = Assistant()                       # ./corpus and ./index, or QA_* environment
    print(qa.ask("What are the new energy storage targets for 2027?").text)

Searches run against an immutable snapshot of the index. `update` and `add_issue` build a
new generation on disk and swap the snapshot in afterwards, so a question in flight
finishes on the old one and the next question sees the new issue, with no restart.

Front ends (the web UI, MCP tools) need nothing below this class: `index_status` says what
the live index is, `locate_citation` finds a citation's quoted sentences in its whole section.
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

from .answer import Answerer
from .embed import Embedder, make_embedder
from .generate import Draft, make_answerer
from .highlight import Span, locate
from .indexer import Progress, UpdateReport, add_issue_file, issue_status, update_index
from .inputs import chat_history, clean_text, filters_of, question_text, result_count
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


@dataclass(frozen=True)
class IndexStatus:
    """The live index in a few facts, all read from one snapshot."""
    generation: str
    """The generation that answers (an older one when the live one is damaged: see `warning`)."""
    created: str
    """When it was built (local time, ISO 8601), as its manifest records it; "" when unknown."""
    model: str
    """The embedding model it was built with."""
    issues: int
    passages: int
    warning: str
    """Empty, or one line: the live index is damaged and this older one answers until `qa index`."""


@dataclass(frozen=True)
class CitedSection:
    """The whole section a citation comes from, and where in it the quoted sentences are."""
    issue: Issue
    section: Section
    spans: dict[int, list[Span]]
    """{part index: sorted (start, end) offsets in that part's text}; empty when nothing was found."""


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
        self._embedder_given = embedder is not None
        self.answerer = answerer or make_answerer(self.settings, lambda: self.embedder)
        self._snapshot: Snapshot | None = None
        self._swap = threading.Lock()

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = make_embedder(self.settings)
        return self._embedder

    @property
    def snapshot(self) -> Snapshot:
        """The live index, verified; reloaded when another process published a newer generation.
        When the live generation is damaged this is the newest one that verifies (see `index_warning`)."""
        snap = self._snapshot
        index_dir = Path(self.settings.index_dir)
        if snap is None or snap.live != current_generation(index_dir):
            with self._swap:
                if self._snapshot is None or self._snapshot.live != current_generation(index_dir):
                    self._snapshot = load_snapshot(index_dir)
                snap = self._snapshot
        return snap

    @property
    def index_warning(self) -> str:
        """Empty, or one line: the live index is damaged and an older one answers until `qa index`."""
        return self.snapshot.warning

    # Questions -------------------------------------------------------------------------

    def search(self, question: str, k: int | None = None, filters: Filters | None = None,
               history: list[dict] | None = None) -> SearchResult:
        """Ranked passages. Raises QuestionError (with the reason) for a question or an argument
        that cannot be searched, IndexMissing when there is no usable index."""
        k = result_count(k, self.settings.search.k)
        snap = self.snapshot
        return search(snap, self.embedder, self._interpret(snap, question, filters, history), self.settings, k)

    def ask(self, question: str, filters: Filters | None = None, history: list[dict] | None = None) -> Answer:
        """A cited answer, or a refusal that says the issues do not answer it; errors as `search`."""
        snap = self.snapshot
        return self.answerer.compose(self._retrieve(snap, question, filters, history), snap, self.settings)

    def ask_stream(self, question: str, filters: Filters | None = None,
                   history: list[dict] | None = None) -> Iterator[Draft | Answer]:
        """Like `ask`, but an LLM answer arrives as Drafts (its verified sentences so far) before
        the final Answer; the extractive answerer yields the Answer alone. Errors as `search`."""
        snap = self.snapshot
        result = self._retrieve(snap, question, filters, history)
        stream = getattr(self.answerer, "stream", None)
        if stream is None:
            yield self.answerer.compose(result, snap, self.settings)
        else:
            yield from stream(result, snap, self.settings)

    def _retrieve(self, snap: Snapshot, question, filters, history) -> SearchResult:
        query = self._interpret(snap, question, filters, history)
        return search(snap, self.embedder, query, self.settings, max(self.settings.search.k, 5))

    def compose(self, result: SearchResult) -> Answer:
        """The answer to a search already run (e.g. with k=10 for evaluation)."""
        return self.answerer.compose(result, self.snapshot, self.settings)

    def _interpret(self, snap: Snapshot, question, filters, history):
        return interpret(question_text(question), chat_history(history), filters_of(filters), snap.dates,
                         self.settings.today, self.settings.limits.max_question_chars)

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

    def locate_citation(self, issue_date: str, section_id: str, sentences: Sequence[str] = (),
                        chunk_text: str = "", part_index: int | None = None, part_label: str = "") -> CitedSection:
        """The section a citation came from with its quoted `sentences` located, to show them in place.

        The arguments are a citation's fields (`Citation.chunk` holds the chunk's). When the sentences
        cannot be found, the whole chunk text is looked for instead. Raises KeyError, with a message,
        when the issue or the section is no longer in the index (removed or replaced since)."""
        issue = self.get_issue(issue_date)
        section = issue.section(section_id)
        return CitedSection(issue, section, locate(section.parts, list(sentences), chunk_text, part_index, part_label))

    def index_status(self) -> IndexStatus:
        """What the live index is (generation, build time, model, size, warning). Raises IndexMissing
        (IndexDamaged when none verifies) when there is no usable index."""
        snap = self.snapshot
        return IndexStatus(generation=snap.generation, created=snap.manifest.created, model=snap.manifest.model,
                           issues=len(snap.issues), passages=len(snap.chunks), warning=snap.warning)

    # Changing the index ----------------------------------------------------------------

    def update(self, rebuild: bool = False, progress: Progress | None = None) -> UpdateReport:
        report = update_index(self.settings, self._embedder, rebuild=rebuild, progress=progress)
        self._reload()
        with self._swap:
            if not self._embedder_given and self._embedder and self._embedder.backend != self.settings.embed_backend:
                self._embedder = None  # a torch fallback: the update made the ONNX export it lacked
        return report

    def _reload(self) -> None:
        with self._swap:
            self._snapshot = load_snapshot(Path(self.settings.index_dir))

    def preview(self, data: bytes, filename: str, progress: Progress | None = None) -> Preview:
        """Parse an upload without touching corpus or index; raises IssueError with the reason."""
        name = safe_display_name(filename)
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise IssueError(f"{name}: the upload must be the file's bytes, not {type(data).__name__}")
        data = bytes(data)
        limits = self.settings.limits
        limit = limits.max_pdf_bytes if name.lower().endswith(".pdf") else limits.max_upload_bytes
        if len(data) > limit:
            raise IssueError(f"{name}: {len(data):,} bytes is larger than the {limit:,}-byte limit")
        intake = read_intake(data, name, progress)
        issue = parse_issue(intake.text, name, hashlib.sha256(data).hexdigest())
        target = f"merics-china-industries-{issue.date}{_suffix(name)}"
        try:
            info = self.snapshot.manifest.issues.get(issue.date)
        except FileNotFoundError:  # no usable index: adding the issue builds one
            info = None
        # The same test the indexer reports added / updated / unchanged with, so the two agree.
        status = issue_status(info, issue.sha256)
        existing = info.source if info else None
        return Preview(issue=issue, status=status, existing_source=existing, target_name=target,
                       pages=intake.pages, seconds=intake.seconds)

    def add_issue(self, data: bytes, filename: str, replace: bool = False,
                  progress: Progress | None = None, preview: Preview | None = None) -> UpdateReport:
        """Save an uploaded issue into the corpus under a name derived from its date and index it:
        both happen, or (an error, a refusal) neither does.

        `preview`: this upload's preview, made just before, so a PDF is not read once more.
        """
        if (preview is None or not isinstance(data, (bytes, bytearray, memoryview))
                or preview.issue.sha256 != hashlib.sha256(data).hexdigest()):
            preview = self.preview(data, filename)
        if preview.status == "same":
            report = UpdateReport(unchanged=[preview.issue.date])
            report.warnings.append(f"{preview.issue.source}: issue {preview.issue.date} is already indexed, unchanged")
            return report
        if preview.status == "changed" and not replace:
            raise IssueError(f"{preview.issue.source}: issue {preview.issue.date} is already indexed "
                             f"(as {preview.existing_source}) with different content; confirm to replace it")
        report = add_issue_file(self.settings, self.embedder, bytes(data), preview.target_name, preview.issue.date,
                                replaces=preview.existing_source, progress=progress)
        self._reload()
        return report


def safe_display_name(filename: str) -> str:
    """The upload's base name, for messages only: never used as a path."""
    base = re.split(r"[\\/]", clean_text(filename) if isinstance(filename, str) else "")[-1]
    base = re.sub(r"[^\w.\- ()]", "_", base).strip(" .") or "upload"
    return base[:120]


def _suffix(name: str) -> str:
    low = name.lower()
    return next((s for s in SUFFIXES if low.endswith(s)), ".txt").replace(".markdown", ".md")
