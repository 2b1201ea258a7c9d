"""Random and hostile input through every interface: no unhandled exception (issue 8).

A seeded generator makes questions, filters, chat histories, result counts and uploads from
fragments that broke things before (a question naming "January 0000", lone surrogates, NULs,
year 9999, huge numbers, nested junk, values of the wrong type) mixed with random text. They
go through the Python API (a few hundred cases), the `qa` command in this process and as a
real process, and the HTTP API of a live server (a few dozen each). What may come back: a
result, or the errors qa raises on purpose (QuestionError, IssueError, IndexMissing) with a
one-line message; over HTTP, the readable message, never Gradio's generic one. An upload
lands in corpus and index together or in neither: afterwards `qa index` has nothing to do.
"""

from __future__ import annotations

import json
import math
import random
import subprocess

import pytest

from core_helpers import QA, issue_text, qa_env
from integrity_helpers import one_torch_thread  # noqa: F401  (a fixture)
from qa import Assistant, Filters, IssueError, QuestionError, update_index
from qa.store import IndexMissing
from ui_helpers import copy_workspace, running_app

pytestmark = [pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*"),  # gradio's
              pytest.mark.usefixtures("one_torch_thread")]

SEED = 8
EXPECTED = (QuestionError, IssueError, IndexMissing)

FRAGMENTS = [
    "What are the new energy storage targets for 2027?", "energy storage", "Which companies", "MERICS comment",
    "January 0000", "December 9999", "the December 9999 issue", "issues of 0000", "in 0000", "early 0000",
    "the 0000 and 9999 issues", "last year", "latest issue", "policy news", "corporate news in September 2022",
    "\udc80", "\ud800", "\udfff\ud800", "caf\udce9", "\x00", "a\x00b", "\x1b[31m", "\x7f", "\r\n", "\t",
    "9" * 400, "1e308", "-0", "NaN", str(10 ** 80), "2024-13-45", "0000-00-00", "9999-12-31",
    "👍🏽", "\u202etxt.exe", "e\u0301", "\ufeff", "中国制造2025", "<script>alert(1)</script>", "{{7*7}}",
    "%s%n%x", "../../etc/passwd", "' OR 1=1 --", "[1](javascript:x)", "", " ", "?", "and what about it?",
]
JUNK = [None, 0, -1, 10 ** 100, 1.5, math.nan, math.inf, True, [], {}, [1, [2, [3]]], {"a": {"b": None}},
        b"bytes", ("tuple",), {"role": "user"}, object()]


def text(rng: random.Random) -> str:
    parts = [rng.choice(FRAGMENTS) for _ in range(rng.randint(1, 3))]
    if rng.random() < 0.3:  # raw code points, surrogates included
        parts.append("".join(chr(rng.randint(0, 0x10FFFF)) for _ in range(rng.randint(1, 12))))
    if rng.random() < 0.05:
        parts.append("x" * rng.choice([1999, 2000, 2001, 10_000]))
    return " ".join(parts)


def value(rng: random.Random, good):
    """Mostly a plausible value of the right type, sometimes junk of any type."""
    r = rng.random()
    return good() if r < 0.8 else text(rng) if r < 0.9 else rng.choice(JUNK)


def date_value(rng: random.Random):
    return value(rng, lambda: rng.choice(["2024-12-04", "2022-01-01", "", None, "9999-12-31", "0001-01-01"]))


def list_value(rng: random.Random, good: list):
    return value(rng, lambda: rng.sample(good, rng.randint(0, len(good))))


def history(rng: random.Random):
    def good():
        turns = []
        for _ in range(rng.randint(0, 4)):
            turns.append(rng.choice([
                {"role": "user", "content": text(rng)}, {"role": "assistant", "content": text(rng)},
                {"role": "user", "content": [{"type": "text", "text": text(rng)}, {"type": "image"}]},
                {"role": rng.choice(JUNK), "content": rng.choice(JUNK)}, rng.choice(JUNK), text(rng)]))
            turns[-1] = turns[-1] if rng.random() < 0.3 else {"role": "user", "content": text(rng)}
        return turns
    return value(rng, good)


def filters(rng: random.Random):
    kwargs = {}
    if rng.random() < 0.5:
        kwargs["date_from"] = date_value(rng)
    if rng.random() < 0.3:
        kwargs["date_to"] = date_value(rng)
    if rng.random() < 0.3:
        kwargs["issues"] = list_value(rng, ["2024-12-04", "2022-10-05", "2030-01-01"])
    if rng.random() < 0.3:
        kwargs["kinds"] = list_value(rng, ["article", "policy_news", "corporate_news", "opinion"])
    return kwargs


def is_readable(message: str) -> bool:
    return bool(message.strip()) and "\n" not in message.strip() and "Traceback" not in message


# The Python API --------------------------------------------------------------------------

def test_python_api(assistant):
    rng = random.Random(SEED)
    failures, outcomes = [], {"answered": 0, "refused": 0}
    for case in range(300):
        question = value(rng, lambda: text(rng))
        try:
            r = rng.random()
            f = Filters(**filters(rng)) if r < 0.6 else None if r < 0.95 else rng.choice(JUNK)
            if rng.random() < 0.5:
                result = assistant.search(question, k=value(rng, lambda: rng.randint(-2, 60)), filters=f,
                                          history=history(rng))
                assert all(isinstance(h.chunk.text, str) for h in result.hits)
            else:
                answer = assistant.ask(question, filters=f, history=history(rng))
                assert isinstance(answer.text, str) and answer.text
            outcomes["answered"] += 1
        except EXPECTED as e:
            outcomes["refused"] += 1
            if not is_readable(str(e)):
                failures.append(f"case {case}: unreadable {type(e).__name__}: {e!r}")
        except Exception as e:  # noqa: BLE001 - what this test is looking for
            failures.append(f"case {case}: {type(e).__name__}: {e!r} for {question!r}")
    assert not failures, "\n".join(failures[:20])
    assert outcomes["answered"] > 50 and outcomes["refused"] > 50, outcomes


def hostile_upload(rng: random.Random) -> tuple[bytes, object]:
    real = issue_text("2022-10-05")
    kind = rng.choice(["random", "nul", "surrogate", "year 0000", "year 9999", "huge number", "junk name",
                       "bom", "utf-16", "truncated", "no masthead"])
    data = {
        "random": lambda: bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 3000))),
        "nul": lambda: real.replace("MERICS comment", "MERICS\x00comment", 1).encode(),
        "surrogate": lambda: real.replace("Key", "Key\udc80", 1).encode("utf-8", "surrogateescape"),
        "year 0000": lambda: real.replace("2022 (", "0000 (", 1).encode(),
        "year 9999": lambda: real.replace("OCTOBER 5, 2022", "OCTOBER 5, 9999", 1).encode(),
        "huge number": lambda: real.replace("2025", "9" * 5000, 3).encode(),
        "junk name": lambda: real.encode(),
        "bom": lambda: b"\xef\xbb\xbf" + real.encode(),
        "utf-16": lambda: real.encode("utf-16"),
        "truncated": lambda: real.encode()[:rng.randint(1, 400)],
        "no masthead": lambda: real.split("\n", 3)[-1].encode(),
    }[kind]()
    name = rng.choice(["issue.md", "x.txt", "../../etc/passwd.md", "a\x00b.md", "\udc80.md", "", "." * 300 + ".md",
                       "CON.txt", "issue.pdf", None, 42, "<img src=x>.md"])
    return data, name


def test_uploads_through_the_python_api(tmp_path, settings_base, built_index, embedder):
    settings = copy_workspace(tmp_path, built_index, settings_base)
    qa = Assistant(settings, embedder=embedder)
    rng = random.Random(SEED)
    failures, added = [], 0
    for case in range(40):
        data, name = hostile_upload(rng)
        try:
            preview = qa.preview(data, name)
            if preview.status != "same" and rng.random() < 0.3 and added < 3:
                qa.add_issue(data, name, replace=True)
                added += 1
        except EXPECTED as e:
            if not is_readable(str(e)):
                failures.append(f"case {case}: unreadable {e!r}")
        except Exception as e:  # noqa: BLE001
            failures.append(f"case {case}: {type(e).__name__}: {e!r} for {name!r}")
    assert not failures, "\n".join(failures[:20])
    # Corpus and index agree: `qa index` finds nothing to do, and every corpus file is indexed.
    report = update_index(settings, embedder)
    assert not report.changed and not report.refused, report.summary()
    sources = {e.source for e in qa.snapshot.manifest.issues.values()}
    assert sources == {p.name for p in settings.corpus_dir.iterdir()}


# The command line ------------------------------------------------------------------------

def test_cli_in_process(capsys, built_index, settings_base):
    from ui.cli import main
    rng = random.Random(SEED)
    failures = []
    for case in range(80):
        argv = [rng.choice(["search", "ask"]), text(rng)]
        for flag, make in (("--k", lambda: str(value(rng, lambda: rng.randint(-1, 99)))),
                           ("--from", lambda: str(date_value(rng))), ("--to", lambda: str(date_value(rng))),
                           ("--issue", lambda: str(date_value(rng))),
                           ("--kind", lambda: rng.choice(["article", "corporate_news", "opinion"]))):
            if rng.random() < 0.25 and not (flag == "--k" and argv[0] == "ask"):
                argv += [flag, make()]
        argv += ["--json"] * rng.randint(0, 1) + ["--index", str(built_index), "--corpus", str(settings_base.corpus_dir)]
        try:
            status = main(argv)
        except SystemExit as e:  # argparse refuses an unknown --kind with its usage message
            status = e.code
        out, err = capsys.readouterr()
        if "Traceback" in err or status not in (0, 1, 2):
            failures.append(f"case {case}: status {status}: {err[-300:]}")
        elif status == 1 and "--json" not in argv and len(err.strip().splitlines()) != 1:
            failures.append(f"case {case}: not one line: {err!r}")
        elif status == 2 and "usage:" not in err:
            failures.append(f"case {case}: exit 2 without argparse's usage: {err!r}")
    assert not failures, "\n".join(failures[:20])


def test_cli_process_with_hostile_stdin_and_encoding(settings_base, built_index):
    """A real `qa` process: non-UTF-8 bytes on stdin, a terminal that is not UTF-8."""
    settings = settings_base.replace(index_dir=built_index)
    lines = [b"\xff\xfe energy storage targets", b"a\x00b", "January 0000".encode(), b"the December 9999 issue",
             "caf\xe9".encode("latin-1"), b"\x1b[31mred", b"9" * 3000, "中国制造2025 targets".encode()]
    done = subprocess.run([QA, "search", "-"], input=b"\n".join(lines) + b"\n", capture_output=True, timeout=300,
                          env=qa_env(settings, PYTHONIOENCODING="latin-1", LC_ALL="C", OMP_NUM_THREADS=1))
    assert done.returncode in (0, 1) and b"Traceback" not in done.stderr, done.stderr[-2000:]
    answers = [json.loads(line) for line in done.stdout.decode("latin-1").splitlines()]
    assert len(answers) == len(lines)
    assert sum("error" in a for a in answers) == 1 and "3,000 characters" in next(a["error"] for a in answers
                                                                                  if "error" in a)
    # A question given as bytes that are not UTF-8, printed to an ASCII terminal.
    done = subprocess.run([QA, "ask", b"caf\xe9 \xff energy storage targets for 2027"], capture_output=True,
                          timeout=300, env=qa_env(settings, PYTHONIOENCODING="ascii", OMP_NUM_THREADS=1))
    assert done.returncode == 0 and b"Traceback" not in done.stderr, done.stderr[-2000:]
    assert b"[1]" in done.stdout


# The HTTP API ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def live(tmp_path_factory, settings_base, built_index, embedder):
    settings = copy_workspace(tmp_path_factory.mktemp("fuzz-ui"), built_index, settings_base)
    with running_app(settings, embedder) as (url, assistant):
        yield url, settings, assistant


GENERIC = "has not enabled verbose error reporting"
PARAMS = {"/ask": ["question", "date_from", "date_to", "issues", "kinds", "history"],
          "/search": ["question", "k", "date_from", "date_to", "issues", "kinds"], "/list_issues": []}
DEFAULTS = {"date_from": "", "date_to": "", "issues": None, "kinds": None, "history": None, "k": 5}


def call(client, url: str, endpoint: str, args: list):
    """The endpoint through gradio_client; values it cannot send (lone surrogates, NaN) go as
    JSON text with escapes through Gradio's REST API, as any other client could send them.
    Returns the result; raises AppError with the server's message."""
    from gradio_client.exceptions import AppError
    try:
        json.dumps(args, allow_nan=False, ensure_ascii=False).encode("utf-8")
    except (ValueError, UnicodeEncodeError):
        pass
    else:
        return client.predict(*args, api_name=endpoint)
    import httpx
    body = json.dumps({"data": args}, ensure_ascii=True).encode()
    event = httpx.post(f"{url}gradio_api/call{endpoint}", content=body,
                       headers={"content-type": "application/json"}, timeout=60).json()["event_id"]
    stream = httpx.get(f"{url}gradio_api/call{endpoint}/{event}", timeout=120).text
    kind, _, data = stream.partition("\ndata: ")
    data = json.loads(data.split("\n")[0])
    if kind.strip() == "event: complete":
        return data[0]
    raise AppError(data.get("error") or GENERIC)


def test_http_api(live):
    from gradio_client import Client
    from gradio_client.exceptions import AppError
    url, settings, _ = live
    client = Client(url, verbose=False)
    rng = random.Random(SEED)
    failures, results = [], {"ok": 0, "error": 0}
    for case in range(40):
        endpoint = rng.choice(["/ask", "/ask", "/search", "/list_issues"])
        values = {"question": value(rng, lambda: text(rng)), **filters(rng)}
        if rng.random() < 0.5:
            values["history"] = history(rng)
        if rng.random() < 0.5:
            values["k"] = value(rng, lambda: rng.randint(-1, 60))
        args = [values.get(p, DEFAULTS.get(p)) for p in PARAMS[endpoint]]
        args = [a if _jsonable(a) else repr(a) for a in args]
        try:
            r = call(client, url, endpoint, args)
            assert isinstance(r, (dict, list))
            results["ok"] += 1
        except AppError as e:
            results["error"] += 1
            message = str(e)
            if GENERIC in message or not is_readable(message):
                failures.append(f"case {case} {endpoint} {args!r:.200}: {message[:300]!r}")
        except Exception as e:  # noqa: BLE001
            failures.append(f"case {case} {endpoint}: {type(e).__name__}: {e!r:.300}")
    assert not failures, "\n".join(failures[:20])
    assert results["ok"] > 5 and results["error"] > 5, results


def test_http_uploads(live):
    from gradio_client import Client
    url, settings, assistant = live
    client = Client(url, verbose=False)
    rng = random.Random(SEED + 1)
    failures = []
    for case in range(12):
        data, name = hostile_upload(rng)
        text_ = data.decode("utf-8", "surrogateescape") if rng.random() < 0.8 else rng.choice(JUNK)
        name = name if isinstance(name, str) else "issue.md"
        try:
            r = call(client, url, "/add_issue", [text_ if _jsonable(text_) else repr(text_), name,
                                                 rng.random() < 0.5])
            if r["status"] == "refused" and not is_readable(r["message"]):
                failures.append(f"case {case}: {r['message']!r}")
        except Exception as e:  # noqa: BLE001
            failures.append(f"case {case}: {type(e).__name__}: {e!r:.300}")
    assert not failures, "\n".join(failures[:20])
    report = update_index(settings, assistant.embedder)
    assert not report.changed and not report.refused, report.summary()


def _jsonable(v) -> bool:
    try:
        json.dumps(v)
    except (TypeError, ValueError):
        return False
    return True
