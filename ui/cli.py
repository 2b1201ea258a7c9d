"""The `qa` command: index, issues, parse, search, ask, eval, serve.

The console front end, beside the web app: it calls the `qa` library and prints; `qa` knows
nothing of it (nor of Gradio, which only `qa serve` loads)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from qa.progress import Phase
from qa.schema import ARTICLE, SECTION_KINDS, IssueError, format_date
from qa.settings import Settings


def _settings(args) -> Settings:
    return Settings.load(corpus_dir=getattr(args, "corpus", None), index_dir=getattr(args, "index", None),
                         model=getattr(args, "model", None))


def progress_bar():
    """Bars for embedding and for the pages of a PDF being read; other steps are quick."""
    from tqdm import tqdm
    bars: dict[str, tqdm] = {}

    def progress(done: int, total: int, what: str) -> None:
        phase = getattr(what, "phase", None)  # a qa.progress.Step; plain text has no bar
        if phase in (Phase.EMBEDDING, Phase.EMBEDDING_SENTENCES):
            desc, unit = what.capitalize(), "text"
        elif phase is Phase.PAGES:
            desc, unit = f"Reading {what.subject or 'pages'}", "page"
        else:
            return
        bar = bars.get(what) or bars.setdefault(what, tqdm(total=total, desc=desc, unit=unit,
                                                            file=sys.stderr, leave=False))
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()
    return progress


def cmd_index(args) -> int:
    from qa.indexer import check_index, update_index
    settings = _settings(args)
    if args.check:
        health = check_index(settings.index_dir)
        if args.json:
            print(json.dumps(health.to_dict(), ensure_ascii=False))
        else:
            print("\n".join(health.lines()))
        return 0 if health.ok else 1
    report = update_index(settings, rebuild=args.rebuild, progress=progress_bar())
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False))
    else:
        print(report.summary())
        for label, dates in (("added", report.added), ("updated", report.updated), ("removed", report.removed)):
            for d in dates:
                print(f"  {label}: {format_date(d)}")
        for w in report.warnings:
            print(f"  warning: {w}")
        for r in report.refused:
            print(f"  refused: {r}", file=sys.stderr)
    return 1 if report.refused else 0


def warn_if_damaged(assistant) -> str:
    """One line on stderr when the live index is damaged and an older generation answers."""
    warning = assistant.index_warning
    if warning:
        print(f"warning: {warning}", file=sys.stderr, flush=True)
    return warning


def cmd_issues(args) -> int:
    from qa.assistant import Assistant
    assistant = Assistant(_settings(args))
    issues = assistant.list_issues()
    warning = warn_if_damaged(assistant)
    if args.json:
        print(json.dumps({"generation": assistant.snapshot.generation, "warning": warning or None,
                          "issues": issues}, ensure_ascii=False))
        return 0
    for i in issues:
        period = f" (reporting period {format_date(i['period_start'])} – {format_date(i['period_end'])})" \
            if i["period_start"] else ""
        print(f"{format_date(i['issue_date'])}{period} — {i['source']}, {i['chunks']} chunks")
        for s in i["sections"]:
            print(f"    {s['heading']}  [{s['chunks']} chunks]")
    return 0


def cmd_parse(args) -> int:
    import hashlib
    from qa.assistant import issue_summary
    from qa.parse import parse_issue, read_intake
    path = Path(args.file)
    try:
        try:
            data = path.read_bytes()
        except OSError as e:
            raise IssueError(f"{path.name}: cannot be read ({e.strerror or e})") from None
        intake = read_intake(data, path.name, None if args.json else progress_bar())
        issue = parse_issue(intake.text, path.name, hashlib.sha256(data).hexdigest())
    except IssueError as e:
        print(f"refused: {e}", file=sys.stderr)
        return 1
    pdf = {"pages": intake.pages, "extraction_seconds": round(intake.seconds, 3)} if intake.pages else None
    if args.json:
        print(json.dumps(issue.to_dict() | ({"pdf": pdf} if pdf else {}), ensure_ascii=False))
        return 0
    s = issue_summary(issue, None)
    print(f"{issue.title}  ({issue.source})")
    if pdf:
        print(f"PDF: {intake.pages} pages, text extracted in {intake.seconds:.2f} s")
    if issue.period_start:
        print(f"Reporting period: {format_date(issue.period_start)} – {format_date(issue.period_end)}")
    print(f"Authors: {', '.join(issue.authors) or '-'}; editors: {', '.join(issue.editors) or '-'}")
    for sec in issue.sections:
        print(f"  {sec.heading}")
        if sec.kind == ARTICLE:
            print(f"      parts: {', '.join(p.label for p in sec.parts)}")
            print(f"      policy: {sec.policy_title or '-'} | {', '.join(sec.issuers) or '-'} | {sec.policy_date or '-'}")
        else:
            print(f"      {len(sec.parts)} items, {sec.parts[0].label} – {sec.parts[-1].label}")
    print(f"Noteworthy: {s['policy_news']} policy news, {s['corporate_news']} corporate news items")
    for w in issue.warnings:
        print(f"  warning: {w}")
    return 0


def _filters(args):
    from qa.query import Filters
    return Filters(date_from=args.date_from, date_to=args.date_to, issues=tuple(args.issue or ()),
                   kinds=tuple(args.kind or ()))


def _questions(args):
    if args.question == "-":
        for line in sys.stdin:
            if line.strip():
                yield line.strip(), True
    else:
        yield args.question, args.json


# `qa search/ask --json` print the shapes the command has always printed (its scripts rely on
# them): the records' own to_dict(), narrowed to these keys.
HIT_KEYS = ("rank", "score", "issue_date", "issue_title", "section", "part", "text")
CITATION_KEYS = ("n", "issue_date", "section", "part", "text")


def search_json(result) -> dict:
    return {"question": result.query.question,
            "hits": [{k: d[k] for k in HIT_KEYS} for d in (h.to_dict() for h in result.hits)]}


def answer_json(answer) -> dict:
    d = answer.to_dict()
    return d | {"citations": [{k: c[k] for k in CITATION_KEYS} for c in d["citations"]]}


def _answer_each(args, run, as_json_obj, show) -> int:
    """Run `run(assistant, question)` for each question; print JSON lines or text. One model load."""
    from qa.assistant import Assistant
    from qa.query import QuestionError
    assistant, status = Assistant(_settings(args)), 0
    warn_if_damaged(assistant)
    for question, as_json in _questions(args):
        try:
            result = run(assistant, question)
        except QuestionError as e:
            status = 1
            print(json.dumps({"question": question[:200], "error": str(e)}) if as_json else f"error: {e}",
                  file=sys.stdout if as_json else sys.stderr)
            continue
        if as_json:
            print(json.dumps(as_json_obj(result), ensure_ascii=False), flush=True)
        else:
            show(result)
    return status


def cmd_search(args) -> int:
    def show(result):
        for note in result.query.notes + result.notes:
            print(f"({note})")
        for h in result.hits:
            c = h.chunk
            print(f"[{h.rank}] {h.score:.4f}  {c.label}")
            print("    " + c.text.replace("\n", "\n    "))

    return _answer_each(args, lambda a, q: a.search(q, k=args.k, filters=_filters(args)),
                        search_json, show)


def cmd_ask(args) -> int:
    def show(answer):
        if args.markdown:
            from qa.export import to_markdown
            print(to_markdown(answer), end="")
            return
        for note in answer.notes:
            print(f"({note})")
        print(answer.text)
        if answer.citations:
            print("\nSources:")
            for c in answer.citations:
                print(f"  [{c.n}] {c.label()}")

    return _answer_each(args, lambda a, q: a.ask(q, filters=_filters(args)), answer_json, show)


def cmd_eval(args) -> int:
    from qa.assistant import Assistant
    from qa.evaluate import (evaluate_grid, failures, format_leave_one_out, format_table, leave_one_out,
                           load_questions, settings_grid, summarize)
    questions = load_questions(Path(args.questions), args.split)
    if args.limit:
        questions = questions[:args.limit]
    runs = evaluate_grid(Assistant(_settings(args)), settings_grid(args.grid or []), questions)
    outcomes = runs["default"] if "default" in runs else next(iter(runs.values()))
    summary, wrong = summarize(outcomes), failures(outcomes)
    loo = leave_one_out(runs) if args.leave_one_out or len(runs) > 1 else None
    if args.json:
        print(json.dumps({"split": args.split, "summary": summary, "failures": wrong, "leave_one_out": loo,
                          "runs": {n: leave_one_out({n: r}) for n, r in runs.items()} if len(runs) > 1 else None},
                         ensure_ascii=False))
        return 0
    print(f"{len(questions)} questions ({args.split} split) from {args.questions}\n")
    print(format_table(summary))
    if loo:
        print("\nLeave one issue out (each row: the questions of that issue, scored with the setting chosen "
              "on the other issues' questions):\n")
        print(format_leave_one_out(loo))
    if wrong and not args.quiet:
        print(f"\n{len(wrong)} questions with a problem:")
        for w in wrong:
            print(f"  {w['id']} [{w['kind']}] {w['question']}\n      {'; '.join(w['why'])}; top: {', '.join(w['top'][:3])}")
    return 0


def cmd_serve(args) -> int:
    from .app import serve
    return serve(_settings(args), host=args.host, port=args.port, auth_file=args.auth_file, mcp=args.mcp)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="qa", description="Cited answers from the MERICS China Industries archive.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--corpus", help="issue folder (default ./corpus, or $QA_CORPUS_DIR)")
    common.add_argument("--index", help="index folder (default ./index, or $QA_INDEX_DIR)")
    common.add_argument("--model", help="embedding model: 'bundled', a folder or a hub name ($QA_MODEL)")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("index", parents=[common], help="build or update the index from the corpus")
    how = s.add_mutually_exclusive_group()
    how.add_argument("--rebuild", action="store_true",
                     help="re-embed everything; reads nothing of the old index, so it works from any state")
    how.add_argument("--check", action="store_true",
                     help="verify every generation (hashes and row counts) without changing anything")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_index)

    s = sub.add_parser("issues", parents=[common], help="list the indexed issues")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_issues)

    s = sub.add_parser("parse", help="show how a file parses, before adding it")
    s.add_argument("file")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_parse)

    for name, func, helptext in (("search", cmd_search, "ranked passages"), ("ask", cmd_ask, "a cited answer")):
        s = sub.add_parser(name, parents=[common], help=helptext)
        s.add_argument("question", help="the question, or - to read one per line from stdin (JSON out)")
        if name == "search":
            s.add_argument("--k", type=int, default=5, help="passages to return")
        s.add_argument("--from", dest="date_from", help="earliest issue date, YYYY-MM-DD")
        s.add_argument("--to", dest="date_to", help="latest issue date, YYYY-MM-DD")
        s.add_argument("--issue", action="append", help="only this issue date (repeatable)")
        s.add_argument("--kind", action="append", choices=SECTION_KINDS, help="only this section kind (repeatable)")
        s.add_argument("--json", action="store_true")
        if name == "ask":
            s.add_argument("--markdown", action="store_true",
                           help="the answer and its full references as Markdown, for a report")
        s.set_defaults(func=func)

    s = sub.add_parser("eval", parents=[common], help="measure retrieval and answers on a question set")
    s.add_argument("questions", nargs="?", default="bench/questions.jsonl")
    s.add_argument("--split", default="all", choices=["all", "train", "validation"])
    s.add_argument("--limit", type=int, help="only the first N questions")
    s.add_argument("--leave-one-out", action="store_true",
                   help="also score each issue's questions on their own (with --grid: the setting chosen on the other issues)")
    s.add_argument("--grid", action="append", metavar="NAME=V1,V2",
                   help="settings to compare (repeatable; the cartesian product is run beside the default)")
    s.add_argument("--quiet", action="store_true", help="no list of failed questions")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_eval)

    s = sub.add_parser("serve", parents=[common], help="start the web UI")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=7860)
    s.add_argument("--auth-file", help="file of user:password lines (or $QA_AUTH)")
    s.add_argument("--mcp", action="store_true",
                   help="also serve the archive as MCP tools at /gradio_api/mcp/ (needs a login off this machine)")
    s.set_defaults(func=cmd_serve)
    return p


def main(argv: list[str] | None = None) -> int:
    # A terminal in another encoding must not turn printing a passage into a crash, nor a
    # non-UTF-8 line on stdin into one: undecodable bytes become lone surrogates, which
    # qa.inputs replaces before anything else sees them.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    if hasattr(sys.stdin, "reconfigure"):
        sys.stdin.reconfigure(errors="surrogateescape")
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `qa ... | head` closed the pipe: not an error of ours
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as e:  # noqa: BLE001 - the one place that turns any failure into one line
        from qa.inputs import user_message
        print(f"error: {user_message(e)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
