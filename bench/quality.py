"""Step "quality": this system against its peers on the validation split, plus `qa.evaluate`
summaries (answers, abstention) on both splits."""

from __future__ import annotations

from collections import Counter

from benchlib import CORPUS, NetworkGuard, log
from peers import (METRICS, BM25Retriever, DenseRetriever, Pipeline, langchain_chunks, llamaindex_chunks, score,
                   token_stats)


def run(assistant, embedder, questions: list[dict]) -> dict:
    from qa.evaluate import evaluate, failures, summarize
    guard = NetworkGuard()
    with guard.active():
        split_of = {q["id"]: q.get("split", "train") for q in questions}
        val = [q for q in questions if split_of[q["id"]] == "validation"]
        log(f"quality: qa.evaluate over {len(questions)} questions (both splits)")
        outcomes = evaluate(assistant, questions)
        summaries = {s: summarize([o for o in outcomes if split_of[o.id] == s]) for s in ("validation", "train")}
        summaries["all"] = summarize(outcomes)
        val_outcomes = [o for o in outcomes if split_of[o.id] == "validation"]
        fails = failures(val_outcomes)

        snap = assistant.snapshot
        ours = Pipeline("this system (qa.Assistant: hybrid dense+BM25, section-aware chunks)", list(snap.chunks))
        ours.truncated, ours.mean_tokens, ours.max_tokens = token_stats(embedder, ours.chunks, [c.embed_text for c in ours.chunks])
        log("quality: peer chunks (LangChain, LlamaIndex)")
        lc = Pipeline("LangChain RecursiveCharacterTextSplitter(1000, 200) + FAISS", langchain_chunks(CORPUS))
        li_chunks, li_info = llamaindex_chunks(CORPUS)
        li = Pipeline(f"LlamaIndex SentenceSplitter() ({li_info['chunk_size']} tokens, {li_info['chunk_overlap']} "
                      "overlap) + FAISS", li_chunks)
        for p in (lc, li):
            p.truncated, p.mean_tokens, p.max_tokens = token_stats(embedder, p.chunks)

        log("quality: embedding peer chunks and scoring")
        rows = []
        ours_metrics = {m: summaries["validation"]["overall"][m] for m in METRICS}
        ours_by_kind = {k: v.get("recall@5") for k, v in summaries["validation"]["by_kind"].items()}
        rows.append(_row("ours", ours, ours_metrics, ours_by_kind, peer=False))
        for key, p, retr in (
                ("langchain", lc, DenseRetriever(embedder, lc.chunks)),
                ("llamaindex", li, DenseRetriever(embedder, li.chunks)),
                ("bm25_ours", Pipeline("BM25 alone (bm25s) over this system's chunks", ours.chunks),
                 BM25Retriever(ours.chunks, [c.embed_text for c in ours.chunks])),
                ("bm25_langchain", Pipeline("BM25 alone (bm25s) over the LangChain chunks", lc.chunks),
                 BM25Retriever(lc.chunks)),
                ("dense_ours", Pipeline("ablation: this system's chunks, dense only (FAISS), no fusion/boosts",
                                        ours.chunks), DenseRetriever(embedder, ours.chunks, vectors=snap.vectors))):
            metrics, outs = score(retr.top, val)
            by_kind = {k: v.get("recall@5") for k, v in summarize(outs)["by_kind"].items()}
            rows.append(_row(key, p, metrics, by_kind, peer=key not in ("dense_ours",)))

    peers = [r for r in rows if r["peer"]]
    best = {m: max(r["metrics"][m] for r in peers) for m in METRICS}
    return {
        "questions": {"validation": len(val), "validation_answerable": sum(1 for q in val if q["gold"]),
                      "train": sum(1 for q in questions if split_of[q["id"]] == "train"),
                      "kinds_validation": dict(Counter(q.get("kind", "other") for q in val))},
        "rows": rows, "best_peer": best,
        "ahead_of_every_peer": {m: rows[0]["metrics"][m] > best[m] for m in METRICS},
        "evaluate": summaries, "failures_validation": fails,
        "llamaindex": li_info, "network_attempts": guard.attempts,
        "embedder": {"name": embedder.name, "max_tokens": embedder.max_tokens, "dim": embedder.dim},
    }


def _row(key: str, p: Pipeline, metrics: dict, by_kind: dict, peer: bool = True) -> dict:
    return {"key": key, "name": p.name, "peer": peer, "chunks": len(p.chunks), "metrics": metrics,
            "recall5_by_kind": by_kind, "truncated": p.truncated, "mean_tokens": p.mean_tokens,
            "max_tokens": p.max_tokens,
            "mean_chars": sum(len(c.text) for c in p.chunks) / max(1, len(p.chunks))}
