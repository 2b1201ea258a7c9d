"""Settings are validated on load: a bad value is one line naming the variable and what it accepts."""

from __future__ import annotations

import dataclasses

import pytest

from qa.settings import Backend, Fusion, Settings, UnitDense


def test_groups_follow_the_stages():
    s = Settings()
    assert [f.name for f in dataclasses.fields(s) if dataclasses.is_dataclass(getattr(s, f.name))] == \
        ["index", "search", "answer", "llm", "limits"]
    assert (s.search.fusion, s.search.unit_dense, s.embed_backend) == (Fusion.SCORE, UnitDense.OFF, Backend.ONNX)


def test_environment_fills_groups_and_coerces_types(monkeypatch):
    monkeypatch.setenv("QA_SEARCH_FUSION", " RRF ")
    monkeypatch.setenv("QA_SEARCH_BM25_WEIGHT", "0.7")
    monkeypatch.setenv("QA_INDEX_EMBED_BATCH", "8")
    monkeypatch.setenv("QA_LIMITS_MAX_QUESTION_CHARS", "500")
    monkeypatch.setenv("QA_TODAY", "2025-01-31")
    s = Settings.load()
    assert s.search.fusion is Fusion.RRF and s.search.bm25_weight == 0.7 and s.index.embed_batch == 8
    assert s.limits.max_question_chars == 500 and s.today.isoformat() == "2025-01-31"
    assert s.search.k == 5  # untouched fields of a group keep their defaults


@pytest.mark.parametrize("var,value,message", [
    ("QA_SEARCH_FUSION", "rff", "QA_SEARCH_FUSION='rff': expected one of score, rrf"),
    ("QA_SEARCH_UNIT_DENSE", "min", "QA_SEARCH_UNIT_DENSE='min': expected one of off, max, mean"),
    ("QA_EMBED_BACKEND", "cuda", "QA_EMBED_BACKEND='cuda': expected one of onnx, torch"),
    ("QA_SEARCH_K", "five", "QA_SEARCH_K='five': expected a whole number"),
    ("QA_SEARCH_K", "0", "QA_SEARCH_K=0: must be above 0"),
    ("QA_SEARCH_BM25_WEIGHT", "-1", "QA_SEARCH_BM25_WEIGHT=-1.0: must be 0 or more"),
    ("QA_INDEX_CHUNK_TOKENS", "1000", "QA_INDEX_CHUNK_TOKENS=1000: must be 20-200"),
    ("QA_ANSWER_KEEP_RATIO", "1.5", "QA_ANSWER_KEEP_RATIO=1.5: must be between 0 and 1"),
    ("QA_LLM_TIMEOUT", "0", "QA_LLM_TIMEOUT=0.0: must be above 0"),
    ("QA_TODAY", "yesterday", "QA_TODAY='yesterday': expected a date, YYYY-MM-DD"),
])
def test_a_bad_value_names_its_variable(monkeypatch, var, value, message):
    monkeypatch.setenv(var, value)
    with pytest.raises(ValueError) as e:
        Settings.load()
    assert str(e.value).startswith(message)


def test_replace_by_group_path_validates_too():
    assert Settings().replace(**{"search.per_section": "3"}).search.per_section == 3
    with pytest.raises(ValueError, match="QA_SEARCH_PER_SECTION=0"):
        Settings().replace(**{"search.per_section": 0})


def test_an_unknown_name_lists_the_settings():
    with pytest.raises(ValueError, match=r"no setting 'bm25_weight': settings are .*search\.bm25_weight"):
        Settings().replace(bm25_weight=0.7)
