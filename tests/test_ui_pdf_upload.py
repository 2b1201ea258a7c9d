"""Uploading an issue PDF in a real browser, on an app of its own (a newer issue would reorder the
library that tests/test_ui_browser.py reads)."""

from __future__ import annotations

import pytest

from qa.store import current_generation
from pdf_helpers import encrypted_pdf, heldout_pdf, pdf_dir  # noqa: F401  (fixtures)
from test_ui_browser import browser, page, upload  # noqa: F401  (fixtures and the upload step)
from ui_helpers import server  # noqa: F401  (this module's app)

pytestmark = pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")


def test_upload_a_pdf_issue_then_ask_it(page, server, heldout_pdf):
    """The PDF as MERICS publishes it (here the held-out issue, printed by reportlab): previewed with
    its page count, saved under a name made from its date, answerable at once; a locked PDF is refused."""
    _, settings = server
    upload(page, "../Issue June (final).pdf", heldout_pdf.read_bytes())
    preview = page.page.inner_text("#preview")
    assert "New issue" in preview and "4 June 2025" in preview and "29 April 2025 – 27 May 2025" in preview
    assert "PDF of 5 pages, text read in" in preview
    assert "Hydrogen corridors: MIIT maps fuel-cell truck routes across northern China" in preview
    assert "Saved as\tmerics-china-industries-2025-06-04.pdf" in preview
    page.page.click("#add-confirm")
    page.page.wait_for_selector("#add-result .qa-ok", timeout=120_000)
    assert "Added China Industries, 4 June 2025" in page.page.inner_text("#add-result")
    assert (settings.corpus_dir / "merics-china-industries-2025-06-04.pdf").read_bytes() == heldout_pdf.read_bytes()
    page.ask("How many cities were selected for drone delivery pilots?")
    chat = page.page.inner_text("#chat")
    assert "twelve cities" in chat and "[1] 4 June 2025" in chat

    before = current_generation(settings.index_dir)
    upload(page, "locked.pdf", encrypted_pdf(heldout_pdf.read_bytes()))
    assert "Refused: locked.pdf: the PDF is encrypted" in page.page.inner_text("#preview")
    assert current_generation(settings.index_dir) == before
