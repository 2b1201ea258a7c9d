"""The index in states no single-file damage reaches (issue 8): a folder where a file should be,
litter of crashed writers, every generation damaged, an old format. `qa search` says what is
wrong in one line (or serves a generation that verifies), and `qa index` / `qa index --rebuild`
recover with no manual step. Also: the manifest as a typed record, what a write sweeps, and
an upload landing in corpus and index together or in neither.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest

from core_helpers import DATA, QA, qa_env, redate
from integrity_helpers import QUESTION, build_two_generations, cli, search
from integrity_helpers import one_torch_thread  # noqa: F401  (a fixture)
from qa import Assistant, IssueError
from qa.indexer import check_index
from qa.store import FORMAT, GEN_NAME, IssueEntry, Manifest, current_generation, generations, load_snapshot


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def gens(tmp_path_factory, settings_base, embedder):
    return build_two_generations(tmp_path_factory.mktemp("states"), settings_base, embedder)


# The manifest --------------------------------------------------------------------------

def test_manifest_round_trips_and_keeps_unknown_keys(gens):
    raw = json.loads((gens.index / gens.live / "manifest.json").read_text())
    assert raw["format"] == FORMAT and raw["rows"] == 6 and len(raw["files"]) >= 10
    assert all(set(f) == {"size", "sha256"} for f in raw["files"].values())
    newer = {**raw, "embed_backend": {"kind": "onnx", "file": "models/model.onnx"}}
    m = Manifest.from_dict(newer)
    assert m.extra == {"embed_backend": {"kind": "onnx", "file": "models/model.onnx"}}
    assert m.to_dict() == newer
    assert m.issues["2025-01-10"] == IssueEntry(source="merics-china-industries-2025-01-10.md",
                                                sha256=raw["issues"]["2025-01-10"]["sha256"], chunks=3)
    for broken in ({**raw, "rows": "6"}, {**raw, "issues": {"2025-01-10": {"source": 1}}}, [], {}):
        with pytest.raises(ValueError):
            Manifest.from_dict(broken)


# States beyond one damaged file -----------------------------------------------------------

def _lock_folder(index, gens):
    (index / ".lock").unlink()
    (index / ".lock").mkdir()
    (index / ".lock" / "x").write_text("x")


def _litter(index, gens):
    (index / f"{gens.live[:-6]}aaaaaa.tmp").mkdir()  # a crashed writer's half generation
    (index / f"{gens.live[:-6]}aaaaaa.tmp" / "chunks.jsonl").write_text("{")
    (index / ".CURRENT.1a2b3c4d").write_text(gens.live)
    (index / "gen-stray").mkdir()  # not a generation's name: never loaded, swept


def _missing_generation(index, gens):
    (index / "CURRENT").write_text("gen-20200101T000000-abcdef\n")


def _garbled_current_and_manifest(index, gens):
    (index / "CURRENT").write_bytes(b"\xff\xfe\x00garbage")
    manifest = index / gens.live / "manifest.json"
    manifest.write_bytes(manifest.read_bytes()[:40])


def _all_generations_damaged(index, gens):
    for gen in (gens.live, gens.previous):
        (index / gen / "chunks.jsonl").write_text("")


def _old_format(index, gens):
    for gen in (gens.live, gens.previous):
        path = index / gen / "manifest.json"
        path.write_text(json.dumps({**json.loads(path.read_text()), "format": 1}))


def _no_current(index, gens):
    (index / "CURRENT").unlink()
    shutil.rmtree(index / gens.live / "issues")


def _unlisted_file(index, gens):
    path = index / gens.live / "manifest.json"
    manifest = json.loads(path.read_text())
    del manifest["files"]["bm25/vocab.index.json"]  # valid JSON, edited by hand
    path.write_text(json.dumps(manifest))


STATES = {
    "a file missing from the manifest's list": _unlisted_file,
    ".lock is a folder": _lock_folder,
    "litter of crashed writers": _litter,
    "CURRENT names a generation that is gone": _missing_generation,
    "garbled CURRENT and truncated manifest": _garbled_current_and_manifest,
    "every generation damaged": _all_generations_damaged,
    "an index of an older format": _old_format,
    "CURRENT deleted and issues/ gone": _no_current,
}


@pytest.mark.parametrize("state", list(STATES))
@pytest.mark.parametrize("command", [["index"], ["index", "--rebuild"]])
def test_recovers_from_any_state(gens, capsys, tmp_path, state, command):
    index = gens.copy(tmp_path / "w")
    (index / "notes").mkdir()  # not ours to judge: stays
    STATES[state](index, gens)

    status, hits, err = search(capsys, index, gens.corpus)
    lines = err.strip().splitlines()
    assert len(lines) <= 1 and "Traceback" not in err, err
    if status == 0:
        assert hits and (not lines or lines[0].startswith("warning: ") and "`qa index`" in lines[0])
    else:
        assert status == 1 and lines[0].startswith("error: ") and "qa index" in lines[0], err
        assert str(index) in lines[0]

    status, out, err = cli(capsys, *command, "--index", str(index), "--corpus", str(gens.corpus))
    assert status == 0, err[-800:]
    health = check_index(index)
    assert health.ok, health.lines()
    assert load_snapshot(index).dates == ["2025-01-10", "2025-02-07"]
    names = {p.name for p in index.iterdir()}
    assert {"models", "notes", "CURRENT", ".lock"} <= names and (index / ".lock").is_file()
    assert (index / "models" / "model.onnx").read_bytes() == b"onnx"
    assert all(GEN_NAME.fullmatch(n) for n in names if n.startswith("gen-")), names
    assert not [n for n in names if n.startswith(".CURRENT.")]
    assert 1 <= len(generations(index)) <= 2


def test_index_that_is_a_file_is_named_not_deleted(gens, capsys, tmp_path):
    index = tmp_path / "index"
    index.write_text("someone's notes")
    for command in (["search", "anything"], ["index", "--rebuild"]):
        status, out, err = cli(capsys, *command, "--index", str(index), "--corpus", str(gens.corpus))
        assert status == 1 and len(err.strip().splitlines()) == 1 and str(index) in err, err
    assert index.read_text() == "someone's notes"


def test_check_names_each_generation(gens, capsys, tmp_path):
    index = gens.copy(tmp_path / "w")
    status, out, err = cli(capsys, "index", "--check", "--index", str(index))
    assert status == 0 and f"{gens.live} (live): verified, 2 issues, 6 passages" in out
    assert f"{gens.previous}: verified, 1 issues, 3 passages" in out
    vectors = index / gens.live / "vectors.npy"
    data = bytearray(vectors.read_bytes())
    data[-8:] = b"\x00" * 8  # one number, same size: only a hash sees it
    vectors.write_bytes(bytes(data))
    status, out, err = cli(capsys, "index", "--check", "--json", "--index", str(index))
    report = json.loads(out)
    assert status == 1 and not report["ok"] and report["serving"] == gens.previous
    assert report["problems"][gens.live] == f"{vectors}: its content differs from the SHA-256 in the manifest " \
                                            "(garbled or replaced)"


# Sweeping ---------------------------------------------------------------------------------

def test_writes_keep_the_live_and_previous_generation_only(gens, settings_base, embedder, tmp_path):
    index = gens.copy(tmp_path / "w")
    settings = settings_base.replace(corpus_dir=tmp_path / "w" / "corpus", index_dir=index)
    from qa import update_index
    (settings.corpus_dir / "merics-china-industries-2025-02-07.md").unlink()
    third = update_index(settings, embedder).generation
    assert generations(index) == [third, gens.live]  # the oldest went
    (index / ".CURRENT.deadbeef").write_text("x")
    (index / f"{third[:-6]}ffffff.tmp").mkdir()
    report = update_index(settings, embedder)  # nothing to do, but the litter goes
    assert report.generation == third and not report.changed
    assert generations(index) == [third, gens.live]
    assert sorted(p.name for p in index.iterdir()) == sorted([".lock", "CURRENT", "models", third, gens.live])


# Uploads: corpus and index together ---------------------------------------------------------

def _march_upload() -> bytes:
    text = (DATA / "january-issue-year-wrap.md").read_text(encoding="utf-8")
    return redate(text, "MARCH 7, 2025 (REPORTING PERIOD: FEBRUARY 4 - MARCH 3)").encode()


def test_upload_while_the_live_manifest_is_damaged(gens, settings_base, embedder, tmp_path):
    index = gens.copy(tmp_path / "w")
    settings = settings_base.replace(corpus_dir=tmp_path / "w" / "corpus", index_dir=index)
    (index / gens.live / "manifest.json").write_text("{")
    qa = Assistant(settings, embedder=embedder)
    assert "manifest.json: is not valid JSON" in qa.index_warning
    report = qa.add_issue(_march_upload(), "march.md")
    # Reported against the generation it was built from (the previous one, without February).
    assert report.added == ["2025-02-07", "2025-03-07"] and "manifest.json" in report.repaired
    assert qa.index_warning == "" and qa.snapshot.dates == ["2025-01-10", "2025-02-07", "2025-03-07"]
    assert (settings.corpus_dir / "merics-china-industries-2025-03-07.md").read_bytes() == _march_upload()
    assert check_index(index).ok


def test_upload_that_fails_to_index_leaves_the_corpus_as_it_was(gens, settings_base, embedder, tmp_path,
                                                                monkeypatch):
    index = gens.copy(tmp_path / "w")
    corpus = tmp_path / "w" / "corpus"
    settings = settings_base.replace(corpus_dir=corpus, index_dir=index)
    before = {p.name: p.read_bytes() for p in corpus.iterdir()}
    live = current_generation(index)
    qa = Assistant(settings, embedder=embedder)

    def broken(texts, progress=None):
        raise MemoryError("the encoder ran out of memory")  # a failure after the file was saved

    monkeypatch.setattr(embedder, "embed", broken)
    with pytest.raises(MemoryError):
        qa.add_issue(_march_upload(), "march.md")
    assert {p.name: p.read_bytes() for p in corpus.iterdir()} == before
    assert current_generation(index) == live and check_index(index).ok
    # Replacing an issue kept under another file name: the old file comes back too.
    (corpus / "merics-china-industries-2025-02-07.md").rename(corpus / "february.md")
    before = {p.name: p.read_bytes() for p in corpus.iterdir()}
    changed = before["february.md"].replace(b"Certify 40", b"Certify 46")
    assert changed != before["february.md"]
    monkeypatch.undo()
    qa.update(rebuild=True)  # a rename alone is no change to `qa index`: the rebuild records the new name
    assert qa.snapshot.manifest.issues["2025-02-07"].source == "february.md"
    live = current_generation(index)
    monkeypatch.setattr(embedder, "embed", broken)
    with pytest.raises(MemoryError):
        qa.add_issue(changed, "feb.md", replace=True)
    assert {p.name: p.read_bytes() for p in corpus.iterdir()} == before
    assert current_generation(index) == live and check_index(index).ok
    monkeypatch.undo()
    report = qa.add_issue(changed, "feb.md", replace=True)
    assert report.updated == ["2025-02-07"]
    assert sorted(p.name for p in corpus.iterdir()) == ["merics-china-industries-2025-01-10.md",
                                                        "merics-china-industries-2025-02-07.md"]


def test_upload_refused_by_the_indexer_is_taken_back(gens, settings_base, embedder, tmp_path):
    """A file of the same date put in the corpus by hand (not indexed yet) sorts first, so the
    indexer refuses the upload as a duplicate: the upload is taken out of the corpus again."""
    index = gens.copy(tmp_path / "w")
    corpus = tmp_path / "w" / "corpus"
    settings = settings_base.replace(corpus_dir=corpus, index_dir=index)
    (corpus / "aaa-copy.md").write_bytes(_march_upload())
    before = {p.name: p.read_bytes() for p in corpus.iterdir()}
    qa = Assistant(settings, embedder=embedder)
    upload = _march_upload().replace(b"Certify 40", b"Certify 41")
    assert qa.preview(upload, "march.md").status == "new"
    with pytest.raises(IssueError, match="already in the corpus as aaa-copy.md"):
        qa.add_issue(upload, "march.md")
    assert {p.name: p.read_bytes() for p in corpus.iterdir()} == before
    # The index follows the corpus: the hand-placed file is indexed, the upload is not.
    snap = load_snapshot(index)
    assert check_index(index).ok and snap.manifest.issues["2025-03-07"].source == "aaa-copy.md"


def test_vectors_of_a_damaged_generation_are_not_reused(gens, settings_base, embedder, tmp_path):
    """Garbled vectors of the same size pass a size check; the writer hashes, so they are not copied."""
    index = gens.copy(tmp_path / "w", keep_previous=False)
    settings = settings_base.replace(corpus_dir=tmp_path / "w" / "corpus", index_dir=index)
    vectors = index / gens.live / "vectors.npy"
    data = bytearray(vectors.read_bytes())
    data[200:400] = bytes(200)
    vectors.write_bytes(bytes(data))
    from qa import update_index
    report = update_index(settings, embedder)
    assert report.rebuilt == "no generation of the index verifies" and "vectors.npy" in report.repaired
    assert report.chunks_embedded == report.chunks_total == 6
    snap = load_snapshot(index)
    assert np.allclose(np.linalg.norm(snap.vectors, axis=1), 1.0, atol=1e-4)


# Real processes ------------------------------------------------------------------------------

def _tree(root) -> dict[str, tuple]:
    return {p.relative_to(root).as_posix(): (p.is_dir(), None if p.is_dir() else (p.stat().st_size, p.stat().st_mtime_ns))
            for p in root.rglob("*")}


def test_real_processes_write_nothing_outside_corpus_and_index(gens, tmp_path):
    """`qa` run from a folder with its default ./corpus and ./index, HOME and TMPDIR inside the
    test's folder: after building, a damaged index, a rebuild and an answer, only index/ changed."""
    work, home, tmp = tmp_path / "work", tmp_path / "home", tmp_path / "tmp"
    shutil.copytree(gens.corpus, work / "corpus")
    home.mkdir()
    tmp.mkdir()
    env = qa_env(None, HOME=home, TMPDIR=tmp, OMP_NUM_THREADS=1)  # one torch thread: see one_torch_thread
    before = _tree(tmp_path)

    def qa(*args):
        return subprocess.run([QA, *args], cwd=work, env=env, capture_output=True, text=True, timeout=300)

    assert qa("index").returncode == 0
    live = current_generation(work / "index")
    manifest = work / "index" / live / "manifest.json"
    manifest.write_text(manifest.read_text()[:50])
    (work / "index" / ".lock").unlink()
    (work / "index" / ".lock").mkdir()
    done = qa("search", QUESTION)
    assert done.returncode == 1 and done.stdout == "", done
    assert done.stderr == (f"error: index/{live}/manifest.json: is not valid JSON (truncated or garbled); "
                           "run `qa index` to repair the index\n")
    done = qa("index", "--rebuild")
    assert done.returncode == 0 and "Full rebuild (asked for)" in done.stdout, done.stderr[-1000:]
    done = qa("ask", QUESTION)
    assert done.returncode == 0 and "sandbox operators [1]" in done.stdout and done.stderr == ""

    after = _tree(tmp_path)
    changed = sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))
    assert changed and all(p == "work/index" or p.startswith("work/index/") for p in changed), changed
