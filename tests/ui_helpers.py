"""Shared pieces of the UI tests: a live app on a free port, and issues made for uploading.

The issues are real corpus files with a new masthead date and a few changed sentences, so
they parse exactly like the real ones.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import socket
from pathlib import Path

import pytest

from conftest import CORPUS

NEW_DATE = "2025-03-05"
HOSTILE_DATE = "2025-04-02"
# Only the new issue contains this; nothing in the shipped corpus mentions airships.
UNIQUE_SENTENCE = ("The MIIT also unveiled a plan to build 42 airship freight hubs across Inner Mongolia by 2028, "
                   "with helium supplied from state reserves.")
UNIQUE_QUESTION = "How many airship freight hubs will be built in Inner Mongolia?"

# The parser reads "__x__" as bold, so only the script uses window.__pwned; the rest set
# window.pwned. The tests check that both stay undefined.
SCRIPT = "<script>window.__pwned=1</script>"
IMG = '<img src=x onerror="window.pwned=2">'
JS_LINK = "[click](javascript:window.pwned=3)"
# Survives the parser's link clean-up (space before the target), so only escaping stops it.
JS_LINK_RAW = "[tap]( javascript:window.pwned=3)"
TEMPLATE = "${window.pwned=4} {{constructor.constructor('window.pwned=5')()}}"
HOSTILE_NAME = '"><img src=x onerror="window.pwned=6">.md'
HOSTILE_QUESTION = "What does the quokka robotics standard cover?"
# In the title of the article the hostile question is answered from.
HOSTILE_TITLE_PLAIN = "MIIT picks a new set of industrial champions"
HOSTILE_TITLE = f"MIIT picks {IMG} a new set of industrial champions"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def copy_workspace(root: Path, built_index: Path, settings_base):
    """A private corpus + index under `root`: Settings pointing at them."""
    corpus, index = root / "corpus", root / "index"
    shutil.copytree(CORPUS, corpus)
    shutil.copytree(built_index, index)
    return settings_base.replace(corpus_dir=corpus, index_dir=index)


@contextlib.contextmanager
def running_app(settings, embedder):
    """The real app (ui.app.build_app + launch) on a free local port; yields (url, assistant)."""
    from qa import Assistant
    from ui.app import build_app, launch
    assistant = Assistant(settings, embedder=embedder)
    demo = build_app(assistant)
    port = free_port()
    launch(demo, settings, host="127.0.0.1", port=port, prevent_thread_lock=True)
    try:
        yield f"http://127.0.0.1:{port}/", assistant
    finally:
        demo.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory, settings_base, built_index, embedder):
    """The app over a private copy of corpus and index, one per test module: (url, settings)."""
    settings = copy_workspace(tmp_path_factory.mktemp("ui"), built_index, settings_base)
    with running_app(settings, embedder) as (url, _):
        yield url, settings


def _with_masthead(text: str, masthead: str) -> str:
    lines = text.split("\n")
    for i, line in enumerate(lines[:20]):
        if "REPORTING PERIOD" in line.upper():
            lines[i] = masthead
            return "\n".join(lines)
    raise AssertionError("no masthead line")


def new_issue_text() -> str:
    """The October 2022 issue re-dated to 5 March 2025, with one sentence only it contains."""
    text = (CORPUS / "merics-china-industries-2022-10-05.txt").read_text(encoding="utf-8")
    text = _with_masthead(text, "MARCH 5, 2025 (REPORTING PERIOD: JANUARY 28 - FEBRUARY 25)")
    text, n = re.subn(r"((?:\*\*)?At a glance:(?:\*\*)?)", lambda m: f"{m.group(1)} {UNIQUE_SENTENCE}", text, count=1)
    assert n == 1
    return text


def hostile_issue_text() -> str:
    """The October 2024 issue re-dated to 2 April 2025, with markup and scripts in text, titles and news."""
    text = (CORPUS / "merics-china-industries-2024-10-02.txt").read_text(encoding="utf-8")
    text = _with_masthead(text, "APRIL 2, 2025 (REPORTING PERIOD: FEBRUARY 26 - MARCH 25)")
    payload = f"{SCRIPT} {IMG} {JS_LINK} {JS_LINK_RAW} {TEMPLATE}"
    text, n = re.subn(r"((?:\*\*)?At a glance:(?:\*\*)?)",
                      lambda m: f"{m.group(1)} The quokka robotics standard covers {payload} service robots.",
                      text, count=1)
    assert n == 1
    text, n = re.subn(r"(\*\*MERICs comment:?\*\*:?)", lambda m: f"{m.group(1)} {payload}", text, count=1, flags=re.I)
    assert n == 1
    # The first news item of each list.
    corporate = text.rindex("Corporate news")
    head, tail = text[:corporate], text[corporate:]
    item = r"(\n- \*[A-Z][a-z]+ \d+:\*)"
    head, n1 = re.subn(item, lambda m: f"{m.group(1)} {payload}", head, count=1)
    tail, n2 = re.subn(item, lambda m: f"{m.group(1)} {payload}", tail, count=1)
    assert n1 == n2 == 1
    text = head + tail
    assert text.count(HOSTILE_TITLE_PLAIN) == 2  # CONTENTS and heading
    return text.replace(HOSTILE_TITLE_PLAIN, HOSTILE_TITLE)
