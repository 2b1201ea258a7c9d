"""An answer as Markdown (`qa.export.to_markdown`): full references, and text from the issues
shown as text by a real Markdown renderer (markdown-it-py, CommonMark), never as markup."""

from __future__ import annotations

import html
import re
from dataclasses import replace

from markdown_it import MarkdownIt

from core_helpers import ENERGY_HEADING, ENERGY_Q
from qa.export import escape, reference, to_markdown
from qa.schema import Answer, Citation, Outcome

HOSTILE = ("<script>window.pwned=1</script> <img src=x onerror=alert(1)> [click](javascript:alert(2)) "
           "**bold** `code` R&D &amp; ~~gone~~ | a | b |")
LINES = "# not a heading\n[1]: http://evil.example\n1. not a list\n+ nor this\n---\n> nor a quote"


def rendered(markdown: str) -> str:
    return MarkdownIt("commonmark").enable("table").enable("strikethrough").render(markdown)


def text_of(markup: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def test_a_real_answer_with_full_references(assistant):
    answer = assistant.ask(ENERGY_Q)
    md = to_markdown(answer)
    assert md.startswith(f"**Question:** {ENERGY_Q}\n\nImportant goals for 2027 include:  \n"
                         "- Cultivate between three to five companies worth CNY 100 billion [1]\n")
    assert "*Quoted from the issues: MERICS, China Industries.*" in md
    ref = f"MERICS, China Industries, 4 December 2024, section “{ENERGY_HEADING}”, At a glance"
    assert reference("2024-12-04", ENERGY_HEADING, "At a glance") == ref
    assert f"**Sources**\n\n[1] {ref}  \n> - Cultivate between three to five companies worth CNY 100 billion  \n" in md
    page = rendered(md)
    assert "<li>Cultivate between three to five companies worth CNY 100 billion [1]</li>" in page
    assert "<blockquote>" in page and "<a " not in page


def test_near_misses_and_no_answer(assistant):
    near = to_markdown(assistant.ask("What are the new energy storage targets for 2030?"))
    assert "The issues don't give anything for 2030.  \nThe closest passage says:" in near
    assert "**Sources**" in near
    none = to_markdown(assistant.ask("What is the best recipe for apple pie?"))
    assert "*Searched in the issues: MERICS, China Industries.*" in none and "Sources" not in none


def test_document_text_stays_text(assistant):
    real = assistant.ask(ENERGY_Q)
    chunk = replace(real.citations[0].chunk, text=f"{HOSTILE}\n{LINES}")
    answer = Answer(question=f"Why {HOSTILE}?", text=f"It says {HOSTILE} [1].\n{LINES}", outcome=Outcome.ANSWERED,
                    citations=(Citation(n=1, chunk=chunk, sentences=(HOSTILE, LINES)),),
                    notes=(f"note {HOSTILE}",), backend="llm:<b>m</b>")
    page = rendered(to_markdown(answer))
    for tag in ("<script", "<img", "<a ", "<h1", "<ol", "<hr", "<code", "<del", "<table", "<b>"):
        assert tag not in page, tag
    assert page.count("<strong>") == 2  # the export's own "Question:" and "Sources"
    shown = text_of(page)
    assert shown.count(HOSTILE) == 4  # question, answer, note, quote: each as written
    for line in LINES.split("\n"):
        assert shown.count(line) == 2, line  # answer and quote
    assert "It says " + HOSTILE + " [1]." in shown
    assert "language model (<b>m</b>)" in shown


def test_escape_keeps_list_items_and_plain_words():
    assert escape("- Cultivate three to five companies (BRI), 5G+industrial") == \
        "- Cultivate three to five companies (BRI), 5G+industrial"
    assert escape("2. Fully charged") == "2\\. Fully charged"
    assert escape("a_b *c* [d]") == "a\\_b \\*c\\* \\[d\\]"
