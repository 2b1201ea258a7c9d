"""The `qa` command, run as a real subprocess against a real index: the JSON shapes of issue 2
§6, stdin batch mode, `issues`, `parse`, and `eval` on a small slice (issue 4)."""

from __future__ import annotations

import json
import re

import pytest

from core_helpers import (DATA, DATES, ENERGY_BULLET, ENERGY_HEADING, ENERGY_Q, QUESTIONS, issue_file, json_lines,
                          live_generation, read_chunks, run_qa)
from qa import read_issue

ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")
HIT_KEYS = {"rank", "score", "issue_date", "issue_title", "section", "part", "text"}
CITATION_KEYS = {"n", "issue_date", "section", "part", "text"}


@pytest.fixture(scope="module")
def indexed_texts(built_index):
    return {c["text"] for c in read_chunks(built_index)}


def check_search(obj: dict, question: str, k: int, indexed: set[str]) -> None:
    assert set(obj) == {"question", "hits"} and obj["question"] == question
    assert len(obj["hits"]) == k
    for rank, hit in enumerate(obj["hits"], 1):
        assert set(hit) == HIT_KEYS
        assert hit["rank"] == rank and isinstance(hit["rank"], int)
        assert isinstance(hit["score"], float)
        assert ISO.match(hit["issue_date"]) and hit["issue_date"] in DATES
        assert isinstance(hit["issue_title"], str) and hit["issue_title"].startswith("China Industries, ")
        assert isinstance(hit["section"], str) and isinstance(hit["part"], str)
        assert hit["text"] in indexed, "text is the passage as indexed"
    scores = [h["score"] for h in obj["hits"]]
    assert scores == sorted(scores, reverse=True)


def check_answer(obj: dict, question: str, indexed: set[str]) -> None:
    assert set(obj) == {"question", "answer", "abstained", "outcome", "confidence", "missing", "backend", "notes",
                        "citations"} and obj["question"] == question and obj["backend"] == "extractive"
    assert isinstance(obj["answer"], str) and obj["answer"] and isinstance(obj["abstained"], bool)
    for n, c in enumerate(obj["citations"], 1):
        assert set(c) == CITATION_KEYS
        assert c["n"] == n and ISO.match(c["issue_date"])
        assert isinstance(c["section"], str) and isinstance(c["part"], str)
        assert c["text"] in indexed
        assert f"[{n}]" in obj["answer"]
    if obj["abstained"]:
        assert obj["citations"] == []


def test_search_json(settings_base, built_index, indexed_texts):
    out = run_qa(["search", ENERGY_Q, "--k", "3", "--json"], settings_base.replace(index_dir=built_index))
    assert out.returncode == 0, out.stderr
    [obj] = json_lines(out.stdout)
    check_search(obj, ENERGY_Q, 3, indexed_texts)
    top = obj["hits"][0]
    assert (top["issue_date"], top["issue_title"], top["section"], top["part"]) == (
        "2024-12-04", "China Industries, 4 December 2024", ENERGY_HEADING, "At a glance")
    assert ENERGY_BULLET in top["text"]


def test_ask_json(settings_base, built_index, indexed_texts):
    out = run_qa(["ask", ENERGY_Q, "--json"], settings_base.replace(index_dir=built_index))
    assert out.returncode == 0, out.stderr
    [obj] = json_lines(out.stdout)
    check_answer(obj, ENERGY_Q, indexed_texts)
    assert obj["abstained"] is False
    assert any(c["issue_date"] == "2024-12-04" and c["section"] == ENERGY_HEADING and c["part"] == "At a glance"
               and ENERGY_BULLET in c["text"] for c in obj["citations"])


def test_ask_batch_from_stdin_is_one_process(settings_base, built_index, indexed_texts):
    """One process (one model load) answers every line in order; blank lines are skipped, an
    over-long line gets an error object and the lines after it are still answered."""
    good = [ENERGY_Q, "What is the recipe for Sachertorte?", "Which firm will open a second A320 assembly line?"]
    long_q = "energy " * 400
    out = run_qa(["ask", "-"], settings_base.replace(index_dir=built_index),
                 stdin=f"{good[0]}\n{long_q}\n\n   \n{good[1]}\n{good[2]}\n")
    assert out.returncode == 1  # one question was refused
    objs = json_lines(out.stdout)  # JSON lines even without --json: "-" always answers in JSON
    assert len(objs) == 4
    error = objs[1]
    assert set(error) == {"question", "error"} and "the limit is 2,000" in error["error"]
    for q, o in zip(good, [objs[0], objs[2], objs[3]]):
        check_answer(o, q, indexed_texts)
    assert [objs[0]["abstained"], objs[2]["abstained"], objs[3]["abstained"]] == [False, True, False]
    assert "Airbus" in objs[3]["citations"][0]["text"]


def test_issues_json(settings_base, built_index):
    out = run_qa(["issues", "--json", "--index", str(built_index)], settings_base)
    assert out.returncode == 0, out.stderr
    listing = json.loads(out.stdout)
    assert listing["warning"] is None and listing["generation"] == live_generation(built_index)
    issues = listing["issues"]
    assert [i["issue_date"] for i in issues] == sorted(DATES, reverse=True)
    manifest = {}
    for c in read_chunks(built_index):
        manifest[c["issue_date"]] = manifest.get(c["issue_date"], 0) + 1
    for i in issues:
        assert {"issue_date", "title", "source", "period_start", "period_end", "articles", "sections",
                "policy_news", "corporate_news", "chunks"} <= set(i)
        assert ISO.match(i["period_start"]) and ISO.match(i["period_end"])
        assert len(i["articles"]) == 5 and len(i["sections"]) == 7
        assert i["chunks"] == manifest[i["issue_date"]] == sum(s["chunks"] for s in i["sections"])
        assert all(s["chunks"] > 0 for s in i["sections"])
    assert issues[0]["sections"][1]["heading"] == ENERGY_HEADING
    assert (issues[0]["period_start"], issues[0]["period_end"]) == ("2024-10-29", "2024-11-25")


def test_issues_without_an_index(tmp_path, settings_base):
    out = run_qa(["issues", "--json"], settings_base.replace(index_dir=tmp_path / "nothing"))
    assert out.returncode == 1 and "run `qa index` first" in out.stderr


def test_parse_json_is_the_parsed_issue():
    path = issue_file("2022-10-05")
    out = run_qa(["parse", str(path), "--json"])
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == json.loads(json.dumps(read_issue(path).to_dict()))
    text = run_qa(["parse", str(DATA / "january-issue-year-wrap.md")])
    assert text.returncode == 0
    assert "Noteworthy: 3 policy news, 2 corporate news items" in text.stdout
    assert "9 December 2024 – 3 January 2025" in text.stdout


@pytest.mark.parametrize("name, data, problem", [
    ("empty.md", b"", "the file is empty"),
    ("notes.md", (DATA / "readme-not-an-issue.md").read_bytes(), "not a MERICS China Industries issue"),
    ("scan.txt", b"\x89PNG\r\n\x1a\n\x00\x00" + bytes(40), "binary"),
])
def test_parse_refuses_a_bad_file(tmp_path, name, data, problem):
    path = tmp_path / name
    path.write_bytes(data)
    out = run_qa(["parse", str(path), "--json"])
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.startswith(f"refused: {name}: ") and problem in out.stderr


def test_eval_on_a_small_slice_reports_a_wrong_gold_entry(tmp_path, settings_base, built_index):
    """`qa eval --limit 8` on the first lines of bench/questions.jsonl, one of them given a wrong
    gold issue on purpose: the summary has every metric, and that question is listed as a failure."""
    lines = QUESTIONS.read_text(encoding="utf-8").splitlines()[:9]
    questions = [json.loads(line) for line in lines]
    planted = questions[3]
    assert planted["gold"] and all(g["issue"] != "2022-10-05" for g in planted["gold"])
    planted["id"] = "planted"
    for g in planted["gold"]:
        g["issue"] = "2022-10-05"
    path = tmp_path / "questions.jsonl"
    path.write_text("".join(json.dumps(q) + "\n" for q in questions), encoding="utf-8")
    out = run_qa(["eval", str(path), "--limit", "8", "--json"], settings_base.replace(index_dir=built_index))
    assert out.returncode == 0, out.stderr
    obj = json.loads(out.stdout)
    assert set(obj) == {"split", "summary", "failures", "leave_one_out", "runs"} and obj["split"] == "all"
    assert obj["leave_one_out"] is None and obj["runs"] is None  # neither --leave-one-out nor --grid
    overall = obj["summary"]["overall"]
    assert overall["questions"] == 8, "--limit 8 leaves out the ninth line"
    for key in ("recall@1", "recall@3", "recall@5", "recall@10", "mrr@10", "answer_has_fact",
                "citation_precision", "wrongly_declined"):
        assert 0.0 <= overall[key] <= 1.0, key
    assert overall["recall@10"] <= 7 / 8
    assert set(obj["summary"]["by_kind"]) == {q.get("kind", "other") for q in questions[:8]}
    failed = {f["id"]: f for f in obj["failures"]}
    assert "planted" in failed and "gold not in top 5" in failed["planted"]["why"]
    assert questions[8]["id"] not in failed
    for f in obj["failures"]:
        assert {"id", "kind", "question", "why", "top", "answer"} == set(f)


def test_eval_refuses_a_malformed_grid_in_one_line():
    """Before loading the model: the grid is read first."""
    out = run_qa(["eval", str(QUESTIONS), "--limit", "2", "--grid", "search.per_section"])
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.strip() == "error: --grid 'search.per_section': expected NAME=VALUE[,VALUE...]"
