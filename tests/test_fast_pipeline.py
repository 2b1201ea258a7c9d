"""The fast tier: the whole pipeline on a tiny hand-made issue, with a counting stand-in for the
model (tests/fakes.py). Exact expected values, as bm25s tests tiny corpora against exact ids.

Everything else is real: the parser, the chunker, the index files on disk, BM25, FAISS, the
question reader, fusion, filters, answer choice and the verdict.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import pytest

from fakes import FakeEmbedder
from qa import Assistant, Filters, Settings, update_index
from qa.query import Window, interpret
from qa.retrieve import allowed_rows, fuse
from qa.schema import Outcome
from qa.settings import Fusion, SearchSettings
from qa.store import load_snapshot

TINY = Path(__file__).resolve().parent / "data" / "tiny-issue.md"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """An index of the tiny issue, built with the stand-in embedder, and an assistant on it."""
    root = tmp_path_factory.mktemp("tiny")
    (root / "corpus").mkdir()
    shutil.copy(TINY, root / "corpus" / "merics-china-industries-2025-03-05.md")
    settings = Settings.load(corpus_dir=root / "corpus", index_dir=root / "index", today=dt.date(2026, 11, 25))
    embedder = FakeEmbedder()
    report = update_index(settings, embedder)
    assert report.added == ["2025-03-05"] and report.refused == []
    return Assistant(settings, embedder=embedder), embedder


def test_the_index_holds_every_part_and_sentence(tiny):
    assistant, embedder = tiny
    snap = assistant.snapshot
    assert [c.id for c in snap.chunks] == [
        "2025-03-05/1/0/0", "2025-03-05/1/1/0", "2025-03-05/1/2/0", "2025-03-05/1/3/0",
        "2025-03-05/2/0/0", "2025-03-05/2/1/0", "2025-03-05/2/2/0",
        "2025-03-05/policy-news/0/0", "2025-03-05/corporate-news/0/0", "2025-03-05/corporate-news/1/0"]
    assert snap.chunks[0].units == ("The CAAC released a draft plan for drone delivery.", "Key targets for 2027 include:",
                                    "- Register 5 million civilian drones", "- Open 200 drone delivery routes")
    assert snap.chunks[1].units == ("Drone makers such as DJI will gain (see exhibit 1).",
                                    "Foreign suppliers face localization rules because flight data is sensitive.")
    assert snap.chunks[2].units == ("Exhibit 1: Registered civilian drones, 2022-2024 (million units)",
                                    "2022: 0.96; 2023: 1.27; 2024: 2.18", "Note: Year-end figures.", "Source: CAAC")
    assert snap.chunks[3].units == ("Article: Action Plan for Low-Altitude Flight (Draft for Comments) (低空飞行行动方案)",
                                    "Issuing bodies: CAAC, NDRC", "Date: February 14, 2025")
    assert len(snap.unit_vectors) == sum(len(c.units) for c in snap.chunks) == int(snap.unit_start[-1])
    assert snap.vectors.shape == (10, FakeEmbedder.dim)
    # Every passage and every unit was embedded once.
    assert embedder.texts_embedded == len(snap.chunks) + len(snap.unit_vectors)


def test_a_question_is_encoded_once(tiny):
    assistant, embedder = tiny
    before = len(embedder.calls)
    assistant.ask("How many drone delivery routes will open by 2027?")
    assert len(embedder.calls) == before + 1 and len(embedder.calls[-1]) == 1


def test_the_list_is_quoted_whole(tiny):
    answer = tiny[0].ask("What are the drone targets for 2027?")
    assert answer.outcome is Outcome.ANSWERED
    assert answer.text == ("Key targets for 2027 include:\n- Register 5 million civilian drones [1]\n"
                           "- Open 200 drone delivery routes [1]")
    assert [c.chunk.id for c in answer.citations] == ["2025-03-05/1/0/0"]


def test_a_comment_deadline_is_quoted(tiny):
    answer = tiny[0].ask("When is the deadline for comments on the steel quotas?")
    assert answer.outcome is Outcome.ANSWERED and "until March 20, 2025" in answer.text


def test_who_issued_quotes_the_issuer_line(tiny):
    answer = tiny[0].ask("Who issued the low-altitude flight action plan?")
    assert answer.outcome is Outcome.ANSWERED and "Issuing bodies: CAAC, NDRC [1]" in answer.text


def test_a_chart_answers_questions_about_the_chart_only(tiny):
    source = tiny[0].ask("What is the source of the drone chart?")
    assert source.outcome is Outcome.ANSWERED and "Source: CAAC [1]" in source.text
    value = tiny[0].ask("How many civilian drones were registered in 2024?")
    assert "2024: 2.18 [1]" in value.text
    targets = tiny[0].ask("What are the drone targets for 2027?")
    assert "Exhibit" not in targets.text and "Note:" not in targets.text


def test_near_misses(tiny):
    year = tiny[0].ask("What are the drone targets for 2030?")
    assert year.outcome is Outcome.NEAR_MISS and year.missing == ("anything for 2030",)
    assert year.text.startswith("The issues don't give anything for 2030.\nThe closest passage says:\n")
    profit = tiny[0].ask("What was BYD's profit from the Hungary battery plant?")
    assert profit.outcome is Outcome.NEAR_MISS and profit.missing == ("the profit",)
    place = tiny[0].ask("In which city will BYD build its battery plant?")
    assert place.outcome is Outcome.NEAR_MISS and place.missing == ("which place",)  # Hungary is a country


def test_nothing_found_for_a_name_the_archive_never_mentions(tiny):
    answer = tiny[0].ask("What did Tesla announce about Berlin?")
    assert answer.outcome is Outcome.NOT_FOUND and answer.citations == ()


def test_reading_periods():
    today = dt.date(2026, 11, 25)
    q = interpret("What did BYD announce in the week of February 17, 2025?", today=today)
    assert q.windows == (Window("2025-02-17", "2025-02-23", False, "the week of 17 February 2025"),)
    assert interpret("news from late 2024", today=today).windows == (Window("2024-09-01", "2024-12-31", False, "late 2024"),)
    assert interpret("corporate news at the end of January 2025", today=today).windows == \
        (Window("2025-01-19", "2025-01-31", False, "end of January 2025"),)
    assert interpret("the 2022 and December 2024 issues", today=today).windows == (
        Window("2022-01-01", "2022-12-31", True, "2022 issues"), Window("2024-12-01", "2024-12-31", True, "December 2024 issues"))
    assert interpret("what happened in January 0000", today=today).windows[0].first == "0001-01-01"


def test_a_period_narrows_only_a_question_that_is_nothing_else(tiny):
    snap = tiny[0].snapshot
    today = dt.date(2026, 11, 25)
    browse = interpret("What happened in corporate news in February 2025?", today=today)
    mask, period, notes = allowed_rows(snap, browse)
    assert period is None and notes == ["Searched material from February 2025 only"]
    assert [snap.chunks[r].id for r in np.flatnonzero(mask)] == [
        "2025-03-05/1/0/0", "2025-03-05/1/1/0", "2025-03-05/1/2/0", "2025-03-05/1/3/0", "2025-03-05/2/0/0",
        "2025-03-05/2/1/0", "2025-03-05/2/2/0", "2025-03-05/policy-news/0/0", "2025-03-05/corporate-news/1/0"]
    topical = interpret("Which battery plant did BYD announce in February 2025?", today=today)
    mask, period, notes = allowed_rows(snap, topical)
    assert mask.all() and period is not None and notes == ["Put material from February 2025 first"]
    assert not period[snap.chunks.index(next(c for c in snap.chunks if c.id.endswith("corporate-news/0/0")))]
    kinds = interpret("battery plant", filters=Filters(kinds=("corporate_news",)), today=today)
    assert [snap.chunks[r].section_kind for r in np.flatnonzero(allowed_rows(snap, kinds)[0])] == ["corporate_news"] * 2


def test_fusion_exact_values():
    nan = np.nan
    dense = np.array([0.9, 0.5, nan, 0.7], dtype=np.float32)
    bm25 = np.array([nan, 4.0, 2.0, 3.0], dtype=np.float32)
    score = fuse(Settings(search=SearchSettings(fusion=Fusion.SCORE, dense_weight=1.0, bm25_weight=0.5)), dense, bm25)
    assert np.allclose(score, [1.0, 0.5, 0.0, 0.5 + 0.25], atol=1e-6)
    rrf = fuse(Settings(search=SearchSettings(fusion=Fusion.RRF, dense_weight=1.0, bm25_weight=1.0, rrf_k=60)), dense, bm25)
    assert np.allclose(rrf, [1 / 61, 1 / 63 + 1 / 61, 1 / 63, 1 / 62 + 1 / 62])
    assert np.isnan(fuse(Settings(), np.array([nan]), np.array([nan])))[0]


def test_follow_up_reads_the_earlier_question(tiny):
    history = [{"role": "user", "content": "What are the drone targets for 2027?"},
               {"role": "assistant", "content": "(answer)"}]
    q = interpret("and who issued it?", history, today=dt.date(2026, 11, 25))
    assert q.text == "and who issued it? What are the drone targets for 2027?"
    assert q.notes == ("Read as a follow-up to: “What are the drone targets for 2027?”",)
    # Too few words to be about anything on their own: a follow-up, though no "it" says so.
    assert interpret("starting when?", history, today=dt.date(2026, 11, 25)).text.endswith("targets for 2027?")
    assert interpret("Which body issued the drone rules?", history, today=dt.date(2026, 11, 25)).notes == ()
    # The earlier question's period holds for a follow-up that names none.
    march = [{"role": "user", "content": "What did the environment ministry propose in March 2026?"}]
    assert [(w.first, w.last) for w in interpret("starting when?", march, today=dt.date(2026, 11, 25)).windows] == \
        [("2026-03-01", "2026-03-31")]


def test_a_misspelt_or_cut_short_word_is_read_as_the_archive_writes_it():
    from qa.lexical import Lexicon, tokenize
    lex = Lexicon.build(["Rehabilitation equipment makers in Shenzhen", "Petrochemical plants and rehabilitation centres"])
    assert lex.spelled(tokenize("shenzen")[0]) == tokenize("Shenzhen")[0]        # one letter missing
    assert lex.spelled(tokenize("rehab")[0]) == tokenize("rehabilitation")[0]    # cut short
    assert lex.spelled(tokenize("quokka")[0]) == tokenize("quokka")[0]           # unknown stays unknown

