"""Turn answers, sections and issue summaries into what the page shows.

Two output languages, one rule: every string that came from a document (or from a user)
is escaped before it is placed in markup.

- Chat messages are markdown: `md()` HTML-escapes, then backslash-escapes every markdown
  character, so `<script>` shows as text and `[x](javascript:...)` never becomes a link.
- The panels (sources, section viewer, library, upload preview) are HTML built here with
  `esc()` on every document string; gradio inserts it with innerHTML, which never runs a
  `<script>`, and escaping means no `<img onerror>` or attribute can exist either.

Nothing here searches or parses: the inputs are `qa` objects (an Issue and Section with the
spans `Assistant.locate_citation` found) and the JSON-friendly dicts of `ui.app`. Only names
`qa` exports are used.
"""

from __future__ import annotations

import html
import re
from typing import Sequence

from qa import ARTICLE, ITEM, Issue, Section, SectionKind, Span, find_spans, format_date

KIND_LABELS = {k.value: k.label for k in SectionKind}
SEARCHING = "Searching the archive…"

# Characters with a markdown meaning ("<", ">" and "&" become entities first).
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-!|~$=])")
_ORDERED = re.compile(r"^(\d+)([.)])", re.M)


def esc(text) -> str:
    """Any value as HTML text (quotes too, so it is safe inside attributes)."""
    return html.escape("" if text is None else str(text), quote=True)


def md(text: str) -> str:
    """Plain text as markdown that renders to exactly that text, and nothing else."""
    # Leading spaces would make an indented code block; they carry no meaning in these texts.
    text = re.sub(r"^[ \t]+", "", text or "", flags=re.M)
    escaped = _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))
    return _ORDERED.sub(r"\1\\\2", escaped)


def fmt_date(iso: str | None) -> str:
    try:
        return format_date(iso) if iso else ""
    except ValueError:
        return str(iso)


def period(start: str | None, end: str | None) -> str:
    return f"{fmt_date(start)} – {fmt_date(end)}" if start and end else "not stated in the issue"


# Chat -------------------------------------------------------------------------------------

def answer_markdown(turn: dict) -> str:
    """The answer of one turn: escaped text, bold [n] markers, the assistant's notes in italics."""
    outcome = turn.get("outcome") or ("not_found" if turn["abstained"] else "answered")
    if outcome == "not_found":
        body = f"**No answer in the archive.** {md(turn['answer'])}"
    else:
        numbers = {str(c["n"]) for c in turn["citations"]}
        lines = []
        for line in turn["answer"].split("\n"):
            marker = "- " if line.startswith("- ") else ""
            text = md(line[len(marker):])
            # "\[1\]" (an escaped marker of this answer) -> "**[1]**"
            text = re.sub(r"\\\[(\d+)\\\]", lambda m: f"**\\[{m[1]}\\]**" if m[1] in numbers else m[0], text)
            lines.append(marker + text)
        body = "\n".join(lines)
        if outcome == "near_miss":
            # Visibly not an answer: what is missing first, then the closest passage, set apart.
            head, _, rest = body.partition("\n")
            body = f"**Not in the archive:** {head}\n\n> " + rest.replace("\n", "\n> ")
    notes = turn.get("notes") or []
    if notes:
        body += "\n\n" + "\n".join(f"_{md(n)}_  " for n in notes)
    return body


def source_title(c: dict) -> str:
    """One line per source: issue, section, part (markdown: the chatbot renders titles too)."""
    return md(f"[{c['n']}] {fmt_date(c['issue_date'])} · {c['section']} · {c['part']}")


def passage_markdown(c: dict) -> str:
    """The cited passage, escaped, with the sentences the answer quotes in bold."""
    text = c["text"]
    spans = find_spans(text, c.get("sentences", ()))
    lines, pos = [], 0
    for line in text.split("\n"):
        start, end = pos, pos + len(line)
        pos = end + 1
        marker = "- " if line.startswith("- ") else ""
        lines.append(marker + _md_marked(text, start + len(marker), end, spans))
    return "\n".join(lines) + "\n\n_Click this passage to read the whole section._"


def _md_marked(text: str, start: int, end: int, spans: Sequence[Span]) -> str:
    out = []
    for piece, marked in _pieces(text, start, end, spans):
        core = piece.strip()
        if marked and core:  # "** x **" is not bold: the markers go around the words
            lead, trail = piece[:len(piece) - len(piece.lstrip())], piece[len(piece.rstrip()):]
            out.append(f"{md(lead)}**{md(core)}**{md(trail)}")
        else:
            out.append(md(piece))
    return "".join(out)


def _pieces(text: str, start: int, end: int, spans: Sequence[Span]):
    """(piece, marked) runs that make up text[start:end]; `spans` sorted and disjoint."""
    pos = start
    for a, b in spans:
        a, b = max(a, start), min(b, end)
        if a >= b:
            continue
        if pos < a:
            yield text[pos:a], False
        yield text[a:b], True
        pos = b
    if pos < end:
        yield text[pos:end], False


def chat_messages(turns: list[dict], pending: str | None = None) -> list[dict]:
    """Chatbot messages: per turn the question, the answer, then one collapsed message per source."""
    out: list[dict] = []
    for turn in turns:
        out.append({"role": "user", "content": md(turn["question"])})
        out.append({"role": "assistant", "content": answer_markdown(turn)})
        for c in turn.get("citations", []):
            out.append({"role": "assistant", "content": passage_markdown(c),
                        "metadata": {"title": source_title(c), "status": "done"}})
    if pending is not None:
        out.append({"role": "user", "content": md(pending)})
        out.append({"role": "assistant", "content": f"_{md(SEARCHING)}_"})
    return out


def message_targets(turns: list[dict]) -> list[tuple[int, int | None]]:
    """For each message of `chat_messages(turns)`: (turn index, citation number or None)."""
    out: list[tuple[int, int | None]] = []
    for i, turn in enumerate(turns):
        out += [(i, None), (i, None)]
        out += [(i, c["n"]) for c in turn.get("citations", [])]
    return out


# Panels -----------------------------------------------------------------------------------

def sources_html(turn: dict | None, active: int | None = None) -> str:
    """The sources of one answer as buttons; a click opens the section in the viewer."""
    if not turn:
        return ('<div class="qa-empty">Ask a question: its sources appear here. '
                'Click a source to read the whole section.</div>')
    if not turn.get("citations"):
        return '<div class="qa-empty">This answer has no sources.</div>'
    rows = []
    for c in turn["citations"]:
        cls = "qa-source active" if c["n"] == active else "qa-source"
        rows.append(
            f'<button type="button" class="{cls}" data-open="{esc(c["n"])}">'
            f'<span class="qa-n">[{esc(c["n"])}]</span> '
            f'<span class="qa-issue">{esc(c["issue_title"])}</span>'
            f'<span class="qa-where">{esc(c["section"])} — {esc(c["part"])}</span></button>')
    return (f'<div class="qa-sources"><div class="qa-caption">Sources of: “{esc(turn["question"])}”</div>'
            + "".join(rows) + "</div>")


def text_html(text: str, spans: Sequence[Span] = ()) -> str:
    """A part's text ("- " bullet lines, blank-line paragraphs) as HTML, spans wrapped in <mark>."""
    out: list[str] = []
    items: list[str] = []
    para: list[str] = []

    def flush_list():
        if items:
            out.append("<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>")
            items.clear()

    def flush_para():
        if para:
            out.append("<p>" + "<br>".join(para) + "</p>")
            para.clear()

    pos = 0
    for line in text.split("\n"):
        start, end = pos, pos + len(line)
        pos = end + 1
        if not line.strip():
            flush_list()
            flush_para()
        elif line.startswith("- "):
            flush_para()
            items.append(_marked(text, start + 2, end, spans))
        else:
            flush_list()
            para.append(_marked(text, start, end, spans))
    flush_list()
    flush_para()
    return "".join(out)


def _marked(text: str, start: int, end: int, spans: Sequence[Span]) -> str:
    return "".join(f"<mark>{esc(p)}</mark>" if m else esc(p) for p, m in _pieces(text, start, end, spans))


def section_html(issue: Issue, section: Section, spans: dict[int, list[Span]] | None = None,
                 cited: dict | None = None) -> str:
    """A whole section with its issue's date and reporting period; cited sentences marked."""
    spans = spans or {}
    head = [f'<div class="qa-meta"><b>{esc(issue.title)}</b> · issue date {esc(fmt_date(issue.date))} · '
            f'reporting period {esc(period(issue.period_start, issue.period_end))}</div>',
            f'<h3 class="qa-heading">{esc(section.heading)}</h3>']
    if cited:
        where = f"[{cited['n']}] {cited['part']}"
        note = "" if spans else " (the quoted sentences could not be located in the section)"
        head.append(f'<div class="qa-cited">Cited passage {esc(where)} is highlighted{esc(note)}.</div>')
    if section.kind == ARTICLE and (section.policy_title or section.issuers or section.policy_date):
        bits = [section.policy_title or "", ", ".join(section.issuers), fmt_date(section.policy_date)]
        head.append(f'<div class="qa-policy">Policy document: {esc(" · ".join(b for b in bits if b))}</div>')
    body = []
    if section.kind == ARTICLE:
        for i, part in enumerate(section.parts):
            body.append(f'<div class="qa-part"><h4>{esc(part.label)}</h4>{text_html(part.text, spans.get(i, ()))}</div>')
    else:
        lis = []
        for i, part in enumerate(section.parts):
            label = f'<span class="qa-date">{esc(part.label)}:</span> ' if part.kind == ITEM else ""
            lis.append(f"<li>{label}{_marked(part.text, 0, len(part.text), spans.get(i, ()))}</li>")
        body.append(f'<ul class="qa-items">{"".join(lis)}</ul>')
    return (f'<div class="qa-section">{"".join(head)}<div class="qa-scroll">{"".join(body)}</div></div>')


def viewer_placeholder(message: str = "") -> str:
    return f'<div class="qa-empty">{esc(message or "Click a source to read the whole section here, with the cited sentences highlighted.")}</div>'


def library_html(issues: list[dict]) -> str:
    """Every indexed issue: date, reporting period, article titles (buttons), news counts."""
    if not issues:
        return '<div class="qa-empty">No issue is indexed yet.</div>'
    cards = []
    for i in issues:
        d = i["issue_date"]
        arts = [s for s in i["sections"] if s["kind"] == ARTICLE]
        news = [s for s in i["sections"] if s["kind"] != ARTICLE]
        counts = {"policy_news": i["policy_news"], "corporate_news": i["corporate_news"]}
        items = "".join(
            f'<li><button type="button" class="qa-link" data-open="{esc(d)}|{esc(s["id"])}">{esc(s["heading"])}</button></li>'
            for s in arts)
        items += "".join(
            f'<li><button type="button" class="qa-link" data-open="{esc(d)}|{esc(s["id"])}">{esc(s["heading"])}</button>'
            f' <span class="qa-count">({counts.get(s["kind"], 0)} items)</span></li>'
            for s in news)
        warn = "".join(f'<li>{esc(w)}</li>' for w in i.get("warnings", []))
        cards.append(
            f'<div class="qa-card"><h3>{esc(fmt_date(d))}</h3>'
            f'<div class="qa-meta">Reporting period {esc(period(i["period_start"], i["period_end"]))} · '
            f'{i["policy_news"]} policy news, {i["corporate_news"]} corporate news · '
            f'{i["chunks"]} passages · file {esc(i["source"])}</div>'
            f'<ul class="qa-toc">{items}</ul>'
            + (f'<ul class="qa-warnings">{warn}</ul>' if warn else "") + "</div>")
    return '<div class="qa-library">' + "".join(cards) + "</div>"


def preview_html(summary: dict, upload_name: str) -> str:
    """What the parser found in an upload, before anything is indexed."""
    status = {
        "new": ("qa-ok", "New issue: not in the index yet. Check what was found, then add it."),
        "same": ("qa-info", f"Already indexed, identical (as {summary.get('existing_source')}): nothing to do."),
        "changed": ("qa-warn", f"An issue of this date is already indexed (as {summary.get('existing_source')}) "
                               "with different content. Replace it?"),
    }[summary["status"]]
    arts = "".join(f"<li>{esc(t)}</li>" for t in summary["articles"]) or "<li><i>none found</i></li>"
    warn = "".join(f"<li>{esc(w)}</li>" for w in summary["warnings"])
    return (
        f'<div class="qa-preview"><div class="{status[0]}">{esc(status[1])}</div>'
        f'<table><tr><th>File</th><td>{esc(upload_name)}{esc(pdf_note(summary))}</td></tr>'
        f'<tr><th>Issue</th><td>{esc(summary["title"])}</td></tr>'
        f'<tr><th>Issue date</th><td>{esc(fmt_date(summary["issue_date"]))}</td></tr>'
        f'<tr><th>Reporting period</th><td>{esc(period(summary["period_start"], summary["period_end"]))}</td></tr>'
        f'<tr><th>Noteworthy</th><td>{summary["policy_news"]} policy news, {summary["corporate_news"]} corporate news items</td></tr>'
        f'<tr><th>Saved as</th><td>{esc(summary["target_name"])}</td></tr></table>'
        f'<div><b>Top-5 articles ({len(summary["articles"])})</b><ol>{arts}</ol></div>'
        + (f'<div class="qa-warn"><b>Parser warnings</b><ul>{warn}</ul></div>' if warn else "")
        + "</div>")


def pdf_note(summary: dict) -> str:
    """" (PDF of 9 pages, text read in 1.2 s)" for a PDF upload; "" for text."""
    if not summary.get("pages"):
        return ""
    return f" (PDF of {summary['pages']} pages, text read in {summary.get('extraction_seconds', 0):.1f} s)"


def message_html(kind: str, text: str) -> str:
    """A one-line status box: kind is ok, info, warn or error."""
    return f'<div class="qa-{esc(kind)}">{esc(text)}</div>'


def report_html(report: dict, headline: str) -> str:
    lines = [f'<div class="qa-ok">{esc(headline)}</div>', f'<div class="qa-meta">{esc(report["summary"])}</div>']
    for key in ("added", "updated", "removed"):
        for d in report[key]:
            lines.append(f'<div>{esc(key)}: {esc(fmt_date(d))}</div>')
    if report["refused"]:
        lines.append('<div class="qa-error">Refused:<ul>' + "".join(f"<li>{esc(r)}</li>" for r in report["refused"])
                     + "</ul></div>")
    if report["warnings"]:
        lines.append('<div class="qa-warn">Warnings:<ul>' + "".join(f"<li>{esc(w)}</li>" for w in report["warnings"])
                     + "</ul></div>")
    return "".join(lines)


def status_text(issues: list[dict]) -> str:
    if not issues:
        return "No issue indexed yet: add one in the Add an issue tab."
    dates = sorted(i["issue_date"] for i in issues)
    return (f"{len(issues)} issues indexed, {fmt_date(dates[0])} to {fmt_date(dates[-1])}, "
            f"{sum(i['chunks'] for i in issues)} passages.")


CSS = """
.qa-empty { color: var(--body-text-color-subdued); padding: 12px; }
.qa-sources { display: flex; flex-direction: column; gap: 6px; }
.qa-caption { font-size: 0.85em; color: var(--body-text-color-subdued); }
.qa-source { font-size: 0.9rem; font-weight: normal; text-align: left; border: 1px solid var(--border-color-primary); border-radius: 8px;
  padding: 6px 10px; background: var(--block-background-fill); cursor: pointer; display: flex;
  flex-direction: column; gap: 2px; }
.qa-source:hover, .qa-source.active { border-color: var(--color-accent); background: var(--color-accent-soft); }
.qa-source .qa-n { font-weight: 700; color: var(--color-accent); }
.qa-source .qa-issue { font-weight: 600; }
.qa-source .qa-where { font-size: 0.9em; }
.qa-section h3.qa-heading { margin: 6px 0; }
.qa-meta { font-size: 0.9em; color: var(--body-text-color-subdued); }
.qa-cited, .qa-policy { font-size: 0.9em; margin: 4px 0; }
.qa-scroll { position: relative; max-height: 70vh; overflow-y: auto; padding-right: 8px; }
.qa-part h4 { margin: 12px 0 4px 0; }
.qa-section mark { background: #ffe36e; color: #000; padding: 0 2px; border-radius: 2px; }
.qa-items li { margin-bottom: 6px; }
.qa-date { font-weight: 600; }
.qa-card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 12px; margin-bottom: 10px; }
.qa-card h3 { margin: 0 0 4px 0; }
.qa-toc { list-style: none; padding-left: 0; margin: 6px 0; }
.qa-toc li { margin: 3px 0; }
.qa-link { background: none; border: none; padding: 0; color: var(--link-text-color); cursor: pointer; text-align: left;
  font-size: 0.95rem; font-weight: 400; }
.qa-link:hover { text-decoration: underline; }
.qa-count { color: var(--body-text-color-subdued); font-size: 0.9em; }
.qa-ok, .qa-info, .qa-warn, .qa-error { padding: 8px 12px; border-radius: 6px; margin: 6px 0; }
.qa-ok { background: #e7f6ec; color: #14532d; }
.qa-info { background: #e8f0fe; color: #1e3a8a; }
.qa-warn { background: #fff4e0; color: #7c2d12; }
.qa-error { background: #fde8e8; color: #7f1d1d; }
.qa-preview table { margin: 6px 0; }
.qa-preview th { text-align: left; padding-right: 12px; font-weight: 600; }
"""

# Click delegation for the HTML panels: any element with data-open reports its value.
JS_OPEN = """
element.addEventListener('click', (e) => {
  const t = e.target.closest('[data-open]');
  if (t) trigger('click', {open: t.dataset.open});
});
"""

# Scroll the section viewer to the first highlighted sentence whenever it changes.
JS_SCROLL = """
const scroll = () => {
  const box = element.querySelector('.qa-scroll');
  const m = box && box.querySelector('mark');
  if (m) box.scrollTop = Math.max(0, m.offsetTop - 96);
};
watch('value', scroll);
scroll();
"""
