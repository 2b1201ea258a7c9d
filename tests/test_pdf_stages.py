"""The PDF stages one by one, on hand-made glyphs and lines with exact expected values."""

from __future__ import annotations

import pytest

from qa.pdf import Glyph, Line, Page, group_lines
from qa.pdf_layout import Kind, Vocabulary, build_blocks, drop_chart_text, drop_furniture, emit_text, join_lines


def glyphs(text: str, x: float, top: float, size: float = 10.0, bold: bool = False, width: float = 5.0):
    """One glyph per character, `width` apart; a space is a glyph with an advance, as printed."""
    out = []
    for ch in text:
        out.append(Glyph(ch, x, x + width, top, top + size, size, bold))
        x += width
    return out


def line(text: str, x0: float, top: float, page: int = 1, size: float = 10.0, x1: float | None = None,
         bold: bool = False, second_x: float | None = None) -> Line:
    return Line(page=page, text=text, x0=x0, x1=x1 if x1 is not None else x0 + 5 * len(text), top=top,
                bottom=top + size, size=size, bold=bold, first_word=5 * len(text.split()[0]),
                second_x=second_x if second_x is not None else x0 + 5 * (len(text.split()[0]) + 1))


# Lines from glyphs ----------------------------------------------------------------------

def test_a_line_from_glyphs_with_a_superscript_a_bold_label_and_a_wide_gap():
    g = glyphs("Note:", 100, 50, bold=True) + glyphs(" CO", 125, 50)
    g.append(Glyph("2", 140, 143, 47, 54, 6.5))  # smaller and raised: a superscript
    g += glyphs(" emissions", 143, 50)
    g += glyphs("7", 400, 50)  # far to the right: another run on the same baseline
    [ln] = group_lines(Page(1, 600, 800, tuple(g)))
    assert ln.text == "Note: CO2 emissions\t7"
    assert ln.bold_prefix == len("Note:") and not ln.bold
    assert (ln.x0, ln.size) == (100, 10.0)


def test_a_zero_advance_space_is_not_a_word_space():
    """Chromium prints a soft hyphen as a space glyph that takes no room: 'tech|nology' stays one word."""
    g = glyphs("tech", 100, 50)
    g.append(Glyph(" ", 120, 123, 50, 60, 10.0))  # the next glyph starts where this one starts
    g += glyphs("nology", 120, 50)
    [ln] = group_lines(Page(1, 600, 800, tuple(g)))
    assert ln.text == "technology"


def test_lines_are_ordered_top_down_and_gaps_without_space_glyphs_split_words():
    g = glyphs("second", 100, 80) + glyphs("first", 100, 50) + glyphs("line", 131, 50)  # 6 pt gap: a word space
    assert [ln.text for ln in group_lines(Page(1, 600, 800, tuple(g)))] == ["first line", "second"]


# Hyphens at line ends ---------------------------------------------------------------------

WORDS = Vocabulary(words=frozenset({"manufacturing", "lithium-ion", "state", "the"}),
                   hyphenated=frozenset({"lithium-ion"}))


@pytest.mark.parametrize("left, right, joined", [
    ("the manufac-", "turing base", "the manufacturing base"),        # the whole word occurs elsewhere
    ("new lithium-", "ion cells", "new lithium-ion cells"),            # so does the hyphenated word
    ("for solid-", "state cells", "for solid-state cells"),            # the rest is a word of its own
    ("bio\u00admimet-", "ic", "biomimetic"),                           # neither: a syllable break
    ("the Sino-", "EU summit", "the Sino-EU summit"),                   # a capital after the break
    ("in 2020-", "2027", "in 2020-2027"),
    ("行动", "方案", "行动方案"),                                        # Chinese runs on without a space
    ("plain", "words", "plain words"),
])
def test_join_lines_undoes_hyphenation_only_inside_a_word(left, right, joined):
    assert join_lines(left.replace("\u00ad", ""), right, WORDS) == joined


def test_a_document_with_its_own_soft_hyphen_decides_by_the_character():
    chromium = Vocabulary(frozenset(), frozenset(), soft="\u2010")
    assert join_lines("comm\u2010", "unications", chromium) == "communications"
    assert join_lines("non-", "ferrous", chromium) == "non-ferrous"


# Furniture, charts, blocks ------------------------------------------------------------------

def test_running_header_footer_and_page_numbers_are_dropped():
    pages, words = [], ["one", "two", "three", "four"]
    for n in range(1, 5):
        body = [line(f"Body text of page {words[n - 1]}", 100, 100, n), line(f"more {words[n - 1]}", 100, 114, n)]
        furniture = [line("MERICS | China Industries\t4 December 2024", 100, 20, n), line(str(n), 480, 800, n)]
        pages.append(sorted(furniture + body, key=lambda ln: ln.top))
    pages[0].insert(0, line("12", 100, 60, 1))  # a lone number above the text: a page number too
    kept = drop_furniture(pages)
    assert [[ln.text for ln in p] for p in kept] == [[f"Body text of page {w}", f"more {w}"] for w in words]


def test_small_type_on_a_chart_is_dropped_body_type_and_notes_stay():
    bars = tuple((100 + 20 * i, 200, 112 + 20 * i, 260) for i in range(5))
    lines = [line("Exhibit 1: Capacity", 100, 180), line("130", 100, 190, size=6), line("2020\t2021", 100, 262, size=6),
             line("Note: targets after 2025.", 100, 290, size=7.5)]
    kept = drop_chart_text(lines, Page(1, 600, 800, (), bars), body=10.0)
    assert [ln.text for ln in kept] == ["Exhibit 1: Capacity", "Note: targets after 2025."]
    # One shaded box is not a chart: small type in it stays.
    assert drop_chart_text(lines, Page(1, 600, 800, (), bars[:1]), body=10.0) == lines


def test_blocks_join_across_a_page_break_and_split_at_markers_and_gaps():
    p1 = [line("• First bullet runs over", 100, 100, 1, x1=500, second_x=110),
          line("the page end and goes", 110, 114, 1, x1=500)]
    p2 = [line("on here.", 110, 60, 2, x1=160),
          line("A paragraph that runs over", 100, 90, 2, x1=500),
          line("two lines and ends", 100, 104, 2, x1=500)]
    p3 = [line("here.", 100, 60, 3, x1=130), line("New paragraph after a gap.", 100, 90, 3, x1=300)]
    blocks = build_blocks([p1, p2, p3], body=10.0)
    assert [(b.kind, sorted(b.pages)) for b in blocks] == [(Kind.BULLET, [1, 2]), (Kind.PARAGRAPH, [2, 3]),
                                                           (Kind.PARAGRAPH, [3])]
    text = emit_text(blocks, Vocabulary(frozenset(), frozenset()), edge=500)
    assert text == ("- First bullet runs over the page end and goes on here.\n\n"
                    "A paragraph that runs over two lines and ends here.\n\n"
                    "New paragraph after a gap.\n")


def test_a_bold_run_in_label_is_marked_with_or_without_its_colon():
    """The parser tells labels from bold words (qa.parse._LABELS); the PDF text only keeps the bold."""
    from dataclasses import replace

    def bold(text: str, top: float, prefix: str) -> Line:
        return replace(line(text, 100, top, x1=300), bold_prefix=len(prefix))
    page = [bold("At a glance: The MIIT released a plan.", 100, "At a glance:"),
            bold("At a glance The MIIT released a plan.", 130, "At a glance"),
            bold("Exhibit 1 Output of steel, 2024", 160, "Exhibit 1 "),
            bold("A whole first sentence set in bold. Then plain.", 190, "A whole first sentence set in bold."),
            bold("Bold half a word", 220, "Bold ha")]
    text = emit_text(build_blocks([[ln] for ln in page], body=10.0), Vocabulary(frozenset(), frozenset()), edge=500)
    assert text.split("\n\n") == ["**At a glance:** The MIIT released a plan.", "**At a glance** The MIIT released a plan.",
                                  "**Exhibit 1** Output of steel, 2024", "A whole first sentence set in bold. Then plain.",
                                  "Bold half a word\n"]
