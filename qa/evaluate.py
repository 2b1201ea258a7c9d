"""`qa eval`: retrieval, answer and abstention metrics over a gold question set.

Question file, one JSON object per line:
    {"id", "question", "kind", "split"?, "history"?: [{"role", "content"}],
     "gold": [{"issue": "YYYY-MM-DD", "section": "<heading>", "facts": ["<verbatim phrase>"]}],
     "closest"?: {"issue", "section"}, "missing"?: "<what the archive lacks>"}
`gold: []` marks a question the archive does not answer; "closest" names its nearest section.

The gold rule, used by every metric here and by bench/: a hit matches a gold entry when it comes
from the gold issue and its text contains one of the entry's facts, both normalised by
`gold_form` (markup, links, quotes, dashes and white space; case is kept).

Leave-one-issue-out: a question belongs to the issues of its gold entries (or its closest
section). For each issue, the questions of the other issues choose among candidate settings
and the held-out issue's questions score the choice (`leave_one_out`).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .schema import Chunk, Outcome
from .text import normalize

KS = (1, 3, 5, 10)
_MARKERS = re.compile(r"\s*\[\d+\]")


def gold_form(text: str) -> str:
    """The one normalisation of the gold rule: markup, links, quotes, dashes, white space."""
    return normalize(text, fold_case=False)


@dataclass
class Scored:
    """One question as the system handled it, scored against its gold entries."""
    id: str
    kind: str
    question: str
    issues: tuple[str, ...]
    """The issues the question is about (gold issues, or the closest section's): its folds."""
    answerable: bool
    found_at: list[int | None]
    """Per gold entry, the 1-based rank of the first hit that matches it (None: not in the top 10)."""
    outcome: str
    contains: float = 0.0
    """Share of gold entries with a fact in the answer text itself (markers removed)."""
    cites_fact: bool = False
    """A cited passage matches a gold entry."""
    citations_in_gold: bool = False
    """Every cited passage is from a gold section."""
    answer: str = ""
    top: list[str] = field(default_factory=list)

    @property
    def abstained(self) -> bool:
        return self.outcome != Outcome.ANSWERED.value

    def recall(self, k: int) -> float:
        return sum(1 for r in self.found_at if r is not None and r <= k) / len(self.found_at)

    def rr(self) -> float:
        ranks = [r for r in self.found_at if r is not None]
        return 1.0 / min(ranks) if ranks else 0.0


def load_questions(path: Path, split: str | None = None) -> list[dict]:
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                q = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path.name} line {n}: not JSON ({e.msg})") from None
            missing = {"id", "question", "gold"} - set(q)
            if missing:
                raise ValueError(f"{path.name} line {n}: missing {', '.join(sorted(missing))}")
            if split in (None, "all") or q.get("split", "train") == split:
                out.append(q)
    return out


def question_issues(q: dict) -> tuple[str, ...]:
    issues = [g["issue"] for g in q["gold"]] or ([q["closest"]["issue"]] if q.get("closest") else [])
    return tuple(dict.fromkeys(issues))


def matches(chunk: Chunk, gold: dict) -> bool:
    if chunk.issue_date != gold["issue"]:
        return False
    text = gold_form(chunk.text)
    return any(gold_form(f) in text for f in gold["facts"])


def in_gold_section(chunk: Chunk, golds: list[dict]) -> bool:
    heading = normalize(re.sub(r"^\d+\.\s*", "", chunk.section_heading))
    return any(chunk.issue_date == g["issue"] and normalize(g["section"]) == heading for g in golds)


def score_question(q: dict, hits, answer) -> Scored:
    """Score one question from the hits of its search (top 10) and the answer composed from them."""
    golds = q["gold"]
    found = [next((h.rank for h in hits if matches(h.chunk, g)), None) for g in golds]
    said = gold_form(_MARKERS.sub("", answer.text))
    s = Scored(id=q["id"], kind=q.get("kind", "other"), question=q["question"], issues=question_issues(q),
               answerable=bool(golds), found_at=found or [None], outcome=answer.outcome.value,
               answer=answer.text, top=[h.chunk.id for h in hits[:5]])
    if golds and not answer.abstained:
        s.contains = sum(any(gold_form(f) in said for f in g["facts"]) for g in golds) / len(golds)
        s.cites_fact = any(matches(c.chunk, g) for c in answer.citations for g in golds)
        s.citations_in_gold = all(in_gold_section(c.chunk, golds) for c in answer.citations)
    return s


def evaluate(assistant, questions: list[dict]) -> list[Scored]:
    """Run every question through search (top 10) and the answerer, with its chat history."""
    out = []
    for q in questions:
        result = assistant.search(q["question"], k=10, history=q.get("history"))
        answer = assistant.compose(result)
        out.append(score_question(q, result.hits, answer))
    return out


class RememberingEmbedder:
    """Encodes each text once, however often it is asked: the settings of a grid all ask the same
    questions, and indexes that share issues (bench/: peer pipelines, an index with one issue
    more) share their passages' texts."""

    def __init__(self, inner):
        self.inner, self.memo = inner, {}

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def embed(self, texts, progress=None):
        import numpy as np
        new = list(dict.fromkeys(t for t in texts if t not in self.memo))
        if new:
            self.memo.update(zip(new, self.inner.embed(new, progress)))
        if progress and len(texts) > len(new):
            progress(len(texts) - len(new))
        return np.array([self.memo[t] for t in texts], dtype=np.float32).reshape(len(texts), self.inner.dim)


def settings_grid(specs: list[str]) -> list[tuple[str, dict]]:
    """["search.bm25_weight=0.4,0.7", "answer.words=0.5,0.8"] -> ("default", {}) first, then every
    combination of the values (their cartesian product), each named by its changes. Dotted names
    reach a group of settings (`Settings.replace`). `leave_one_out` gives ties to the earlier run,
    so a changed setting is chosen only when it does better than what ships."""
    import itertools
    axes = []
    for spec in specs:
        key, _, values = spec.partition("=")
        if not key.strip() or not values.strip():
            raise ValueError(f"--grid {spec!r}: expected NAME=VALUE[,VALUE...]")
        axes.append([(key.strip(), v.strip()) for v in values.split(",")])
    runs = [("default", {})]
    for combo in itertools.product(*axes) if axes else []:
        runs.append((" ".join(f"{k}={v}" for k, v in combo), dict(combo)))
    return runs


def evaluate_grid(base, grid: list[tuple[str, dict]], questions: list[dict]) -> dict[str, list[Scored]]:
    """Every setting of `grid` (`settings_grid`) on the same questions: one Assistant per setting
    over `base`'s index and answerer, all sharing one embedder that encodes each question once."""
    from .assistant import Assistant
    embedder = base.embedder
    if len(grid) > 1 and not isinstance(embedder, RememberingEmbedder):
        embedder = RememberingEmbedder(embedder)
    return {name: evaluate(Assistant(base.settings.replace(**changes), embedder=embedder, answerer=base.answerer),
                           questions)
            for name, changes in grid}


def summarize_block(group: list[Scored]) -> dict:
    ans = [o for o in group if o.answerable]
    una = [o for o in group if not o.answerable]
    answered = [o for o in ans if not o.abstained]
    d: dict = {"questions": len(group), "answerable": len(ans)}
    if ans:
        for k in KS:
            d[f"recall@{k}"] = sum(o.recall(k) for o in ans) / len(ans)
        d["mrr@10"] = sum(o.rr() for o in ans) / len(ans)
        d["answer_contains"] = sum(o.contains for o in ans) / len(ans)
        d["answer_has_fact"] = sum(o.cites_fact for o in ans) / len(ans)
        d["citation_precision"] = (sum(o.citations_in_gold for o in answered) / len(answered)) if answered else 0.0
        d["wrongly_declined"] = sum(o.abstained for o in ans) / len(ans)
    if una:
        d["unanswerable"] = len(una)
        d["declined_unanswerable"] = sum(o.abstained for o in una) / len(una)
        d["not_found_unanswerable"] = sum(o.outcome == Outcome.NOT_FOUND.value for o in una) / len(una)
    return d


def summarize(outcomes: list[Scored]) -> dict:
    kinds = defaultdict(list)
    for o in outcomes:
        kinds[o.kind].append(o)
    return {"overall": summarize_block(outcomes), "by_kind": {k: summarize_block(v) for k, v in sorted(kinds.items())}}


def objective(block: dict) -> float:
    """One number to choose settings by, weighting what an analyst cannot forgive.

    Ranking (MRR), answers that contain the answer, citations from the right section, and
    unanswerable questions declined count equally; an answerable question wrongly declined costs
    twice what it would gain, because a near miss shown for an answerable question still hides a
    correct answer behind a warning."""
    return (block.get("mrr@10", 0.0) + block.get("answer_contains", 0.0) + block.get("citation_precision", 0.0)
            + block.get("declined_unanswerable", 0.0) - 2 * block.get("wrongly_declined", 0.0))


def folds(outcomes: list[Scored]) -> list[str]:
    return sorted({i for o in outcomes for i in o.issues})


def leave_one_out(runs: dict[str, list[Scored]], choose: Callable[[dict], float] = objective) -> dict:
    """For each held-out issue, pick the run (a named setting) that scores best on the other
    issues' questions, and report how the pick does on the held-out issue's questions.

    `runs`: setting name -> scored questions (the same questions in every run). With one run
    this is simply the per-issue breakdown. Returns {"folds": [...], "held_out": block of all
    held-out questions pooled, "in_sample": block of the run chosen on all questions}."""
    names = list(runs)
    first = runs[names[0]]
    out = {"folds": []}
    pooled: list[Scored] = []
    for held in folds(first):
        train_idx = [i for i, o in enumerate(first) if held not in o.issues]
        test_idx = [i for i, o in enumerate(first) if held in o.issues]
        pick = max(names, key=lambda n: (choose(summarize_block([runs[n][i] for i in train_idx])), -names.index(n)))
        test = [runs[pick][i] for i in test_idx]
        pooled += test
        out["folds"].append({"held_out": held, "chosen": pick, "train_questions": len(train_idx),
                             "test": summarize_block(test)})
    best = max(names, key=lambda n: (choose(summarize_block(runs[n])), -names.index(n)))
    out["held_out"] = summarize_block(pooled)
    out["in_sample"] = {"chosen": best, **summarize_block(runs[best])}
    return out


def failures(outcomes: list[Scored]) -> list[dict]:
    out = []
    for o in outcomes:
        why = []
        if o.answerable:
            if o.recall(5) < 1:
                why.append("gold not in top 5" if o.recall(5) == 0 else "a gold entry missing from top 5")
            if o.abstained:
                why.append(f"wrongly declined ({o.outcome})")
            elif o.contains < 1:
                why.append("answer lacks the gold fact" + ("" if o.cites_fact else ", cites none"))
        elif not o.abstained:
            why.append("answered an unanswerable question")
        if why:
            out.append({"id": o.id, "kind": o.kind, "question": o.question, "why": why, "top": o.top,
                        "answer": o.answer[:300]})
    return out


COLUMNS = [("questions", "n"), ("recall@1", "R@1"), ("recall@5", "R@5"), ("recall@10", "R@10"),
           ("mrr@10", "MRR"), ("answer_contains", "ans.has"), ("citation_precision", "cit.prec"),
           ("wrongly_declined", "wrong.decl"), ("declined_unanswerable", "unans.decl"),
           ("not_found_unanswerable", "unans.nf")]


def format_table(summary: dict) -> str:
    rows = [("overall", summary["overall"])] + list(summary["by_kind"].items())
    return format_rows(rows)


def format_rows(rows: list[tuple[str, dict]]) -> str:
    head = f"{'':<14}" + "".join(f"{label:>11}" for _, label in COLUMNS)
    lines = [head, "-" * len(head)]
    for name, d in rows:
        cells = []
        for key, _ in COLUMNS:
            v = d.get(key)
            cells.append(f"{'':>11}" if v is None else f"{v:>11d}" if isinstance(v, int) else f"{v:>11.3f}")
        lines.append(f"{name:<14}" + "".join(cells))
    return "\n".join(lines)


def format_leave_one_out(loo: dict) -> str:
    rows = [(f"{f['held_out']}", f["test"]) for f in loo["folds"]]
    rows += [("held-out all", loo["held_out"]), ("in-sample", loo["in_sample"])]
    text = format_rows(rows)
    chosen = {f["held_out"]: f["chosen"] for f in loo["folds"]}
    if len(set(chosen.values()) | {loo["in_sample"]["chosen"]}) > 1 or len(chosen) and loo["in_sample"]["chosen"] != "default":
        text += "\nchosen on the other issues: " + ", ".join(f"{k} -> {v}" for k, v in chosen.items())
        text += f"; on all issues: {loo['in_sample']['chosen']}"
    return text
