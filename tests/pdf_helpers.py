"""PDFs for the tests, made once per session by real engines and cached in a tmp folder.

`shipped_pdfs`: each shipped issue, with an exhibit added to its text (`with_exhibit`), printed
by Chromium (tests/pdf_render.py). `heldout_pdf`: the hand-written issue of
tests/data/heldout-issue-2025-06-04.md printed by reportlab (tests/pdf_reportlab.py).
`bad_pdfs`: PDFs the intake must refuse. Also the words-in-order measure.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from conftest import ISSUES
from qa.text import normalize

DATA = Path(__file__).resolve().parent / "data"
HELDOUT = DATA / "heldout-issue-2025-06-04.md"
HELDOUT_QUESTIONS = DATA / "heldout-questions.jsonl"


@pytest.fixture(scope="session")
def pdf_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("pdfs")


@pytest.fixture(scope="session")
def shipped_pdfs(pdf_dir) -> dict[str, tuple[str, Path]]:
    """{issue date: (the text the PDF was made from, the PDF's path)} for the four shipped issues."""
    from playwright.sync_api import sync_playwright

    from pdf_render import chromium_pdf, issue_html, launch_chromium, with_exhibit
    from qa import parse_issue
    from qa.schema import format_date
    out = {}
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            for path in ISSUES:
                text = with_exhibit(path.read_text(encoding="utf-8"))
                issue = parse_issue(text, path.name)
                pdf = pdf_dir / f"{path.stem}.pdf"
                pdf.write_bytes(chromium_pdf(browser, issue_html(text, issue), format_date(issue.date)))
                out[issue.date] = (text, pdf)
        finally:
            browser.close()
    return out


@pytest.fixture(scope="session")
def heldout_pdf(pdf_dir) -> Path:
    from pdf_reportlab import heldout_pdf as render
    path = pdf_dir / "china-industries-june-2025.pdf"
    path.write_bytes(render(HELDOUT.read_text(encoding="utf-8")))
    return path


def words(text: str) -> list[str]:
    return re.findall(r"\w+", normalize(text))


def lcs_length(a: list[str], b: list[str]) -> int:
    """Length of the longest common subsequence of two word lists (bit-parallel, Allison-Dix)."""
    if not a or not b:
        return 0
    masks: dict[str, int] = {}
    for i, w in enumerate(a):
        masks[w] = masks.get(w, 0) | (1 << i)
    full = (1 << len(a)) - 1
    v = full
    for w in b:
        u = v & masks.get(w, 0)
        v = ((v + u) | (v - u)) & full
    return len(a) - bin(v).count("1")


def words_in_order(expected: str, got: str) -> float:
    """Share of the expected text's words that the other text has, in the same order:
    LCS(normalised words of both) / words of the expected text."""
    a = words(expected)
    return lcs_length(a, words(got)) / len(a) if a else 1.0


def section_text(section) -> str:
    return "\n".join(p.text for p in section.parts)


# PDFs that must be refused ------------------------------------------------------------------

def _reportlab_doc(paragraphs: list[str]) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate
    out = io.BytesIO()
    styles = getSampleStyleSheet()
    SimpleDocTemplate(out, pagesize=A4).build([Paragraph(p, styles["Normal"]) for p in paragraphs])
    return out.getvalue()


def encrypted_pdf(data: bytes) -> bytes:
    from pypdf import PdfReader, PdfWriter
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password="reader", owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def scanned_pdf(text: str) -> bytes:
    """A page that is only a picture of text, as a scanner makes it."""
    from PIL import Image, ImageDraw
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas
    img = Image.new("RGB", (1240, 1754), "white")
    draw = ImageDraw.Draw(img)
    for i, ln in enumerate(text.splitlines()[:40]):
        draw.text((100, 100 + 30 * i), ln[:90], fill="black")
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=A4)
    c.drawImage(ImageReader(img), 0, 0, width=A4[0], height=A4[1])
    c.showPage()
    c.save()
    return out.getvalue()


def unrelated_pdf() -> bytes:
    return _reportlab_doc(["Minutes of the allotment society, 12 March 2025",
                           "Present: the chair, the treasurer and nine members.",
                           "The society agreed to buy two new water butts and a wheelbarrow.",
                           "The next meeting is on 9 April 2025 in the village hall."])
