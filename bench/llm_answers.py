"""LLM answers on the question set, next to the extractive answers: for users with a real endpoint.

    QA_LLM_URL=http://localhost:11434/v1 QA_LLM_MODEL=llama3.1:8b .venv/bin/python bench/llm_answers.py
    ... bench/llm_answers.py --split validation --limit 50 --json

For each question the extractive answer comes first (as in the product); only the questions it
judges answered go to the model. Every sentence the model writes is checked (`qa.verify`):
  - cited: the sentence carries an [n] marker for a passage the model was given;
  - supported: every passage it cites supports it (the sentences that reach the answer);
  - answers by the model: at least one sentence survived; fallbacks say why not (nothing
    supported, or the endpoint failed);
  - cites a gold passage (`qa.evaluate`'s rule): a citation of the final answer is a gold passage.
The extractive answers' sentences go through the same check, for comparison. Runs on whatever
machine and model you have: the seconds per answer are that machine's, not a benchmark.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("questions", nargs="?", default=str(ROOT / "bench" / "questions.jsonl"))
    ap.add_argument("--split", default="all", choices=["all", "train", "validation"])
    ap.add_argument("--limit", type=int, help="only the first N questions")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    from qa import Assistant, Settings
    from qa.evaluate import load_questions, matches
    from qa.generate import LlmAnswerer
    from qa.schema import Outcome
    from qa.verify import check, gather, split_claims

    settings = Settings.load()
    if not settings.llm.url:
        print("error: set QA_LLM_URL and QA_LLM_MODEL to the endpoint to measure", file=sys.stderr)
        return 2
    questions = load_questions(Path(args.questions), None if args.split == "all" else args.split)[:args.limit]
    extractive = Assistant(settings.replace(**{"llm.url": ""}))
    checks = []
    llm = Assistant(settings, embedder=extractive.embedder,
                    answerer=LlmAnswerer(lambda: extractive.embedder, on_check=checks.append))

    def self_check(answer) -> list[tuple[bool, bool]]:
        """The extractive answer's own sentences through the same check: (cited, supported)."""
        passages = [gather(c.chunk, extractive.embedder.embed) for c in answer.citations]
        return [(bool(c.cited), check(c, passages, extractive.embedder.embed, settings.llm).supported)
                for c in split_claims(answer.text)]

    rows = []
    for q in questions:
        base = extractive.ask(q["question"], history=q.get("history"))
        row = {"id": q["id"], "outcome": base.outcome.value, "extractive": self_check(base),
               "extractive_gold": any(matches(c.chunk, g) for c in base.citations for g in q["gold"])}
        if base.outcome is Outcome.ANSWERED:
            checks.clear()
            start = time.perf_counter()
            answer = llm.ask(q["question"], history=q.get("history"))
            row.update(seconds=time.perf_counter() - start, backend=answer.backend, notes=list(answer.notes),
                       cited=[bool(c.claim.cited) and not c.why.endswith("was not given") for c in checks],
                       supported=[c.supported for c in checks], why=[c.why for c in checks if not c.supported],
                       llm_gold=any(matches(c.chunk, g) for c in answer.citations for g in q["gold"]),
                       failed=any("gave no answer" in n for n in answer.notes))
        rows.append(row)

    report = summarize(rows, settings.llm.model)
    if args.json:
        print(json.dumps({"report": report, "rows": rows}, ensure_ascii=False))
    else:
        print(f"{len(rows)} questions ({args.split}) from {args.questions}; model {settings.llm.model} at {settings.llm.url}\n")
        for label, key in (("questions answered (extractive verdict)", "answered"),
                           ("answers written by the model", "by_model"),
                           ("fallbacks: nothing supported", "nothing_supported"),
                           ("fallbacks: endpoint failed", "endpoint_failed"),
                           ("sentences (extractive / model)", "sentences"), ("cited", "cited"),
                           ("supported", "supported"), ("cites a gold passage", "cites_gold"),
                           ("seconds per model answer (median)", "seconds")):
            e, m = report["extractive"].get(key, ""), report["llm"].get(key, "")
            print(f"  {label:40s} {e!s:>10} {m!s:>10}")
        reasons = report["llm"]["unsupported_reasons"]
        if reasons:
            print("\nWhy model sentences were dropped: " + ", ".join(f"{k} ({v})" for k, v in reasons.items()))
    return 0


def summarize(rows: list[dict], model: str) -> dict:
    def rate(values: list[bool]):
        return round(sum(values) / len(values), 3) if values else None

    asked = [r for r in rows if "backend" in r]
    ext_sentences = [s for r in asked for s in r["extractive"]]
    llm_cited = [s for r in asked for s in r["cited"]]
    llm_supported = [s for r in asked for s in r["supported"]]
    reasons: dict[str, int] = {}
    for why in (w for r in asked for w in r["why"]):
        kind = ("no marker" if "no marker" in why else "a passage it was not given" if "was not given" in why else
                "similarity below the threshold" if why.startswith("similarity") else
                "a word, number or name not in the passage" if " not in " in why else why)
        reasons[kind] = reasons.get(kind, 0) + 1
    return {
        "extractive": {"answered": len(asked), "sentences": len(ext_sentences),
                       "cited": rate([c for c, _ in ext_sentences]), "supported": rate([s for _, s in ext_sentences]),
                       "cites_gold": rate([r["extractive_gold"] for r in asked])},
        "llm": {"model": model, "answered": len(asked),
                "by_model": sum(r["backend"] != "extractive" for r in asked),
                "nothing_supported": sum(r["backend"] == "extractive" and not r["failed"] for r in asked),
                "endpoint_failed": sum(r["failed"] for r in asked), "sentences": len(llm_supported),
                "cited": rate(llm_cited), "supported": rate(llm_supported),
                "cites_gold": rate([r["llm_gold"] for r in asked]),
                "seconds": round(statistics.median(r["seconds"] for r in asked), 2) if asked else None,
                "unsupported_reasons": reasons},
    }


if __name__ == "__main__":
    sys.exit(main())
