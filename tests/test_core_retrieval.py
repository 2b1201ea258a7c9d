"""Search and answers on the real index, checked by structure (issue, section, part, the
passage's words), not by the answer's wording, which is still being tuned."""

from __future__ import annotations

import re

import pytest

from core_helpers import DATES, ENERGY_BULLET, ENERGY_HEADING, ENERGY_Q
from qa import Filters, QuestionError
from qa.schema import ARTICLE, CORPORATE_NEWS, POLICY_NEWS

BIG_DATA_2027 = "What are the 2027 targets of the new materials big data system?"
BIG_DATA_2035 = "By 2035, the new materials big data center system will be fully operational"


def test_energy_storage_answer_cites_the_bullets(assistant):
    answer = assistant.ask(ENERGY_Q)
    assert not answer.abstained
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", answer.text)}
    assert markers == {c.n for c in answer.citations}, answer.text
    cited = [c for c in answer.citations if c.issue_date == "2024-12-04" and c.chunk.section_heading == ENERGY_HEADING
             and c.chunk.part_label == "At a glance"]
    assert cited, [c.label() for c in answer.citations]
    assert ENERGY_BULLET in answer.text or any(ENERGY_BULLET in c.chunk.text for c in cited)
    assert f"[{cited[0].n}]" in answer.text
    assert cited[0].label() == f"China Industries, 4 December 2024 — {ENERGY_HEADING} — At a glance"


def test_energy_storage_search_ranks_the_bullets_first(assistant):
    hits = assistant.search(ENERGY_Q).hits
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1)) and len(hits) == assistant.settings.k
    assert ENERGY_BULLET in hits[0].chunk.text and hits[0].chunk.issue_date == "2024-12-04"
    assert all(a.score >= b.score for a, b in zip(hits, hits[1:]))


@pytest.mark.parametrize("filters, allowed", [
    (Filters(issues=("2023-12-06",)), lambda c: c.issue_date == "2023-12-06"),
    (Filters(issues=("2022-10-05", "2024-10-02")), lambda c: c.issue_date in ("2022-10-05", "2024-10-02")),
    (Filters(date_from="2023-01-01", date_to="2024-10-02"), lambda c: "2023-01-01" <= c.issue_date <= "2024-10-02"),
    (Filters(date_to="2023-12-05"), lambda c: c.issue_date == "2022-10-05"),
    (Filters(kinds=(CORPORATE_NEWS,)), lambda c: c.section_kind == CORPORATE_NEWS),
    (Filters(kinds=(POLICY_NEWS, CORPORATE_NEWS)), lambda c: c.section_kind != ARTICLE),
    (Filters(kinds=(ARTICLE,), issues=("2024-10-02",)), lambda c: c.section_kind == ARTICLE and c.issue_date == "2024-10-02"),
], ids=["one-issue", "two-issues", "date-range", "date-to", "corporate", "news", "article+issue"])
def test_filters_restrict_hits(assistant, filters, allowed):
    question = "energy storage batteries and autonomous vehicles"
    unfiltered = assistant.search(question, k=10).hits
    assert not all(allowed(h.chunk) for h in unfiltered), "the filter must have something to remove"
    hits = assistant.search(question, k=10, filters=filters).hits
    assert len(hits) == 10
    assert all(allowed(h.chunk) for h in hits), [h.chunk.id for h in hits]
    answer = assistant.ask(question, filters=filters)
    assert all(allowed(c.chunk) for c in answer.citations)


def test_filters_that_match_nothing_give_no_hits_and_the_answer_declines(assistant):
    nothing = Filters(date_from="2025-01-01")
    assert assistant.search(ENERGY_Q, filters=nothing).hits == []
    answer = assistant.ask(ENERGY_Q, filters=nothing)
    assert answer.abstained and answer.citations == ()


def test_bad_filters_are_refused():
    with pytest.raises(QuestionError, match="unknown section kind 'opinion'"):
        Filters(kinds=("opinion",))
    with pytest.raises(QuestionError, match="'4 Dec 2024' is not a date"):
        Filters(issues=("4 Dec 2024",))


def test_the_latest_issue(assistant):
    result = assistant.search("What did the latest issue say about robots?", k=10)
    assert result.hits and {h.chunk.issue_date for h in result.hits} == {"2024-12-04"}
    assert any("latest issue" in n and "4 December 2024" in n for n in result.query.notes)
    # The same words without "latest issue" reach other issues.
    assert {h.chunk.issue_date for h in assistant.search("What did it say about robots?", k=10).hits} != {"2024-12-04"}


def test_the_latest_issue_within_filters(assistant):
    result = assistant.search("What did the latest issue say about robots?", k=5,
                              filters=Filters(issues=("2022-10-05", "2023-12-06")))
    assert {h.chunk.issue_date for h in result.hits} == {"2023-12-06"}


def test_the_latest_issue_note_names_the_issue_searched(assistant):
    result = assistant.search("What did the latest issue say about robots?", k=5,
                              filters=Filters(issues=("2022-10-05", "2023-12-06")))
    assert any("6 December 2023" in n for n in result.query.notes + result.notes), result.query.notes


def test_a_month_narrows_to_material_of_that_month(assistant):
    question = "Which data and robot policies were announced in November 2024?"
    result = assistant.search(question, k=10)
    assert any("November 2024" in n for n in result.query.notes)
    assert result.hits and {h.chunk.issue_date for h in result.hits} == {"2024-12-04"}
    dated = [d for h in result.hits for d in h.chunk.dates]
    assert dated and all(d.startswith("2024-11") for d in dated), dated
    wider = assistant.search("Which data and robot policies were announced?", k=10).hits
    assert len({h.chunk.issue_date for h in wider}) > 1


def test_an_issue_month_names_the_issue(assistant):
    result = assistant.search("What was in the December 2023 issue about autonomous vehicles?", k=10)
    assert {h.chunk.issue_date for h in result.hits} == {"2023-12-06"}


def test_a_follow_up_is_read_with_the_earlier_question(assistant):
    first = assistant.ask(BIG_DATA_2027)
    assert any(c.issue_date == "2024-12-04" and c.chunk.section_id == "1" for c in first.citations)
    history = [{"role": "user", "content": BIG_DATA_2027}, {"role": "assistant", "content": first.text}]
    answer = assistant.ask("and what about 2035?", history=history)
    assert not answer.abstained
    assert any("Read as a follow-up" in n and BIG_DATA_2027 in n for n in answer.notes)
    hit = [c for c in answer.citations if BIG_DATA_2035 in c.chunk.text]
    assert hit and hit[0].issue_date == "2024-12-04" and hit[0].chunk.section_id == "1"
    assert BIG_DATA_2035 in answer.text
    # Without the history, the question is not read as a follow-up.
    alone = assistant.search("and what about 2035?")
    assert not any("follow-up" in n for n in alone.query.notes)


def test_an_unrelated_question_is_declined(assistant):
    answer = assistant.ask("What is the recipe for Sachertorte?")
    assert answer.abstained and answer.citations == ()
    assert "nothing" in answer.text.lower()


@pytest.mark.parametrize("method", ["ask", "search"])
def test_overlong_and_empty_questions_raise(assistant, method):
    call = getattr(assistant, method)
    question = ("energy storage " * 700)[:10_000]
    assert len(question) == 10_000
    with pytest.raises(QuestionError) as e:
        call(question)
    assert "10,000 characters long; the limit is 2,000" in str(e.value)
    for empty in ("", "   \n\t "):
        with pytest.raises(QuestionError, match="The question is empty"):
            call(empty)


def test_issue_list_and_sections(assistant):
    issues = assistant.list_issues()
    assert [i["issue_date"] for i in issues] == sorted(DATES, reverse=True)
    latest = issues[0]
    assert latest["sections"][1] == {"id": "2", "kind": ARTICLE, "heading": ENERGY_HEADING,
                                     "chunks": latest["sections"][1]["chunks"]}
    assert sum(s["chunks"] for s in latest["sections"]) == latest["chunks"] == \
        assistant.snapshot.manifest.issues["2024-12-04"].chunks
    assert (latest["policy_news"], latest["corporate_news"]) == (8, 10)
    assert assistant.get_section("2024-12-04", "2").title == ENERGY_HEADING[3:]
