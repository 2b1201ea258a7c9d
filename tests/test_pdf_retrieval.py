"""Retrieval with PDFs in the corpus instead of text files answers the question set as well.

Slow: two more indexes are built and the whole question set is run on each (about a minute).
"""

from __future__ import annotations

import shutil

from conftest import QUESTIONS
from pdf_helpers import HELDOUT, HELDOUT_QUESTIONS, heldout_pdf, shipped_pdfs, pdf_dir  # noqa: F401
from qa import Assistant, update_index
from qa.evaluate import evaluate, load_questions, summarize

TOLERANCE = 0.02


def _recall(settings, embedder, questions) -> dict:
    update_index(settings, embedder)
    return summarize(evaluate(Assistant(settings, embedder=embedder), questions))["overall"]


def test_pdf_corpus_recall_matches_the_text_corpus(tmp_path, settings_base, embedder, assistant, shipped_pdfs):
    questions = load_questions(QUESTIONS, "all")
    text = summarize(evaluate(assistant, questions))["overall"]
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for _, pdf in shipped_pdfs.values():
        shutil.copy(pdf, corpus / pdf.name)
    pdf = _recall(settings_base.replace(corpus_dir=corpus, index_dir=tmp_path / "index"), embedder, questions)
    print(f"\n{len(questions)} questions: Recall@5 text {text['recall@5']:.4f}, PDF {pdf['recall@5']:.4f}; "
          f"MRR@10 text {text['mrr@10']:.4f}, PDF {pdf['mrr@10']:.4f}")
    assert abs(pdf["recall@5"] - text["recall@5"]) <= TOLERANCE


def test_heldout_pdf_answers_its_questions_as_well_as_its_text(tmp_path, settings_base, built_index, embedder,
                                                               heldout_pdf):
    """The held-out issue added to the shipped corpus, once as text and once as the reportlab PDF."""
    questions = load_questions(HELDOUT_QUESTIONS)
    results = {}
    for name, source in (("text", HELDOUT), ("pdf", heldout_pdf)):
        corpus, index = tmp_path / name / "corpus", tmp_path / name / "index"
        shutil.copytree(settings_base.corpus_dir, corpus)
        shutil.copytree(built_index, index)
        shutil.copy(source, corpus / f"merics-china-industries-2025-06-04{source.suffix}")
        results[name] = _recall(settings_base.replace(corpus_dir=corpus, index_dir=index), embedder, questions)
    print(f"\nheld-out, {len(questions)} questions: Recall@5 text {results['text']['recall@5']:.4f}, "
          f"PDF {results['pdf']['recall@5']:.4f}")
    assert results["text"]["recall@5"] >= 0.8  # the questions are answerable from the issue at all
    assert abs(results["pdf"]["recall@5"] - results["text"]["recall@5"]) <= TOLERANCE
