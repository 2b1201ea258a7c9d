"""Step "quality": this system in-sample and leave-one-issue-out (the shipped settings per issue, and
the tuning grid chosen on three issues and scored on the fourth), peer pipelines scored the same
way, and the held-out question sets (bench/heldout.jsonl, bench/unseen*/) when present.

Every figure comes from `qa.evaluate` (`evaluate`, `summarize`, `leave_one_out`, the gold rule
`matches`). One embedder that remembers what it encoded serves every setting, peer and index, so
each question and each passage text is encoded once in the step.
"""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

from benchlib import CORPUS, HELDOUT, ROOT, UNSEEN, NetworkGuard, log
from peers import build_pipelines, retrieval, score, token_stats

GRID = {"search.date_boost": ("0.3", "0.6"), "search.per_section": ("3", "10"), "search.bm25_weight": ("0.4", "0.7"),
        "search.unit_dense": ("off", "max"), "answer.words": ("0.5", "0.8"), "answer.keep_ratio": ("0.6", "0.75"),
        "answer.same_passage_ratio": ("0.55", "0.75")}
"""The knobs tuned while the answerer was built, each at its shipped value and the runner-up
(qa/settings.py gives each one's reasons). Their product, 128 settings, is the tuning procedure
that `leave_one_out` repeats without the held-out issue."""

UNSEEN_ISSUES = "merics-china-industries-*"


def run(assistant, embedder, questions: list[dict], work: Path, heldout: Path = HELDOUT,
        unseen: Path = UNSEEN) -> dict:
    from qa import Assistant
    from qa.evaluate import RememberingEmbedder, evaluate_grid, failures, leave_one_out, settings_grid, summarize
    guard = NetworkGuard()
    with guard.active():
        memo = RememberingEmbedder(embedder)
        base = Assistant(assistant.settings, embedder=memo, answerer=assistant.answerer)
        grid = settings_grid([f"{k}={','.join(v)}" for k, v in GRID.items()])
        log(f"quality: {len(questions)} questions under {len(grid)} settings (the shipped ones and a "
            f"{len(grid) - 1}-setting grid)")
        runs = evaluate_grid(base, grid, questions)
        shipped = runs["default"]
        tuning = leave_one_out(runs)
        log("quality: peer pipelines (chunking and embedding their chunks)")
        pipelines, li_info = build_pipelines(memo, CORPUS, base.snapshot)
        for p in pipelines:
            p.truncated, p.mean_tokens, p.max_tokens = token_stats(memo, p.chunks, p.texts)
        rows = peer_rows(pipelines, questions, shipped, tuning)
        log("quality: held-out question sets")
        held = heldout_set(base, pipelines, heldout)
        # bench/unseen, bench/unseen2, ...: each an issue never seen in development, with its questions.
        folders = [unseen, *sorted(p for p in unseen.parent.glob(unseen.name + "[0-9]*") if p.is_dir())]
        new_issues = {f.name: unseen_issue(base, f, work) for f in folders}

    peers = [r for r in rows if r["peer"]]
    return {
        "questions": _count(questions) | {"file": "bench/questions.jsonl"},
        "shipped": {"settings": {k: _value(base.settings, k) for k in GRID}, "summary": summarize(shipped),
                    "failures": failures(shipped)},
        "per_issue": leave_one_out({"shipped": shipped}),
        "tuning": {"grid": {k: list(v) for k, v in GRID.items()}, "settings": len(grid), **tuning,
                   "choices": _choices(base.settings, grid, tuning)},
        "rows": rows,
        "best_peer": {view: {m: max((r[view][m] for r in peers), default=None) for m in ("recall@5", "mrr@10")}
                      for view in ("in_sample", "held_out")},
        "heldout": held, "unseen": new_issues[unseen.name], "unseen_issues": new_issues,
        "llamaindex": li_info, "network_attempts": guard.attempts,
        "embedder": {"name": embedder.name, "max_tokens": embedder.max_tokens, "dim": embedder.dim},
    }


def peer_rows(pipelines, questions: list[dict], shipped, tuning: dict) -> list[dict]:
    """Each pipeline on all answerable questions and per held-out issue. Peers have no settings,
    so their per-issue rows are their leave-one-out view; this system's are the tuning grid's."""
    from qa.evaluate import leave_one_out, summarize
    out = []
    for p in pipelines:
        if p.retriever is None:
            summary = summarize(shipped)
            in_sample, loo = retrieval(summary["overall"]), tuning
        else:
            in_sample, outcomes = score(p.retriever.top, questions)
            summary, loo = summarize(outcomes), leave_one_out({p.key: outcomes})
        out.append(p.describe() | {
            "in_sample": in_sample, "held_out": retrieval(loo["held_out"]),
            "per_issue": {f["held_out"]: retrieval(f["test"]) for f in loo["folds"]},
            "recall5_by_kind": {k: v.get("recall@5") for k, v in summary["by_kind"].items()}})
    return out


def heldout_set(base, pipelines, path: Path) -> dict:
    """The locked question set over the shipped issues: this system's summary, the peers' retrieval.
    Only summaries are kept, no question's outcome, so nobody tunes against the set by reading them."""
    from qa.evaluate import evaluate, load_questions, summarize
    if not path.is_file():
        return {"present": False, "path": _shown(path)}
    questions = load_questions(path)
    log(f"quality: {len(questions)} held-out questions from {_shown(path)}")
    return {"present": True, "path": _shown(path), "questions": _count(questions),
            "summary": summarize(evaluate(base, questions)),
            "peers": {p.key: score(p.retriever.top, questions)[0] for p in pipelines if p.retriever}}


def unseen_issue(base, folder: Path, work: Path) -> dict:
    """An issue never seen in development, added to a copy of the index, and questions about it."""
    from qa import Assistant, update_index
    from qa.evaluate import evaluate, load_questions, summarize
    files = sorted(folder.glob(UNSEEN_ISSUES)) if folder.is_dir() else []
    qfile = folder / "questions.jsonl"
    if not files or not qfile.is_file():
        missing = [w for w, ok in ((f"an issue file {UNSEEN_ISSUES}", files), ("questions.jsonl", qfile.is_file()))
                   if not ok]
        return {"present": False, "path": _shown(folder), "missing": missing if folder.is_dir() else []}
    corpus, index = work / folder.name / "corpus", work / folder.name / "index"
    shutil.rmtree(work / folder.name, ignore_errors=True)
    shutil.copytree(base.settings.corpus_dir, corpus)
    shutil.copytree(base.settings.index_dir, index)
    for f in files:
        shutil.copy2(f, corpus / f.name)
    settings = base.settings.replace(corpus_dir=corpus, index_dir=index)
    log(f"quality: adding {', '.join(f.name for f in files)} to a copy of the index")
    report = update_index(settings, base.embedder)
    out = {"present": True, "path": _shown(folder), "issues": [f.name for f in files], "added": report.added,
           "refused": report.refused, "warnings": report.warnings}
    if report.refused or not report.added:
        return out
    assistant = Assistant(settings, embedder=base.embedder, answerer=base.answerer)
    questions = load_questions(qfile)
    log(f"quality: {len(questions)} questions about the unseen issue; peers over the five issues")
    pipelines, _ = build_pipelines(base.embedder, corpus, assistant.snapshot)
    return out | {"questions": _count(questions), "chunks": len(assistant.snapshot.chunks),
                  "summary": summarize(evaluate(assistant, questions)),
                  "peers": {p.key: score(p.retriever.top, questions)[0] for p in pipelines if p.retriever}}


def _choices(settings, grid: list[tuple[str, dict]], tuning: dict) -> dict:
    """How often the shipped settings were chosen ("default", or the grid entry equal to it), and
    for every choice made, how it differs from them."""
    changes = dict(grid)
    chosen = {f["chosen"] for f in tuning["folds"]} | {tuning["in_sample"]["chosen"]}
    differs = {name: {k: v for k, v in changes[name].items() if settings.replace(**{k: v}) != settings}
               for name in chosen}
    return {"shipped_in_folds": sum(not differs[f["chosen"]] for f in tuning["folds"]), "folds": len(tuning["folds"]),
            "shipped_on_all_issues": not differs[tuning["in_sample"]["chosen"]], "differs": differs}


def _value(settings, dotted: str):
    for name in dotted.split("."):
        settings = getattr(settings, name)
    return settings


def _count(questions: list[dict]) -> dict:
    answerable = sum(1 for q in questions if q["gold"])
    return {"total": len(questions), "answerable": answerable, "unanswerable": len(questions) - answerable,
            "kinds": dict(sorted(Counter(q.get("kind", "other") for q in questions).items()))}


def _shown(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)
