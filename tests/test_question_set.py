"""The shipped question set is only worth its gold entries: check each against the issue file.

Every fact must occur verbatim (after normalising quotes, markup and white space) inside the
section it names, as the real parser splits the issue. A drifted fact would make the
retrieval metrics measure nothing.
"""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from qa import read_issue
from qa.text import normalize

from conftest import CORPUS, QUESTIONS, ROOT

# The held-out sets: written blind, never used for tuning, scored only by bench/run.py. Their gold
# is checked here (parse only) so that a parser change cannot silently void them.
HELDOUT = ROOT / "bench" / "heldout.jsonl"
UNSEEN = ROOT / "bench" / "unseen"
UNSEEN2 = ROOT / "bench" / "unseen2"
SETS = {"shipped": QUESTIONS, "heldout": HELDOUT, "unseen": UNSEEN / "questions.jsonl",
        "unseen2": UNSEEN2 / "questions.jsonl"}

KINDS = {"lexical", "paraphrase", "numeric", "metadata", "noteworthy", "comment", "multi_issue", "follow_up",
         "terse", "yes_no", "unanswerable", "non_english"}
# Questions the archive does not answer: gold is empty, and "closest" names the nearest real section.
UNANSWERABLE = {"unanswerable", "non_english"}


def _questions(path=QUESTIONS) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _all_questions() -> list[tuple[str, dict]]:
    return [(name, q) for name, path in SETS.items() if path.is_file() for q in _questions(path)]


@pytest.fixture(scope="module")
def issues():
    files = [*CORPUS.glob("merics-china-industries-*.txt"), *UNSEEN.glob("merics-china-industries-*"),
             *UNSEEN2.glob("merics-china-industries-*")]
    return {read_issue(p).date: read_issue(p) for p in files}


def _section_text(issue, title: str) -> str | None:
    for s in issue.sections:
        if normalize(s.title) == normalize(title):
            return normalize(" ".join(p.text for p in s.parts))
    return None


def _check_shape(qs: list[dict]) -> None:
    assert len({q["id"] for q in qs}) == len(qs), "ids must be unique"
    for q in qs:
        assert set(q) >= {"id", "question", "kind", "split", "gold"}, q["id"]
        assert q["kind"] in KINDS, q["id"]
        assert q["split"] in ("train", "validation"), q["id"]
        assert (q["gold"] == []) == (q["kind"] in UNANSWERABLE), q["id"]
        if not q["gold"]:
            assert q["closest"]["issue"] and q["closest"]["section"] and q["missing"], q["id"]
        if q["kind"] == "follow_up":
            assert q["history"] and all(m["role"] in ("user", "assistant") and m["content"] for m in q["history"]), q["id"]
        if q["kind"] == "multi_issue":
            assert len({g["issue"] for g in q["gold"]}) == 2, q["id"]


def test_shape_and_coverage():
    qs = _questions()
    _check_shape(qs)
    kinds = Counter(q["kind"] for q in qs)
    assert len(qs) >= 300
    assert kinds["unanswerable"] >= 50
    splits = Counter(q["split"] for q in qs)
    assert 0.3 <= splits["validation"] / len(qs) <= 0.5, splits


@pytest.mark.parametrize("name", ["heldout", "unseen", "unseen2"])
def test_heldout_sets_shape(name):
    if not SETS[name].is_file():
        pytest.skip(f"{SETS[name]} is not in this checkout")
    qs = _questions(SETS[name])
    _check_shape(qs)
    assert len(qs) >= 40 and any(not q["gold"] for q in qs), name
    assert not {q["id"] for q in qs} & {q["id"] for q in _questions()}, "held-out ids must differ from the shipped set"


@pytest.mark.parametrize("name,q", _all_questions(), ids=lambda v: v["id"] if isinstance(v, dict) else v)
def test_gold_facts_are_in_their_section(name, q, issues):
    if "closest" in q:  # an unanswerable question's nearest section must exist
        assert _section_text(issues[q["closest"]["issue"]], q["closest"]["section"]) is not None, q["id"]
    for g in q["gold"]:
        assert g["issue"] in issues, f"{q['id']}: no shipped issue dated {g['issue']}"
        section = _section_text(issues[g["issue"]], re.sub(r"<[^>]+>", "", g["section"]))
        assert section is not None, f"{q['id']}: issue {g['issue']} has no section {g['section']!r}"
        for fact in g["facts"]:
            assert normalize(fact) in section, f"{q['id']}: {fact!r} not in {g['issue']} / {g['section']}"
