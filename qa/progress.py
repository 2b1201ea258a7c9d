"""Progress reports, from the indexer and the PDF reader to whatever shows them.

    progress(done, total, what)

`what` is a `Step`: the text a person reads ("embedding", "pages of issue.pdf"), which is what
the callback has always been given, so a consumer that only shows text needs nothing else. A
consumer that treats phases differently (a bar per phase, a unit per phase) reads `what.phase`
and `what.subject` instead of matching the text, which may change without breaking it.
"""

from __future__ import annotations

from enum import Enum
from typing import Callable


class Phase(str, Enum):
    READING = "reading"
    """A corpus file is hashed (and parsed when it changed); the subject is its name."""
    PAGES = "pages"
    """The pages of a PDF; the subject is the file's name when an update reads it."""
    EMBEDDING = "embedding"
    """Passages embedded."""
    EMBEDDING_SENTENCES = "embedding sentences"
    """Quotable units (sentences, list items) embedded."""
    WRITING = "writing"
    """The new generation of the index written."""


# The human text of each phase, kept apart from the phase so that wording is free to change.
_TEXT = {Phase.READING: "reading {}", Phase.PAGES: "pages of {}", Phase.EMBEDDING: "embedding",
         Phase.EMBEDDING_SENTENCES: "embedding sentences", Phase.WRITING: "writing the index"}
_TEXT_ALONE = {Phase.PAGES: "reading pages"}  # a PDF read outside an update has no file to name


class Step(str):
    """What a progress callback is told: its text, with `phase` and `subject` attached."""
    phase: Phase
    subject: str

    def __new__(cls, phase: Phase, subject: str = "") -> "Step":
        text = _TEXT[phase].format(subject) if subject or phase not in _TEXT_ALONE else _TEXT_ALONE[phase]
        step = super().__new__(cls, text)
        step.phase, step.subject = phase, subject
        return step


# progress(done, total, what): `what` is a Step, i.e. a str.
Progress = Callable[[int, int, str], None]
