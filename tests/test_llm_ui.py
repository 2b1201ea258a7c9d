"""LLM answers and the Markdown export in the web UI: the real app on a copy of the real index,
pointed at the scripted chat-completions server; `gradio_client` for the API, Debian's chromium
(Playwright) for the streaming chat and the export."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from gradio_client import Client

from core_helpers import ENERGY_HEADING
from qa.export import to_markdown
from llm_fake import FIRST, LEFT_OUT, QUESTION, SECOND, fake  # noqa: F401  (a fixture)
from test_ui_browser import Page, browser  # noqa: F401  (a fixture)
from ui_helpers import copy_workspace, running_app

pytestmark = pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, settings_base, built_index):
    return copy_workspace(tmp_path_factory.mktemp("llm-ui"), built_index, settings_base)


def app(workspace, embedder, fake, model, **llm):
    settings = workspace.replace(**{"llm.url": fake.url, "llm.model": model, **{f"llm.{k}": v for k, v in llm.items()}})
    return running_app(settings, embedder)


@pytest.mark.parametrize("model, text, note", [
    ("wrong-n", FIRST.format(t=1), LEFT_OUT),
    ("hang", None, "The language model (hang) gave no answer: no reply within 1 s. This is the answer quoted from "
                   "the passages instead."),
])
def test_api_answers_say_which_backend(workspace, embedder, fake, model, text, note):
    with app(workspace, embedder, fake, model, timeout=1.0) as (url, assistant):
        answer = Client(url, verbose=False).predict(QUESTION, api_name="/ask")
    assert answer["notes"][-1] == note
    if text:
        assert (answer["answer"], answer["backend"]) == (text, f"llm:{model}")
        assert [c["part"] for c in answer["citations"]] == ["At a glance"]
    else:
        assert answer["backend"] == "extractive"
        assert answer["answer"].startswith("Important goals for 2027 include:")
    assert answer["markdown"].startswith(f"**Question:** {QUESTION}\n")


def test_the_answer_streams_into_the_chat_and_exports_as_markdown(browser, workspace, embedder, fake, tmp_path):  # noqa: F811
    first, second = FIRST.format(t=1), SECOND.format(t=1)
    with app(workspace, embedder, fake, "slow") as (url, assistant):
        page = Page(browser, url)
        try:
            p = page.page
            p.fill("#question textarea", QUESTION)
            p.click("#ask")
            # The first verified sentence shows while the model is still writing the second (2 s later).
            p.wait_for_function("([s]) => document.querySelector('#chat').innerText.includes(s)",
                                arg=["three to five new energy storage companies worth CNY 100 billion"])
            chat = p.inner_text("#chat")
            assert "slow is writing; each sentence appears once the passage it cites supports it" in chat
            assert "transportation and construction" not in chat
            page.shot("llm-answer-streaming.png")
            p.wait_for_function("() => document.querySelector('#chat').innerText.includes('transportation and "
                                "construction') && !document.querySelector('#chat').innerText.includes('is writing')")
            chat = " ".join(p.inner_text("#chat").split())
            assert first.replace("[1]", "").split()[0:6] == chat[chat.index("By 2027"):].split()[0:6]
            assert "[1] 4 December 2024 · 2. Fully charged" in chat
            assert page.errors == []

            # Export: the Markdown to copy, and the same as a file.
            p.get_by_text("Export this answer (Markdown, with full references)").click()
            p.wait_for_selector("#export-text textarea")
            p.wait_for_function("() => document.querySelector('#export-text textarea').value.includes('Sources')")
            shown = p.input_value("#export-text textarea")
            expected = assistant.ask(QUESTION)
            assert shown.rstrip("\n") == to_markdown(expected).rstrip("\n")
            assert shown.startswith(f"**Question:** {QUESTION}\n\n{first} {second}")
            assert f"[1] MERICS, China Industries, 4 December 2024, section “{ENERGY_HEADING}”, At a glance" in shown
            page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url.rstrip("/"))
            p.click("#export-text button[aria-label='Copy']")
            assert p.evaluate("() => navigator.clipboard.readText()") == shown
            with p.expect_download() as download:
                p.click("#export-download")
            saved = Path(download.value.path()).read_text(encoding="utf-8")
            assert download.value.suggested_filename == "china-industries-answer.md"
            assert saved == to_markdown(expected)
            time.sleep(0.3)
            page.shot("llm-answer-export.png")
        finally:
            page.close()
