"""Shared pieces of the index-integrity tests: a small real index of two generations, ways to
damage one of its files, and the `qa` command run in this process (the real CLI code, without
a model load per call).

The two generations differ in every file, so a file copied from one into the other is a
real swap: P ("previous") indexes one article of the hand-made January issue; L ("live") indexes it
with one bullet changed (same length, so some files keep their size) plus a February copy.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from core_helpers import DATA, cut, edit, redate
from qa import update_index
from ui.cli import main
from qa.store import GEN_NAME

QUESTION = "How many sandbox operators should be certified?"


@pytest.fixture(scope="module")
def one_torch_thread():
    """These tests encode a few texts hundreds of times. On this shared 2-core machine torch's two
    threads wait for each other behind other processes: one text took 0.53 s with 2 threads and
    0.033 s with 1 (measured while other test runs were going). The model and results are the same."""
    import torch
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
DAMAGES = ("truncate", "random bytes", "delete", "empty", "swap")


@dataclass
class TwoGenerations:
    root: Path
    """Holds corpus/ (the live generation's corpus) and index/ (P and L; CURRENT names L)."""
    previous: str
    live: str
    files: list[str]
    """Every file of a generation, relative to its folder (manifest.json included), plus CURRENT."""

    @property
    def corpus(self) -> Path:
        return self.root / "corpus"

    @property
    def index(self) -> Path:
        return self.root / "index"

    def copy(self, dest: Path, keep_previous: bool = True) -> Path:
        """A private copy of corpus and index under `dest`; returns the index folder."""
        shutil.copytree(self.root, dest)
        if not keep_previous:
            shutil.rmtree(dest / "index" / self.previous)
        return dest / "index"


def build_two_generations(root: Path, settings_base, embedder) -> TwoGenerations:
    # One article of the hand-made January issue: every repair below re-embeds this corpus, so
    # it is kept small (3 passages per issue).
    january = cut((DATA / "january-issue-year-wrap.md").read_text(encoding="utf-8"),
                  "### 2. Quiet quotas", "## **AUTHORS**")
    corpus, index = root / "corpus", root / "index"
    corpus.mkdir(parents=True)
    settings = settings_base.replace(corpus_dir=corpus, index_dir=index)
    (corpus / "merics-china-industries-2025-01-10.md").write_text(january, encoding="utf-8")
    previous = update_index(settings, embedder).generation
    (corpus / "merics-china-industries-2025-01-10.md").write_text(
        edit(january, "Certify 40 sandbox operators", "Certify 45 sandbox operators"), encoding="utf-8")
    (corpus / "merics-china-industries-2025-02-07.md").write_text(
        redate(january, "FEBRUARY 7, 2025 (REPORTING PERIOD: JANUARY 7 - FEBRUARY 3)"), encoding="utf-8")
    live = update_index(settings, embedder).generation
    assert sorted(p.name for p in index.glob("gen-*")) == sorted([previous, live])
    # Not a generation: index/models/ holds the ONNX export (made by update_index above) and,
    # here, one more file of ours. Nothing may ever remove either.
    (index / "models").mkdir(exist_ok=True)
    (index / "models" / "model.onnx").write_bytes(b"onnx")
    manifest = json.loads((index / live / "manifest.json").read_text())
    return TwoGenerations(root, previous, live, ["CURRENT", "manifest.json", *sorted(manifest["files"])])


def damage(index: Path, gens: TwoGenerations, rel: str, kind: str, rng: np.random.Generator) -> Path:
    """Damage one file of the live generation (or CURRENT); returns its path."""
    path = index / rel if rel == "CURRENT" else index / gens.live / rel
    data = path.read_bytes()
    if kind == "truncate":
        path.write_bytes(data[:len(data) // 2])
    elif kind == "random bytes":  # the middle third garbled in place: the size stays
        a, b = len(data) // 3, max(len(data) // 3 + 1, 2 * len(data) // 3)
        garbled = bytearray(data)
        garbled[a:b] = rng.bytes(b - a)
        assert bytes(garbled) != data
        path.write_bytes(bytes(garbled))
    elif kind == "delete":
        path.unlink()
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "swap" and rel == "CURRENT":  # there is one CURRENT: a stray folder takes its place
        path.unlink()
        path.mkdir()
        (path / "stray.txt").write_text("not a generation name")
    elif kind == "swap":
        other = gens.index / gens.previous / rel  # the original's: a copy may lack the previous generation
        other = other if other.exists() else gens.index / gens.previous / "issues" / "2025-01-10.json"
        assert other.read_bytes() != data, f"{rel}: the swap would change nothing"
        shutil.copyfile(other, path)
    else:
        raise AssertionError(kind)
    return path


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    """`qa argv...` in this process: (exit status, stdout, stderr)."""
    capsys.readouterr()
    try:
        status = main(list(argv))
    except SystemExit as e:  # argparse
        status = e.code
    out, err = capsys.readouterr()
    return status, out, err


def search(capsys, index: Path, corpus: Path, question: str = QUESTION) -> tuple[int, list | None, str]:
    """`qa search --json`: (status, hits as (issue, part, text) or None, stderr)."""
    status, out, err = cli(capsys, "search", question, "--json", "--k", "4", "--index", str(index),
                           "--corpus", str(corpus))
    hits = None
    if status == 0:
        hits = [(h["issue_date"], h["part"], h["text"]) for h in json.loads(out)["hits"]]
    return status, hits, err


def served_generation(warning: str) -> str | None:
    """The generation a fallback warning says it answers from."""
    m = re.search(r"answering from [^,]*?(gen-\S+?)[ ,]", warning)
    return m.group(1) if m and GEN_NAME.fullmatch(m.group(1)) else None
