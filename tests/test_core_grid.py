"""Settings grids (`qa eval --grid`, bench/quality.py): the grid's runs, and the embedder that
encodes each text once across them (a malformed grid on the command line: test_core_cli.py)."""

from __future__ import annotations

import numpy as np
import pytest

from core_helpers import QUESTIONS
from qa.evaluate import RememberingEmbedder, evaluate_grid, load_questions, settings_grid


class CountingEmbedder:
    """The real embedder, with every text it is asked to encode written down."""

    def __init__(self, inner):
        self.inner, self.seen = inner, []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def embed(self, texts, progress=None):
        self.seen += list(texts)
        return self.inner.embed(texts, progress)


def test_a_grid_is_the_default_then_every_combination_named_by_its_changes():
    grid = settings_grid(["search.per_section=3,10", "answer.words=0.5,0.8"])
    assert grid == [("default", {}),
                    ("search.per_section=3 answer.words=0.5", {"search.per_section": "3", "answer.words": "0.5"}),
                    ("search.per_section=3 answer.words=0.8", {"search.per_section": "3", "answer.words": "0.8"}),
                    ("search.per_section=10 answer.words=0.5", {"search.per_section": "10", "answer.words": "0.5"}),
                    ("search.per_section=10 answer.words=0.8", {"search.per_section": "10", "answer.words": "0.8"})]
    assert settings_grid([]) == [("default", {})]


@pytest.mark.parametrize("spec", ["search.per_section", "search.per_section=", "=3,10"])
def test_a_malformed_grid_is_refused_naming_it(spec):
    with pytest.raises(ValueError, match=f"--grid '{spec}': expected NAME=VALUE"):
        settings_grid([spec])


def test_the_remembering_embedder_encodes_each_text_once_and_returns_the_same_vectors(embedder):
    counting = CountingEmbedder(embedder)
    memo = RememberingEmbedder(counting)
    first = memo.embed(["solar", "wind", "solar"])
    second = memo.embed(["wind", "hydrogen"])
    assert counting.seen == ["solar", "wind", "hydrogen"]
    assert first.shape == (3, embedder.dim) and first.dtype == np.float32
    np.testing.assert_allclose(first[0], first[2])
    np.testing.assert_allclose(second, embedder.embed(["wind", "hydrogen"]), atol=1e-5)
    assert memo.embed([]).shape == (0, embedder.dim)
    assert memo.name == embedder.name and memo.count_tokens("solar power") == embedder.count_tokens("solar power")


def test_a_grid_asks_the_model_once_per_question_and_its_default_is_the_shipped_settings(assistant, embedder):
    from qa import Assistant
    questions = [q for q in load_questions(QUESTIONS) if not q.get("history")][:6]
    counting = CountingEmbedder(embedder)
    base = Assistant(assistant.settings, embedder=counting)
    shipped = assistant.settings.search.per_section
    runs = evaluate_grid(base, settings_grid([f"search.per_section=1,{shipped}"]), questions)
    assert list(runs) == ["default", "search.per_section=1", f"search.per_section={shipped}"]
    assert len(counting.seen) == len(set(counting.seen)) <= len(questions)
    same = [[(o.found_at, o.outcome, o.answer) for o in runs[name]] for name in ("default", f"search.per_section={shipped}")]
    assert same[0] == same[1]
    assert [o.id for o in runs["search.per_section=1"]] == [q["id"] for q in questions]
