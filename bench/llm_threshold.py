"""How strict the sentence check of LLM answers must be: `llm.min_similarity` and `llm.min_words`.

    .venv/bin/python bench/llm_threshold.py            # index in ./index (qa index first)
    .venv/bin/python bench/llm_threshold.py --json

Pairs (bench/llm_pairs.jsonl, written by hand from the four shipped issues before any of this ran):
  - faithful: 48 sentences as a model would write them, each restating one passage (issue, section,
    part) in other words, numbers and names kept. Paired with that passage, they must be kept.
  - wrong passage: the same sentences paired with each other passage that the search returns in
    its top 5 for the sentence's question (another part of the same article, another issue's
    plan): the realistic wrong [n]. They must be dropped.
  - distorted: 16 sentences that reverse what their own passage says with its own words
    ("no sign of overcapacity"). Reported, not used to choose: no word or similarity check can
    tell a negation, and the report says so.

For every (min_similarity, min_words) of a grid, the script runs the real `qa.verify.check` on
every pair. The setting is chosen as: accept no wrong-passage pair; then the strictest that keeps
95% of the faithful sentences (a dropped sentence costs a fallback to the quoted answer, a kept
unsupported one is the failure that must not happen). Leave one issue out: each issue's pairs are
scored with the setting chosen on the other three, which is the number to trust.

It also compares the index's unit vectors (made with the section heading in front) with the
units encoded alone, which is why `qa.verify.gather` encodes them alone.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SIMILARITY = [round(0.30 + 0.05 * i, 2) for i in range(9)]  # 0.30 .. 0.70
WORDS = [0.5, 0.6, 0.67, 0.75, 0.8, 0.9, 1.0]


def passage_of(pair: dict, snap, embed):
    """The chunk of the pair's part that states the sentence: a long part is split into several
    chunks, and the one holding most of the sentence's words (then the most similar unit) is the
    one a model would have cited."""
    from qa.lexical import tokenize
    chunks = [c for c in snap.chunks if c.issue_date == pair["issue"]
              and c.section_id == pair["section"] and c.part_label == pair["part"]]
    if not chunks:
        raise SystemExit(f"{pair['id']}: no passage {pair['issue']} / {pair['section']} / {pair['part']}")
    v, stems = embed([pair["sentence"]])[0], set(tokenize(pair["sentence"]))
    return max(chunks, key=lambda c: (len(stems & set(tokenize(f"{c.context} {c.text}"))),
                                      float((embed(list(c.units)) @ v).max())))


def build_pairs(assistant, pairs: list[dict], embed) -> list[dict]:
    """Every (sentence, passage, kind) to check."""
    from qa.verify import gather
    snap = assistant.snapshot
    out = []
    for p in pairs:
        chunk = passage_of(p, snap, embed)
        kind = "faithful" if p["kind"] == "faithful" else "distorted"
        out.append({"id": p["id"], "issue": p["issue"], "kind": kind, "sentence": p["sentence"],
                    "evidence": gather(chunk, embed), "passage": chunk.id})
        if kind != "faithful":
            continue
        for h in assistant.search(p["question"], k=5).hits:
            c = h.chunk
            if (c.issue_date, c.section_id, c.part_label) == (p["issue"], p["section"], p["part"]):
                continue
            out.append({"id": p["id"], "issue": p["issue"], "kind": "wrong", "sentence": p["sentence"],
                        "evidence": gather(c, embed), "passage": c.id})
    return out


def stored_or_alone(snap, rows: list[dict], embed) -> dict[str, tuple[float, float]]:
    """The index's unit vectors (embedded after the section heading and list lead-in, so the
    sentence is read the same way) against the units encoded alone, as `qa.verify.gather` does."""
    from qa.chunk import unit_embed_texts
    row_of = {c.id: r for r, c in enumerate(snap.chunks)}

    def stored(r):
        ch = r["evidence"].chunk
        i = row_of[ch.id]
        v = embed([f"{ch.section_heading} — {ch.part_label}. {r['sentence']}"])[0]
        assert len(unit_embed_texts(ch)) == snap.unit_start[i + 1] - snap.unit_start[i]
        return float((snap.unit_vectors[snap.unit_start[i]:snap.unit_start[i + 1]] @ v).max())

    def alone(r):
        return float((r["evidence"].vectors @ embed([r["sentence"]])[0]).max()) if len(r["evidence"].units) else 0.0

    out = {}
    for name, sim in (("stored unit vectors", stored), ("units encoded alone", alone)):
        faithful = sorted(sim(r) for r in rows if r["kind"] == "faithful")
        wrong = [sim(r) for r in rows if r["kind"] == "wrong"]
        threshold = faithful[int(0.05 * len(faithful))]
        out[name] = (threshold, sum(w < threshold for w in wrong) / len(wrong))
    return out


def judge_all(rows: list[dict], embed, base) -> dict[tuple[float, float], list[bool]]:
    from qa.verify import Claim, check
    verdicts = {}
    for sim, share in itertools.product(SIMILARITY, WORDS):
        settings = replace(base, min_similarity=sim, min_words=share)
        verdicts[(sim, share)] = [check(Claim(r["sentence"] + " [1]"), [r["evidence"]], embed, settings).supported
                                  for r in rows]
    return verdicts


def rates(rows: list[dict], kept: list[bool], issues=None) -> dict:
    out = {}
    for kind in ("faithful", "wrong", "distorted"):
        sel = [k for r, k in zip(rows, kept) if r["kind"] == kind and (issues is None or r["issue"] in issues)]
        out[kind] = {"n": len(sel), "kept": round(sum(sel) / len(sel), 3) if sel else None}
    return out


# Costs are not symmetric: a faithful sentence dropped costs a fallback to the quoted answer; a
# sentence kept on a passage that does not say it is the failure the product must not have. So
# the service level is on the faithful side: at most one faithful sentence in twenty dropped.
KEEP_FAITHFUL = 0.95


def choose(rows, verdicts, issues) -> tuple[float, float]:
    """No wrong-passage pair accepted; then the strictest setting (min_words first, then
    min_similarity) that keeps KEEP_FAITHFUL of the faithful sentences; failing that, the one
    that keeps the most."""
    def key(setting):
        r = rates(rows, verdicts[setting], issues)
        wrong, kept = r["wrong"]["kept"] or 0.0, r["faithful"]["kept"] or 0.0
        return (wrong == 0.0, -wrong, kept >= KEEP_FAITHFUL, 0.0 if kept >= KEEP_FAITHFUL else kept,
                setting[1], setting[0])
    return max(verdicts, key=key)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pairs", default=str(ROOT / "bench" / "llm_pairs.jsonl"))
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    from qa import Assistant
    assistant = Assistant()
    cache: dict[str, object] = {}

    def embed(texts):
        import numpy as np
        missing = [t for t in texts if t not in cache]
        if missing:
            for t, v in zip(missing, assistant.embedder.embed(missing)):
                cache[t] = v
        return np.stack([cache[t] for t in texts])

    pairs = [json.loads(line) for line in Path(args.pairs).read_text().splitlines() if line.strip()]
    rows = build_pairs(assistant, pairs, embed)
    verdicts = judge_all(rows, embed, assistant.settings.llm)
    issues = sorted({r["issue"] for r in rows})
    loo = []
    for held in issues:
        setting = choose(rows, verdicts, [i for i in issues if i != held])
        loo.append({"held_out": held, "setting": setting, **rates(rows, verdicts[setting], [held])})
    final = choose(rows, verdicts, issues)
    current = (assistant.settings.llm.min_similarity, assistant.settings.llm.min_words)
    from qa.verify import Claim, check
    detail = []
    for r in rows:
        ev = r["evidence"]
        similarity = float((ev.vectors @ embed([r["sentence"]])[0]).max()) if len(ev.units) else 0.0
        strict = check(Claim(r["sentence"] + " [1]"), [ev], embed, assistant.settings.llm)
        detail.append({"id": r["id"], "kind": r["kind"], "passage": r["passage"], "similarity": round(similarity, 3),
                       "kept": strict.supported, "why": strict.why})
    report = {"pairs": {k: sum(r["kind"] == k for r in rows) for k in ("faithful", "wrong", "distorted")},
              "chosen_on_all": final, "all_at_chosen": rates(rows, verdicts[final]),
              "current_setting": current, "all_at_current": rates(rows, verdicts[current]) if current in verdicts else None,
              "leave_one_issue_out": loo,
              "grid": {f"{s}/{w}": rates(rows, v) for (s, w), v in verdicts.items()}, "detail": detail}
    if args.json:
        print(json.dumps(report, default=str))
        return 0
    print(f"Pairs: {report['pairs']}")
    print(f"Chosen on all issues: min_similarity={final[0]}, min_words={final[1]} -> {report['all_at_chosen']}")
    print(f"Current setting {current}: {report['all_at_current']}")
    print("\nLeave one issue out (setting chosen on the other three):")
    for row in loo:
        print(f"  {row['held_out']}: {row['setting']} faithful kept {row['faithful']['kept']} of {row['faithful']['n']}, "
              f"wrong kept {row['wrong']['kept']} of {row['wrong']['n']}, distorted kept {row['distorted']['kept']}")
    print("\nSimilarity of each sentence to the best unit of its passage, by kind:")
    for kind in ("faithful", "wrong", "distorted"):
        sims = sorted(d["similarity"] for d in detail if d["kind"] == kind)
        if sims:
            q = lambda f: sims[min(len(sims) - 1, int(f * len(sims)))]  # noqa: E731
            print(f"  {kind:9s} n={len(sims):3d} min {sims[0]:.2f}  p10 {q(0.1):.2f}  median {q(0.5):.2f}  "
                  f"p90 {q(0.9):.2f}  max {sims[-1]:.2f}")
    alone = {k: [d["similarity"] >= current[0] for d in detail if d["kind"] == k] for k in ("faithful", "wrong")}
    print(f"  similarity alone at {current[0]}: keeps {sum(alone['faithful'])} of {len(alone['faithful'])} faithful, "
          f"rejects {len(alone['wrong']) - sum(alone['wrong'])} of {len(alone['wrong'])} wrong-passage pairs")
    print("\nWhich unit vectors (similarity alone; threshold keeping 95% of faithful sentences):")
    for name, share in stored_or_alone(assistant.snapshot, rows, embed).items():
        print(f"  {name}: threshold {share[0]:.2f} rejects {share[1]:.0%} of wrong-passage pairs")
    print("\nAt the current setting, faithful sentences dropped and wrong passages accepted:")
    for d in detail:
        if (d["kind"] == "faithful" and not d["kept"]) or (d["kind"] != "faithful" and d["kept"]):
            print(f"  {d['id']} {d['kind']:9s} sim {d['similarity']:.2f} {d['passage']}: {d['why'] or 'accepted'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
