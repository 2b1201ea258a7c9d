"""Issues as newsletter PDFs, made by a real engine: Chromium's `page.pdf()` from HTML and CSS.

The layout is the one MERICS prints: a masthead and a CONTENTS page with dot leaders and page
numbers, article headings in larger bold type, bold run-in labels, bullets, links, a
superscript, an exhibit (an SVG chart with its own small labels, then Note: and Source:), a
running header and a footer with the page number, justified narrow text with soft hyphens
so that long words break at line ends, and paragraphs and lists that run over page breaks.

The HTML is generated from the issue's text file: the structure from its parse, the
CONTENTS, masthead and imprint lines, link texts and superscripts from its raw lines. An
exhibit is added to article 2 of every issue, to the text as well (`with_exhibit`), so the
text and the PDF still say the same thing.
"""

from __future__ import annotations

import html
import re
import shutil

from qa.schema import AT_A_GLANCE, COMMENT, DOCUMENT, EXPLAINER, Issue
from qa.text import clean_inline

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]

EXHIBIT_LINES = ("Exhibit 1: Capacity targets and installed base in the sector, 2020-2027",
                 "Note: Figures for 2025 to 2027 are targets; earlier years are installed capacity.",
                 "Source: National Bureau of Statistics, MERICS research.")

CSS = """
@page { size: A4; margin: 26mm 34mm 24mm 34mm; }
html { font-family: 'DejaVu Sans', 'WenQuanYi Zen Hei', sans-serif; font-size: 9.5pt; line-height: 1.38;
       color: #1d1d1b; }
body { margin: 0; }
p, li { text-align: justify; hyphens: manual; orphans: 1; widows: 1; margin: 0 0 7pt 0; }
.brand { font-size: 13pt; font-weight: bold; letter-spacing: 2pt; color: #00a0a8; margin: 0 0 2pt 0; }
.product { font-size: 30pt; font-weight: bold; margin: 0 0 6pt 0; color: #00384f; }
.masthead-date { font-size: 9pt; font-weight: bold; color: #00384f; margin: 0 0 30pt 0; }
h1.contents { font-size: 16pt; margin: 0 0 10pt 0; color: #00384f; }
.toc { display: flex; align-items: flex-end; font-size: 10pt; margin: 0 0 6pt 0; }
.toc.sub { padding-left: 14pt; }
.toc .t { flex: 0 1 auto; max-width: 88%; }
.toc .dots { flex: 1 1 0; min-width: 14pt; overflow: hidden; white-space: nowrap; color: #777; align-self: flex-end; }
.toc .pg { flex: 0 0 auto; padding-left: 3pt; }
h1.top5 { break-before: page; font-size: 16pt; color: #00a0a8; margin: 0 0 10pt 0; }
h2 { font-size: 14pt; line-height: 1.25; color: #00384f; margin: 16pt 0 8pt 0; break-after: avoid; }
h3 { font-size: 11.5pt; color: #00384f; margin: 12pt 0 6pt 0; break-after: avoid; }
ul { list-style: none; padding: 0; margin: 0 0 7pt 0; }
li { position: relative; padding-left: 12pt; margin: 0 0 3pt 0; }
li::before { content: "\\2022"; position: absolute; left: 2pt; color: #00a0a8; }
a { color: #00a0a8; text-decoration: underline; }
figure { margin: 10pt 0 12pt 0; break-inside: avoid; }
.exhibit-title { font-weight: bold; font-size: 9.5pt; margin: 0 0 4pt 0; text-align: left; }
.small { font-size: 7.5pt; color: #555; margin: 2pt 0 0 0; text-align: left; }
.box { background: #e6f4f5; padding: 8pt 10pt 2pt 10pt; margin: 4pt 0 10pt 0; }
.box-title { font-weight: bold; text-align: left; }
.imprint { break-before: page; font-size: 8.5pt; }
.imprint h3 { font-size: 9.5pt; }
.imprint p { text-align: left; margin: 0 0 6pt 0; }
"""

HEADER = ('<div style="font-size:7pt; color:#777; width:100%; margin:0 34mm; display:flex; '
          'justify-content:space-between; font-family:DejaVu Sans"><span>MERICS | China Industries</span>'
          '<span>{date}</span></div>')
FOOTER = ('<div style="font-size:7.5pt; color:#777; width:100%; text-align:right; margin:0 34mm; '
          'font-family:DejaVu Sans"><span class="pageNumber"></span></div>')


def with_exhibit(text: str) -> str:
    """The issue text with an exhibit (title, Note:, Source:) before article 2's policy document."""
    heading = re.search(r"^#*\s*2\.\s", text[text.index("At a glance"):], re.M)
    start = text.index("At a glance") + heading.start()
    m = re.compile(r"^(?:\*\*)?Article:", re.M).search(text, start)
    block = "\n\n".join(EXHIBIT_LINES) + "\n\n"
    return text[:m.start()] + block + text[m.start():]


def _raw_lines(text: str) -> list[str]:
    return [ln.strip() for ln in text.split("\n")]


class _Inline:
    """Plain text -> escaped HTML with the issue's links, superscripts and soft hyphens."""

    def __init__(self, text: str):
        self.links = sorted({clean_inline(m) for m in re.findall(r"\[([^\]]+)\]\([^)]*\)", text)}, key=len, reverse=True)
        sups = re.findall(r"(\w+)\s*<sup>\s*([^<]+?)\s*</sup>", text)
        self.sups = {f"{base}{sup}": (base, sup) for base, sup in sups}

    def __call__(self, s: str, links: bool = True) -> str:
        out = html.escape(s)
        for word, (base, sup) in self.sups.items():
            out = out.replace(word, f"{base}<sup>{sup}</sup>")
        out = re.sub(r"(?<![\w&;-])([A-Za-z]{9,})(?![\w;])", lambda m: _soft_hyphens(m.group(1)), out)
        if links:
            for t in self.links:
                esc = html.escape(t)
                soft = re.sub(r"(?<![\w&;-])([A-Za-z]{9,})(?![\w;])", lambda m: _soft_hyphens(m.group(1)), esc)
                if soft in out and "<a " not in out.split(soft, 1)[0][-40:]:
                    out = out.replace(soft, f'<a href="https://www.example.org/source">{soft}</a>', 1)
        return out


def _soft_hyphens(word: str) -> str:
    """Break points every few letters, keeping at least three letters on each side."""
    cuts = list(range(4, len(word) - 3, 4))
    pieces, last = [], 0
    for c in cuts:
        pieces.append(word[last:c])
        last = c
    pieces.append(word[last:])
    return "&shy;".join(pieces)


def _paragraphs_html(text: str, inline: _Inline, label: str | None = None) -> str:
    """A part's text (paragraphs, '- ' bullets) as <p> and <ul>; the label runs into the first paragraph."""
    out, bullets = [], []
    first = True
    for block in re.split(r"\n\s*\n|\n(?=- |\d{1,2}\. )", text):
        block = block.strip()
        if not block:
            continue
        if block.startswith("- "):
            bullets.append(f"<li>{inline(block[2:])}</li>")
            continue
        if bullets:
            out.append("<ul>" + "".join(bullets) + "</ul>")
            bullets = []
        lead = f"<b>{html.escape(label)}:</b> " if (label and first) else ""
        out.append(f"<p>{lead}{inline(block)}</p>")
        first = False
    if bullets:
        out.append("<ul>" + "".join(bullets) + "</ul>")
    return "\n".join(out)


CHART = """<svg width="330" height="150" xmlns="http://www.w3.org/2000/svg" style="font-family: DejaVu Sans">
<line x1="30" y1="125" x2="320" y2="125" stroke="#999" stroke-width="0.8"/>
{bars}
</svg>"""


def _chart() -> str:
    values = [12, 20, 31, 45, 60, 80, 105, 130]
    bars = []
    for i, v in enumerate(values):
        x = 38 + i * 35
        bars.append(f'<rect x="{x}" y="{125 - v * 0.85:.1f}" width="22" height="{v * 0.85:.1f}" fill="#00a0a8"/>'
                    f'<text x="{x + 11}" y="{118 - v * 0.85:.1f}" font-size="7" text-anchor="middle">{v}</text>'
                    f'<text x="{x + 11}" y="138" font-size="7" text-anchor="middle">{2020 + i}</text>')
    bars.append('<text x="4" y="12" font-size="7">GW</text>')
    return CHART.format(bars="".join(bars))


def _exhibit_html(inline: _Inline) -> str:
    note = EXHIBIT_LINES[1:]
    return (f'<figure><p class="exhibit-title">{inline(EXHIBIT_LINES[0], links=False)}</p>{_chart()}'
            + "".join(f'<p class="small">{inline(n, links=False)}</p>' for n in note) + "</figure>")


def _document_html(section, inline: _Inline) -> str:
    rows = []
    if section.policy_title:
        zh = f" ({html.escape(section.policy_title_zh)})" if section.policy_title_zh else ""
        rows.append(f"<p><b>Article:</b> {inline(section.policy_title, links=False)}{zh} "
                    f'(<a href="https://www.example.org/policy">Link</a>)</p>')
    for line in next(p for p in section.parts if p.kind == DOCUMENT).text.split("\n"):
        name, _, value = line.partition(": ")
        if name != "Article":
            rows.append(f"<p><b>{html.escape(name)}:</b> {html.escape(value)}</p>")
    return "\n".join(rows)


def _contents(text: str, inline: _Inline) -> tuple[str, list[str]]:
    lines = _raw_lines(text)
    start = next(i for i, ln in enumerate(lines) if clean_inline(ln.lstrip("# ")).lower() == "contents")
    rows = []
    for ln in lines[start + 1:]:
        if not ln:
            if rows:
                break
            continue
        m = re.match(r"^(.*?\S)\s*\.{2,}\s*(\d+)$", ln)
        title, page = (m.group(1), m.group(2)) if m else (ln, "")
        sub = not re.match(r"^(\d\.|MERICS|NOTEWORTHY)", title, re.I)
        title_html = inline(clean_inline(re.sub(r"\s*<sup>", "<sup>", title)), links=False)
        rows.append(f'<div class="toc{" sub" if sub else ""}"><span class="t">{title_html}</span>'
                    f'<span class="dots">{" ." * 120}</span><span class="pg">{page}</span></div>')
    masthead = next(ln for ln in lines if re.search(r"REPORTING PERIOD", ln, re.I))
    return "\n".join(rows), [masthead]


def _imprint(text: str) -> str:
    lines = _raw_lines(text)
    start = next(i for i, ln in enumerate(lines) if clean_inline(ln.lstrip("# ")).upper() == "AUTHORS")
    out, para = [], []
    for ln in lines[start:]:
        plain = clean_inline(ln.lstrip("# "))
        if plain.upper() in ("AUTHORS", "EDITORS", "PUBLISHER"):
            if para:
                out.append("<p>" + "<br>".join(para) + "</p>")
                para = []
            out.append(f"<h3>{html.escape(plain.upper())}</h3>")
        elif not plain:
            if para:
                out.append("<p>" + "<br>".join(para) + "</p>")
                para = []
        else:
            para.append(html.escape(plain))
    if para:
        out.append("<p>" + "<br>".join(para) + "</p>")
    return '<div class="imprint">' + "\n".join(out) + "</div>"


def issue_html(text: str, issue: Issue) -> str:
    """The whole issue as one HTML page for Chromium to print."""
    inline = _Inline(text)
    contents, (masthead,) = _contents(text, inline)
    body = [f'<p class="brand">MERICS</p><p class="product">China Industries</p>'
            f'<p class="masthead-date">{html.escape(clean_inline(masthead))}</p>',
            f'<h1 class="contents">CONTENTS</h1>{contents}', '<h1 class="top5">MERICS TOP 5</h1>']
    names = {AT_A_GLANCE: "At a glance", COMMENT: "MERICS comment"}
    for s in issue.articles:
        body.append(f"<h2>{s.number}. {inline(s.title, links=False)}</h2>")
        for p in s.parts:
            if p.kind in names:
                body.append(_paragraphs_html(p.text, inline, names[p.kind]))
            elif p.kind == EXPLAINER:  # a shaded box: its title on a line of its own
                body.append(f'<div class="box"><p class="box-title">{inline(p.label, links=False)}</p>'
                            f"{_paragraphs_html(p.text, inline)}</div>")
        if s.number == 2:  # where `with_exhibit` puts it in the text
            body.append(_exhibit_html(inline))
        body.append(_document_html(s, inline))
    body.append("<h2>NOTEWORTHY</h2>")
    for s in issue.sections:
        if s.kind == "article":
            continue
        body.append(f"<h3>{html.escape(s.title)}</h3><ul>")
        for p in s.parts:
            month_day = _month_day(p.date)
            body.append(f"<li><i>{month_day}:</i> {inline(p.text)}</li>")
        body.append("</ul>")
    body.append(_imprint(text))
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><style>{CSS}</style></head>'
            f'<body>{"".join(body)}</body></html>')


def _month_day(iso: str) -> str:
    import datetime as dt
    d = dt.date.fromisoformat(iso)
    return f"{d.strftime('%B')} {d.day}"


def chromium_pdf(browser, page_html: str, header_date: str) -> bytes:
    """Print `page_html` with Chromium: A4, running header and page-number footer."""
    page = browser.new_page()
    try:
        page.set_content(page_html, wait_until="load")
        return page.pdf(format="A4", print_background=True, display_header_footer=True,
                        header_template=HEADER.format(date=html.escape(header_date)), footer_template=FOOTER,
                        margin={"top": "26mm", "bottom": "24mm", "left": "34mm", "right": "34mm"})
    finally:
        page.close()


def launch_chromium(playwright):
    executable = shutil.which("chromium")
    if not executable:
        raise RuntimeError("Debian's chromium is not installed (make chromium)")
    return playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
