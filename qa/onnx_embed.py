"""The torch-free encoder: ONNX Runtime on an export of the model kept in `index/models/`.

A question is encoded by onnxruntime and the model's own tokenizer (the `tokenizers`
library), with the padding, truncation, pooling and normalisation the sentence-transformers
model applies. Nothing here imports torch or sentence-transformers, so a cold `qa ask`
spends its time answering, not loading a deep-learning framework. The export itself is
made once by `qa index` (see qa/onnx_export.py), which needs torch.

Layout of one export, `index/models/<first 16 hex of the model files' sha256>/`:

    model.onnx       the transformer: input ids/masks -> token embeddings (fp32)
    model.onnx.data  its weights
    tokenizer.json   the tokenizer exactly as sentence-transformers loaded it
    export.json      written last: what the runtime needs (EXPORT_FORMAT, pooling modes,
                     max_seq_length, padding, dim), each file's size and sha256, the
                     model files' sha256, and the cheap fingerprints (name, size, mtime)
                     that let a query find it without hashing 90 MB of weights
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .settings import Backend

# onnxruntime >= 1.29 sends usage telemetry to Microsoft from Linux as well, and keeps a device
# id under ~/.cache/Microsoft; this assistant is offline and writes nothing outside corpus/ and
# index/. Read once, when onnxruntime starts, so it is set before anything here imports it.
os.environ["ORT_DISABLE_TELEMETRY"] = "1"

EXPORT_FORMAT = 1
FILES = ("model.onnx", "model.onnx.data", "tokenizer.json")
MODELS = "models"
"""Folder of exports inside the index folder; not a generation, never swept with them."""


class ExportError(Exception):
    """An export is missing, damaged, or cannot be made for this model."""


def models_dir(index_dir: Path) -> Path:
    return Path(index_dir) / MODELS


def fingerprint(model_path: Path) -> str:
    """Hash of every model file's name, size and modification time: cheap (no file is read),
    and any change to the model folder changes it."""
    rows = [(str(p.relative_to(model_path)), st.st_size, st.st_mtime_ns)
            for p in sorted(Path(model_path).rglob("*")) if p.is_file() for st in [p.stat()]]
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()


def read_export(folder: Path) -> dict:
    """export.json of `folder`, checked against the files beside it (sizes only: cheap)."""
    try:
        meta = json.loads((folder / "export.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ExportError(f"{folder}/export.json is missing or unreadable ({e.__class__.__name__})") from None
    try:
        sizes = {name: meta["files"][name]["bytes"] for name in FILES} if meta["format"] == EXPORT_FORMAT else None
    except (KeyError, TypeError):
        sizes = None
    if sizes is None:
        raise ExportError(f"{folder}/export.json is not an export of format {EXPORT_FORMAT}")
    for name, size in sizes.items():
        if not (folder / name).is_file() or (folder / name).stat().st_size != size:
            raise ExportError(f"{folder / name} is missing or has the wrong size")
    return meta


def find_export(index_dir: Path, model_path: Path) -> Path | None:
    """The export of the model files at `model_path`, if `index_dir` holds a sound one."""
    root = models_dir(index_dir)
    if not root.is_dir():
        return None
    fp = fingerprint(model_path)
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        try:
            meta = read_export(folder)
        except ExportError:
            continue
        if fp in meta.get("fingerprints", []):
            return folder
    return None


class OnnxEmbedder:
    """`Embedder` on an export; vectors agree with the torch model's to cosine >= 0.9999."""

    backend = Backend.ONNX

    def __init__(self, folder: Path, name: str, batch_size: int = 32):
        import onnxruntime as ort
        from tokenizers import Tokenizer
        meta = read_export(Path(folder))
        self.name = name
        self.folder = Path(folder)
        self.dim = int(meta["dim"])
        self.max_tokens = int(meta["max_seq_length"])
        self.batch_size = batch_size
        self._pooling = tuple(meta["pooling"])
        self._inputs = tuple(meta["inputs"])
        options = ort.SessionOptions()
        options.log_severity_level = 3  # warnings about unused initialisers say nothing to a user
        try:
            self._session = ort.InferenceSession(str(self.folder / "model.onnx"), options,
                                                 providers=["CPUExecutionProvider"])
        except Exception as e:  # noqa: BLE001 - onnxruntime raises its own untyped errors
            code = re.search(r"\] : \d+ : (\w+)", str(e))  # "[ONNXRuntimeError] : 7 : INVALID_PROTOBUF : ..."
            raise ExportError(f"{self.folder}/model.onnx cannot be loaded by ONNX Runtime "
                              f"({code.group(1) if code else type(e).__name__})") from None
        tok = meta["tokenizer"]
        # Two tokenizers, each configured once: configuring is not thread-safe, encoding is.
        self._tokenizer = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
        self._tokenizer.enable_truncation(self.max_tokens, strategy="longest_first",
                                          direction=tok["truncation_side"])
        self._tokenizer.enable_padding(direction=tok["padding_side"], pad_id=tok["pad_id"],
                                       pad_type_id=tok["pad_type_id"], pad_token=tok["pad_token"])
        self._counter = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
        self._counter.no_truncation()
        self._counter.no_padding()

    def embed(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        # Longest first, as sentence-transformers batches: similar lengths pad less.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for start in range(0, len(texts), self.batch_size):
            rows = order[start:start + self.batch_size]
            out[rows] = self._encode([texts[i] for i in rows])
            if progress:
                progress(len(rows))
        return out

    def count_tokens(self, text: str) -> int:
        return len(self._counter.encode(text, add_special_tokens=True).ids)

    def _encode(self, texts: list[str]) -> np.ndarray:
        enc = self._tokenizer.encode_batch(texts, add_special_tokens=True)
        columns = {"input_ids": "ids", "attention_mask": "attention_mask", "token_type_ids": "type_ids"}
        feeds = {name: np.array([getattr(e, columns[name]) for e in enc], dtype=np.int64) for name in self._inputs}
        mask = np.array([e.attention_mask for e in enc], dtype=np.float32)
        tokens = self._session.run(None, feeds)[0]
        return normalize(pool(tokens, mask, self._pooling))


def pool(tokens: np.ndarray, mask: np.ndarray, modes: Sequence[str]) -> np.ndarray:
    """sentence-transformers' Pooling over (batch, seq, dim) token embeddings, modes
    concatenated in the order given (which is the order sentence-transformers uses)."""
    out = []
    m = mask[:, :, None]
    counts = np.clip(m.sum(axis=1), 1e-9, None)
    for mode in modes:
        if mode == "cls":
            out.append(tokens[np.arange(len(tokens)), mask.argmax(axis=1)])
        elif mode == "max":
            out.append(np.where(m > 0, tokens, -np.inf).max(axis=1))
        elif mode == "mean":
            out.append((tokens * m).sum(axis=1) / counts)
        elif mode == "mean_sqrt_len_tokens":
            out.append((tokens * m).sum(axis=1) / np.sqrt(counts))
        else:
            raise ExportError(f"pooling mode {mode!r} is not supported by the ONNX encoder")
    return np.concatenate(out, axis=1).astype(np.float32)


def normalize(v: np.ndarray) -> np.ndarray:
    """Rows to unit length, as torch.nn.functional.normalize (eps 1e-12)."""
    return (v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)).astype(np.float32)
