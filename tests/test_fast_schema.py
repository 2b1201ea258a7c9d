"""The records: their JSON forms (one place each), labels, and kinds as enums, on hand-made values."""

from __future__ import annotations

import json

import numpy as np

from qa.schema import (ARTICLE, AT_A_GLANCE, Answer, Chunk, Citation, Hit, Issue, Outcome, PartKind, SectionKind,
                       issue_title)

CHUNK = Chunk(id="2024-12-04/2/0/1", issue_date="2024-12-04", section_id="2", section_kind=ARTICLE,
              section_heading="2. Fully charged", part_kind=AT_A_GLANCE, part_label="At a glance",
              text="- Install 180 GW by 2027", context="China Industries, 4 December 2024.", part_index=0,
              units=("- Install 180 GW by 2027",))
LABEL = "China Industries, 4 December 2024 — 2. Fully charged — At a glance"


def test_labels_come_from_one_function():
    assert issue_title("2024-12-04") == "China Industries, 4 December 2024"
    assert CHUNK.label == LABEL
    assert Citation(1, CHUNK).label() == LABEL


def test_hit_citation_and_answer_to_dict():
    where = {"issue_date": "2024-12-04", "issue_title": "China Industries, 4 December 2024", "section_id": "2",
             "section": "2. Fully charged", "part": "At a glance", "part_index": 0, "chunk_id": "2024-12-04/2/0/1",
             "text": "- Install 180 GW by 2027"}
    assert Hit(CHUNK, 0.12345678, 1).to_dict() == {"rank": 1, "score": 0.123457} | where
    citation = Citation(1, CHUNK, ("- Install 180 GW by 2027",))
    assert citation.to_dict() == {"n": 1} | where | {"label": LABEL, "sentences": ["- Install 180 GW by 2027"]}
    answer = Answer("Targets for 2027?", "- Install 180 GW by 2027 [1]", Outcome.ANSWERED, (citation,),
                    notes=("Put material from 2027 first",), confidence=0.8)
    assert answer.to_dict() == {
        "question": "Targets for 2027?", "answer": "- Install 180 GW by 2027 [1]", "outcome": "answered",
        "abstained": False, "confidence": 0.8, "missing": [], "backend": "extractive",
        "notes": ["Put material from 2027 first"], "citations": [citation.to_dict()]}
    json.dumps(answer.to_dict())  # plain JSON all the way down


def test_kinds_are_enums_that_read_and_print_as_their_values():
    assert SectionKind("article") is ARTICLE and ARTICLE == "article"
    assert f"{ARTICLE}" == str(ARTICLE) == "article" and json.dumps(ARTICLE) == '"article"'
    assert SectionKind.POLICY_NEWS.label == "Policy news"
    assert (np.array([CHUNK.section_kind, "policy_news"]) == "article").tolist() == [True, False]


def test_chunk_round_trip_and_the_part_index_of_an_older_index():
    stored = json.loads(json.dumps(CHUNK.to_dict()))
    assert Chunk.from_dict(stored) == CHUNK
    assert type(Chunk.from_dict(stored).part_kind) is PartKind
    older = {k: v for k, v in stored.items() if k != "part_index"} | {"id": "2024-12-04/2/3/0"}
    assert Chunk.from_dict(older).part_index == 3


def test_issue_round_trip_keeps_kinds(tmp_path):
    from qa import read_issue
    from conftest import ROOT
    issue = read_issue(ROOT / "tests" / "data" / "tiny-issue.md")
    back = Issue.from_dict(json.loads(json.dumps(issue.to_dict())))
    assert back == issue and type(back.sections[0].kind) is SectionKind
