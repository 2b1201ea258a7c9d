"""The typed records that flow through the pipeline: parse -> chunk -> index -> search -> answer.

They are plain frozen dataclasses so they serialise to the JSON files of the index
(`to_dict` / `from_dict`) and print readably in a notebook.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from dataclasses import dataclass, field

class Kind(str, enum.Enum):
    """A kind stored in the index and shown in filters: a str, so JSON and comparisons with the
    stored text ("article" == SectionKind.ARTICLE) just work; prints as its value."""

    def __str__(self) -> str:
        return self.value


class SectionKind(Kind):
    """What a section of an issue is; also the values of the search filter."""
    ARTICLE = "article"
    """One of the five Top-5 articles."""
    POLICY_NEWS = "policy_news"
    """The Noteworthy policy news items."""
    CORPORATE_NEWS = "corporate_news"
    """The Noteworthy corporate news items."""

    @property
    def label(self) -> str:
        """How a reader calls it: "Top-5 articles", "Policy news", "Corporate news"."""
        return {"article": "Top-5 articles", "policy_news": "Policy news", "corporate_news": "Corporate news"}[self.value]


class PartKind(Kind):
    """What a part inside a section is."""
    AT_A_GLANCE = "at_a_glance"
    COMMENT = "comment"
    """The MERICS comment."""
    EXPLAINER = "explainer"
    EXHIBIT = "exhibit"
    """A chart: title, legend, data lines, note and source."""
    DOCUMENT = "document"
    """The policy's title, issuing bodies and date."""
    ITEM = "item"
    """One noteworthy news item."""


# Short names, as the stages use them.
ARTICLE, POLICY_NEWS, CORPORATE_NEWS = SectionKind
SECTION_KINDS = tuple(k.value for k in SectionKind)
AT_A_GLANCE, COMMENT, EXPLAINER, EXHIBIT, DOCUMENT, ITEM = PartKind


class IssueError(ValueError):
    """A file that cannot be indexed: the message names the file and what is wrong."""


@dataclass(frozen=True)
class Part:
    kind: PartKind
    label: str
    """What a citation calls it: "At a glance", "MERICS comment", "Policy document", "15 November 2024"."""
    text: str
    """Cleaned display text: markup removed, paragraphs separated by blank lines, bullets as "- " lines."""
    date: str | None = None
    """ISO date of a news item, or of the policy document; None for other parts."""
    sources: tuple[str, ...] = ()
    """News item sources as the issue names them ("Reuters", "MIIT notice")."""


@dataclass(frozen=True)
class Section:
    id: str
    """Unique within the issue: "1".."5" for Top-5 articles, "policy-news", "corporate-news"."""
    kind: SectionKind
    title: str
    """The body heading without its number, or "Policy news" / "Corporate news"."""
    number: int | None = None
    """1..5 for Top-5 articles."""
    parts: tuple[Part, ...] = ()
    policy_title: str | None = None
    """English title of the analysed policy document."""
    policy_title_zh: str | None = None
    """Its Chinese title as printed."""
    issuers: tuple[str, ...] = ()
    """Issuing bodies as printed ("MIIT", "MOF", "NDB")."""
    policy_date: str | None = None
    """ISO date of the policy document."""

    @property
    def heading(self) -> str:
        """The title as a reader sees it in the issue: "2. Fully charged: ..." or "Policy news"."""
        return f"{self.number}. {self.title}" if self.number else self.title


@dataclass(frozen=True)
class Issue:
    date: str
    """ISO date from the masthead; it identifies the issue."""
    source: str
    """File name the issue was read from."""
    sha256: str
    """Hash of the file's bytes, for incremental indexing."""
    sections: tuple[Section, ...]
    period_start: str | None = None
    """Reporting period, ISO dates, when the masthead gives one."""
    period_end: str | None = None
    authors: tuple[str, ...] = ()
    editors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    """Things the parser coped with but a person may want to check."""

    @property
    def title(self) -> str:
        return issue_title(self.date)

    @property
    def articles(self) -> tuple[Section, ...]:
        return tuple(s for s in self.sections if s.kind == ARTICLE)

    def section(self, section_id: str) -> Section:
        for s in self.sections:
            if s.id == section_id:
                return s
        raise KeyError(f"issue {self.date} has no section {section_id!r}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Issue":
        sections = tuple(
            Section(**{**s, "kind": SectionKind(s["kind"]), "issuers": tuple(s["issuers"]),
                       "parts": tuple(Part(**{**p, "kind": PartKind(p["kind"]), "sources": tuple(p["sources"])})
                                      for p in s["parts"])})
            for s in d["sections"]
        )
        return cls(**{**d, "sections": sections, "authors": tuple(d["authors"]),
                      "editors": tuple(d["editors"]), "warnings": tuple(d["warnings"])})


@dataclass(frozen=True)
class Chunk:
    id: str
    """Stable id: "<issue date>/<section id>/<part index>/<piece>"."""
    issue_date: str
    section_id: str
    section_kind: SectionKind
    section_heading: str
    """"2. Fully charged: ..." or "Policy news"."""
    part_kind: PartKind
    part_label: str
    text: str
    """The passage as indexed and as shown to the user."""
    context: str
    """What the embedder reads before the text: issue date, section and part, so that a
    bullet like "Cultivate three to five companies" is tied to its article's topic."""
    dates: tuple[str, ...] = ()
    """ISO dates the passage is about (news item date, policy date), for date filters."""
    units: tuple[str, ...] = ()
    """What an answer may quote from the passage, in order: whole sentences, whole list items,
    or lines (a policy's title/issuer/date block, an exhibit). Each has its own vector in the
    index, so the answer picks the sentence that says what was asked without encoding anything
    at question time."""

    part_index: int = 0
    """Position of the part in its section's `parts` (the part a citation points to)."""

    @property
    def embed_text(self) -> str:
        return f"{self.context}\n{self.text}"

    @property
    def label(self) -> str:
        """How a citation names the passage: "China Industries, 4 December 2024 — 2. Fully charged: ... — At a glance"."""
        return f"{issue_title(self.issue_date)} — {self.section_heading} — {self.part_label}"

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Chunk":
        # Indexes written before part_index was a field keep it only in the id.
        part_index = d.get("part_index", int(d["id"].split("/")[2]))
        return cls(**{**d, "section_kind": SectionKind(d["section_kind"]), "part_kind": PartKind(d["part_kind"]),
                      "part_index": part_index, "dates": tuple(d.get("dates", ())), "units": tuple(d.get("units", ()))})


def passage_dict(c: Chunk) -> dict:
    """What every JSON answer says of a passage: where it is and what it says."""
    return {"issue_date": c.issue_date, "issue_title": issue_title(c.issue_date), "section_id": c.section_id,
            "section": c.section_heading, "part": c.part_label, "part_index": c.part_index, "chunk_id": c.id,
            "text": c.text}


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    score: float
    """Fused score (higher is better); comparable only within one result list."""
    rank: int
    """1-based."""
    dense: float = 0.0
    """Cosine similarity of question and passage."""
    bm25: float = 0.0
    row: int = -1
    """The passage's row in the index it came from (its vectors and units), -1 if unknown."""

    def to_dict(self) -> dict:
        """The JSON form of `qa search --json`, the web API and the MCP tools."""
        return {"rank": self.rank, "score": round(self.score, 6)} | passage_dict(self.chunk)


@dataclass(frozen=True)
class Citation:
    n: int
    """The marker number used in the answer text: [n]."""
    chunk: Chunk
    sentences: tuple[str, ...] = ()
    """The sentences or bullets of the passage the answer quotes, for highlighting."""

    @property
    def issue_date(self) -> str:
        return self.chunk.issue_date

    def label(self) -> str:
        return self.chunk.label

    def to_dict(self) -> dict:
        return {"n": self.n} | passage_dict(self.chunk) | {"label": self.label(), "sentences": list(self.sentences)}


class Outcome(str, enum.Enum):
    """What an answer is: the three cases a reader must be able to tell apart at a glance."""
    ANSWERED = "answered"
    """The cited passages say what was asked."""
    NEAR_MISS = "near_miss"
    """The archive has a closely related passage, cited as such, but not what was asked
    (another year, place, company or figure): "The issues don't give X. Closest: ..."."""
    NOT_FOUND = "not_found"
    """Nothing in the archive answers it (or the question is not in English)."""


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    """The answer with [n] markers; plain text, never HTML."""
    outcome: Outcome = Outcome.ANSWERED
    citations: tuple[Citation, ...] = ()
    hits: tuple[Hit, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)
    """What the assistant assumed: date filters applied or dropped, the question it searched for."""
    confidence: float = 0.0
    """0..1: how strongly the quoted sentences match what was asked (similarity and the question's
    own terms found); comparable across questions, not a probability."""
    missing: tuple[str, ...] = ()
    """For a near miss, what the question asks that the closest passage does not give ("2030", "EV charging piles")."""
    backend: str = "extractive"
    """What wrote the text: "extractive" (quoted from the passages) or "llm:<model>" (a language
    model's sentences, each checked against the passage it cites)."""

    @property
    def abstained(self) -> bool:
        """True unless the archive answers the question (a near miss or nothing found)."""
        return self.outcome is not Outcome.ANSWERED

    def to_dict(self) -> dict:
        """The JSON form of `qa ask --json`, the web API and the MCP tools."""
        return {"question": self.question, "answer": self.text, "outcome": self.outcome.value,
                "abstained": self.abstained, "confidence": self.confidence, "missing": list(self.missing),
                "backend": self.backend, "notes": list(self.notes), "citations": [c.to_dict() for c in self.citations]}


def issue_title(iso: str) -> str:
    """How every citation names an issue: '2024-12-04' -> 'China Industries, 4 December 2024'."""
    return f"China Industries, {format_date(iso)}"


def format_date(iso: str) -> str:
    """'2024-12-04' -> '4 December 2024'."""
    d = dt.date.fromisoformat(iso)
    return f"{d.day} {d.strftime('%B')} {d.year}"
