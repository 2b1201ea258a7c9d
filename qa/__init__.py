"""Cited question answering over the MERICS China Industries newsletter, offline.

The API for notebooks, scripts and the front ends in `ui/`: `Assistant` (ask, search,
list_issues, update, add_issue, index_status, locate_citation), `Settings`, `Filters`, the pure
functions `parse_issue` / `chunk_issue`, and what a front end needs to show results:

- the errors to expect: `QuestionError`, `IssueError`, `IndexMissing` / `IndexDamaged` (no usable
  index), `EmptyCorpus` (nothing to index); `user_message(e)` turns any failure into one line,
  `expected(e)` says whether it is one of these rather than a bug;
- `text_value` / `text_list`: form values (which may be of any type) checked into text;
- `find_spans` (a quoted sentence's offsets in a text), `format_date`, `reference` and
  `to_markdown` (an answer with its full references), and the section and part kinds.
"""

from .assistant import Assistant, CitedSection, IndexStatus, Preview
from .chunk import chunk_issue, chunk_section
from .export import reference, to_markdown
from .highlight import Span, find_spans
from .indexer import EmptyCorpus, UpdateReport, update_index
from .inputs import expected, text_list, text_value, user_message
from .integrity import IndexDamaged, IndexMissing
from .parse import parse_issue, read_issue
from .progress import Phase, Progress, Step
from .query import Filters, QuestionError
from .schema import (ARTICLE, ITEM, SECTION_KINDS, Answer, Chunk, Citation, Hit, Issue, IssueError, Outcome, Part,
                     PartKind, Section, SectionKind, format_date, issue_title)
from .settings import Settings

__all__ = ["Assistant", "CitedSection", "IndexStatus", "Preview", "chunk_issue", "chunk_section", "reference",
           "to_markdown", "Span", "find_spans", "EmptyCorpus", "UpdateReport", "update_index", "expected",
           "text_list", "text_value", "user_message", "IndexDamaged", "IndexMissing", "parse_issue", "read_issue",
           "Filters", "QuestionError", "Phase", "Progress", "Step", "ARTICLE", "ITEM", "SECTION_KINDS", "Answer",
           "Chunk", "Citation", "Hit", "Issue", "IssueError", "Outcome", "Part", "PartKind", "Section", "SectionKind",
           "format_date", "issue_title", "Settings"]
