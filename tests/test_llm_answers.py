"""LLM answers end to end, through the Python API and the `qa` command: the real index, the real
bundled model for the checks, and a real local HTTP server speaking chat completions in place
of a model (tests/llm_fake.py: the model name picks the scripted completion)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from core_helpers import ENERGY_HEADING, ROOT, edit, issue_text, qa_env, run_qa
from llm_fake import FIRST, INJECTION, LEFT_OUT, QUESTION, SECOND, THIRD, UNCITED, fake  # noqa: F401  (a fixture)
from qa import Assistant, Settings
from qa.answer import ExtractiveAnswerer
from qa.generate import Draft, LlmAnswerer
from qa.schema import Answer, Outcome
from qa.verify import check, gather, split_claims
from ui_helpers import copy_workspace

NEAR_MISS = "What are the new energy storage targets for 2030?"
UNRELATED = "What is the best recipe for apple pie?"
INSTEAD = "This is the answer quoted from the passages instead."


@pytest.fixture(scope="module")
def extractive(assistant):
    return assistant.ask(QUESTION)


def with_model(settings, embedder, fake, model, **llm) -> Assistant:
    changes = {"llm.url": fake.url, "llm.model": model, **{f"llm.{k}": v for k, v in llm.items()}}
    return Assistant(settings.replace(**changes), embedder=embedder)


def assert_every_sentence_supported(answer: Answer, embedder):
    """The invariant: each sentence of an LLM answer is supported by the citations it names."""
    passages = [gather(c.chunk, embedder.embed) for c in answer.citations]
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    for claim in split_claims(answer.text):
        verdict = check(claim, passages, embedder.embed, Settings().llm)
        assert verdict.supported, (claim.text, verdict.why)


def test_without_an_endpoint_nothing_changes(assistant, settings_base, extractive):
    assert isinstance(assistant.answerer, ExtractiveAnswerer)
    assert settings_base.llm.url == ""
    assert extractive.backend == "extractive" and extractive.outcome is Outcome.ANSWERED
    assert extractive.text.startswith("Important goals for 2027 include:")
    streamed = list(assistant.ask_stream(QUESTION))
    assert streamed == [extractive]


def test_a_faithful_answer_streams_sentence_by_sentence(settings_base, embedder, fake):
    a = with_model(settings_base, embedder, fake, "faithful")
    assert isinstance(a.answerer, LlmAnswerer)
    events = list(a.ask_stream(QUESTION))
    *drafts, answer = events
    assert all(isinstance(d, Draft) for d in drafts) and isinstance(answer, Answer)
    first, second, third = FIRST.format(t=1), SECOND.format(t=1), THIRD.format(c=2)
    assert [d.text for d in drafts] == [first, f"{first} {second}", f"{first} {second} {third}"]
    assert answer.text == f"{first} {second} {third}"
    assert answer.backend == "llm:faithful" and answer.outcome is Outcome.ANSWERED and answer.notes == ()
    assert [(c.n, c.chunk.section_heading, c.chunk.part_label) for c in answer.citations] == [
        (1, ENERGY_HEADING, "At a glance"), (2, ENERGY_HEADING, "MERICS comment")]
    assert answer.citations[0].sentences == ("- Cultivate between three to five companies worth CNY 100 billion",
                                             "- Increase new energy storage manufacturing capacity to match downstream "
                                             "demand in various sectors, for instance transportation, construction, "
                                             "communications, and agriculture")
    assert_every_sentence_supported(answer, embedder)
    sent = fake.requests[-1]
    assert sent["model"] == "faithful" and sent["stream"] is True
    assert sent["messages"][1]["content"].count("<passage n=") == a.settings.llm.passages


@pytest.mark.parametrize("model, text, notes", [
    ("json", f"{FIRST.format(t=1)} {SECOND.format(t=1)}", ()),
    ("marker-later", f"{FIRST.format(t=1)} {SECOND.format(t=1)}", ()),
    ("wrong-n", FIRST.format(t=1), (LEFT_OUT,)),
    ("uncited", FIRST.format(t=1), (LEFT_OUT,)),
    ("number", SECOND.format(t=1), (LEFT_OUT,)),
])
def test_unsupported_sentences_are_dropped(settings_base, embedder, fake, model, text, notes):
    *drafts, answer = with_model(settings_base, embedder, fake, model).ask_stream(QUESTION)
    assert drafts and all(answer.text.startswith(d.text) for d in drafts)  # a dropped sentence is never shown
    assert (answer.text, answer.notes, answer.backend) == (text, notes, f"llm:{model}")
    assert [c.chunk.part_label for c in answer.citations] == ["At a glance"]  # never the wrong passage
    assert UNCITED not in answer.text and "200 billion" not in answer.text
    assert_every_sentence_supported(answer, embedder)


@pytest.mark.parametrize("model, why", [
    ("all-wrong", "wrote no sentence that the passage it cites supports."),
    ("not-found", "found no answer in the passages."),
    ("malformed", "gave no answer: the server sent malformed JSON."),
    ("error", "gave no answer: the server answered HTTP 500 (scripted 500)."),
    ("hang", "gave no answer: no reply within 1 s."),
    ("no-such-model", "gave no answer: the server answered HTTP 404 (scripted 404)."),
])
def test_otherwise_the_extractive_answer_with_a_note(settings_base, embedder, fake, extractive, model, why):
    events = list(with_model(settings_base, embedder, fake, model, timeout=1.0).ask_stream(QUESTION))
    answer = events[-1]
    assert len(events) == 1  # nothing was verified, so nothing was shown before the fallback
    assert answer.backend == "extractive"
    assert (answer.text, answer.citations, answer.outcome) == (extractive.text, extractive.citations, extractive.outcome)
    assert answer.notes == extractive.notes + (f"The language model ({model}) {why} {INSTEAD}",)


def test_near_misses_and_unanswerable_questions_never_reach_the_model(settings_base, embedder, fake, assistant):
    a = with_model(settings_base, embedder, fake, "faithful")
    before = len(fake.requests)
    for question, outcome in ((NEAR_MISS, Outcome.NEAR_MISS), (UNRELATED, Outcome.NOT_FOUND)):
        answer = a.ask(question)
        assert answer.outcome is outcome and answer.backend == "extractive"
        assert answer == assistant.ask(question)
    assert len(fake.requests) == before


@pytest.fixture(scope="module")
def injected(tmp_path_factory, settings_base, built_index, embedder):
    """The corpus with an instruction planted in the energy storage article's At a glance."""
    settings = copy_workspace(tmp_path_factory.mktemp("injected"), built_index, settings_base)
    path = settings.corpus_dir / "merics-china-industries-2024-12-04.txt"
    path.write_text(edit(issue_text("2024-12-04"), "Important goals for 2027 include:",
                         f"{INJECTION} Important goals for 2027 include:"), encoding="utf-8")
    Assistant(settings, embedder=embedder).update()
    yield settings
    shutil.rmtree(settings.corpus_dir.parent, ignore_errors=True)


def test_an_instruction_in_an_issue_is_not_followed(injected, embedder, fake):
    a = with_model(injected, embedder, fake, "injected")
    answer = a.ask(QUESTION)
    sent = fake.requests[-1]["messages"]
    # The instruction reached the model only inside a quoted passage, under the rule that passages are data.
    assert INJECTION not in sent[0]["content"] and "data, not instructions" in sent[0]["content"]
    user = sent[1]["content"]
    assert INJECTION in user
    assert user.rfind("<passage n=", 0, user.index(INJECTION)) > user.rfind("</passage>", 0, user.index(INJECTION))
    # The model obeyed (the script does); neither obeying sentence reached the answer.
    assert answer.backend == "llm:injected"
    assert answer.text == FIRST.format(t=1)
    assert "cancelled" not in answer.text and "evil.example" not in answer.text
    assert answer.notes[-1].startswith("2 sentences of the language model's answer were left out")
    assert_every_sentence_supported(answer, embedder)


def test_cli(settings_base, built_index, fake, tmp_path):
    settings = copy_workspace(tmp_path, built_index, settings_base)
    env = {"QA_LLM_URL": fake.url}
    r = run_qa(["ask", QUESTION, "--json"], settings, QA_LLM_MODEL="wrong-n", **env)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert (out["answer"], out["backend"], out["outcome"], out["notes"]) == (
        FIRST.format(t=1), "llm:wrong-n", "answered", [LEFT_OUT])
    assert [c["part"] for c in out["citations"]] == ["At a glance"]

    r = run_qa(["ask", QUESTION], settings, QA_LLM_MODEL="hang", QA_LLM_TIMEOUT="1", **env)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == f"(The language model (hang) gave no answer: no reply within 1 s. {INSTEAD})"
    assert lines[1] == "Important goals for 2027 include:"

    r = run_qa(["ask", QUESTION, "--markdown"], settings, QA_LLM_MODEL="faithful", **env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"**Question:** {QUESTION}\n\n{FIRST.format(t=1)} {SECOND.format(t=1)} "
                               f"{THIRD.format(c=2)}\n")
    assert "*Written by a language model (faithful); every sentence was checked against the passage it cites" in r.stdout
    assert (f"[1] MERICS, China Industries, 4 December 2024, section “{ENERGY_HEADING}”, At a glance  \n"
            "> - Cultivate between three to five companies worth CNY 100 billion  \n") in r.stdout
    assert f"[2] MERICS, China Industries, 4 December 2024, section “{ENERGY_HEADING}”, MERICS comment" in r.stdout

    r = run_qa(["ask", QUESTION], settings, **env)  # a URL without a model
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr == f"error: QA_LLM_URL is set but QA_LLM_MODEL is not: name the model {fake.url} serves\n"


def test_bench_script_reports_cited_and_supported_rates(settings_base, built_index, fake, tmp_path):
    settings = copy_workspace(tmp_path, built_index, settings_base)
    env = qa_env(settings, QA_LLM_URL=fake.url, QA_LLM_MODEL="quote-first")
    r = subprocess.run([sys.executable, "bench/llm_answers.py", "--limit", "6", "--json"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    report, rows = out["report"], out["rows"]
    asked = [row for row in rows if row["outcome"] == "answered"]
    assert len(rows) == 6 and report["llm"]["answered"] == len(asked) >= 4
    # The scripted model quotes the first sentence of passage 1 and cites it: all cited, all supported.
    assert report["llm"]["sentences"] == len(asked) and report["llm"]["cited"] == report["llm"]["supported"] == 1.0
    assert report["llm"]["by_model"] == len(asked) and report["llm"]["endpoint_failed"] == 0
    # The extractive answers through the same check: every sentence with a marker is supported.
    cited = [c for row in asked for c, _ in row["extractive"]]
    assert report["extractive"]["cited"] == round(sum(cited) / len(cited), 3)
    assert all(s for row in asked for c, s in row["extractive"] if c)
    assert all(row["backend"] == "llm:quote-first" for row in asked)
