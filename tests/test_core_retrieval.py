"""Search and answers on the real index, checked by structure (issue, section, part, the
passage's words), not by the answer's wording, which is still being tuned."""

from __future__ import annotations

import re

import pytest

from core_helpers import DATES, ENERGY_BULLET, ENERGY_HEADING, ENERGY_Q
from qa import Filters, QuestionError
from qa.schema import ARTICLE, CORPORATE_NEWS, POLICY_NEWS, Outcome

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
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1)) and len(hits) == assistant.settings.search.k
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


def test_a_month_lifts_material_of_that_month_to_the_top(assistant):
    question = "Which data and robot policies were announced in November 2024?"
    result = assistant.search(question, k=10)
    assert any("November 2024" in n for n in result.notes)
    top = result.hits[:5]
    assert {h.chunk.issue_date for h in top} == {"2024-12-04"}
    dated = [d for h in top for d in h.chunk.dates]
    assert dated and all(d.startswith("2024-11") for d in dated), dated
    wider = assistant.search("Which data and robot policies were announced?", k=10).hits
    assert len({h.chunk.issue_date for h in wider}) > 1


def test_a_month_is_evidence_not_a_filter(assistant):
    # The storage plan is dated 6 November 2024, in the December 2024 issue: nothing of it is from
    # October. A hard filter dropped it; as evidence, the month cannot outweigh the plan itself.
    question = "What are the new energy storage targets for 2027 announced in October 2024?"
    result = assistant.search(question, k=10)
    assert "Put material from October 2024 first" in result.notes
    assert any(ENERGY_BULLET in h.chunk.text for h in result.hits), [h.chunk.id for h in result.hits]


def test_a_question_that_is_only_a_period_is_narrowed_to_it(assistant):
    result = assistant.search("What happened in corporate news in September 2022?", k=10)
    assert result.hits and all(h.chunk.dates[0].startswith("2022-09") for h in result.hits)
    assert {h.chunk.section_kind for h in result.hits[:3]} == {"corporate_news"}


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


# Three outcomes: an answer, a near miss that says what is missing, nothing found.

@pytest.mark.parametrize("question, missing", [
    ("What is China's 2030 target for the number of CNY 100 billion new energy storage companies?", "2030"),
    ("What was CATL's net profit in 2023?", "profit"),
    ("What is China's 2027 target for EV charging piles?", "EV"),
    ("When is the deadline for public comments on the smart factory notice?", None),
    ("Besides SAMR, which three ministries issued the product carbon footprint certification pilot notice?", "body"),
])
def test_a_near_miss_cites_the_closest_passage_and_says_what_is_missing(assistant, question, missing):
    answer = assistant.ask(question)
    if answer.outcome is Outcome.ANSWERED:
        pytest.fail(f"answered a question the archive does not answer: {answer.text[:200]}")
    if answer.outcome is Outcome.NEAR_MISS:
        assert answer.abstained and answer.citations and answer.missing
        assert answer.text.startswith("The issues don't give ")
        if missing:
            assert any(missing in m for m in answer.missing), answer.missing
        assert 0 <= answer.confidence <= 0.5


def test_an_answer_states_its_confidence(assistant):
    answer = assistant.ask(ENERGY_Q)
    assert answer.outcome is Outcome.ANSWERED and not answer.abstained and answer.missing == ()
    assert 0.5 < answer.confidence <= 1


@pytest.mark.parametrize("question", ["2027年新型储能制造业的主要发展目标有哪些？",
                                      "Quels sont les objectifs pour 2027 des lignes directrices du MIIT ?"])
def test_a_question_not_in_english_is_told_the_archive_is_in_english(assistant, question):
    answer = assistant.ask(question)
    assert answer.outcome is Outcome.NOT_FOUND and answer.citations == ()
    assert "in English" in answer.text


def test_an_exact_date_asked_is_quoted_from_the_policy_block(assistant):
    answer = assistant.ask("When was the new energy storage manufacturing action plan issued?")
    assert answer.outcome is Outcome.ANSWERED
    assert "November 6, 2024" in answer.text
