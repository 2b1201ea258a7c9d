"""Shared fixtures: the real bundled model, and a real index built once per test session.

Tests that change an index copy the session one into their own tmp folder first.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
QUESTIONS = ROOT / "bench" / "questions.jsonl"
ISSUES = sorted(CORPUS.glob("merics-china-industries-*.txt"))


@pytest.fixture(scope="session")
def settings_base(tmp_path_factory):
    from qa import Settings
    return Settings.load(corpus_dir=CORPUS, index_dir=tmp_path_factory.mktemp("index"))


@pytest.fixture(scope="session")
def built_index(settings_base):
    """Path of an index of the four shipped issues, built once, as `qa index` builds it: the
    ONNX export of the bundled model first (by torch), then every chunk embedded by ONNX Runtime."""
    from qa import update_index
    update_index(settings_base)
    return Path(settings_base.index_dir)


@pytest.fixture(scope="session")
def embedder(settings_base, built_index):
    """The default embedder, ONNX Runtime on the export the index holds."""
    from qa.embed import make_embedder
    return make_embedder(settings_base)


@pytest.fixture(scope="session")
def torch_embedder(settings_base):
    """sentence-transformers on torch: the reference the ONNX vectors are held to."""
    from qa.embed import make_embedder
    return make_embedder(settings_base.replace(embed_backend="torch"))


@pytest.fixture(scope="session")
def assistant(settings_base, embedder, built_index):
    from qa import Assistant
    return Assistant(settings_base, embedder=embedder)


@pytest.fixture
def workspace(tmp_path, settings_base, built_index):
    """A private corpus + index copy: Settings pointing at them."""
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(CORPUS, corpus)
    shutil.copytree(built_index, index)
    return settings_base.replace(corpus_dir=corpus, index_dir=index)


# The fast tier (`pytest -m "not slow"`): tests that need neither the real model, a built index,
# a server, a browser nor a subprocess. Everything else is marked slow here, in one place.
_REAL_PARTS = {"embedder", "built_index", "assistant", "workspace"}
_SLOW_MODULES = {"test_core_cli", "test_core_index", "test_core_quality", "test_core_retrieval", "test_core_store",
                 "test_fuzz_inputs", "test_index_corruption", "test_index_states", "test_pdf_issues",
                 "test_pdf_retrieval", "test_ui_api", "test_ui_browser", "test_ui_integrity", "test_ui_pdf_upload",
                 "test_ui_serve", "test_mcp", "test_llm"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1]
        if module in _SLOW_MODULES or module.startswith(("test_mcp", "test_llm")) or \
                _REAL_PARTS & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
