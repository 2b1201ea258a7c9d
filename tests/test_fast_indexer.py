"""The fast tier for the indexer's stages (plan -> chunk -> embed -> write), each called alone on
tiny hand-made issues with the counting stand-in for the model (tests/fakes.py): which files a
plan classifies how, and exactly which texts an update sends to the embedder.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import pytest

from fakes import FakeEmbedder
from qa import Assistant, Settings, update_index
from qa.chunk import unit_embed_texts
from qa.indexer import (arrange_rows, chunk_changed, embed_passages, embed_units, issue_status, keep_live,
                        plan_update, write_update)
from qa.progress import Phase, Step
from qa.store import IssueEntry, current_generation, load_snapshot

DATA = Path(__file__).resolve().parent / "data"
TINY = DATA / "tiny-issue.md"  # 2025-03-05, 10 chunks
JANUARY = DATA / "january-issue-year-wrap.md"  # 2025-01-10, 11 chunks
JUNE = DATA / "heldout-issue-2025-06-04.md"  # 24 chunks
README = DATA / "readme-not-an-issue.md"
NOT_AN_ISSUE = "not a MERICS China Industries issue (no 'China Industries' masthead and no issue date)"
SHORT_TOP5 = "found 2 Top-5 articles, expected 5"
# One sentence of the tiny issue, and its edit: the comment on article 2 (chunk 2025-03-05/2/1/0).
SENTENCE, EDITED = "The quotas aim to cut emissions and overcapacity.", "The quotas aim to cut emissions."


def corpus_of(root: Path, files: dict[str, Path]) -> Settings:
    corpus = root / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for name, source in files.items():
        shutil.copy(source, corpus / name)
    return Settings.load(corpus_dir=corpus, index_dir=root / "index", today=dt.date(2026, 11, 25))


@pytest.fixture
def three(tmp_path):
    """An index of three tiny issues built by the stand-in, whose call log is then emptied."""
    settings = corpus_of(tmp_path, {"january.md": JANUARY, "june.md": JUNE, "tiny.md": TINY})
    embedder = FakeEmbedder()
    assert update_index(settings, embedder).added == ["2025-01-10", "2025-03-05", "2025-06-04"]
    embedder.calls.clear()
    return settings, embedder


def edit(settings: Settings, name: str, old: str, new: str) -> None:
    path = Path(settings.corpus_dir) / name
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


# plan ----------------------------------------------------------------------------------------

def test_plan_classifies_each_file_exactly(three):
    settings, embedder = three
    corpus = Path(settings.corpus_dir)
    edit(settings, "tiny.md", SENTENCE, EDITED)
    (corpus / "june.md").unlink()
    shutil.copy(README, corpus / "readme.md")
    (corpus / "march.md").write_text(TINY.read_text(encoding="utf-8").replace("MARCH 05, 2025", "MARCH 19, 2025"),
                                     encoding="utf-8")
    plan = plan_update(settings, embedder)
    r = plan.report
    assert (r.added, r.updated, r.unchanged, r.removed) == (["2025-03-19"], ["2025-03-05"], ["2025-01-10"],
                                                            ["2025-06-04"])
    assert r.refused == [f"readme.md: {NOT_AN_ISSUE}"]
    assert r.warnings == [f"march.md: {SHORT_TOP5}", f"tiny.md: {SHORT_TOP5}"]
    assert r.rebuilt == r.repaired == ""
    assert plan.old is not None and plan.old.generation == current_generation(Path(settings.index_dir))
    assert [i.source for i in plan.fresh] == ["march.md", "tiny.md"]  # corpus file order
    assert plan.kept == {"2025-01-10": list(range(11))}  # January is the first issue by date: rows 0-10
    assert sorted(plan.issues) == ["2025-01-10", "2025-03-05", "2025-03-19"]
    assert embedder.calls == []  # planning reads files, never the model


def test_plan_refuses_a_second_file_of_one_date_and_keeps_an_issue_spoilt_by_an_edit(three):
    settings, embedder = three
    corpus = Path(settings.corpus_dir)
    shutil.copy(JANUARY, corpus / "january-copy.md")  # sorts first, so it is the one taken
    (corpus / "tiny.md").write_text("nothing here\n", encoding="utf-8")
    r = plan_update(settings, embedder).report
    assert r.refused == ["january.md: issue 2025-01-10 is already in the corpus as january-copy.md; "
                         "remove one of the two files", f"tiny.md: {NOT_AN_ISSUE}"]
    assert r.warnings == [f"january-copy.md: {SHORT_TOP5}", "tiny.md: kept the previously indexed version of issue 2025-03-05"]
    assert (r.added, r.updated, r.unchanged, r.removed) == ([], [], ["2025-01-10", "2025-03-05", "2025-06-04"], [])


def test_plan_says_why_everything_is_embedded_again(three):
    settings, embedder = three
    assert plan_update(settings, embedder, rebuild=True).report.rebuilt == "asked for"
    other = FakeEmbedder()
    other.name = "another model"
    plan = plan_update(settings, other)
    assert plan.report.rebuilt == "model changed from fake bag of words to another model" and plan.old is None
    assert plan.report.unchanged == ["2025-01-10", "2025-03-05", "2025-06-04"]  # against the old manifest still
    budget = settings.index.chunk_tokens
    assert plan_update(settings.replace(**{"index.chunk_tokens": budget - 40}), embedder).report.rebuilt == (
        f"chunking changed from {{'chunk_tokens': {budget}, 'max_tokens': 256, 'version': 3}} to "
        f"{{'chunk_tokens': {budget - 40}, 'max_tokens': 256, 'version': 3}}")
    fresh = corpus_of(Path(settings.corpus_dir).parent / "elsewhere", {"tiny.md": TINY})
    assert plan_update(fresh, embedder).report.rebuilt == "no index yet"


def test_issue_status_is_the_upload_preview_status(three):
    settings, embedder = three
    entry = IssueEntry(source="tiny.md", sha256="abc", chunks=10)
    assert [issue_status(None, "abc"), issue_status(entry, "abc"), issue_status(entry, "abd")] == \
        ["new", "same", "changed"]
    assistant = Assistant(settings, embedder=embedder)
    data = TINY.read_bytes()
    assert assistant.preview(data, "x.md").status == "same"
    assert assistant.preview(data.replace(b"Tianjin", b"Toulouse"), "x.md").status == "changed"
    assert assistant.preview(data.replace(b"MARCH 05", b"MARCH 19"), "x.md").status == "new"


# chunk and embed -----------------------------------------------------------------------------

def test_the_stages_alone_build_and_then_reuse_every_vector(tmp_path):
    settings = corpus_of(tmp_path, {"tiny.md": TINY})
    embedder = FakeEmbedder()
    plan = plan_update(settings, embedder)
    cut = chunk_changed(plan.fresh, settings.index.chunk_tokens, embedder, plan.report)
    rows = arrange_rows(plan, cut)
    assert [c.id for c in rows.chunks] == [
        "2025-03-05/1/0/0", "2025-03-05/1/1/0", "2025-03-05/1/2/0", "2025-03-05/1/3/0",
        "2025-03-05/2/0/0", "2025-03-05/2/1/0", "2025-03-05/2/2/0",
        "2025-03-05/policy-news/0/0", "2025-03-05/corporate-news/0/0", "2025-03-05/corporate-news/1/0"]
    assert rows.reused == [None] * 10
    vectors, n = embed_passages(embedder, rows, None, None)
    units, m = embed_units(embedder, rows.chunks, None, None)
    texts = [t for c in rows.chunks for t in unit_embed_texts(c)]
    assert (vectors.shape, n, units.shape, m) == ((10, 64), 10, (len(texts), 64), len(set(texts)))
    assert embedder.calls == [[c.embed_text for c in rows.chunks], list(dict.fromkeys(texts))]

    write_update(Path(settings.index_dir), plan, embedder, rows.chunks, vectors, units)
    old = load_snapshot(Path(settings.index_dir))
    assert [e.chunks for e in old.manifest.issues.values()] == [10]
    embedder.calls.clear()
    # Chunks cut again from the same text find every vector in the old generation.
    again, n = embed_passages(embedder, rows, old, None)
    again_units, m = embed_units(embedder, rows.chunks, old, None)
    assert (n, m, embedder.calls) == (0, 0, [])
    assert np.array_equal(again, vectors) and np.array_equal(again_units, units)


def test_a_second_update_embeds_nothing_and_keeps_the_generation(three):
    settings, embedder = three
    live = current_generation(Path(settings.index_dir))
    report = update_index(settings, embedder)
    assert embedder.calls == []
    assert (report.changed, report.chunks_embedded, report.sentences_embedded, report.chunks_total) == (False, 0, 0, 45)
    assert report.generation == live == current_generation(Path(settings.index_dir))


def test_a_changed_paragraph_re_embeds_only_its_chunk(three):
    settings, embedder = three
    edit(settings, "tiny.md", SENTENCE, EDITED)
    report = update_index(settings, embedder)
    assert (report.updated, report.unchanged) == (["2025-03-05"], ["2025-01-10", "2025-06-04"])
    chunk = next(c for c in load_snapshot(Path(settings.index_dir)).chunks if c.id == "2025-03-05/2/1/0")
    assert chunk.units == (EDITED,)
    # The passage once, then its one new sentence; nothing else of the three issues.
    assert embedder.calls == [[chunk.embed_text], unit_embed_texts(chunk)]
    assert (report.chunks_embedded, report.sentences_embedded, report.chunks_total) == (1, 1, 45)


# write ---------------------------------------------------------------------------------------

def test_keep_live_clears_what_a_crashed_writer_left(three):
    settings, _ = three
    index = Path(settings.index_dir)
    live = current_generation(index)
    (index / "gen-20000101T000000.000000-abcdef.tmp").mkdir()
    (index / ".CURRENT.tmp").write_text("x")
    keep_live(index, load_snapshot(index))
    assert sorted(p.name for p in index.iterdir() if p.name.startswith(("gen-", ".CURRENT"))) == [live]


# progress ------------------------------------------------------------------------------------

def test_an_update_reports_its_phases_in_order(tmp_path):
    settings = corpus_of(tmp_path, {"tiny.md": TINY})
    heard = []
    update_index(settings, FakeEmbedder(), progress=lambda done, total, what: heard.append((done, total, what)))
    units = len(load_snapshot(Path(settings.index_dir)).unit_vectors)
    assert heard == [(0, 1, "reading tiny.md"), (0, 10, "embedding"), (10, 10, "embedding"),
                     (0, units, "embedding sentences"), (units, units, "embedding sentences"),
                     (1, 1, "writing the index")]
    assert [w.phase for _, _, w in heard] == [Phase.READING, Phase.EMBEDDING, Phase.EMBEDDING,
                                              Phase.EMBEDDING_SENTENCES, Phase.EMBEDDING_SENTENCES, Phase.WRITING]
    assert heard[0][2].subject == "tiny.md"


def test_a_step_is_its_text(tmp_path):
    assert [Step(Phase.PAGES), Step(Phase.PAGES, "june.pdf"), Step(Phase.READING, "june.pdf")] == \
        ["reading pages", "pages of june.pdf", "reading june.pdf"]
    assert Step(Phase.PAGES, "june.pdf").subject == "june.pdf" and Step(Phase.PAGES).subject == ""


def test_the_console_draws_a_bar_per_phase_that_takes_time(monkeypatch):
    from ui.cli import progress_bar
    bars = []

    class Bar:
        def __init__(self, total, desc, unit, **_):
            bars.append((desc, unit, total))

        def refresh(self):
            pass

        def close(self):
            pass

    monkeypatch.setattr("tqdm.tqdm", Bar)
    progress = progress_bar()
    for phase, subject in [(Phase.READING, "june.pdf"), (Phase.PAGES, "june.pdf"), (Phase.PAGES, ""),
                           (Phase.EMBEDDING, ""), (Phase.EMBEDDING_SENTENCES, ""), (Phase.WRITING, "")]:
        progress(0, 3, Step(phase, subject))
    progress(1, 3, "embedding")  # plain text names no phase: no bar
    assert bars == [("Reading june.pdf", "page", 3), ("Reading pages", "page", 3), ("Embedding", "text", 3),
                    ("Embedding sentences", "text", 3)]
