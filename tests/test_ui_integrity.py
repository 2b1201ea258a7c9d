"""A damaged index seen through the server (issue 8): a banner when an older generation answers,
a readable error in the chat and over the API when none can, never Gradio's bare "Error"."""

from __future__ import annotations

import shutil

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from integrity_helpers import QUESTION, build_two_generations
from test_ui_browser import Page, browser  # noqa: F401  (the browser fixture)
from ui_helpers import new_issue_text, running_app

pytestmark = pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")


@pytest.fixture(scope="module")
def gens(tmp_path_factory, settings_base, embedder):
    return build_two_generations(tmp_path_factory.mktemp("ui-gens"), settings_base, embedder)


def workspace(gens, tmp_path, settings_base):
    index = gens.copy(tmp_path / "w")
    return index, settings_base.replace(corpus_dir=tmp_path / "w" / "corpus", index_dir=index)


def test_banner_then_error_in_the_chat(browser, gens, settings_base, embedder, tmp_path):  # noqa: F811
    index, settings = workspace(gens, tmp_path, settings_base)
    chunks = index / gens.live / "chunks.jsonl"
    chunks.write_text("")
    with running_app(settings, embedder) as (url, _):
        page = Page(browser, url)
        try:
            banner = page.page.locator("#index-warning")
            banner.wait_for(state="visible")
            text = banner.inner_text()
            assert str(chunks) in text and gens.previous in text and "qa index" in text, text
            page.ask(QUESTION)
            chat = page.page.locator("#chat").inner_text()
            assert "sandbox" in chat and "Could not answer" not in chat
            page.shot("index-fallback-banner.png")

            # Now no generation can be used: the next question says so in the chat.
            for gen in (gens.live, gens.previous):
                shutil.rmtree(index / gen)
            (index / "CURRENT").write_bytes(b"\x00garbled")
            page.ask(QUESTION)
            chat = page.page.locator("#chat").inner_text()
            assert f"Could not answer: {index / 'CURRENT'}: does not name a generation" in chat, chat[-500:]
            assert "run `qa index` to repair the index" in chat
            assert "Traceback" not in chat and not page.errors
            page.shot("index-error-in-chat.png")
        finally:
            page.close()


def test_api_errors_are_readable_and_an_upload_repairs(gens, settings_base, embedder, tmp_path):
    index, settings = workspace(gens, tmp_path, settings_base)
    for gen in (gens.live, gens.previous):
        manifest = index / gen / "manifest.json"
        manifest.write_bytes(manifest.read_bytes()[:100])
    with running_app(settings, embedder) as (url, assistant):
        client = Client(url, verbose=False)
        for endpoint, args in (("/ask", [QUESTION]), ("/search", [QUESTION]), ("/list_issues", [])):
            with pytest.raises(AppError) as caught:
                client.predict(*args, api_name=endpoint)
            message = str(caught.value)
            assert f"{index / gens.live / 'manifest.json'}: is not valid JSON" in message, message
            assert "run `qa index` to repair the index" in message
        # An upload lands in a rebuilt index and the corpus together.
        r = client.predict(new_issue_text(), "march.md", False, api_name="/add_issue")
        assert r["status"] == "added" and "manifest.json" in r["report"]["repaired"], r
        answer = client.predict(QUESTION, api_name="/ask")
        assert answer["citations"] and assistant.index_warning == ""
        dates = [i["issue_date"] for i in client.predict(api_name="/list_issues")]
        assert dates == ["2025-03-05", "2025-02-07", "2025-01-10"]
