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

from conftest import CORPUS, QUESTIONS

KINDS = {"lexical", "paraphrase", "numeric", "metadata", "noteworthy", "comment", "multi_issue", "follow_up",
         "terse", "yes_no", "unanswerable", "non_english"}
# Questions the archive does not answer: gold is empty, and "closest" names the nearest real section.
UNANSWERABLE = {"unanswerable", "non_english"}


def _questions() -> list[dict]:
    return [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def issues():
    return {read_issue(p).date: read_issue(p) for p in CORPUS.glob("merics-china-industries-*.txt")}


def _section_text(issue, title: str) -> str | None:
    for s in issue.sections:
        if normalize(s.title) == normalize(title):
            return normalize(" ".join(p.text for p in s.parts))
    return None


def test_shape_and_coverage():
    qs = _questions()
    assert len(qs) >= 80
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
    kinds = Counter(q["kind"] for q in qs)
    assert len(qs) >= 300
    assert kinds["unanswerable"] >= 50
    splits = Counter(q["split"] for q in qs)
    assert 0.3 <= splits["validation"] / len(qs) <= 0.5, splits


@pytest.mark.parametrize("q", _questions(), ids=lambda q: q["id"])
def test_gold_facts_are_in_their_section(q, issues):
    if "closest" in q:  # an unanswerable question's nearest section must exist
        assert _section_text(issues[q["closest"]["issue"]], q["closest"]["section"]) is not None, q["id"]
    for g in q["gold"]:
        assert g["issue"] in issues, f"{q['id']}: no shipped issue dated {g['issue']}"
        section = _section_text(issues[g["issue"]], re.sub(r"<[^>]+>", "", g["section"]))
        assert section is not None, f"{q['id']}: issue {g['issue']} has no section {g['section']!r}"
        for fact in g["facts"]:
            assert normalize(fact) in section, f"{q['id']}: {fact!r} not in {g['issue']} / {g['section']}"
