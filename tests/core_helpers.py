"""Helpers shared by the core tests (tests/test_core_*.py): real issue texts and variants
of them, a counter on the real embedder, and running the real `qa` command.

Every text edit goes through `edit`, which fails when the text to replace is missing, so a
variant that silently stopped applying (because an issue file changed) cannot make a test
pass without testing anything.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import CORPUS, QUESTIONS, ROOT  # noqa: F401  (re-exported for the tests)

DATA = Path(__file__).resolve().parent / "data"
DATES = ("2022-10-05", "2023-12-06", "2024-10-02", "2024-12-04")
ENERGY_Q = "What are the new energy storage targets for 2027?"
ENERGY_BULLET = "Cultivate between three to five companies worth CNY 100 billion"
ENERGY_HEADING = "2. Fully charged: China aims to further crank up its new energy storage industry"
# The qa console script installed beside this interpreter (.venv/bin/qa, /tmp/venv/bin/qa).
QA = str(Path(sys.executable).with_name("qa"))


def issue_file(date: str) -> Path:
    return CORPUS / f"merics-china-industries-{date}.txt"


def issue_text(date: str) -> str:
    return issue_file(date).read_text(encoding="utf-8")


def edit(text: str, old: str, new: str, count: int = 1) -> str:
    """`text` with the first `count` occurrences of `old` replaced; fails if there are fewer."""
    found = text.count(old)
    assert found >= count, f"variant cannot apply: {old!r} occurs {found} times, expected {count}"
    return text.replace(old, new, count)


def cut(text: str, start: str, end: str) -> str:
    """`text` without the part from `start` up to (not including) `end`."""
    a = text.index(start)
    return text[:a] + text[text.index(end, a):]


def redate(text: str, masthead: str) -> str:
    """The issue with its masthead line (date and reporting period) replaced."""
    lines = text.split("\n")
    i = next(i for i, ln in enumerate(lines) if re.match(r"^[A-Z]+ \d{1,2}, \d{4}", ln.strip()))
    lines[i] = masthead
    return "\n".join(lines)


def structure(issue) -> list:
    """Everything the parser extracted, minus file name and hash: for comparing two parses."""
    d = issue.to_dict()
    return [d["date"], d["period_start"], d["period_end"], d["authors"], d["editors"], d["sections"]]


def count_embedded(monkeypatch, embedder) -> list[str]:
    """Record every text passed to the real embedder's `embed` (it still embeds them)."""
    seen: list[str] = []
    real = embedder.embed

    def embed(texts, progress=None):
        seen.extend(texts)
        return real(texts, progress=progress)

    monkeypatch.setattr(embedder, "embed", embed)
    return seen


def qa_env(settings=None, **extra) -> dict:
    """Environment for a `qa` subprocess pointed at `settings`' corpus and index."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    env.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONUNBUFFERED": "1"})
    if settings is not None:
        env["QA_CORPUS_DIR"] = str(settings.corpus_dir)
        env["QA_INDEX_DIR"] = str(settings.index_dir)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run_qa(args: list[str], settings=None, stdin: str | None = None, timeout: float = 300,
           **env) -> subprocess.CompletedProcess:
    return subprocess.run([QA, *args], input=stdin, capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT, env=qa_env(settings, **env))


def json_lines(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def read_chunks(index_dir: Path) -> list[dict]:
    """chunks.jsonl of the live generation, read straight from disk."""
    gen = (Path(index_dir) / "CURRENT").read_text().strip()
    with open(Path(index_dir) / gen / "chunks.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def live_generation(index_dir: Path) -> str:
    return (Path(index_dir) / "CURRENT").read_text().strip()
