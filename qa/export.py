"""An answer as Markdown, with full references, ready to paste into a report.

    to_markdown(answer)   # used by `qa ask --markdown` and the web UI's download button

Every string that came from an issue or from the asker is escaped, so it reads as the same text
in any Markdown viewer: a "<script>" in an issue stays those characters, "[x](javascript:...)"
never becomes a link, and a passage line cannot start a heading or a link definition. The
answer's own [n] markers stay plain: nothing in the document defines them as links.
"""

from __future__ import annotations

import re

from .schema import Answer, Outcome, format_date

NEWSLETTER = "MERICS, China Industries"

# Characters that make markup anywhere in a line: emphasis, code, links and images (their "(" and
# "!" mean nothing once "[" is escaped), HTML, tables, strikethrough.
_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")
_ENTITY = re.compile(r"&(?=#?\w+;)")
_BLOCK = re.compile(r"^(\s*)(\d+)([.)])", re.M)  # "1." at a line start: an ordered list
_OWN_MARKER = re.compile(r"\\\[(\d+)\\\](?![(\[:])")


def escape(text: str) -> str:
    """Plain text as Markdown that shows exactly that text. A line "- item" stays a list item."""
    lines = []
    for line in (text or "").split("\n"):
        bullet = re.match(r"\s*- ", line)
        head, body = (line[:bullet.end()], line[bullet.end():]) if bullet else ("", line)
        body = _BLOCK.sub(r"\1\2\\\3", _ENTITY.sub("&amp;", _SPECIAL.sub(r"\\\1", body)))
        body = re.sub(r"^(\s*)([-=+#])", r"\1\\\2", body)  # a rule, a heading, a "+" list item
        lines.append(head + body.lstrip() if bullet else body.lstrip())
    return "\n".join(lines)


def reference(issue_date: str, section: str, part: str) -> str:
    """The full reference of a part of an issue, as a report cites it:
    "MERICS, China Industries, 4 December 2024, section “2. Fully charged: ...”, At a glance"."""
    return f"{NEWSLETTER}, {format_date(issue_date)}, section “{section}”, {part}"


def to_markdown(answer: Answer) -> str:
    out = [f"**Question:** {escape(answer.question)}", ""]
    text = escape(answer.text)
    if answer.citations:
        text = _OWN_MARKER.sub(r"[\1]", text)  # the answer's markers, not literal brackets from a passage
    out += [_hard_breaks(text), ""]
    for note in answer.notes:
        out += [f"*{escape(note)}*", ""]
    if answer.backend == "extractive":
        how = "Quoted from the issues" if answer.outcome is not Outcome.NOT_FOUND else "Searched in the issues"
    else:
        how = (f"Written by a language model ({escape(answer.backend.removeprefix('llm:'))}); every sentence was "
               "checked against the passage it cites")
    out += [f"*{how}: {escape(NEWSLETTER)}.*", ""]
    if answer.citations:
        out += ["**Sources**", ""]
        for c in answer.citations:
            out.append(f"[{c.n}] {escape(reference(c.issue_date, c.chunk.section_heading, c.chunk.part_label))}  ")
            for quoted in c.sentences or (c.chunk.text,):
                for line in quoted.split("\n"):
                    out.append(f"> {escape(line)}  " if line.strip() else ">")
            out.append("")
    return "\n".join(out).rstrip() + "\n"


def _hard_breaks(text: str) -> str:
    """Each line of the answer on a line of its own (two trailing spaces), lists left alone."""
    lines = text.split("\n")
    return "\n".join(ln if ln.startswith("- ") or i == len(lines) - 1 else ln + "  " for i, ln in enumerate(lines))
