"""The web UI: chat with cited answers, source viewer, issue library, add an issue, rebuild.

    qa serve                      # http://127.0.0.1:7860/
    from ui.app import build_app  # build_app(Assistant(...)) -> gr.Blocks

The handlers below reach the library only through `qa.Assistant` and the names `qa` exports
(its errors, input checks, `to_markdown`); `ui.render` turns what they get back into escaped
markup. Named API endpoints for `gradio_client` and scripts:
`/ask`, `/search`, `/list_issues`, `/add_issue` (all JSON in, JSON out).

Layout: `Handlers` holds every event handler and API endpoint; `build_app` lays out the page,
one function per tab (`ask_tab`, `library_tab`, `add_tab`, `admin_tab`), each wiring its
listeners right after the components they use. Every handler shows a failure as one line
(in the chat, the panel it fills, or a toast), never Gradio's bare "Error".

Concurrency: questions and reads share one pool ("read", several at a time); adding an
issue and rebuilding share another ("write", one at a time). A write builds a new index
generation beside the live one, so questions keep using the old snapshot until the swap.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import logging
import os
import signal
import socket
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402

from qa import (SECTION_KINDS, Answer, Assistant, Filters, IndexDamaged, IndexMissing, IndexStatus, Phase,  # noqa: E402
                IssueError, QuestionError, Settings, expected, format_date, text_list, text_value, to_markdown, user_message)

from . import render  # noqa: E402
from .tools import MCP_PATH, ArchiveTools, McpGuard  # noqa: E402

READ = dict(concurrency_limit=8, concurrency_id="read")
WRITE = dict(concurrency_limit=1, concurrency_id="write")
PRIVATE = dict(api_name=False)  # UI events: not API endpoints
KIND_CHOICES = [(render.KIND_LABELS[k], k) for k in SECTION_KINDS]
EXAMPLES = [
    "What are the new energy storage targets for 2027?",
    "Which cutting-edge new materials does the basic industrial materials plan say should be actively cultivated?",
    "What does MERICS think about the smart factory program?",
    "Which foreign companies announced deals in China in November 2024?",
]


# What the Admin tab's progress bar says for the index's phases (others show their own text).
_PHASE_LABELS = {Phase.EMBEDDING: "Embedding passages", Phase.EMBEDDING_SENTENCES: "Embedding sentences",
                 Phase.WRITING: "Writing the index"}


# JSON-friendly forms of the core's results (the API returns them; the chat state keeps them).

def answer_dict(a) -> dict:
    """`Answer.to_dict()` and the Markdown the export button offers."""
    return a.to_dict() | {"markdown": to_markdown(a)}


def draft_turn(draft) -> dict:
    """An LLM answer being written, as a turn: the sentences verified so far."""
    model = draft.backend.removeprefix("llm:")
    return {"question": draft.question, "answer": draft.text, "outcome": "answered", "abstained": False,
            "citations": [c.to_dict() for c in draft.citations],
            "notes": [f"{model} is writing; each sentence appears once the passage it cites supports it…"]}


def make_filters(date_from: str | None, date_to: str | None, issues, kinds) -> tuple[Filters, list[str]]:
    """UI filter values -> (Filters, notes saying what was applied). Raises QuestionError."""
    date_from, date_to = text_value(date_from, "Issues from"), text_value(date_to, "Issues to")
    issues, kinds = list(text_list(issues, "The issue filter")), list(text_list(kinds, "Section kinds"))
    kinds_all = not kinds or set(kinds) >= set(SECTION_KINDS)
    notes = []
    if date_from or date_to:
        notes.append(f"Filter: issues dated {(date_from or '…').strip()} to {(date_to or '…').strip()}")
    if issues:
        notes.append("Filter: only the issues of " + ", ".join(render.fmt_date(d) for d in sorted(issues)))
    if not kinds_all:
        notes.append("Filter: " + ", ".join(render.KIND_LABELS.get(k, k) for k in kinds) + " only")
    filters = Filters(date_from=(date_from or "").strip() or None, date_to=(date_to or "").strip() or None,
                      issues=tuple(issues or ()), kinds=() if kinds_all else tuple(kinds))
    return filters, notes


def readable(e: BaseException) -> str:
    """The one-line message a user sees; an unexpected error also goes to the server's log."""
    if not expected(e):
        traceback.print_exception(e, file=sys.stderr)
    return user_message(e)


def readable_errors(fn):
    """A handler whose every failure reaches the page or the API client as its readable message
    (without this Gradio shows a bare "Error")."""
    @functools.wraps(fn)
    def endpoint(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except Exception as e:  # noqa: BLE001 - turned into the message the client reads
            raise gr.Error(readable(e)) from None
    return endpoint


def history_of(turns: list[dict]) -> list[dict]:
    """Earlier turns as the role/content messages `Assistant.ask` reads for follow-ups."""
    out = []
    for t in turns:
        out += [{"role": "user", "content": t["question"]}, {"role": "assistant", "content": t.get("answer", "")}]
    return out


class Handlers:
    """Every event of the page and every API endpoint, around one Assistant."""

    def __init__(self, assistant: Assistant):
        self.qa = assistant

    # Ask --------------------------------------------------------------------------------

    def ask(self, question, turns, date_from, date_to, issues, kinds):
        """Show the question at once, then the answer and its sources."""
        turns = list(turns or [])
        if not kinds:
            gr.Warning("Tick at least one section kind in the filters.")
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        if (question or "").strip():
            yield render.chat_messages(turns, pending=question), turns, "", gr.skip(), gr.skip(), gr.skip()
        try:
            filters, notes = make_filters(date_from, date_to, issues, kinds)
            for answer in self.qa.ask_stream(question, filters=filters, history=history_of(turns)):
                if not isinstance(answer, Answer):  # an LLM answer's verified sentences so far
                    yield render.chat_messages(turns + [draft_turn(answer)]), turns, "", gr.skip(), gr.skip(), gr.skip()
        except QuestionError as e:
            gr.Warning(str(e))
            yield render.chat_messages(turns), turns, question, gr.skip(), gr.skip(), gr.skip()
            return
        except Exception as e:  # noqa: BLE001 - shown in the chat, never as Gradio's bare "Error"
            failed = [{"role": "user", "content": render.md(str(question or ""))},
                      {"role": "assistant", "content": f"**Could not answer:** {render.md(readable(e))}"}]
            yield render.chat_messages(turns) + failed, turns, question, gr.skip(), gr.skip(), gr.skip()
            return
        turn = answer_dict(answer)
        turn["notes"] = notes + turn["notes"]
        turns.append(turn)
        viewer = render.viewer_placeholder() if turn["citations"] else render.viewer_placeholder(
            "No source: the archive has no answer to this question.")
        yield (render.chat_messages(turns), turns, "", render.sources_html(turn), viewer,
               {"turn": len(turns) - 1, "n": None})

    @readable_errors
    def select_message(self, turns, evt: gr.SelectData):
        """A click on a message: its answer's sources; on a source passage, that section."""
        targets = render.message_targets(turns or [])
        index = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        if not isinstance(index, int) or not 0 <= index < len(targets):
            return gr.skip(), gr.skip(), gr.skip()
        i, n = targets[index]
        turn = turns[i]
        if n is None:
            n = turn["citations"][0]["n"] if turn["citations"] else None
        viewer = self.source_view(turn, n) if n else gr.skip()
        return render.sources_html(turn, n), viewer, {"turn": i, "n": n}

    @readable_errors
    def open_source(self, turns, current, evt: gr.EventData):
        """A click on a source button: the whole section, cited sentences highlighted."""
        try:
            n = int(getattr(evt, "open", ""))
            turn = turns[current["turn"]]
        except (ValueError, TypeError, KeyError, IndexError):
            return gr.skip(), gr.skip(), gr.skip()
        return render.sources_html(turn, n), self.source_view(turn, n), {"turn": current["turn"], "n": n}

    def source_view(self, turn: dict, n: int) -> str:
        c = next((c for c in turn["citations"] if c["n"] == n), None)
        if c is None:
            return render.viewer_placeholder(f"The answer has no source [{n}].")
        try:
            found = self.qa.locate_citation(c["issue_date"], c["section_id"], c["sentences"], c["text"],
                                            c["part_index"], c["part"])
        except KeyError:
            return render.viewer_placeholder(f"{c['issue_title']} is no longer in the index (it was removed or replaced).")
        return render.section_html(found.issue, found.section, found.spans, cited=c)

    def clear_chat(self):
        return [], [], render.sources_html(None), render.viewer_placeholder(), None

    @readable_errors
    def export(self, turns, current):
        """The current answer as Markdown: to copy, and as a file to download."""
        try:
            text = turns[current["turn"]]["markdown"]
        except (TypeError, KeyError, IndexError):
            return gr.Textbox(value="", visible=False), gr.DownloadButton(value=None, visible=False)
        folder = Path(tempfile.gettempdir()) / "qa-exports" / hashlib.sha1(text.encode()).hexdigest()[:16]
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "china-industries-answer.md"
        path.write_text(text, encoding="utf-8")
        return gr.Textbox(value=text, visible=True), gr.DownloadButton(value=str(path), visible=True)

    # Library ------------------------------------------------------------------------------

    @readable_errors
    def refresh(self):
        """Everything that lists the issues: banner, header, library, issue pickers, admin info."""
        try:
            issues, index = self.qa.list_issues(), self.qa.index_status()
        except Exception as e:  # noqa: BLE001 - no usable index: the banner says why and how to fix it
            message = readable(e)
            return (gr.Markdown(f"**Index problem:** {render.md(message)}", visible=True),
                    render.md("No usable index."), render.library_html([]), gr.Dropdown(choices=[]),
                    gr.Dropdown(choices=[]), render.md(message))
        banner = (gr.Markdown(f"**Warning:** {render.md(index.warning)}. Admin → Update repairs it.", visible=True)
                  if index.warning else gr.Markdown("", visible=False))
        choices = [(render.fmt_date(i["issue_date"]), i["issue_date"]) for i in issues]
        return (banner, render.md(render.status_text(issues)), render.library_html(issues),
                gr.Dropdown(choices=choices), gr.Dropdown(choices=choices), self.index_info(index))

    def section_choices(self, date: str):
        issue = self.qa.get_issue(date)
        return [(s.heading, s.id) for s in issue.sections]

    @readable_errors
    def read_section(self, date, section_id) -> str:
        try:
            issue = self.qa.get_issue(date)
            return render.section_html(issue, issue.section(section_id))
        except KeyError as e:
            return render.viewer_placeholder(str(e.args[0]) if e.args else "Not in the index.")

    @readable_errors
    def open_from_library(self, evt: gr.EventData):
        date, _, section_id = str(getattr(evt, "open", "")).partition("|")
        try:
            choices = self.section_choices(date)
        except KeyError:
            return gr.skip(), gr.skip(), render.viewer_placeholder(f"No issue dated {date} in the index.")
        issues = [(render.fmt_date(i["issue_date"]), i["issue_date"]) for i in self.qa.list_issues()]
        return (gr.Dropdown(choices=issues, value=date), gr.Dropdown(choices=choices, value=section_id),
                self.read_section(date, section_id))

    @readable_errors
    def choose_issue(self, date):
        if not date:
            return gr.Dropdown(choices=[], value=None), render.viewer_placeholder()
        try:
            choices = self.section_choices(date)
        except KeyError:
            return gr.Dropdown(choices=[], value=None), render.viewer_placeholder(f"No issue dated {date} in the index.")
        return gr.Dropdown(choices=choices, value=choices[0][1]), self.read_section(date, choices[0][1])

    # Add an issue -------------------------------------------------------------------------

    def clear_upload(self):
        return "", gr.Button(visible=False), gr.Button(visible=False), ""

    @readable_errors
    def preview_upload(self, path, progress=gr.Progress()):
        """Parse the upload and show what it holds; nothing is written."""
        if not path:
            return "", gr.Button(visible=False), gr.Button(visible=False), ""
        try:
            data, name = Path(path).read_bytes(), Path(path).name
            preview = self.qa.preview(data, name, progress=self._progress(progress))
        except Exception as e:  # noqa: BLE001 - the reason, in the page
            return (render.message_html("error", f"Refused: {readable(e)}. Nothing was added; the index is unchanged."),
                    gr.Button(visible=False), gr.Button(visible=False), "")
        status = preview.status
        return (render.preview_html(preview.summary(), name), gr.Button(visible=status == "new"),
                gr.Button(visible=status == "changed"), "")

    def add_upload(self, path, replace: bool, progress):
        if not path:
            return render.message_html("error", "Upload a file first."), gr.skip(), gr.skip()
        hidden = gr.Button(visible=False)
        try:
            data, name = Path(path).read_bytes(), Path(path).name
            preview = self.qa.preview(data, name)
            if preview.status == "changed" and not replace:  # someone added this date since the preview
                return (render.message_html("warn", f"Issue {render.fmt_date(preview.issue.date)} is already "
                                            "indexed with different content. Replace it?"),
                        hidden, gr.Button(visible=True))
            report = self.qa.add_issue(data, name, replace=replace, progress=self._progress(progress), preview=preview)
        except Exception as e:  # noqa: BLE001 - the reason, in the page; corpus and index are as they were
            return (render.message_html("error", f"Refused: {readable(e)}. The corpus and the index are unchanged."),
                    hidden, hidden)
        if preview.issue.date in report.added + report.updated:
            headline = f"{'Replaced' if replace else 'Added'} {preview.issue.title}: it can be asked about now."
        else:
            headline = f"{preview.issue.title} is already indexed, unchanged."
        return render.report_html(report.to_dict(), headline), hidden, hidden

    @readable_errors
    def add_new(self, path, progress=gr.Progress()):
        return self.add_upload(path, False, progress)

    @readable_errors
    def replace_existing(self, path, progress=gr.Progress()):
        return self.add_upload(path, True, progress)

    # Admin --------------------------------------------------------------------------------

    def index_info(self, index: IndexStatus) -> str:
        settings = self.qa.settings
        return render.md(f"Index {index.generation}, built {index.created or '?'} with {index.model}: "
                         f"{index.issues} issues, {index.passages} passages. Corpus folder "
                         f"{settings.corpus_dir}, index folder {settings.index_dir}.")

    def update_index(self, rebuild: bool, progress):
        try:
            report = self.qa.update(rebuild=rebuild, progress=self._progress(progress))
            return render.report_html(report.to_dict(), "Rebuilt the index." if rebuild else "Index updated.")
        except Exception as e:  # noqa: BLE001 - the reason (EmptyCorpus, a damaged index, a bug), in the page
            return render.message_html("error", f"Failed: {readable(e)}. The index is unchanged.")

    @readable_errors
    def rebuild(self, progress=gr.Progress()):
        return self.update_index(True, progress)

    @readable_errors
    def update(self, progress=gr.Progress()):
        return self.update_index(False, progress)

    @staticmethod
    def _progress(progress):
        def cb(done: int, total: int, what: str) -> None:
            label = _PHASE_LABELS.get(getattr(what, "phase", None)) or what.capitalize()
            progress((done, total) if total else None, desc=label)
        return cb

    # API endpoints (typed: gradio derives their schema from the hints) --------------------

    @readable_errors
    def api_ask(self, question: str, date_from: str = "", date_to: str = "", issues: list[str] | None = None,
                kinds: list[str] | None = None, history: list[dict] | None = None) -> dict:
        """A cited answer: {question, answer (text with [n] markers), abstained, notes, citations}."""
        filters, _ = make_filters(date_from, date_to, issues, kinds)
        return answer_dict(self.qa.ask(question, filters=filters, history=history))

    @readable_errors
    def api_search(self, question: str, k: int = 5, date_from: str = "", date_to: str = "",
                   issues: list[str] | None = None, kinds: list[str] | None = None) -> dict:
        """Ranked passages: {question, notes, hits: [{rank, score, issue_date, section, part, text, ...}]}."""
        filters, _ = make_filters(date_from, date_to, issues, kinds)
        result = self.qa.search(question, k=k, filters=filters)
        return {"question": result.query.question, "notes": list(result.query.notes) + list(result.notes),
                "hits": [h.to_dict() for h in result.hits]}

    @readable_errors
    def api_list_issues(self) -> list[dict]:
        """The indexed issues, newest first, with their sections and counts."""
        return self.qa.list_issues()

    @readable_errors
    def api_add_issue(self, text: str, filename: str = "issue.md", replace: bool = False) -> dict:
        """Add an issue given as text. status: added, replaced, unchanged, needs_replace or refused."""
        if not isinstance(text, (str, type(None))):
            return {"status": "refused", "message": f"text must be the issue as text, not {type(text).__name__}"}
        # A lone surrogate cannot be UTF-8: kept as bytes, the parser refuses the file as not UTF-8.
        data = (text or "").encode("utf-8", "surrogatepass")
        try:
            preview = self.qa.preview(data, filename)
            if preview.status == "changed" and not replace:
                return {"status": "needs_replace", "issue_date": preview.issue.date, "preview": preview.summary(),
                        "message": f"Issue {preview.issue.date} is already indexed with different content; "
                                   "send replace=true to replace it."}
            report = self.qa.add_issue(data, filename, replace=replace)
        except IssueError as e:
            return {"status": "refused", "message": str(e)}
        status = {"new": "added", "changed": "replaced", "same": "unchanged"}[preview.status]
        return {"status": status, "issue_date": preview.issue.date, "preview": preview.summary(),
                "report": report.to_dict(), "message": report.summary()}


def build_app(assistant: Assistant, mcp: bool = False) -> gr.Blocks:
    """The page and its API. `mcp`: publish `ui.tools` as the API's (and MCP's) documented
    endpoints; the endpoints below stay callable but undocumented, so MCP lists only the tools.

    Each tab is laid out by its own function, which wires its listeners right after the
    components they use. Only the refresh after a write is wired here: what it updates (the
    banner, the header, the library, the issue pickers, the Admin info) spans every tab."""
    h = Handlers(assistant)
    with gr.Blocks(title="China Industries archive") as demo:
        gr.Markdown("## China Industries archive assistant\n"
                    "Cited answers from the MERICS *China Industries* newsletter. Every answer quotes the "
                    "issues; click a source to read it in context.")
        banner = gr.Markdown(visible=False, elem_id="index-warning")
        status = gr.Markdown(elem_id="status")
        with gr.Tabs():
            issue_pick = ask_tab(h)
            library, lib_issue = library_tab(h)
            added = add_tab(h)
            info, updated = admin_tab(h)
        listing = [banner, status, library, issue_pick, lib_issue, info]
        for write in added:
            write.then(h.refresh, None, listing, **READ, **PRIVATE)
        for write in updated:
            write.then(h.refresh, None, listing, **PRIVATE)
        demo.load(h.refresh, None, listing, **PRIVATE)
        api_endpoints(h, mcp)
        if mcp:
            ArchiveTools(assistant).register()
    return demo


def ask_tab(h: Handlers) -> gr.Dropdown:
    """Chat, filters, export, sources and the source viewer; returns the issue filter (refreshed
    with the listing)."""
    with gr.Tab("Ask", id="ask"), gr.Row(equal_height=False):
        turns = gr.State([])  # the answered turns, as answer_dict gives them
        current = gr.State(None)  # {"turn", "n"}: the answer (and source) shown in the panels
        with gr.Column(scale=3):
            chat = gr.Chatbot(label="Conversation", height=560, latex_delimiters=[],
                              feedback_options=None, buttons=["copy", "copy_all"], elem_id="chat",
                              placeholder="Ask about Chinese industrial policy as reported in "
                                          "China Industries. Answers cite the issues.")
            with gr.Row():
                question = gr.Textbox(show_label=False, placeholder="Your question", scale=5,
                                      elem_id="question", autofocus=True)
                ask_btn = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
            gr.Examples(EXAMPLES, inputs=question, label="Examples")
            date_from, date_to, issue_pick, kinds = filters_panel()
            export_text, export_btn = export_panel()
        with gr.Column(scale=2):
            gr.Markdown("### Sources")
            sources = gr.HTML(render.sources_html(None), js_on_load=render.JS_OPEN, elem_id="sources")
            gr.Markdown("### Source viewer")
            viewer = gr.HTML(render.viewer_placeholder(), js_on_load=render.JS_SCROLL, elem_id="viewer")
    ask = dict(fn=h.ask, inputs=[question, turns, date_from, date_to, issue_pick, kinds],
               outputs=[chat, turns, question, sources, viewer, current], show_progress="minimal", **READ, **PRIVATE)
    ask_btn.click(**ask)
    question.submit(**ask)
    chat.select(h.select_message, [turns], [sources, viewer, current], **READ, **PRIVATE)
    chat.clear(h.clear_chat, None, [chat, turns, sources, viewer, current], **PRIVATE)
    sources.click(h.open_source, [turns, current], [sources, viewer, current], **READ, **PRIVATE)
    current.change(h.export, [turns, current], [export_text, export_btn], **PRIVATE)
    return issue_pick


def filters_panel():
    with gr.Accordion("Filters", open=False, elem_id="filters"):
        with gr.Row():
            date_from = gr.Textbox(label="Issues from", placeholder="YYYY-MM-DD", elem_id="date-from")
            date_to = gr.Textbox(label="Issues to", placeholder="YYYY-MM-DD", elem_id="date-to")
        issue_pick = gr.Dropdown(label="Only these issues (none chosen: all)", multiselect=True,
                                 choices=[], elem_id="issue-pick")
        kinds = gr.CheckboxGroup(KIND_CHOICES, value=list(SECTION_KINDS), label="Section kinds", elem_id="kinds")
    return date_from, date_to, issue_pick, kinds


def export_panel():
    with gr.Accordion("Export this answer (Markdown, with full references)", open=False, elem_id="export"):
        export_text = gr.Textbox(label="Markdown", lines=8, max_lines=20, interactive=False,
                                 buttons=["copy"], visible=False, elem_id="export-text")
        export_btn = gr.DownloadButton("Download .md", visible=False, elem_id="export-download")
    return export_text, export_btn


def library_tab(h: Handlers) -> tuple[gr.HTML, gr.Dropdown]:
    """Every issue, and a reader for any section; returns what the listing refreshes."""
    with gr.Tab("Library", id="library"), gr.Row(equal_height=False):
        with gr.Column(scale=2):
            library = gr.HTML(js_on_load=render.JS_OPEN, elem_id="library")
        with gr.Column(scale=3):
            with gr.Row():
                lib_issue = gr.Dropdown(label="Issue", choices=[], elem_id="lib-issue")
                lib_section = gr.Dropdown(label="Section", choices=[], elem_id="lib-section")
            reader = gr.HTML(render.viewer_placeholder("Click a title in the list, or choose an issue "
                                                       "and a section."), js_on_load=None, elem_id="reader")
    library.click(h.open_from_library, None, [lib_issue, lib_section, reader], **READ, **PRIVATE)
    lib_issue.input(h.choose_issue, lib_issue, [lib_section, reader], **READ, **PRIVATE)
    lib_section.input(h.read_section, [lib_issue, lib_section], reader, **READ, **PRIVATE)
    return library, lib_issue


def add_tab(h: Handlers) -> list:
    """Upload, preview, then add or replace; returns the two writes (the listing refreshes after each)."""
    with gr.Tab("Add an issue", id="add"):
        gr.Markdown("Upload one issue as the PDF MERICS publishes, or as `.md` / `.txt`. You see what was "
                    "found in it before anything is indexed; it is saved in the corpus under a name made "
                    "from its date.")
        upload = gr.File(label="Issue file (.pdf, .md or .txt)", file_types=[".pdf", ".md", ".txt"],
                         type="filepath", elem_id="upload")
        preview = gr.HTML(js_on_load=None, elem_id="preview")
        with gr.Row():
            add_btn = gr.Button("Add to the index", variant="primary", visible=False, elem_id="add-confirm")
            replace_btn = gr.Button("Replace the indexed issue", variant="stop", visible=False,
                                    elem_id="add-replace")
        add_result = gr.HTML(js_on_load=None, elem_id="add-result")
    upload.upload(h.preview_upload, upload, [preview, add_btn, replace_btn, add_result], **READ, **PRIVATE)
    upload.clear(h.clear_upload, None, [preview, add_btn, replace_btn, add_result], **PRIVATE)
    return [btn.click(fn, upload, [add_result, add_btn, replace_btn], **WRITE, **PRIVATE)
            for btn, fn in ((add_btn, h.add_new), (replace_btn, h.replace_existing))]


def admin_tab(h: Handlers) -> tuple[gr.Markdown, list]:
    """What the index is, update and rebuild; returns the info (refreshed with the listing) and the writes."""
    with gr.Tab("Admin", id="admin"):
        info = gr.Markdown(elem_id="index-info")
        gr.Markdown("Update reads `corpus/` again and re-embeds only what changed; a rebuild re-embeds "
                    "everything. Questions keep being answered from the current index meanwhile.")
        with gr.Row():
            update_btn = gr.Button("Update from the corpus folder", elem_id="update")
            rebuild_btn = gr.Button("Rebuild the whole index", variant="stop", elem_id="rebuild")
        admin_result = gr.HTML(js_on_load=None, elem_id="admin-result")
    return info, [update_btn.click(h.update, None, admin_result, **WRITE, **PRIVATE),
                  rebuild_btn.click(h.rebuild, None, admin_result, **WRITE, **PRIVATE)]


def api_endpoints(h: Handlers, mcp: bool) -> None:
    """The named JSON endpoints; undocumented when the MCP tools are the documented API."""
    api = dict(api_visibility="undocumented") if mcp else {}
    gr.api(h.api_ask, api_name="ask", **READ, **api)
    gr.api(h.api_search, api_name="search", **READ, **api)
    gr.api(h.api_list_issues, api_name="list_issues", **READ, **api)
    gr.api(h.api_add_issue, api_name="add_issue", **WRITE, **api)


def launch(demo: gr.Blocks, settings: Settings, host: str = "127.0.0.1", port: int | None = 7860,
           auth: list[tuple[str, str]] | None = None, mcp: bool = False, **kwargs):
    """Queue and launch with the app's limits and look; kwargs go to `Blocks.launch`.

    `mcp`: serve the MCP tools too (build the app with `mcp=True`); with logins, MCP requests need
    one (`McpGuard`: Gradio's own login does not cover its MCP routes). False is passed on as
    False, so GRADIO_MCP_SERVER in the environment cannot turn MCP on unguarded."""
    from starlette.middleware import Middleware
    demo.queue(default_concurrency_limit=4, max_size=512)
    guard = {"app_kwargs": {"middleware": [Middleware(McpGuard, logins=auth)]}} if mcp and auth else {}
    return demo.launch(server_name=host, server_port=port, auth=auth, mcp_server=mcp, **guard,
                       max_file_size=max(settings.limits.max_upload_bytes, settings.limits.max_pdf_bytes),
                       css=render.CSS, theme=gr.themes.Default(), ssr_mode=False, share=False, quiet=True,
                       footer_links=["api"], **kwargs)


def load_auth(auth_file: str | None) -> list[tuple[str, str]] | None:
    """Logins from a file of user:password lines, else from $QA_AUTH ("user:password"), else None."""
    if auth_file:
        lines = Path(auth_file).read_text(encoding="utf-8").splitlines()
        where = auth_file
    elif os.environ.get("QA_AUTH"):
        lines, where = [os.environ["QA_AUTH"]], "QA_AUTH"
    else:
        return None
    pairs = []
    for no, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        user, sep, password = line.strip().partition(":")
        if not sep or not user or not password:
            raise ValueError(f"{where}, line {no}: expected user:password")
        pairs.append((user, password))
    if not pairs:
        raise ValueError(f"{where}: no user:password line")
    return pairs


def is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def port_free(host: str, port: int) -> bool:
    """Whether `host:port` can be listened on now (checked before the model is loaded)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def ready_index(assistant: Assistant) -> bool:
    """Warn about a damaged index; build one when there is none that verifies. False: it could not be built."""
    settings = assistant.settings
    try:
        if assistant.index_warning:
            print(f"warning: {assistant.index_warning}", file=sys.stderr, flush=True)
        return True
    except IndexMissing as e:  # none yet, or none that verifies: build one from the corpus
        # Building first also makes the ONNX export that the embedding model then loads from.
        print(f"warning: {e.where}; no generation of the index verifies: rebuilding it from {settings.corpus_dir}…"
              if isinstance(e, IndexDamaged) else
              f"No index in {settings.index_dir} yet: building it from {settings.corpus_dir}…", flush=True)
    from .cli import progress_bar
    try:
        report = assistant.update(progress=progress_bar())
    except Exception as e:  # noqa: BLE001 - one line, not a traceback
        print(f"error: {readable(e)}", file=sys.stderr)
        return False
    print(report.summary(), flush=True)
    for r in report.refused:
        print(f"  refused: {r}", file=sys.stderr)
    return True


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 7860, auth_file: str | None = None,
          mcp: bool = False) -> int:
    """`qa serve`: build the index if there is none, then serve the UI until interrupted."""
    try:
        auth = load_auth(auth_file)
    except (OSError, ValueError) as e:
        print(f"error: logins: {e}", file=sys.stderr)
        return 2
    if mcp and not auth and not is_loopback(host):
        print(f"error: --mcp on {host} without a login would let anyone who can reach this machine call the "
              "archive's tools. Set QA_AUTH=user:password or pass --auth-file (MCP clients then send it as "
              "HTTP Basic), or serve MCP on 127.0.0.1.", file=sys.stderr)
        return 2
    if not is_loopback(host) and not auth:
        print(f"warning: listening on {host} without a login: anyone who can reach this machine can use "
              "the assistant and add issues. Set QA_AUTH=user:password or pass --auth-file.", file=sys.stderr, flush=True)
    if not port_free(host, port):
        print(f"error: cannot listen on {host}:{port}: the port is in use or the address is not this machine's; "
              "choose another with --port / --host", file=sys.stderr)
        return 1
    assistant = Assistant(settings)
    if not ready_index(assistant):
        return 1
    print(f"Loading the embedding model ({settings.model})…", flush=True)
    assistant.embedder  # now, so that the first question does not wait for it
    print(render.status_text(assistant.list_issues()), flush=True)
    demo = build_app(assistant, mcp=mcp)
    try:
        launch(demo, settings, host=host, port=port, auth=auth, mcp=mcp, prevent_thread_lock=True)
    except OSError as e:
        print(f"error: cannot listen on {host}:{port} ({e}); choose another with --port", file=sys.stderr)
        return 1
    shown = f"[{host}]" if ":" in host else host
    print(f"Serving the China Industries assistant on http://{shown}:{port}/"
          + (" (login required)" if auth else "") + "  — Ctrl+C to stop", flush=True)
    if mcp:
        print(f"MCP tools (search_archive, ask, list_issues, read_section) at http://{shown}:{port}{MCP_PATH}/"
              + (" — clients send the login as HTTP Basic" if auth else ""), flush=True)
    wait_until_interrupted(demo)
    return 0


def wait_until_interrupted(demo: gr.Blocks) -> None:
    """Serve until Ctrl+C (SIGINT) or SIGTERM, then stop within about a second.

    Gradio's own `block_thread` lets uvicorn wait for open connections to close, and a browser tab
    or a gradio_client keeps its heartbeat stream open, so `qa serve` took 5 s or more to stop;
    nothing of ours in flight needs waiting for (an index update writes aside and swaps atomically)."""
    if threading.current_thread() is threading.main_thread():
        # SIGINT also when started in the background (a shell starts background jobs with SIGINT
        # ignored, and Python then never raises KeyboardInterrupt); SIGTERM, as service managers send.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        while demo.is_running:
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    print("Stopping…", flush=True)
    if demo.server:
        # A second for responses in flight; then the open streams are cancelled, which uvicorn logs
        # as errors with tracebacks (they are expected now, so not shown), and the app shuts down as
        # usual, its lifespan included (force_exit would skip that, with a traceback of its own).
        logging.getLogger("uvicorn.error").setLevel(logging.CRITICAL)
        demo.server.config.timeout_graceful_shutdown = 1
        demo.server.close()
