"""Highlighting and escaping, without a server: what the UI renders from real answers and issues."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest
from markdown_it import MarkdownIt

from conftest import QUESTIONS
from qa import parse_issue
from qa.highlight import find_spans, locate
from ui import render
from ui.app import answer_dict
from ui_helpers import HOSTILE_NAME, HOSTILE_TITLE, hostile_issue_text

# The tags and attributes the panels are made of; anything else came from a document.
ALLOWED_TAGS = {"div", "span", "b", "i", "h3", "h4", "p", "br", "ul", "ol", "li", "mark", "button", "table",
                "tr", "th", "td"}
ALLOWED_ATTRS = {"class", "type", "data-open"}


class _Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, list]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))

    def handle_data(self, data):
        self.text.append(data)


def elements(markup: str) -> _Elements:
    p = _Elements()
    p.feed(markup)
    p.close()
    return p


def test_find_spans_ignores_layout_and_list_markers():
    text = "Lead-in:\n- Cultivate three to five companies\n- Increase capacity\n\nFirst sentence. Second\nsentence here."
    spans = find_spans(text, ["- Increase capacity", "Second sentence here.", "absent sentence"])
    assert [text[a:b] for a, b in spans] == ["Increase capacity", "Second\nsentence here."]
    assert find_spans(text, []) == [] and find_spans(text, ["  "]) == []


def test_every_cited_sentence_is_found_in_its_section(assistant):
    """Over 25 real questions, each citation's quoted sentences are located in the section it names."""
    questions = [json.loads(line)["question"] for line in QUESTIONS.read_text().splitlines() if line.strip()][:25]
    checked = 0
    for q in questions:
        answer = assistant.ask(q)
        for c in answer.citations:
            section = assistant.get_section(c.chunk.issue_date, c.chunk.section_id)
            spans = locate(section.parts, c.sentences, c.chunk.text, c.chunk.part_index, c.chunk.part_label)
            assert spans, f"{q!r}: citation [{c.n}] {c.label()} not located"
            found = " ".join(section.parts[k].text[a:b] for k, v in spans.items() for a, b in v)
            for s in c.sentences:
                assert s.lstrip("- ").split()[0] in found
            checked += 1
    assert checked >= 15


def test_markdown_of_hostile_text_renders_to_that_text_only():
    hostile = ('<script>alert(1)</script> <img src=x onerror="alert(1)"> [a](javascript:alert(1)) '
               '[b]( javascript:alert(1)) <javascript:alert(1)> **bold** _it_ `code` # head $x$ | t | ~~s~~')
    rendered = MarkdownIt("commonmark").enable("table").enable("strikethrough").render(render.md(hostile))
    assert "<script" not in rendered and "<img" not in rendered and "<a " not in rendered
    assert "<strong>" not in rendered and "<code>" not in rendered and "<h1>" not in rendered
    parsed = elements(rendered)
    assert [t for t, _ in parsed.tags] == ["p"]
    assert "".join(parsed.text).strip() == hostile


def test_answer_markdown_marks_only_its_own_citations():
    turn = {"question": "q", "answer": "- Goal one [1]\nSee footnote [7] in <b>x</b> [2]", "abstained": False,
            "notes": ["Searched issues from 2024 only"],
            "citations": [{"n": 1}, {"n": 2}]}
    out = render.answer_markdown(turn)
    html = MarkdownIt("commonmark").render(out)
    assert html.count("<strong>[") == 2 and "[7]" in html and "<b>" not in html and "&lt;b&gt;" in html
    assert "<li>" in html and "<em>Searched issues from 2024 only</em>" in html
    abstained = render.answer_markdown({"question": "q", "answer": "Nothing found.", "abstained": True,
                                        "citations": [], "notes": []})
    assert abstained.startswith("**No answer in the archive.**")


def test_a_near_miss_looks_unlike_an_answer():
    turn = {"question": "q", "outcome": "near_miss", "abstained": True, "notes": [],
            "answer": "The issues don't give anything for 2030.\nThe closest passage says:\n- Goal for 2027 <i>x</i> [1]",
            "citations": [{"n": 1}]}
    html = MarkdownIt("commonmark").render(render.answer_markdown(turn))
    # What is missing first, in bold; the closest passage set apart as a quote, its marker kept.
    assert html.startswith("<p><strong>Not in the archive:</strong> The issues don't give anything for 2030.</p>")
    assert "<blockquote>" in html and "<strong>[1]</strong>" in html and "<i>" not in html
    answered = MarkdownIt("commonmark").render(render.answer_markdown({**turn, "outcome": "answered"}))
    assert "<blockquote>" not in answered and "Not in the archive" not in answered


@pytest.fixture(scope="module")
def hostile_issue():
    return parse_issue(hostile_issue_text(), "hostile.md")


def _assert_inert(markup: str, must_show: str):
    parsed = elements(markup)
    for tag, attrs in parsed.tags:
        assert tag in ALLOWED_TAGS, tag
        for name, _ in attrs:
            assert name in ALLOWED_ATTRS, (tag, name)
    assert must_show in "".join(parsed.text)


def test_panels_escape_every_document_string(hostile_issue):
    issue = hostile_issue
    article = issue.sections[0]
    spans = locate(article.parts, ["The quokka robotics standard covers"], "", 0, "At a glance")
    assert spans == {0: spans[0]} and spans[0]
    script = "<script>window.__pwned=1</script>"
    _assert_inert(render.section_html(issue, article, spans, cited={"n": 1, "part": "At a glance"}), script)
    _assert_inert(render.section_html(issue, issue.section("policy-news")), script)
    _assert_inert(render.section_html(issue, issue.section("corporate-news")), script)

    from qa.assistant import issue_summary
    summary = issue_summary(issue, None)
    _assert_inert(render.library_html([summary]), HOSTILE_TITLE)
    preview = {**summary, "status": "changed", "existing_source": HOSTILE_NAME, "target_name": "x.md"}
    _assert_inert(render.preview_html(preview, HOSTILE_NAME), HOSTILE_NAME)


def test_chat_messages_escape_document_text_and_questions(assistant, hostile_issue):
    from qa.chunk import chunk_issue
    chunk = next(c for c in chunk_issue(hostile_issue, 160) if "quokka" in c.text)
    turn = {"question": "<img src=x onerror=alert(1)> quokka?", "answer": chunk.text.split("\n")[0] + " [1]",
            "abstained": False, "notes": [],
            "citations": [{"n": 1, "issue_date": chunk.issue_date, "section": chunk.section_heading,
                           "part": chunk.part_label, "text": chunk.text, "sentences": [chunk.text.split(". ")[0]]}]}
    turn["citations"][0]["section"] = chunk.section_heading
    assert HOSTILE_TITLE in chunk.section_heading
    md = MarkdownIt("commonmark")
    for m in render.chat_messages([turn]):
        # The chatbot renders both the content and a source's title as markdown.
        for text in (m["content"], m.get("metadata", {}).get("title", "")):
            html = md.render(text)
            assert "<script" not in html and "<img" not in html and "<a " not in html, html
    assert render.message_targets([turn]) == [(0, None), (0, None), (0, 1)]
    # The real answer of a real question survives the same round trip.
    real = answer_dict(assistant.ask("What are the new energy storage targets for 2027?"))
    html = md.render(render.answer_markdown(real))
    assert "<strong>[1]</strong>" in html
