"""The page in a real browser: Playwright driving Debian's chromium (headless) against the real app.

Screenshots go to test-output/ for a person to look at.
"""

from __future__ import annotations

import shutil
import time

import pytest

from conftest import ROOT
from qa import parse_issue
from qa.store import current_generation
from ui_helpers import (HOSTILE_DATE, HOSTILE_NAME, HOSTILE_QUESTION, HOSTILE_TITLE, NEW_DATE, UNIQUE_QUESTION,
                        copy_workspace, hostile_issue_text, new_issue_text, running_app)
from ui_helpers import server  # noqa: F401  (the module's app, a fixture)

pytestmark = pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")

OUT = ROOT / "test-output"
ENERGY = "What are the new energy storage targets for 2027?"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
TIMEOUT = 30_000


@pytest.fixture(scope="module")
def browser():
    from playwright import sync_api  # a test dependency: missing, the tests fail rather than skip
    executable = shutil.which("chromium")
    if not executable:
        pytest.fail("Debian's chromium is not installed (make chromium)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Page:
    """One browser tab on the app, recording dialogs and page errors."""

    def __init__(self, browser, url):
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000})
        self.page = self.context.new_page()
        self.page.set_default_timeout(TIMEOUT)
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(url)
        self.page.wait_for_selector("#question textarea")
        self.page.wait_for_function("document.querySelector('#status') && "
                                    "document.querySelector('#status').innerText.includes('issues indexed')")

    def tab(self, name):
        self.page.get_by_role("tab", name=name).click()

    def ask(self, question):
        self.tab("Ask")
        turns = self.page.locator("#chat .message-row").count()
        self.page.fill("#question textarea", question)
        self.page.click("#ask")
        # The answer replaces the "Searching" placeholder.
        self.page.wait_for_function(
            "([n]) => document.querySelectorAll('#chat .message-row').length > n && "
            "!document.querySelector('#chat').innerText.includes('Searching the archive')", arg=[turns])

    def shot(self, name):
        OUT.mkdir(exist_ok=True)
        self.page.screenshot(path=str(OUT / name))

    def pwned(self):
        return self.page.evaluate("() => [window.__pwned, window.pwned]")

    def close(self):
        self.context.close()


@pytest.fixture
def page(browser, server):
    p = Page(browser, server[0])
    yield p
    assert not p.errors, p.errors
    p.close()


def upload(p: Page, name: str, text: str | bytes):
    p.tab("Add an issue")
    clear = p.page.locator("#upload button[aria-label='Clear']")
    if clear.count():  # a previous upload is still shown: remove it, which also clears its preview
        clear.first.click()
        p.page.wait_for_function("!document.querySelector('#preview .qa-preview, #preview .qa-error')")
    data = text.encode("utf-8") if isinstance(text, str) else text
    mime = "application/pdf" if name.endswith(".pdf") else "text/markdown"
    p.page.set_input_files("#upload input[type=file]", files=[{"name": name, "mimeType": mime, "buffer": data}])
    p.page.wait_for_selector("#preview .qa-preview, #preview .qa-error")


def test_answer_with_sources_and_source_viewer(page, assistant):
    expected = assistant.ask(ENERGY).citations[0]  # the same index as the app's: the same answer
    page.ask(ENERGY)
    chat = page.page.inner_text("#chat")
    assert "[1]" in chat and "No answer in the archive" not in chat
    # Under the answer: the source with issue date, section number and title, part.
    source = page.page.locator("#chat", has_text="[1] 4 December 2024 · 2. Fully charged")
    assert source.count() == 1
    panel = page.page.inner_text("#sources")
    assert "China Industries, 4 December 2024" in panel and "2. Fully charged" in panel
    page.shot("answer-with-sources.png")

    # Each source expands to the cited passage, under the answer.
    page.page.get_by_text("[1] 4 December 2024 · 2. Fully charged").first.click()
    passage = page.page.get_by_text("Click this passage to read the whole section").first
    passage.wait_for(state="visible")
    assert "Cultivate between three to five companies" in page.page.inner_text("#chat")

    # Clicking the source opens the whole section, cited sentences highlighted.
    assert page.page.locator("#viewer mark").count() == 0
    page.page.click("#sources button[data-open='1']")
    page.page.wait_for_selector("#viewer mark")
    viewer = page.page.inner_text("#viewer")
    assert "China Industries, 4 December 2024" in viewer
    assert "reporting period 29 October 2024 – 25 November 2024" in viewer
    assert "2. Fully charged: China aims to further crank up its new energy storage industry" in viewer
    assert "MERICS comment" in viewer  # the whole section, not just the passage
    marks = " ".join(" ".join(m.split()) for m in page.page.locator("#viewer mark").all_inner_texts())
    for sentence in expected.sentences:
        assert " ".join(sentence.removeprefix("- ").split()) in marks, (sentence, marks)
    assert page.page.locator("#viewer mark").first.is_visible()
    time.sleep(0.5)  # let the expanded source settle for the picture
    page.shot("source-viewer.png")

    # A second question resets the viewer; the first answer's passage in the chat opens its section again.
    page.ask("Which company did BioNTech buy?")
    assert page.page.locator("#viewer mark").count() == 0
    assert "BioNTech" in page.page.inner_text("#sources")
    passage.click()
    page.page.wait_for_selector("#viewer mark")
    assert "2. Fully charged" in page.page.inner_text("#viewer")
    assert "What are the new energy storage targets" in page.page.inner_text("#sources")

    # Multi-turn: a follow-up is read with the question before it.
    page.ask("And what did it pay?")
    assert "follow-up" in page.page.locator("#chat .message-row").last.inner_text()


def test_no_answer_and_filters(page):
    page.ask("What is the best recipe for apple pie?")
    assert "No answer in the archive." in page.page.inner_text("#chat")
    assert "No source: the archive has no answer" in page.page.inner_text("#viewer")

    page.page.click("#filters button, #filters .label-wrap")
    page.page.get_by_role("checkbox", name="Top-5 articles").uncheck()
    page.page.get_by_role("checkbox", name="Policy news").uncheck()
    page.ask(ENERGY)
    last = page.page.locator("#chat .message-row").last
    chat = page.page.inner_text("#chat")
    assert "Filter: Corporate news only" in chat
    assert "2. Fully charged" not in page.page.inner_text("#sources")
    assert last.count() == 1

    # The filters reach the follow-up too; with all kinds off, nothing is asked.
    page.page.get_by_role("checkbox", name="Corporate news").uncheck()
    before = page.page.locator("#chat .message-row").count()
    page.page.fill("#question textarea", ENERGY)
    page.page.click("#ask")
    page.page.get_by_text("Tick at least one section kind").wait_for()
    assert page.page.locator("#chat .message-row").count() == before


def test_library_reads_any_section(page):
    page.tab("Library")
    library = page.page.locator("#library")
    library.get_by_text("4 December 2024").wait_for()
    text = library.inner_text()
    assert "Reporting period 29 October 2024 – 25 November 2024" in text
    for title in ("1. Unveiling China's new materials big data system strategy",
                  "4. Biomanufacturing best practice: MIIT collects model cases"):
        assert title in text
    assert "Corporate news (10 items)" in text
    library.locator("button", has_text="4. Biomanufacturing best practice").click()
    page.page.locator("#reader", has_text="Biomanufacturing").wait_for()
    reader = page.page.inner_text("#reader")
    assert "issue date 4 December 2024" in reader and "At a glance" in reader
    # Another section of the same issue through the pickers.
    page.page.locator("#lib-section input").click()
    page.page.get_by_role("option", name="Corporate news").click()
    page.page.locator("#reader", has_text="BioNTech").wait_for()
    page.shot("library.png")


def test_upload_new_issue_then_ask_it(page, server):
    _, settings = server
    page.ask(UNIQUE_QUESTION)
    assert "5 March 2025" not in page.page.inner_text("#chat")

    upload(page, "china-industries-march.md", new_issue_text())
    preview = page.page.inner_text("#preview")
    assert "New issue" in preview and "5 March 2025" in preview
    assert "28 January 2025 – 25 February 2025" in preview
    assert "Basic industrial materials to propel China's move into emerging industries" in preview
    assert "policy news" in preview and "Saved as\tmerics-china-industries-2025-03-05.md" in preview
    assert not (settings.corpus_dir / "merics-china-industries-2025-03-05.md").exists()  # not before confirming
    page.shot("upload-preview.png")

    page.page.click("#add-confirm")
    # A progress bar while the index is updated.
    page.page.wait_for_selector("#add-result .progress-text, #add-result .progress-level, #add-result .eta-bar")
    page.page.wait_for_selector("#add-result .qa-ok", timeout=120_000)
    result = page.page.inner_text("#add-result")
    assert "Added China Industries, 5 March 2025: it can be asked about now." in result
    assert not page.page.locator("#add-confirm").is_visible()

    # Answerable at once, no restart.
    page.ask(UNIQUE_QUESTION)
    chat = page.page.inner_text("#chat")
    assert "42 airship freight hubs" in chat and "[1] 5 March 2025" in chat

    # The same file again: already there, nothing to confirm.
    upload(page, "again.md", new_issue_text())
    assert "Already indexed, identical" in page.page.inner_text("#preview")
    assert not page.page.locator("#add-confirm").is_visible()
    assert not page.page.locator("#add-replace").is_visible()

    # A changed version of it: offered as a replacement, then replaced.
    edited = new_issue_text().replace("42 airship freight hubs", "43 airship freight hubs")
    upload(page, "march-corrected.md", edited)
    assert "different content. Replace it?" in page.page.inner_text("#preview")
    assert not page.page.locator("#add-confirm").is_visible()
    page.page.click("#add-replace")
    page.page.wait_for_selector("#add-result .qa-ok", timeout=120_000)
    assert "Replaced China Industries, 5 March 2025" in page.page.inner_text("#add-result")
    page.ask(UNIQUE_QUESTION)
    assert "43 airship freight hubs" in page.page.locator("#chat .message-row").last.inner_text() or \
        "43 airship" in page.page.inner_text("#chat")
    assert NEW_DATE in {p.name[-13:-3] for p in settings.corpus_dir.glob("*.md")}


def test_refused_uploads_leave_the_index_alone(page, server):
    _, settings = server
    before = current_generation(settings.index_dir)
    upload(page, "minutes.txt", "Minutes of the team meeting.\nNothing about China Industries here.\n")
    message = page.page.inner_text("#preview")
    assert "Refused: minutes.txt: no issue date found" in message and "index is unchanged" in message
    assert not page.page.locator("#add-confirm").is_visible()
    upload(page, "binary.md", "\x00\x01\x02" * 100)
    assert "binary file" in page.page.inner_text("#preview")
    assert current_generation(settings.index_dir) == before


def test_hostile_issue_runs_nothing(page, server):
    _, settings = server
    parsed = parse_issue(hostile_issue_text(), "hostile.md")
    literal = parsed.sections[0].parts[0].text  # as the parser keeps it: markup is text
    script = literal[literal.index("<script>"):literal.index("</script>") + 9]
    img = literal[literal.index("<img"):literal.index('">', literal.index("<img")) + 2]

    upload(page, HOSTILE_NAME, hostile_issue_text())
    preview = page.page.inner_text("#preview")
    assert HOSTILE_TITLE in preview and "2 April 2025" in preview
    page.page.click("#add-confirm")
    page.page.wait_for_selector("#add-result .qa-ok", timeout=120_000)
    assert not (settings.corpus_dir.parent / "img").exists()
    assert (settings.corpus_dir / f"merics-china-industries-{HOSTILE_DATE}.md").exists()

    page.ask(HOSTILE_QUESTION)
    chat = page.page.inner_text("#chat")
    assert script in chat and img in chat and "[tap]( javascript:" in chat
    assert HOSTILE_TITLE in chat  # the source's title under the answer
    page.page.click("#sources button[data-open='1']")
    page.page.wait_for_selector("#viewer mark")
    viewer = page.page.inner_text("#viewer")
    assert script in viewer and "{{constructor.constructor" in viewer and "${window.pwned=4}" in viewer
    page.shot("hostile-issue-answer.png")

    page.tab("Library")
    page.page.locator("#library button", has_text="a new set of industrial champions").first.click()
    page.page.locator("#reader", has_text="industrial champions").wait_for()
    assert HOSTILE_TITLE in page.page.inner_text("#reader")
    page.page.locator("#library button", has_text="Corporate news").first.click()
    page.page.locator("#reader", has_text="IBM").wait_for()
    assert script in page.page.inner_text("#reader")
    page.shot("hostile-issue-library.png")

    time.sleep(0.5)  # let any injected handler (img onerror) fire if it could
    assert page.pwned() == [None, None]
    assert page.dialogs == []
    # No element was made from the document's markup.
    assert page.page.locator("#chat script, #viewer script, #reader script, #library script").count() == 0
    assert page.page.locator("img[src='x'], a[href^='javascript']").count() == 0


@pytest.fixture
def small_server(tmp_path, settings_base, built_index, embedder):
    """An app whose corpus holds one issue, so that a full rebuild takes seconds."""
    settings = copy_workspace(tmp_path, built_index, settings_base)
    for f in settings.corpus_dir.iterdir():
        if "2024-12-04" not in f.name:
            f.unlink()
    with running_app(settings, embedder) as (url, assistant):
        yield url, settings


def test_admin_rebuild_with_progress(browser, small_server):
    url, settings = small_server
    before = current_generation(settings.index_dir)
    page = Page(browser, url)
    page.tab("Admin")
    assert "4 issues" in page.page.inner_text("#index-info")
    page.page.click("#rebuild")
    page.page.wait_for_selector("#admin-result .progress-text, #admin-result .progress-level, #admin-result .eta-bar")
    page.page.wait_for_selector("#admin-result .qa-ok", timeout=180_000)
    result = page.page.inner_text("#admin-result")
    assert "Rebuilt the index." in result and "Full rebuild (asked for)" in result
    assert current_generation(settings.index_dir) != before
    assert "1 issues" in page.page.inner_text("#index-info")
    assert page.page.inner_text("#status").startswith("1 issues indexed")
    page.ask(ENERGY)
    assert "[1] 4 December 2024" in page.page.inner_text("#chat")
    assert not page.errors, page.errors
    page.close()
