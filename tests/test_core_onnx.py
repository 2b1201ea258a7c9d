"""The torch-free query path: the ONNX export, its vectors against torch's, what a question imports.

Everything runs the real bundled model: exported by torch into a real index folder, run by
ONNX Runtime, compared with sentence-transformers on torch. Import checks run `qa` and the
Python API in fresh subprocesses and read `sys.modules` (or the server's memory map) afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core_helpers import ENERGY_BULLET, ENERGY_Q, QUESTIONS, ROOT, issue_file, qa_env, run_qa
from qa import Assistant, update_index
from qa.embed import model_folder
from qa.evaluate import evaluate, load_questions, summarize
from qa.onnx_embed import ExportError, OnnxEmbedder, find_export, models_dir, pool
from qa.onnx_export import ensure_export, model_digest, read_pipeline
from qa.store import load_snapshot, peek_manifest

HEAVY = ("torch", "sentence_transformers", "transformers", "gradio", "faiss", "onnxruntime")
# Runs the `qa` command in this interpreter, then reports which heavy packages it imported.
PROBE = """
import sys
from ui.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as e:
    code = e.code
print("IMPORTED", *sorted(m for m in %r if m in sys.modules), file=sys.stderr)
sys.exit(code)
""" % (HEAVY,)
ODD_TEXTS = ["", " ", "  padded  ", "Ünïcödé naïve café", "中国制造 2025 新能源", "emoji 🚀🔋 storage",
             "tab\tnew\nline\r\n", "\x00\x01control\x7f", "a" * 3000, "word " * 600,
             "What are the new energy storage targets for 2027? " * 200]


def imported(args: list[str], settings=None) -> tuple[subprocess.CompletedProcess, set[str]]:
    p = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=300,
                       cwd=ROOT, env=qa_env(settings))
    line = next((ln for ln in p.stderr.splitlines() if ln.startswith("IMPORTED")), None)
    assert line is not None, p.stderr
    return p, set(line.split()[1:])


# The vectors ---------------------------------------------------------------------------------

def test_onnx_vectors_match_torch_on_every_chunk(built_index, embedder, torch_embedder):
    assert embedder.backend == "onnx" and torch_embedder.backend == "torch"
    assert embedder.name == torch_embedder.name and embedder.dim == torch_embedder.dim == 384
    assert embedder.max_tokens == torch_embedder.max_tokens == 256
    snap = load_snapshot(built_index)
    texts = [c.embed_text for c in snap.chunks]
    assert len(texts) > 100
    onnx, ref = embedder.embed(texts), torch_embedder.embed(texts)
    assert onnx.dtype == np.float32 and onnx.shape == ref.shape
    assert np.allclose(np.linalg.norm(onnx, axis=1), 1.0, atol=1e-5)
    cosine = np.sum(onnx * ref, axis=1)
    assert cosine.min() >= 0.9999, (cosine.min(), texts[int(cosine.argmin())][:80])
    # The index was built by ONNX: its stored rows are the same vectors.
    assert np.sum(snap.vectors * ref, axis=1).min() >= 0.9999


def test_batches_and_truncation_do_not_change_a_vector(embedder, torch_embedder):
    """Padding inside a batch and truncation at 256 word pieces behave as in sentence-transformers."""
    alone = np.vstack([embedder.embed([t]) for t in ODD_TEXTS])
    batched = embedder.embed(ODD_TEXTS)
    assert np.sum(alone * batched, axis=1).min() >= 0.9999
    assert np.sum(batched * torch_embedder.embed(ODD_TEXTS), axis=1).min() >= 0.9999
    long = "The plan sets targets for new energy storage. " * 100
    assert embedder.count_tokens(long) > 256
    cut = embedder.embed([long, long + " Anything past the limit is not read."])
    assert float(cut[0] @ cut[1]) > 0.99999


def test_token_counts_agree_with_torch(built_index, embedder, torch_embedder):
    texts = [c.embed_text for c in load_snapshot(built_index).chunks] + ODD_TEXTS
    counts = [embedder.count_tokens(t) for t in texts]
    assert counts == [torch_embedder.count_tokens(t) for t in texts]
    assert embedder.count_tokens("") == 2  # [CLS] [SEP]
    assert max(counts) > 256  # counting does not truncate


def test_pooling_modes_on_a_hand_made_batch():
    tokens = np.array([[[1.0, 2.0], [3.0, 4.0], [9.0, 9.0]],
                       [[5.0, -1.0], [0.0, 0.0], [0.0, 0.0]]], dtype=np.float32)
    mask = np.array([[1, 1, 0], [1, 0, 0]], dtype=np.float32)  # third token of row 1 is padding
    assert pool(tokens, mask, ["mean"]).tolist() == [[2.0, 3.0], [5.0, -1.0]]
    assert pool(tokens, mask, ["cls"]).tolist() == [[1.0, 2.0], [5.0, -1.0]]
    assert pool(tokens, mask, ["max"]).tolist() == [[3.0, 4.0], [5.0, -1.0]]
    assert np.allclose(pool(tokens, mask, ["mean_sqrt_len_tokens"]), [[4 / 2 ** 0.5, 6 / 2 ** 0.5], [5.0, -1.0]])
    assert pool(tokens, mask, ["cls", "mean"]).shape == (2, 4)
    with pytest.raises(ExportError, match="lasttoken"):
        pool(tokens, mask, ["lasttoken"])


def test_pipeline_is_read_from_the_model_folder(tmp_path, settings_base):
    assert read_pipeline(model_folder(settings_base)) == (["mean"], 256)
    dense = tmp_path / "dense-model"
    dense.mkdir()
    (dense / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"}]))
    with pytest.raises(ExportError, match="Dense"):
        read_pipeline(dense)
    with pytest.raises(ExportError, match="Dense"):
        ensure_export(tmp_path / "index", dense)
    assert not any((tmp_path / "index" / "models").iterdir())  # the failed export left nothing behind


# The export on disk --------------------------------------------------------------------------

def test_export_is_keyed_by_the_model_files_and_recorded(built_index, settings_base, embedder):
    folder = model_folder(settings_base)
    export = find_export(built_index, folder)
    assert export == models_dir(built_index) / model_digest(folder)[:16] == embedder.folder
    meta = json.loads((export / "export.json").read_text())
    assert meta["pooling"] == ["mean"] and meta["max_seq_length"] == 256 and meta["dim"] == 384
    assert sorted(p.name for p in export.iterdir()) == ["export.json", "model.onnx", "model.onnx.data", "tokenizer.json"]
    assert peek_manifest(built_index).backend == "onnx"
    assert not any(p.name.startswith(".") for p in models_dir(built_index).iterdir())  # no temp folders left


def test_reinstalled_model_reuses_the_export(tmp_path, settings_base, built_index):
    """Same files with new times (a reinstalled package): found again by content, not re-exported."""
    model = tmp_path / "model"
    shutil.copytree(model_folder(settings_base), model, copy_function=shutil.copy)  # new file times
    index = tmp_path / "index"
    shutil.copytree(models_dir(built_index), models_dir(index))
    assert find_export(index, model) is None  # other file times: the cheap fingerprint misses
    export, made = ensure_export(index, model)
    assert not made and export.name == model_digest(model)[:16]
    assert find_export(index, model) == export
    (model / "README.md").write_text("edited\n")
    assert model_digest(model) != model_digest(model_folder(settings_base))  # other content, other key


def test_missing_export_falls_back_to_torch_with_one_warning_then_qa_index_makes_it(workspace):
    shutil.rmtree(models_dir(workspace.index_dir))
    p, mods = imported(["ask", ENERGY_Q], workspace)
    assert p.returncode == 0, p.stderr
    assert ENERGY_BULLET in p.stdout
    warnings = [ln for ln in p.stderr.splitlines() if ln.startswith("warning")]
    assert len(warnings) == 1 and "has no ONNX export" in warnings[0] and "`qa index`" in warnings[0], p.stderr
    assert str(models_dir(workspace.index_dir)) in warnings[0]
    assert "torch" in mods

    out = run_qa(["index", "--json"], workspace)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["chunks_embedded"] == 0 and report["rebuilt"] == ""  # the vectors were kept
    assert report["exported"] and Path(report["exported"]).parent == models_dir(workspace.index_dir)
    assert "Made the ONNX export" in report["summary"]

    p, mods = imported(["ask", ENERGY_Q], workspace)
    assert p.returncode == 0 and ENERGY_BULLET in p.stdout
    assert "warning" not in p.stderr and "torch" not in mods and "onnxruntime" in mods


@pytest.mark.parametrize("damage", ["truncate", "garble-graph", "garble-weights"])
def test_damaged_export_is_never_used_silently_and_qa_index_remakes_it(workspace, damage):
    export = find_export(workspace.index_dir, model_folder(workspace))
    target = {"truncate": "model.onnx.data", "garble-graph": "model.onnx", "garble-weights": "model.onnx.data"}[damage]
    path = export / target
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        data = data[:len(data) // 2]
    else:
        data[100:4100] = bytes(range(250)) * 16  # same size: only a hash sees it
    path.write_bytes(bytes(data))
    if damage != "garble-weights":
        # Sizes and the graph are checked on every load: a question says so and still answers.
        p = run_qa(["ask", ENERGY_Q], workspace)
        assert p.returncode == 0 and ENERGY_BULLET in p.stdout
        [warning] = [ln for ln in p.stderr.splitlines() if ln.strip()]
        assert warning.startswith("warning: ") and "`qa index`" in warning and "Traceback" not in p.stderr
    # `qa index` hashes every file of the export, so even garbled weights of the right size are remade;
    # it also sweeps what a killed export left behind.
    litter = models_dir(workspace.index_dir) / ".0123456789abcdef-dead00.tmp"
    litter.mkdir()
    out = run_qa(["index", "--json"], workspace)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["exported"] == str(export)
    assert sorted(p.name for p in models_dir(workspace.index_dir).iterdir()) == [export.name]
    assert OnnxEmbedder(export, "check").count_tokens("ok") == 3
    p = run_qa(["ask", ENERGY_Q], workspace)
    assert p.returncode == 0 and ENERGY_BULLET in p.stdout and not p.stderr.strip()


# Backends are interchangeable ------------------------------------------------------------------

def test_switching_backend_keeps_every_vector(workspace, torch_embedder, embedder):
    assert peek_manifest(workspace.index_dir).backend == "onnx"
    report = update_index(workspace, torch_embedder)
    assert report.rebuilt == "" and report.chunks_embedded == 0
    (Path(workspace.corpus_dir) / issue_file("2022-10-05").name).unlink()
    report = update_index(workspace, torch_embedder)
    assert report.rebuilt == "" and report.removed == ["2022-10-05"] and report.chunks_embedded == 0
    assert peek_manifest(workspace.index_dir).backend == "torch"
    shutil.copy(issue_file("2022-10-05"), workspace.corpus_dir)
    report = update_index(workspace, embedder)
    assert report.rebuilt == "" and report.added == ["2022-10-05"] and report.chunks_embedded > 0
    assert peek_manifest(workspace.index_dir).backend == "onnx"


def test_eval_figures_and_answers_are_identical_with_either_backend(assistant, settings_base, torch_embedder):
    questions = load_questions(QUESTIONS, "all")
    by_onnx = evaluate(assistant, questions)
    by_torch = evaluate(Assistant(settings_base, embedder=torch_embedder), questions)
    assert summarize(by_onnx) == summarize(by_torch)
    assert [(o.id, o.found_at, o.top, o.answer, o.abstained) for o in by_onnx] == \
           [(o.id, o.found_at, o.top, o.answer, o.abstained) for o in by_torch]


def test_an_index_built_by_torch_answers_the_same_through_onnx(tmp_path, settings_base, built_index, assistant,
                                                                  embedder, torch_embedder):
    settings = settings_base.replace(index_dir=tmp_path / "index")
    shutil.copytree(models_dir(built_index), models_dir(settings.index_dir))
    assert update_index(settings, torch_embedder).chunks_embedded > 100
    assert peek_manifest(settings.index_dir).backend == "torch"
    questions = load_questions(QUESTIONS, "validation")
    assert summarize(evaluate(Assistant(settings, embedder=embedder), questions)) == \
           summarize(evaluate(assistant, questions))


# What a question imports ---------------------------------------------------------------------

@pytest.mark.parametrize("args", [["ask", ENERGY_Q], ["search", ENERGY_Q, "--json"],
                                  ["eval", str(QUESTIONS), "--limit", "3"]])
def test_a_question_never_imports_torch(built_index, settings_base, args):
    p, mods = imported(args, settings_base)
    assert p.returncode == 0, p.stderr
    assert ENERGY_BULLET in p.stdout or args[0] == "eval"
    assert "warning" not in p.stderr
    assert mods & {"torch", "sentence_transformers", "transformers", "gradio"} == set(), mods
    assert "onnxruntime" in mods  # the question was encoded, by ONNX Runtime


def test_the_python_api_never_imports_torch(built_index, settings_base):
    code = f"""
import sys
from qa import Assistant, Settings
a = Assistant(Settings.load(corpus_dir={str(settings_base.corpus_dir)!r}, index_dir={str(built_index)!r}))
assert {ENERGY_BULLET!r} in a.ask({ENERGY_Q!r}).text
assert a.search({ENERGY_Q!r}).hits
print(sorted(m for m in {HEAVY!r} if m in sys.modules))
"""
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT,
                       env=qa_env())
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "['faiss', 'onnxruntime']"


@pytest.mark.parametrize("args,allowed", [(["--help"], set()), (["issues"], {"faiss"}),
                                          (["parse", str(issue_file("2024-12-04"))], set())])
def test_commands_without_a_question_import_nothing_heavy(built_index, settings_base, args, allowed):
    p, mods = imported(args, settings_base)
    assert p.returncode == 0, p.stderr
    assert mods <= allowed, mods
