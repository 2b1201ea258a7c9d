"""A second PDF engine and stylesheet: reportlab, for the held-out issue (tests/data/heldout-*.md).

Nothing here is shared with the Chromium renderer (tests/pdf_render.py): it reads the
markdown lines itself, sets Times in 10.5 pt with justified text, en-dash bullets and
numbered lists, headings in 15 pt Helvetica-Bold, a CONTENTS table whose page numbers sit in
their own column, a bar chart drawn as shapes with its own small labels, a running header on
the right and "Page N" footers, and soft hyphens that reportlab prints as U+002D, so the
extractor must tell a broken word from a real hyphen by the document's words alone.
"""

from __future__ import annotations

import html
import io
import re

from reportlab.graphics.shapes import Drawing, Rect, String
from reportlab.lib.enums import TA_JUSTIFY
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import (ListFlowable, ListItem, PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table,
                                TableStyle)

pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))

BODY = ParagraphStyle("body", fontName="Times-Roman", fontSize=10.5, leading=13.2, alignment=TA_JUSTIFY,
                      spaceAfter=6, embeddedHyphenation=1, splitLongWords=0)
SMALL = ParagraphStyle("small", parent=BODY, fontName="Times-Italic", fontSize=8, leading=10, spaceAfter=2)
H1 = ParagraphStyle("h1", fontName="Helvetica-Bold", fontSize=26, leading=30, spaceAfter=4)
H2 = ParagraphStyle("h2", fontName="Helvetica-Bold", fontSize=15, leading=18, spaceBefore=12, spaceAfter=8)
H3 = ParagraphStyle("h3", fontName="Helvetica-Bold", fontSize=12.5, leading=15, spaceBefore=8, spaceAfter=6)
TOC = ParagraphStyle("toc", fontName="Times-Roman", fontSize=11, leading=14)
META = ParagraphStyle("meta", fontName="Helvetica", fontSize=8.5, leading=11, spaceAfter=14)


def _soft(text: str) -> str:
    """Soft hyphens in long words, after every third letter past the fourth."""
    def cut(m):
        w = m.group()
        return "".join(ch + ("\u00ad" if 4 <= i + 1 < len(w) - 3 and (i + 1) % 3 == 0 else "") for i, ch in enumerate(w))
    return re.sub(r"(?<![\w-])[A-Za-z]{10,}(?![\w-])", cut, text)


def _inline(md: str) -> str:
    """Markdown inline -> reportlab's mini-markup: bold, italic, links as text, superscripts, CJK font."""
    s = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", md)
    s = html.escape(s, quote=False).replace("&lt;sup&gt;", "<super>").replace("&lt;/sup&gt;", "</super>")
    s = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", s)
    s = re.sub(r"\*(.+?)\*", r"<i>\1</i>", s)
    s = _soft(s)
    return re.sub(r"([\u3000-\u9fff\uff00-\uffef《》“”]+)", r'<font name="STSong-Light">\1</font>', s)


def _chart() -> Drawing:
    d = Drawing(300, 120)
    for i, v in enumerate([140, 250, 360, 480, 600, 800, 1000, 1200]):
        h = v / 12
        d.add(Rect(20 + i * 34, 20, 20, h, fillColor="#557799", strokeColor=None))
        d.add(String(30 + i * 34, 24 + h, str(v), fontName="Helvetica", fontSize=6, textAnchor="middle"))
        d.add(String(30 + i * 34, 8, str(2021 + i), fontName="Helvetica", fontSize=6, textAnchor="middle"))
    return d


def _decorate(canvas, doc):
    canvas.saveState()
    canvas.setFont("Helvetica", 7.5)
    canvas.drawRightString(A4[0] - 22 * mm, A4[1] - 12 * mm, "China Industries | June 2025")
    canvas.drawString(22 * mm, 12 * mm, f"Page {doc.page}")
    canvas.restoreState()


def heldout_pdf(markdown: str) -> bytes:
    """The issue's markdown, printed with reportlab."""
    story, bullets, numbered = [], [], []

    def flush():
        nonlocal bullets, numbered
        for items, kind in ((bullets, "bullet"), (numbered, "1")):
            if items:
                story.append(ListFlowable([ListItem(Paragraph(_inline(t), BODY)) for t in items], bulletType=kind,
                                          start="–" if kind == "bullet" else None, leftIndent=14,
                                          bulletFormat=None if kind == "bullet" else "%s.",
                                          bulletFontName="Times-Roman", bulletFontSize=10.5))
        bullets, numbered = [], []

    lines = markdown.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        i += 1
        if not re.match(r"^(- |\d\. )", line):
            flush()
        if not line:
            continue
        plain = re.sub(r"^#+\s*", "", line).replace("**", "")
        if "REPORTING PERIOD" in line:
            story.append(Paragraph(html.escape(line), META))
        elif plain in ("MERICS", "China Industries"):
            story.append(Paragraph(plain, H1 if plain != "MERICS" else H3))
        elif plain == "CONTENTS":
            story.append(Paragraph(plain, H2))
            rows = []
            while not lines[i].strip():
                i += 1
            while lines[i].strip():
                title, page = re.match(r"^(.*?)\.{2,}\s*(\d+)$", lines[i].strip()).groups()
                rows.append([Paragraph(_inline(title) + " " + ". " * 8, TOC), page])
                i += 1
            table = Table(rows, colWidths=[130 * mm, 12 * mm])
            table.setStyle(TableStyle([("FONT", (1, 0), (1, -1), "Times-Roman", 11), ("ALIGN", (1, 0), (1, -1), "RIGHT"),
                                       ("VALIGN", (0, 0), (-1, -1), "BOTTOM"), ("BOTTOMPADDING", (0, 0), (-1, -1), 5)]))
            story.append(table)
        elif plain in ("MERICS TOP 5", "NOTEWORTHY"):
            story += [PageBreak(), Paragraph(plain, H2)]
        elif line.startswith("#") and plain in ("AUTHORS", "EDITORS", "PUBLISHER"):
            story.append(Paragraph(plain.title(), H3))
        elif line.startswith("#"):
            story.append(Paragraph(_inline(plain), H2 if re.match(r"^\d\.", plain) else H3))
        elif line.startswith("- "):
            bullets.append(line[2:])
        elif re.match(r"^\d\. ", line):
            numbered.append(line[3:])
        elif line.startswith("Exhibit"):
            story += [Paragraph(f"<b>{_inline(line)}</b>", BODY), _chart(), Spacer(1, 4)]
        elif line.startswith(("Note:", "Source:")):
            story.append(Paragraph(_inline(line), SMALL))
        else:
            text = _inline(line)
            while lines[i - 1].endswith("  ") and lines[i].strip():  # a markdown line break: "Name  \nRole"
                text += "<br/>" + _inline(lines[i].strip())
                i += 1
            story.append(Paragraph(text, BODY))
    flush()
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=22 * mm, rightMargin=40 * mm, topMargin=24 * mm,
                            bottomMargin=22 * mm, title="China Industries")
    doc.build(story, onFirstPage=_decorate, onLaterPages=_decorate)
    return out.getvalue()
