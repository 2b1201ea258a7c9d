"""The parser on hand-made variants of the real issues, and on files that are not issues.

A variant changes one thing a future issue may do differently (heading markers, CONTENTS
spelling, a numbered list, a missing CONTENTS, ...) and must parse to the same structure
as the original, or to the stated difference. Bad files must be refused with an IssueError
that names the file and says what is wrong.
"""

from __future__ import annotations

import re

import pytest

from core_helpers import DATA, DATES, ENERGY_BULLET, ENERGY_HEADING, cut, edit, issue_file, issue_text, structure
from qa import IssueError, parse_issue, read_issue
from qa.parse import parse_issue_bytes
from qa.schema import AT_A_GLANCE, COMMENT, DOCUMENT, EXHIBIT, ITEM

HEADING = re.compile(r"^(\d\. .+|MERICS|MERIC[Ss] TOP 5|China Industries|CONTENTS|NOTEWORTHY|Policy news|"
                     r"Corporate news|AUTHORS|EDITORS|PUBLISHER)$")


def restyle(text: str, style: str) -> str:
    """All markdown markers removed, then headings marked with `style`: "", "#".."####" or "bold"."""
    out = []
    for line in text.split("\n"):
        plain = re.sub(r"^#{1,6}\s*", "", line).replace("**", "")
        is_heading = HEADING.match(plain.strip()) and ".." not in plain  # CONTENTS entries have dot leaders
        if is_heading and style == "bold":
            plain = f"**{plain.strip()}**"
        elif is_heading and style:
            plain = f"{style} {plain.strip()}"
        out.append(plain)
    return "\n".join(out)


@pytest.fixture(scope="module")
def originals():
    return {d: parse_issue(issue_text(d), f"{d}.md") for d in DATES}


@pytest.mark.parametrize("style", ["", "#", "##", "###", "####", "bold"], ids=lambda s: s or "no-markers")
@pytest.mark.parametrize("date", DATES)
def test_heading_markers_do_not_change_the_parse(originals, date, style):
    text = restyle(issue_text(date), style)
    if style:  # the restyle really marked the five article headings
        assert len(re.findall(rf"^{re.escape(style.replace('bold', '**'))}\s?\d\. ", text, re.M)) == 5
    else:
        assert not re.search(r"^#", text, re.M) and "**" not in text
    issue = parse_issue(text, f"{date}-{style or 'plain'}.md")
    assert structure(issue) == structure(originals[date])
    assert issue.warnings == ()


def test_contents_titles_differing_slightly_use_the_body_titles(originals):
    text = issue_text("2024-12-04")
    # CONTENTS: a typo, curly quotes where the body has straight ones, a <sup> footnote, double spaces.
    text = edit(text, "2. Fully charged: China aims to further crank up its new energy storage industry....",
                "2. Fully chargd: China aims to further crank up its new enrgy storage industry....")
    text = edit(text, "3. Beijing launches smart factory cultivation program .....",
                "3. Beijing launches “smart factory” cultivation program<sup>1</sup> .....")
    text = edit(text, "### 3. Beijing launches smart factory cultivation program",
                '### 3. Beijing launches "smart factory" cultivation program')
    text = edit(text, "4. Biomanufacturing best practice: MIIT collects model cases.....",
                "4. Biomanufacturing  best practice:  MIIT collects model cases.....")
    issue = parse_issue(text, "contents-typos.md")
    titles = [s.title for s in issue.articles]
    assert titles == [s.title for s in originals["2024-12-04"].articles[:2]] + [
        'Beijing launches "smart factory" cultivation program'] + [s.title for s in originals["2024-12-04"].articles[3:]]
    assert [len(s.parts) for s in issue.articles] == [3, 3, 3, 3, 3]


def test_sup_tags_and_link_residue_in_body_headings_are_cleaned():
    text = edit(issue_text("2024-12-04"), "### 3. Beijing launches smart factory cultivation program",
                "### 3. Beijing launches [smart factory](#) cultivation program")
    issue = parse_issue(text, "links.md")
    assert issue.section("3").title == "Beijing launches smart factory cultivation program"
    # The real 2024-10-02 heading "Tracking CO<sup>2</sup>: ..." reads "Tracking CO2: ...".
    assert read_issue(issue_file("2024-10-02")).section("5").title.startswith("Tracking CO2: China")


def numbered(text: str, bullets: list[str], start: int = 1) -> str:
    for n, b in enumerate(bullets, start):
        text = edit(text, f"- {b}", f"{n}. {b}")
    return text


STORAGE_BULLETS = [ENERGY_BULLET, "Increase new energy storage manufacturing capacity",
                   "Promote international cooperation in the new energy storage industry"]


@pytest.mark.parametrize("contents", [True, False], ids=["with-contents", "without-contents"])
def test_numbered_list_inside_an_article_is_not_a_section(originals, contents):
    text = issue_text("2024-12-04")
    # Article 2's At a glance bullets become "1. 2. 3.", and article 1's comment gets a list
    # numbered 2..5 of short title-like lines: the numbers of the articles that follow.
    text = numbered(text, STORAGE_BULLETS)
    text = edit(text, "International competitors and similar scientific initiatives",
                "Four questions remain:\n\n2. Data access\n3. Data quality\n4. Foreign participation\n"
                "5. Funding\n\nInternational competitors and similar scientific initiatives")
    if not contents:
        text = cut(text, "### CONTENTS", "## MERICS TOP 5")
    issue = parse_issue(text, "numbered.md")
    original = originals["2024-12-04"]
    assert [s.title for s in issue.articles] == [s.title for s in original.articles]
    assert [[p.kind for p in s.parts] for s in issue.articles] == [[AT_A_GLANCE, COMMENT, DOCUMENT]] * 5
    glance = issue.section("2").parts[0].text
    assert f"1. {ENERGY_BULLET}\n2. Increase new energy storage" in glance
    assert "2. Data access\n3. Data quality\n4. Foreign participation\n5. Funding" in issue.section("1").parts[1].text
    assert issue.section("3").parts[0].text == original.section("3").parts[0].text
    assert issue.warnings == ()


@pytest.mark.parametrize("contents", [True, False], ids=["with-contents", "without-contents"])
def test_numbered_line_repeating_the_next_title_inside_an_article(originals, contents):
    """A cross-reference in article 1 repeats article 2's numbered title; the real heading is the
    one followed by 'At a glance'."""
    text = edit(issue_text("2024-12-04"), "International competitors and similar scientific initiatives",
                f"Related coverage in this issue:\n\n{ENERGY_HEADING}\n\n"
                "International competitors and similar scientific initiatives")
    if not contents:
        text = cut(text, "### CONTENTS", "## MERICS TOP 5")
    issue = parse_issue(text, "cross-reference.md")
    original = originals["2024-12-04"]
    assert f"Related coverage in this issue:\n\n{ENERGY_HEADING}\n\nInternational" in issue.section("1").parts[1].text
    assert structure(issue)[5][1:] == structure(original)[5][1:]
    assert issue.warnings == ()


def test_merics_comment_spelling_variants(originals):
    text = edit(issue_text("2024-12-04"), "**MERICS comment:**", "**MERICs comment:**", count=5)
    assert structure(parse_issue(text, "merics-lower-s.md")) == structure(originals["2024-12-04"])


def test_link_residue_is_cleaned_without_changing_meaning():
    issue = parse_issue(edit(issue_text("2024-12-04"), "[overcapacity](#)",
                             "[overcapacity](https://example.org/a_(b)) [\\(Link\\)](#)"), "links.md")
    comment = issue.section("2").parts[1].text
    assert "signs that the sector has begun to suffer from overcapacity (Link). For example" in comment


@pytest.mark.parametrize("drop_top5", [False, True], ids=["contents-removed", "contents-and-top5-removed"])
def test_missing_contents(originals, drop_top5):
    text = cut(issue_text("2024-12-04"), "### CONTENTS", "## MERICS TOP 5")
    if drop_top5:
        text = edit(text, "## MERICS TOP 5\n", "")
    assert "CONTENTS" not in text
    assert structure(parse_issue(text, "no-contents.md")) == structure(originals["2024-12-04"])


def contents_without_page_numbers(text: str) -> str:
    toc = text[text.index("CONTENTS"):text.index("MERICS TOP 5\n\n1. Basic")]
    return text.replace(toc, re.sub(r"\.{2,}\s*\d+", "", toc))


def test_contents_without_page_numbers(originals):
    text = contents_without_page_numbers(issue_text("2022-10-05"))
    assert "....." not in text
    assert structure(parse_issue(text, "plain-contents.md")) == structure(originals["2022-10-05"])


def test_contents_without_page_numbers_and_no_top5_heading(originals):
    text = edit(contents_without_page_numbers(issue_text("2022-10-05")), "MERICS TOP 5\n\n1. Basic", "1. Basic")
    assert structure(parse_issue(text, "plain-contents-no-top5.md")) == structure(originals["2022-10-05"])


def test_windows_line_ends_and_byte_order_mark(originals):
    data = b"\xef\xbb\xbf" + issue_text("2022-10-05").replace("\n", "\r\n").encode("utf-8")
    assert structure(parse_issue_bytes(data, "crlf.txt")) == structure(originals["2022-10-05"])


def test_issuer_names_containing_and():
    text = edit(issue_text("2024-12-04"), "**Issuing body:** MIIT\n\n**Date:** November 6, 2024",
                "**Issuing body:** Ministry of Industry and Information Technology\n\n**Date:** November 6, 2024")
    assert parse_issue(text, "full-name.md").section("2").issuers == ("Ministry of Industry and Information Technology",)


def test_a_policy_block_with_title_and_issued_by_lines(originals):
    """A converter's wording of the policy block: "Title:" / "Issued by:" for "Article:" / "Issuing body:"."""
    text = edit(issue_text("2024-12-04"), "**Article:** Issuing the Overall Construction Plan", "*Title:* Issuing the Overall Construction Plan")
    text = edit(text, "**Issuing bodies:** MIIT, MOF, NDB", "*Issued by:* MIIT, MOF, NDB")
    issue, original = parse_issue(text, "title-lines.md"), originals["2024-12-04"]
    assert structure(issue) == structure(original)
    section = issue.section("1")
    assert (section.policy_title, section.issuers, section.policy_date) == \
        (original.section("1").policy_title, ("MIIT", "MOF", "NDB"), "2024-10-30")
    assert section.parts[-1].text.startswith("Article: Issuing the Overall Construction Plan")


def test_issuer_lists():
    text = edit(issue_text("2024-12-04"), "**Issuing bodies:** MIIT, MOF, NDB", "**Issuing bodies:** MIIT; MOF and NDB")
    assert parse_issue(text, "list.md").section("1").issuers == ("MIIT", "MOF", "NDB")


def test_year_wrap_in_a_january_issue():
    """Hand-made: issued 10 January 2025, reporting period 5 December - 6 January."""
    issue = read_issue(DATA / "january-issue-year-wrap.md")
    assert (issue.date, issue.period_start, issue.period_end) == ("2025-01-10", "2024-12-05", "2025-01-06")
    policy = issue.section("policy-news").parts
    corporate = issue.section("corporate-news").parts
    assert [p.date for p in policy] == ["2024-12-09", "2024-12-30", "2025-01-03"]
    assert [p.label for p in policy] == ["9 December 2024", "30 December 2024", "3 January 2025"]
    assert [p.date for p in corporate] == ["2024-12-12", "2025-01-06"]
    assert [s.policy_date for s in issue.articles] == ["2024-12-18", "2025-01-03"]
    assert [s.title for s in issue.articles] == ["Test pilot: MIIT names industrial sandbox zones",
                                                 "Quiet quotas: Provinces get recycling targets"]
    assert issue.authors == ("Test Author",) and issue.editors == ("Test Editor",)
    assert issue.warnings == ("found 2 Top-5 articles, expected 5",)


def test_year_wrap_without_a_reporting_period():
    text = (DATA / "january-issue-year-wrap.md").read_text(encoding="utf-8")
    text = edit(text, "JANUARY 10, 2025 (REPORTING PERIOD: DECEMBER 5 - JANUARY 6)", "JANUARY 10, 2025")
    issue = parse_issue(text, "no-period.md")
    assert (issue.period_start, issue.period_end) == (None, None)
    assert [p.date for p in issue.section("policy-news").parts] == ["2024-12-09", "2024-12-30", "2025-01-03"]


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00\x00" + bytes(64)


def latin1_issue() -> bytes:
    """A real issue saved as latin-1: its 'ß' is one byte 0xdf, not UTF-8."""
    text = issue_text("2024-12-04")
    text = re.sub(r"[^\x00-\xff]", "?", text)  # CJK titles and curly quotes do not exist in latin-1
    assert "Jakobstraße" in text
    return text.encode("latin-1")


BAD_FILES = {
    # file name: (bytes, words the message must contain)
    "empty.md": (b"", "empty"),
    "blank.md": (b"  \n\n\t\r\n   \n", "empty"),
    "scan.md": (PNG, "binary"),
    "nul.txt": (issue_text("2022-10-05").encode()[:500] + b"\x00\x00\x00" + b"x" * 100, "binary"),
    "latin1.txt": (latin1_issue(), "not UTF-8"),
    "readme.md": ((DATA / "readme-not-an-issue.md").read_bytes(), "not a MERICS China Industries issue"),
    "masthead-only.md": ((DATA / "masthead-without-sections.md").read_bytes(), "no sections"),
    "undated.md": (cut(issue_text("2024-12-04"), "DECEMBER 04, 2024", "# MERICS").encode(), "no issue date"),
    # A text issue named .pdf is read as a PDF, and is not one.
    "issue.pdf": (issue_file("2024-12-04").read_bytes(), "not a PDF file"),
    "issue.docx": (issue_file("2024-12-04").read_bytes(), "expected .md, .txt or .pdf"),
    "issue": (issue_file("2024-12-04").read_bytes(), "expected .md, .txt or .pdf"),
}


@pytest.mark.parametrize("name", BAD_FILES)
def test_bad_files_are_refused_with_the_file_name_and_the_problem(tmp_path, name):
    data, problem = BAD_FILES[name]
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(IssueError) as e:
        read_issue(path)
    message = str(e.value)
    assert message.startswith(f"{name}: "), message
    assert problem in message, message


def test_latin1_message_says_where_and_what_to_do(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes(latin1_issue())
    with pytest.raises(IssueError, match=r"invalid byte 0xdf at offset \d+.*convert the file to UTF-8"):
        read_issue(path)


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(IssueError, match=r"^gone\.md: cannot be read"):
        read_issue(tmp_path / "gone.md")


def test_the_same_bytes_with_a_good_name_parse():
    """The wrong-extension refusals are about the name alone: these bytes are a good issue."""
    data, _ = BAD_FILES["issue.pdf"]
    assert parse_issue_bytes(data, "issue.md").date == "2024-12-04"


CHART = ("\nExhibit 2: Battery makers' revenue, 2023\n"
         "■ Revenue (CNY billion)\n"
         "BYD: 604; CATL: 404\n"
         "Note: All business segments.\n"
         "Source: Company reports, MERICS\n\n")
AFTER_CHART = "Consolidation may follow, the comment goes on after the chart."


def test_a_chart_is_an_exhibit_part_and_the_comment_resumes_after_it():
    # A chart inside the MERICS comment: title, legend, data, note, source, then the comment goes on.
    text = edit(issue_text("2024-12-04"), "However, there are signs that the sector has begun",
                CHART + AFTER_CHART + "\n\nHowever, there are signs that the sector has begun")
    section = parse_issue(text, "chart.md").section("2")
    assert [p.kind for p in section.parts] == [AT_A_GLANCE, COMMENT, EXHIBIT, DOCUMENT]
    exhibit = section.parts[2]
    assert exhibit.label == "Exhibit 2: Battery makers' revenue, 2023"
    assert exhibit.text.split("\n") == ["Exhibit 2: Battery makers' revenue, 2023", "■ Revenue (CNY billion)",
                                        "BYD: 604; CATL: 404", "Note: All business segments.",
                                        "Source: Company reports, MERICS"]
    comment = section.parts[1].text
    assert comment.startswith("New energy storage – which differs") and AFTER_CHART in comment
    assert comment.endswith("Ningde New Energy Technology Co. (CNY 48 billion).")


def test_note_and_source_without_a_chart_title_make_an_exhibit_of_their_own():
    text = edit(issue_text("2024-12-04"), "**Article:** Action Plan for the High-Quality",
                "Note: Capacity in GW.\nSource: CNESA\n\n**Article:** Action Plan for the High-Quality")
    section = parse_issue(text, "caption.md").section("2")
    assert [(p.kind, p.label, p.text) for p in section.parts if p.kind == EXHIBIT] == \
        [(EXHIBIT, "Exhibit", "Note: Capacity in GW.\nSource: CNESA")]
    assert section.parts[1].text.endswith("(CNY 48 billion).")  # the comment is not the chart's


PLAIN = "2022-10-05"  # a plain-text issue: no '#' headings, no '**' bold
PLAIN_GLANCE = "At a glance: Four government agencies led by"
PLAIN_COMMENT = "MERICS comment: The plan reflects Beijing's ambition"
PLAIN_NEXT = "\n\nBut the main emphasis of the implementation plan"  # article 1's second comment paragraph


@pytest.mark.parametrize("line", ["At a glance\n", "AT A GLANCE\n\n", "At a glance:\n\n", "**At a glance**\n\n"],
                         ids=["own-line", "capitals-blank-line", "colon", "bold"])
def test_an_at_a_glance_label_on_its_own_line_is_the_label(originals, line):
    text = edit(issue_text(PLAIN), PLAIN_GLANCE, f"{line}Four government agencies led by")
    issue = parse_issue(text, "glance-alone.txt")
    glance = issue.section("1").parts[0]
    assert [p.kind for p in issue.section("1").parts] == [AT_A_GLANCE, COMMENT, DOCUMENT]
    assert (glance.label, glance.text.split()[:4]) == ("At a glance", ["Four", "government", "agencies", "led"])
    assert structure(issue) == structure(originals[PLAIN])
    assert issue.warnings == ()


@pytest.mark.parametrize("line", ["MERICS comment\n", "MERICS COMMENT\n\n", "MERICs Comment:\n", "### MERICS comment\n\n"],
                         ids=["own-line", "capitals-blank-line", "colon", "heading"])
def test_a_merics_comment_label_on_its_own_line_starts_the_comment(originals, line):
    text = edit(issue_text(PLAIN), PLAIN_COMMENT, f"{line}The plan reflects Beijing's ambition")
    issue = parse_issue(text, "comment-alone.txt")
    parts = issue.section("1").parts
    assert [(p.kind, p.label) for p in parts] == [(AT_A_GLANCE, "At a glance"), (COMMENT, "MERICS comment"),
                                                 (DOCUMENT, "Policy document")]
    assert parts[0].text.endswith("to improve international branding")
    assert parts[1].text.startswith("The plan reflects Beijing's ambition")
    assert structure(issue) == structure(originals[PLAIN])


PLAIN_CHART = ("Output of basic industrial materials, 2021\n"
               "Year-on-year change, percent\n"
               "Steel: -3.0; Cement: -1.2; Glass: 8.4\n"
               "Note: Preliminary figures.\n"
               "Source: NBS, MERICS")


@pytest.mark.parametrize("head, label", [
    ("Exhibit 1\n", "Exhibit 1: Output of basic industrial materials, 2021"),
    ("EXHIBIT 1\n", "Exhibit 1: Output of basic industrial materials, 2021"),
    ("Exhibit 1: ", "Exhibit 1: Output of basic industrial materials, 2021"),
    ("", "Exhibit: Output of basic industrial materials, 2021"),
], ids=["exhibit-line", "capitals", "exhibit-colon", "title-only"])
def test_a_plain_text_exhibit_is_one_exhibit_part(originals, head, label):
    # A chart in the plain-text comment: its title (after "Exhibit 1", or standing alone), a
    # description and a data line, then Note: and Source:; the comment goes on after it.
    text = edit(issue_text(PLAIN), PLAIN_NEXT, f"\n\n{head}{PLAIN_CHART}{PLAIN_NEXT}")
    parts = parse_issue(text, "plain-chart.txt").section("1").parts
    assert [p.kind for p in parts] == [AT_A_GLANCE, COMMENT, EXHIBIT, DOCUMENT]
    exhibit = parts[2]
    assert exhibit.label == label
    assert exhibit.text.split("\n") == [label if head else "Output of basic industrial materials, 2021",
                                        "Year-on-year change, percent", "Steel: -3.0; Cement: -1.2; Glass: 8.4",
                                        "Note: Preliminary figures.", "Source: NBS, MERICS"]
    assert parts[1].text == originals[PLAIN].section("1").parts[1].text  # the comment, whole and only it


def test_an_exhibit_label_with_its_title_a_paragraph_below():
    # As a PDF's text gives it: every line a paragraph of its own.
    text = edit(issue_text(PLAIN), PLAIN_NEXT, "\n\nExhibit 2\n\nOutput of basic industrial materials, 2021\n\n"
                                               f"Note: Preliminary figures.\n\nSource: NBS, MERICS{PLAIN_NEXT}")
    parts = parse_issue(text, "pdf-chart.txt").section("1").parts
    assert [(p.kind, p.label) for p in parts][1:3] == [
        (COMMENT, "MERICS comment"), (EXHIBIT, "Exhibit 2: Output of basic industrial materials, 2021")]
    assert parts[2].text == ("Exhibit 2: Output of basic industrial materials, 2021\n"
                             "Note: Preliminary figures.\nSource: NBS, MERICS")
    assert "But the main emphasis" in parts[1].text


def test_comment_prose_that_mentions_an_exhibit_stays_a_comment(originals):
    # Sentences about an exhibit, one starting with "Exhibit 1", a short sentence and a list just
    # above a note: all stay in the comment; only the note line is the exhibit.
    prose = ("Exhibit 1 shows that steel output fell by 3 percent in 2021.\n\n"
             "Output is falling (see exhibit 1).\n"
             "Note: Preliminary figures.\n\n"
             "Planned cuts include:\n- Steel\n- Cement\n"
             "Source: NBS, MERICS")
    text = edit(issue_text(PLAIN), PLAIN_NEXT, f"\n\n{prose}{PLAIN_NEXT}")
    parts = parse_issue(text, "exhibit-prose.txt").section("1").parts
    assert [(p.kind, p.label) for p in parts] == [(AT_A_GLANCE, "At a glance"), (COMMENT, "MERICS comment"),
                                                 (EXHIBIT, "Exhibit"), (EXHIBIT, "Exhibit"),
                                                 (DOCUMENT, "Policy document")]
    assert [p.text for p in parts[2:4]] == ["Note: Preliminary figures.", "Source: NBS, MERICS"]
    comment = originals[PLAIN].section("1").parts[1].text.split("\n\n")
    assert parts[1].text.split("\n\n") == [comment[0], "Exhibit 1 shows that steel output fell by 3 percent in 2021.",
                                           "Output is falling (see exhibit 1).", "Planned cuts include:", "- Steel\n- Cement",
                                           *comment[1:]]


def test_a_heading_wrapped_onto_a_second_line_is_one_title(originals):
    text = edit(issue_text("2024-12-04"), "## 2. Fully charged: China aims to further crank up its new energy storage industry",
                "## 2. Fully charged: China aims to further crank up its new\nenergy storage industry")
    issue = parse_issue(text, "wrapped.md")
    assert structure(issue) == structure(originals["2024-12-04"])
    assert issue.section("2").parts[0].text == originals["2024-12-04"].section("2").parts[0].text


def test_indented_items_stay_with_the_item_above_them():
    text = edit(issue_text("2024-12-04"), "- Cultivate between three to five companies worth CNY 100 billion",
                "- Cultivate between three to five companies worth CNY 100 billion, in:\n"
                "  – lithium batteries\n  – flow batteries")
    glance = parse_issue(text, "nested.md").section("2").parts[0].text
    assert ("- Cultivate between three to five companies worth CNY 100 billion, in:\n"
            "  - lithium batteries\n  - flow batteries\n- Increase new energy storage") in glance
    from qa.text import split_units
    assert "- Cultivate between three to five companies worth CNY 100 billion, in:\n  - lithium batteries\n" \
           "  - flow batteries" in split_units(glance)


def test_a_footnote_marker_after_punctuation_is_dropped_but_a_formula_keeps_its_digit():
    from qa.text import clean_inline
    assert clean_inline("worth almost CNY 600 billion in 2024.<sup>1</sup> Beijing") == \
        "worth almost CNY 600 billion in 2024. Beijing"
    assert clean_inline("Tracking CO <sup>2</sup> emissions") == "Tracking CO2 emissions"


def test_chart_lines_separated_by_blank_lines_are_still_one_chart():
    spaced = CHART.replace("\nNote:", "\n\nNote:").replace("\nSource:", "\n\nSource:")
    text = edit(issue_text("2024-12-04"), "However, there are signs that the sector has begun",
                spaced + AFTER_CHART + "\n\nHowever, there are signs that the sector has begun")
    section = parse_issue(text, "spaced.md").section("2")
    assert [p.kind for p in section.parts] == [AT_A_GLANCE, COMMENT, EXHIBIT, DOCUMENT]
    assert section.parts[2].text.split("\n")[-2:] == ["Note: All business segments.", "Source: Company reports, MERICS"]
    assert AFTER_CHART in section.parts[1].text


# News items written another way (bold day-month-year dates, dashes, headings of any depth) ----

NEWS_ISSUE = "2024-12-04"  # its items are October and November 2024
_NEWS_LINE = re.compile(r"^- \*(?P<month>[A-Z][a-z]+) (?P<day>\d{1,2}):\* ", re.M)
DATE_STYLES = {
    "bold-day-month-year-en-dash": lambda m, d: f"**{d} {m} 2024** – ",
    "day-month-year-hyphen": lambda m, d: f"{d} {m} 2024 - ",
    "bold-month-day-year-colon": lambda m, d: f"**{m} {d}, 2024:** ",
    "italic-month-day-colon": lambda m, d: f"- *{m} {d}:* ",  # the corpus style
    "bold-date-alone-on-its-line": lambda m, d: f"**{d} {m} 2024**\n",
}
HEADING_STYLES = {"###": "### {}", "####": "#### {}", "plain": "{}", "bold": "**{}**"}


def news_restyled(text: str, date_style: str, heading_style: str) -> str:
    """The issue with every NOTEWORTHY item's date and both news headings written another way."""
    head, tail = text.split("## NOTEWORTHY")
    tail = _NEWS_LINE.sub(lambda m: DATE_STYLES[date_style](m["month"], int(m["day"])), tail)
    for title in ("Policy news", "Corporate news"):
        tail = edit(tail, f"### {title}", HEADING_STYLES[heading_style].format(title))
    return f"{head}## NOTEWORTHY{tail}"


@pytest.mark.parametrize("heading", HEADING_STYLES)
@pytest.mark.parametrize("style", DATE_STYLES)
def test_news_items_with_other_date_styles_are_the_same_items(originals, style, heading):
    text = news_restyled(issue_text(NEWS_ISSUE), style, heading)
    assert "*October 29:*" not in text or style == "italic-month-day-colon"
    issue = parse_issue(text, f"news-{style}.md")
    assert structure(issue) == structure(originals[NEWS_ISSUE])
    assert issue.warnings == ()


NEWS_TAIL = """## NOTEWORTHY

#### Policy news

**31 July 2025** – The MIIT released a plan for humanoid robots (MIIT notice)

**4 August 2025** - The NDRC set new rules for data centers
that run on green power (NDRC notice, Xinhua)

### Corporate news

**July 30, 2025:** BYD opened a plant in Hungary (Reuters)
- *August 2:* CATL cut battery prices (Caixin article)
31 December 2024 – Airbus delivered its last jet of the year from Tianjin (Bloomberg)

## AUTHORS

Test Author
"""


def news_issue(tail: str) -> str:
    """The 2024-12-04 issue with its NOTEWORTHY part (to the end) replaced by `tail`."""
    text = issue_text(NEWS_ISSUE)
    return text[:text.index("## NOTEWORTHY")] + tail


def test_news_items_with_bold_dates_and_dashes_read_by_hand():
    issue = parse_issue(news_issue(NEWS_TAIL), "news-by-hand.md")
    news = [(s.kind, s.title, [(p.label, p.date, p.text.split()[:2], p.sources) for p in s.parts])
            for s in issue.sections if s.kind != "article"]
    assert news == [
        ("policy_news", "Policy news", [
            ("31 July 2025", "2025-07-31", ["The", "MIIT"], ("MIIT notice",)),
            ("4 August 2025", "2025-08-04", ["The", "NDRC"], ("NDRC notice", "Xinhua"))]),
        ("corporate_news", "Corporate news", [
            ("30 July 2025", "2025-07-30", ["BYD", "opened"], ("Reuters",)),
            # No year: the issue's (4 December 2024) year, as for every corpus item.
            ("2 August 2024", "2024-08-02", ["CATL", "cut"], ("Caixin article",)),
            ("31 December 2024", "2024-12-31", ["Airbus", "delivered"], ("Bloomberg",))])]
    assert issue.section("policy-news").parts[1].text == \
        "The NDRC set new rules for data centers that run on green power (NDRC notice, Xinhua)"
    assert issue.authors == ("Test Author",)
    assert issue.warnings == ()


def test_news_without_a_noteworthy_heading_start_at_their_heading():
    issue = parse_issue(news_issue(NEWS_TAIL.replace("## NOTEWORTHY\n\n", "")), "no-noteworthy.md")
    assert [(s.id, len(s.parts)) for s in issue.sections[5:]] == [("policy-news", 2), ("corporate-news", 3)]
    assert issue.section("5").parts[-1].kind == DOCUMENT  # the last article ends where the news begin
    assert issue.warnings == ()


def test_a_news_paragraph_without_a_date_stays_as_an_undated_part():
    tail = NEWS_TAIL.replace("#### Policy news\n\n", "#### Policy news\n\nSelected policy news of the month.\n\n")
    tail = tail.replace("### Corporate news\n", "### Corporate news\n\nLate July: several carmakers cut prices again\n")
    issue = parse_issue(news_issue(tail), "undated.md")
    policy, corporate = issue.section("policy-news").parts, issue.section("corporate-news").parts
    assert [(p.label, p.date, p.text) for p in policy[:1]] == [("Undated", None, "Selected policy news of the month.")]
    assert [p.date for p in policy[1:]] == ["2025-07-31", "2025-08-04"]
    assert [(p.label, p.date, p.text) for p in corporate[:1]] == \
        [("Undated", None, "Late July: several carmakers cut prices again")]
    assert [p.date for p in corporate[1:]] == ["2025-07-30", "2024-08-02", "2024-12-31"]
    assert issue.warnings == (
        "policy news: text before the first dated item is kept as one undated part: 'Selected policy news of the month.'",
        "corporate news: text before the first dated item is kept as one undated part: "
        "'Late July: several carmakers cut prices again'")


def test_a_news_heading_whose_items_have_no_readable_date_is_kept_and_warned():
    tail = ("## NOTEWORTHY\n\n### Corporate news\n\n"
            "Mid-2025 – BYD opened a plant in Hungary (Reuters)\n\n"
            "Q3 2025 – CATL cut battery prices (Caixin article)\n\n"
            "### Policy news\n\n## AUTHORS\n\nTest Author\n")
    issue = parse_issue(news_issue(tail), "no-dates.md")
    assert [s.id for s in issue.sections[5:]] == ["corporate-news"]
    assert [(p.kind, p.label, p.date, p.text) for p in issue.section("corporate-news").parts] == [
        (ITEM, "Undated", None, "Mid-2025 – BYD opened a plant in Hungary (Reuters)\n\n"
                                "Q3 2025 – CATL cut battery prices (Caixin article)")]
    assert issue.warnings == (
        "corporate news: no dated items under the heading (expected 'July 31: ...' or '31 July 2025 – ...'); "
        "its text is kept as one undated part: 'Mid-2025 – BYD opened a plant in Hungary ...'",
        "policy news: the heading has no news items under it")


def test_text_before_any_news_heading_and_a_bare_date_are_warned_about():
    tail = NEWS_TAIL.replace("## NOTEWORTHY\n\n", "## NOTEWORTHY\n\nNews of the month, in brief.\n\n")
    tail = tail.replace("\n### Corporate news", "\n**5 August 2025**\n\n### Corporate news")
    issue = parse_issue(news_issue(tail), "bare-date.md")
    assert [p.date for p in issue.section("policy-news").parts] == ["2025-07-31", "2025-08-04"]
    assert issue.warnings == ("noteworthy: text before the first news heading was left out: 'News of the month, in brief.'",
                              "policy news: the date 5 August 2025 has no item text under it")


def test_the_news_warning_reaches_the_index_report(tmp_path):
    """`qa index` prints its report's warnings; planning an update already has them (no model)."""
    import datetime as dt

    from fakes import FakeEmbedder
    from qa import Settings
    from qa.indexer import plan_update
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    tail = NEWS_TAIL.replace("### Corporate news\n", "### Corporate news\n\nSelected company news.\n")
    (corpus / "news.md").write_text(news_issue(tail), encoding="utf-8")
    settings = Settings.load(corpus_dir=corpus, index_dir=tmp_path / "index", today=dt.date(2026, 11, 25))
    assert plan_update(settings, FakeEmbedder()).report.warnings == [
        "news.md: corporate news: text before the first dated item is kept as one undated part: 'Selected company news.'"]


# A bold label without a colon before the part's first words --------------------------------

@pytest.mark.parametrize("label", ["**At a glance** ", "**AT A GLANCE** ", "**At a glance** – ", "__At a glance__ ",
                                   "### **At a glance** "],
                         ids=["bold", "bold-capitals", "bold-dash", "underscores", "heading"])
def test_a_bold_at_a_glance_label_without_a_colon_is_the_label(originals, label):
    text = edit(issue_text(NEWS_ISSUE), "**At a glance:** ", label, count=5)
    issue = parse_issue(text, "glance-bold.md")
    glance = issue.section("2").parts[0]
    assert (glance.kind, glance.label, glance.text.split()[:4]) == (AT_A_GLANCE, "At a glance",
                                                                     ["The", "Ministry", "of", "Industry"])
    assert structure(issue) == structure(originals[NEWS_ISSUE])
    assert issue.warnings == ()


def test_a_bold_merics_comment_label_without_a_colon_starts_the_comment(originals):
    text = edit(issue_text(NEWS_ISSUE), "**MERICS comment:** ", "**MERICS comment** ", count=5)
    issue = parse_issue(text, "comment-bold.md")
    assert [(p.kind, p.label) for p in issue.section("2").parts] == [
        (AT_A_GLANCE, "At a glance"), (COMMENT, "MERICS comment"), (DOCUMENT, "Policy document")]
    assert issue.section("2").parts[1].text.startswith("New energy storage – which differs")
    assert structure(issue) == structure(originals[NEWS_ISSUE])


def test_a_bold_exhibit_label_without_a_colon_takes_its_title(originals):
    text = edit(issue_text(PLAIN), PLAIN_NEXT, f"\n\n**Exhibit 1** {PLAIN_CHART}{PLAIN_NEXT}")
    parts = parse_issue(text, "exhibit-bold.txt").section("1").parts
    assert [(p.kind, p.label) for p in parts][1:3] == [
        (COMMENT, "MERICS comment"), (EXHIBIT, "Exhibit 1: Output of basic industrial materials, 2021")]
    assert parts[2].text.split("\n")[:2] == ["Exhibit 1: Output of basic industrial materials, 2021",
                                             "Year-on-year change, percent"]
    assert parts[1].text == originals[PLAIN].section("1").parts[1].text


def test_a_bold_word_that_may_not_go_without_a_colon_stays_text(originals):
    # "Background", "Comment", "Source" need their colon: in bold at a paragraph's start they are words.
    text = edit(issue_text(PLAIN), PLAIN_NEXT, "\n\n**Background** The plan builds on earlier work."
                                               "\n\n**Comment** is due by March." + PLAIN_NEXT)
    parts = parse_issue(text, "bold-words.txt").section("1").parts
    assert [p.kind for p in parts] == [AT_A_GLANCE, COMMENT, DOCUMENT]
    assert "\n\nBackground The plan builds on earlier work.\n\nComment is due by March.\n\nBut the main" in parts[1].text


# Running headers and footers of a PDF converted to text ------------------------------------

DATE_LINE = "Date: September 14, 2022"  # article 1's policy date, the first line of that text
RUNNING = {
    # header, lone page number line
    "name-bar-number": ("MERICS China Industries | October 2022", "{n}"),
    "name-dash-page-n": ("China Industries – October 2022", "Page {n}"),
    "number-in-the-header": ("MERICS China Industries | October 2022 | {n}", ""),
    "no-name-counted-pages": ("Monthly report on industrial policy", "{n}"),
}


def with_running_lines(text: str, header: str, number: str) -> str:
    """The plain issue as PDF-to-text output gives it: a page's footer and the next page's header
    between its lines, on lines of their own (in a list, mid-paragraph, between news items,
    before a heading) or glued onto the end of a line (a policy date, a news item)."""
    n = iter(range(2, 20))

    def page(glued: bool = False) -> str:
        k = next(n)
        parts = [number.format(n=k), header.format(n=k)] if number else [header.format(n=k)]
        return " ".join(parts) if glued else "\n".join(parts)
    text = edit(text, "life cycle of key basic materials by 2025\n", f"life cycle of key basic materials by 2025\n{page()}\n")
    text = edit(text, "modernize its traditional industries. It builds",
                f"modernize its traditional industries.\n{page()}\nIt builds")
    text = edit(text, DATE_LINE, f"{DATE_LINE} {page(glued=True)}")
    heading = "\n4. Shanghai plans five-fold increase in autonomous driving sector by 2025\n\nAt a glance"
    text = edit(text, heading, f"\n{page()}\n{heading}")
    text = edit(text, "\n- Support AI research", f"\n{page()}\n- Support AI research")
    text = edit(text, "\n- *September 19:* The state-owned", f"\n\n{page()}\n\n- *September 19:* The state-owned")
    text = edit(text, "([Daimler press release](#))", f"([Daimler press release](#)) {page(glued=True)}")
    return text


@pytest.mark.parametrize("form", RUNNING)
def test_running_headers_and_page_numbers_are_not_content(originals, form):
    header, number = RUNNING[form]
    text = with_running_lines(issue_text(PLAIN), header, number)
    assert text.count(header.split(" | ")[0].split(" {")[0]) == 7
    issue = parse_issue(text, f"running-{form}.txt")
    assert issue.section("1").policy_date == "2022-09-14"
    assert structure(issue) == structure(originals[PLAIN])
    assert issue.warnings == ()


def test_a_repeated_source_line_and_byline_stay():
    from qa.text import strip_running_lines
    chart = f"\n\n{PLAIN_CHART.replace('Source: NBS, MERICS', 'Source: NBS')}"
    text = issue_text(PLAIN)
    for n, anchor in enumerate(["\n\nBut the main emphasis", "\n\nThe effectiveness of the program",
                                "\n\nEurope and Japan remain ahead"], 1):
        text = edit(text, anchor, chart.replace("Output of", f"Exhibit {n}: Output of") + anchor)
    issue = parse_issue(with_running_lines(text, *RUNNING["name-bar-number"]), "sources.txt")
    exhibits = [p for s in issue.articles for p in s.parts if p.kind == EXHIBIT]
    assert [p.text.split("\n")[-1] for p in exhibits] == ["Source: NBS"] * 3
    assert issue.warnings == ()
    byline = ["Anna Example", "Analyst, MERICS", "", "Ben Example", "Analyst, MERICS", "", "Cleo Example",
              "Analyst, MERICS", "", "12"]
    assert strip_running_lines(byline) == byline
    # A policy's date line ends each article, often right before a page break: it recurs, the
    # same but for its numbers, beside counting page numbers, and is still content.
    header = "MERICS China Industries | November 2025"
    pages = [line for n in (3, 4, 5) for line in
             ("Issuing bodies: MIIT", "", f"Date: October {n + 6}, 2025", "", str(n), "", header, "", f"{n}. Next article")]
    assert [ln for ln in strip_running_lines(pages) if ln.startswith("Date")] == \
        ["Date: October 9, 2025", "Date: October 10, 2025", "Date: October 11, 2025"]
    assert header not in strip_running_lines(pages)


def test_a_running_header_recurs_three_times_and_its_glued_page_number_must_fit():
    from qa.text import strip_running_lines
    header = "MERICS China Industries | October 2022"
    twice = [header, "2", "Text one.", header, "3", "Text two."]
    assert strip_running_lines(twice) == twice
    # Repeated short lines without the newsletter's name, beside numbers that do not count up page
    # by page (a table, chart values), stay.
    table = ["Steel", "8", "Cement", "Steel", "9", "Steel", "7"]
    assert strip_running_lines(table) == table
    charts = ["Exhibit 1", "120", "Exhibit 2", "121", "Exhibit 3", "122", "Output", "100", "Output", "240", "Output", "300"]
    assert strip_running_lines(charts) == charts
    # A number just before a glued header is the page's when it fits between the page numbers
    # around it (10 between 9 and 11), else the text's own (40, long after page 11).
    pages = ["Text one", header, "8", "Text two", "", header, "9", "", f"Text three ends 10 {header}", "11", header,
             f"Text four rose by 40 {header}"]
    assert strip_running_lines(pages) == ["Text one", "Text two", "", "", "Text three ends", "Text four rose by 40"]
