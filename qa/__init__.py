"""Cited question answering over the MERICS China Industries newsletter, offline.

The API for notebooks and scripts: `Assistant` (ask, search, list_issues, update,
add_issue), `Settings`, `Filters`, and the pure functions `parse_issue` / `chunk_issue`.
"""

from .assistant import Assistant, Preview
from .chunk import chunk_issue, chunk_section
from .indexer import UpdateReport, update_index
from .parse import parse_issue, read_issue
from .query import Filters, QuestionError
from .schema import Answer, Chunk, Citation, Hit, Issue, IssueError, Part, Section
from .settings import Settings

__all__ = ["Assistant", "Preview", "chunk_issue", "chunk_section", "UpdateReport", "update_index",
           "parse_issue", "read_issue", "Filters", "QuestionError", "Answer", "Chunk", "Citation", "Hit",
           "Issue", "IssueError", "Part", "Section", "Settings"]
