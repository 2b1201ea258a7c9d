"""Quality floor: retrieval metrics of the gold question set (bench/questions.jsonl, all splits)
on the real index. Floors are set below the measured values; raise them as tuning improves."""

from __future__ import annotations

import json

import pytest

from core_helpers import ENERGY_BULLET, ENERGY_HEADING, ENERGY_Q, QUESTIONS
from qa.evaluate import evaluate, failures, format_table, load_questions, summarize

# Measured on all 107 questions at commit time: Recall@5 0.968, MRR@10 0.905, answers citing a
# gold fact 0.862, answerable wrongly declined 0.000, unanswerable declined 0.154.
RECALL_AT_5_FLOOR = 0.93
MRR_FLOOR = 0.85
ANSWER_FACT_FLOOR = 0.80
WRONGLY_DECLINED_CEILING = 0.05
UNANSWERABLE_DECLINED_FLOOR = 0.10


def test_retrieval_quality_floor(assistant):
    questions = load_questions(QUESTIONS, "all")
    assert len(questions) >= 40
    assert any(not q["gold"] for q in questions), "the set includes questions the corpus cannot answer"
    outcomes = evaluate(assistant, questions)
    summary = summarize(outcomes)
    overall = summary["overall"]
    table = format_table(summary)
    print(f"\n{len(questions)} questions from {QUESTIONS.name}\n{table}")
    for f in failures(outcomes):
        print(f"  {f['id']} [{f['kind']}] {'; '.join(f['why'])}")
    measured = (f"Recall@5 {overall['recall@5']:.3f} (floor {RECALL_AT_5_FLOOR}), "
                f"MRR@10 {overall['mrr@10']:.3f} (floor {MRR_FLOOR}), "
                f"unanswerable declined {overall.get('declined_unanswerable', 0):.3f}")
    print(measured)
    assert overall["questions"] == len(questions)
    assert overall["recall@5"] >= RECALL_AT_5_FLOOR, measured
    assert overall["mrr@10"] >= MRR_FLOOR, measured
    assert overall["answer_has_fact"] >= ANSWER_FACT_FLOOR, measured + f", answers with a fact {overall['answer_has_fact']:.3f}"
    assert overall["wrongly_declined"] <= WRONGLY_DECLINED_CEILING, measured + f", wrongly declined {overall['wrongly_declined']:.3f}"
    assert overall["declined_unanswerable"] >= UNANSWERABLE_DECLINED_FLOOR, measured


def test_the_instrument_reports_a_wrong_gold_entry(tmp_path, assistant):
    """The metric itself: a gold entry pointing at the wrong issue counts as not found."""
    right = {"id": "right", "question": ENERGY_Q, "kind": "lexical",
             "gold": [{"issue": "2024-12-04", "section": ENERGY_HEADING[3:], "facts": [ENERGY_BULLET]}]}
    wrong = {"id": "wrong", "question": ENERGY_Q, "kind": "lexical",
             "gold": [{"issue": "2022-10-05", "section": "Basic industrial materials to propel China's move into "
                                                         "emerging industries", "facts": [ENERGY_BULLET]}]}
    path = tmp_path / "questions.jsonl"
    path.write_text(json.dumps(right) + "\n\n" + json.dumps(wrong) + "\n", encoding="utf-8")
    outcomes = evaluate(assistant, load_questions(path))
    assert [o.found_at for o in outcomes] == [[1], [None]]
    assert summarize(outcomes)["overall"]["recall@5"] == 0.5
    [failure] = failures(outcomes)
    assert failure["id"] == "wrong" and "gold not in top 5" in failure["why"]


def test_a_malformed_question_file_is_refused(tmp_path):
    path = tmp_path / "questions.jsonl"
    path.write_text('{"id": "a", "question": "q", "gold": []}\n{"id": "b", "gold": []}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="questions.jsonl line 2: missing question"):
        load_questions(path)
