"""A deterministic stand-in for the embedding model, for the fast test tier only.

It implements the real `Embedder` interface (name, backend, dim, max_tokens, embed, count_tokens) with
a bag of hashed words, so texts that share words are similar, and it counts its calls. The
full suite uses the real bundled model everywhere; this exists so that parsing, chunking,
question reading, fusion, filters, answer choice and the index files can be tested in seconds.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np

from qa.lexical import tokenize


class FakeEmbedder:
    name = "fake bag of words"
    backend = "fake"  # what ran the model, recorded in the manifest as the real embedders' is
    dim = 64
    max_tokens = 256

    def __init__(self):
        self.calls: list[list[str]] = []

    def embed(self, texts, progress=None) -> np.ndarray:
        self.calls.append(list(texts))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for t in tokenize(text):
                h = int(hashlib.md5(t.encode()).hexdigest(), 16)
                out[i, h % self.dim] += 1.0 if (h >> 8) % 2 else -1.0
            norm = np.linalg.norm(out[i])
            out[i] = out[i] / norm if norm else out[i]
            out[i, 0] += 0.0 if norm else 1.0  # an empty text is a unit vector too
        if progress:
            progress(len(texts))
        return out

    def count_tokens(self, text: str) -> int:
        return len(re.findall(r"\w+|[^\w\s]", text)) + 2

    @property
    def texts_embedded(self) -> int:
        return sum(len(c) for c in self.calls)
