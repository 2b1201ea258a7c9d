"""Every handler of the page turns a failure of the library into one line for the user, never
an exception (which Gradio shows as a bare "Error", with the traceback in the server's log).

Fast: the handlers are called directly, on an index of the tiny issue built with the stand-in
embedder, with the Assistant's methods made to fail as the library can fail."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import gradio as gr
import pytest

from fakes import FakeEmbedder
from qa import Assistant, EmptyCorpus, IndexDamaged, IndexMissing, Settings, update_index
from ui.app import Handlers

TINY = Path(__file__).resolve().parent / "data" / "tiny-issue.md"
FAILURES = [
    EmptyCorpus("corpus: no issue could be indexed (no readable .md, .txt or .pdf issue); the index was left as it was"
                "\n  refused: a.md: not an issue"),
    IndexDamaged("index/gen-1/chunks.jsonl", "truncated"),
    IndexMissing("no index in index: run `qa index` first"),
    RuntimeError("a bug"),
]


@pytest.fixture
def assistant(tmp_path):
    (tmp_path / "corpus").mkdir()
    shutil.copy(TINY, tmp_path / "corpus" / "merics-china-industries-2025-03-05.md")
    settings = Settings.load(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index", today=dt.date(2026, 11, 25))
    embedder = FakeEmbedder()
    update_index(settings, embedder)
    return Assistant(settings, embedder=embedder)


def _no_progress(*args, **kwargs):
    pass


def _one_line(text: str) -> str:
    assert "\n" not in text and "Traceback" not in text, text
    return text


def _fail(error):
    def raising(*args, **kwargs):
        raise error
    return raising


@pytest.mark.parametrize("error", FAILURES, ids=lambda e: type(e).__name__)
def test_admin_update_and_rebuild_show_a_failure_as_one_line(assistant, monkeypatch, error):
    monkeypatch.setattr(assistant, "update", _fail(error))
    h = Handlers(assistant)
    for handler in (h.update, h.rebuild):
        html = _one_line(handler(progress=_no_progress))
        assert 'class="qa-error"' in html and "Failed: " in html and "The index is unchanged." in html


def test_admin_update_of_an_empty_corpus_keeps_the_index_and_says_why(assistant):
    for f in Path(assistant.settings.corpus_dir).iterdir():
        f.unlink()
    h = Handlers(assistant)
    html = _one_line(h.update(progress=_no_progress))
    assert "no issue could be indexed" in html
    assert "1 issues" in h.refresh()[-1]  # the Admin info: the index is as it was


@pytest.mark.parametrize("error", FAILURES, ids=lambda e: type(e).__name__)
def test_refresh_shows_a_failing_index_status_in_the_banner(assistant, monkeypatch, error):
    # The issues were listed, then reading what the index is fails (another process damaged or
    # removed it in between, or a bug): the banner and the Admin info say so, in one line.
    monkeypatch.setattr(assistant, "index_status", _fail(error))
    banner, status, library, _, _, info = Handlers(assistant).refresh()
    assert banner.visible and "Index problem" in banner.value
    assert status == "No usable index." and "No issue is indexed yet" in library
    _one_line(info)


@pytest.mark.parametrize("error", FAILURES, ids=lambda e: type(e).__name__)
def test_no_page_handler_lets_a_library_failure_escape(assistant, monkeypatch, tmp_path, error):
    for name in ("list_issues", "index_status", "update", "preview", "add_issue", "get_issue", "locate_citation",
                 "ask_stream"):
        monkeypatch.setattr(assistant, name, _fail(error))
    h = Handlers(assistant)
    upload = tmp_path / "upload.md"
    upload.write_bytes(TINY.read_bytes())
    turn = {"question": "q", "answer": "a [1]", "outcome": "answered", "abstained": False, "notes": [],
            "markdown": "a", "citations": [{"n": 1, "issue_date": "2025-03-05", "issue_title": "t", "section_id": "1",
                                            "section": "s", "part": "p", "part_index": 0, "chunk_id": "x", "text": "a",
                                            "sentences": []}]}
    open_1 = gr.EventData(None, {"open": "1"})
    open_section = gr.EventData(None, {"open": "2025-03-05|1"})
    calls = [lambda: h.refresh(), lambda: h.update(progress=_no_progress), lambda: h.rebuild(progress=_no_progress),
             lambda: h.preview_upload(str(upload), progress=_no_progress),
             lambda: h.add_new(str(upload), progress=_no_progress),
             lambda: h.replace_existing(str(upload), progress=_no_progress),
             lambda: list(h.ask("What?", [], "", "", [], ["article"])),
             lambda: h.open_source([turn], {"turn": 0, "n": None}, open_1),
             lambda: h.open_from_library(open_section), lambda: h.choose_issue("2025-03-05"),
             lambda: h.read_section("2025-03-05", "1")]
    for call in calls:
        try:
            call()
        except gr.Error as e:  # shown as a toast: its one-line message
            _one_line(e.message)
