"""`qa eval`: retrieval, answer and abstention metrics over a gold question set.

Question file, one JSON object per line:
    {"id", "question", "kind", "split"?, "gold": [{"issue": "YYYY-MM-DD", "section": "<heading>",
                                                  "facts": ["<verbatim phrase>"]}]}
A gold entry is found by a hit from its issue whose text contains one of its facts, both
normalised (quotes, markdown, white space, case). `gold: []` marks an unanswerable question.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from .schema import Chunk
from .text import normalize

KS = (1, 3, 5, 10)


@dataclass
class Outcome:
    id: str
    kind: str
    question: str
    answerable: bool
    found_at: list[int | None]
    """Per gold entry, the 1-based rank of the first hit that matches it (None: not in the top 10)."""
    abstained: bool
    cites_fact: bool = False
    citations_in_gold: bool = False
    answer: str = ""
    top: list[str] = field(default_factory=list)

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


def matches(chunk: Chunk, gold: dict) -> bool:
    if chunk.issue_date != gold["issue"]:
        return False
    text = normalize(chunk.text)
    return any(normalize(f) in text for f in gold["facts"])


def in_gold_section(chunk: Chunk, golds: list[dict]) -> bool:
    heading = normalize(re.sub(r"^\d+\.\s*", "", chunk.section_heading))
    return any(chunk.issue_date == g["issue"] and normalize(g["section"]) == heading for g in golds)


def evaluate(assistant, questions: list[dict]) -> list[Outcome]:
    outcomes = []
    snap = assistant.snapshot
    for q in questions:
        result = assistant.search(q["question"], k=10)
        answer = assistant.answerer.compose(result, snap, assistant.settings)
        golds = q["gold"]
        found = []
        for g in golds:
            found.append(next((h.rank for h in result.hits if matches(h.chunk, g)), None))
        o = Outcome(id=q["id"], kind=q.get("kind", "other"), question=q["question"], answerable=bool(golds),
                    found_at=found or [None], abstained=answer.abstained, answer=answer.text,
                    top=[h.chunk.id for h in result.hits[:5]])
        if golds and not answer.abstained:
            o.cites_fact = any(matches(c.chunk, g) for c in answer.citations for g in golds)
            o.citations_in_gold = all(in_gold_section(c.chunk, golds) for c in answer.citations)
        outcomes.append(o)
    return outcomes


def summarize(outcomes: list[Outcome]) -> dict:
    def block(group: list[Outcome]) -> dict:
        ans = [o for o in group if o.answerable]
        una = [o for o in group if not o.answerable]
        answered = [o for o in ans if not o.abstained]
        d = {"questions": len(group), "answerable": len(ans)}
        if ans:
            for k in KS:
                d[f"recall@{k}"] = sum(o.recall(k) for o in ans) / len(ans)
            d["mrr@10"] = sum(o.rr() for o in ans) / len(ans)
            d["answer_has_fact"] = sum(o.cites_fact for o in ans) / len(ans)
            d["citation_precision"] = (sum(o.citations_in_gold for o in answered) / len(answered)) if answered else 0.0
            d["wrongly_declined"] = sum(o.abstained for o in ans) / len(ans)
        if una:
            d["declined_unanswerable"] = sum(o.abstained for o in una) / len(una)
        return d

    kinds = defaultdict(list)
    for o in outcomes:
        kinds[o.kind].append(o)
    return {"overall": block(outcomes), "by_kind": {k: block(v) for k, v in sorted(kinds.items())}}


def failures(outcomes: list[Outcome]) -> list[dict]:
    out = []
    for o in outcomes:
        why = []
        if o.answerable:
            if o.recall(5) < 1:
                why.append("gold not in top 5" if o.recall(5) == 0 else "a gold entry missing from top 5")
            if o.abstained:
                why.append("wrongly declined")
            elif not o.cites_fact:
                why.append("answer cites no gold fact")
        elif not o.abstained:
            why.append("answered an unanswerable question")
        if why:
            out.append({"id": o.id, "kind": o.kind, "question": o.question, "why": why, "top": o.top,
                        "answer": o.answer[:300]})
    return out


COLUMNS = [("questions", "n"), ("recall@1", "R@1"), ("recall@3", "R@3"), ("recall@5", "R@5"),
           ("recall@10", "R@10"), ("mrr@10", "MRR"), ("answer_has_fact", "ans.fact"),
           ("citation_precision", "cit.prec"), ("wrongly_declined", "wrong.decl"),
           ("declined_unanswerable", "unans.decl")]


def format_table(summary: dict) -> str:
    rows = [("overall", summary["overall"])] + list(summary["by_kind"].items())
    head = f"{'kind':<14}" + "".join(f"{label:>11}" for _, label in COLUMNS)
    lines = [head, "-" * len(head)]
    for name, d in rows:
        cells = []
        for key, _ in COLUMNS:
            v = d.get(key)
            cells.append(f"{'':>11}" if v is None else f"{v:>11d}" if isinstance(v, int) else f"{v:>11.3f}")
        lines.append(f"{name:<14}" + "".join(cells))
    return "\n".join(lines)
