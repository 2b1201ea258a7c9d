"""Step "speed": warm search/ask latency, cold start, build throughput, adding one issue.

Every figure sits next to a baseline measured in the same process at the same time, so the
ratio survives a noisy shared machine even when the absolute numbers do not:
- search / ask latency next to encoding the question alone (the floor of any dense search);
- `qa ask` cold start next to a process that only loads the model and encodes one text;
- build throughput next to the raw encoder on the same chunk texts (the ceiling);
- adding one issue next to building the whole index.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from benchlib import CORPUS, OFFLINE_ENV, log, median, percentile


def _lat(xs: list[float]) -> dict:
    return {"median_ms": 1000 * median(xs), "p95_ms": 1000 * percentile(xs, 95), "samples": len(xs)}


def warm_latency(assistant, embedder, questions: list[dict], min_samples: int = 100) -> dict:
    texts = [q["question"] for q in questions]
    for t in texts[:5]:  # warm-up: snapshot loaded, lazy imports done, caches filled
        assistant.ask(t)
    enc, srch, ask = [], [], []
    while len(srch) < min_samples:
        for t in texts:
            a = time.perf_counter()
            embedder.embed([t])
            b = time.perf_counter()
            assistant.search(t)
            c = time.perf_counter()
            assistant.ask(t)
            d = time.perf_counter()
            enc.append(b - a)
            srch.append(c - b)
            ask.append(d - c)
    out = {"encode_only": _lat(enc), "search": _lat(srch), "ask": _lat(ask),
           "k": assistant.settings.k, "chunks": len(assistant.snapshot.chunks)}
    out["search_over_encode"] = out["search"]["median_ms"] / out["encode_only"]["median_ms"]
    out["ask_over_encode"] = out["ask"]["median_ms"] / out["encode_only"]["median_ms"]
    return out


def qa_command() -> list[str]:
    script = Path(sys.executable).parent / "qa"
    return [str(script)] if script.exists() else [sys.executable, "-m", "qa.cli"]


def cold_start(settings, question: str, runs: int = 3) -> dict:
    env = {**os.environ, **OFFLINE_ENV}
    ask_cmd = qa_command() + ["ask", question, "--index", str(settings.index_dir), "--corpus", str(settings.corpus_dir)]
    floor_cmd = [sys.executable, "-c", "from qa import Settings; from qa.embed import make_embedder; "
                 "make_embedder(Settings.load()).embed(['warm up'])"]
    bare_cmd = [sys.executable, "-c", "pass"]
    times = {"qa_ask": [], "model_load_and_encode": [], "python_bare": []}
    status = []
    for _ in range(runs):
        for key, cmd in (("qa_ask", ask_cmd), ("model_load_and_encode", floor_cmd), ("python_bare", bare_cmd)):
            t = time.perf_counter()
            p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
            times[key].append(time.perf_counter() - t)
            if key == "qa_ask":
                status.append(p.returncode)
                first_line = (p.stdout.strip().splitlines() or [p.stderr.strip()[:200]])[0]
    out = {k: {"median_s": median(v), "runs_s": v} for k, v in times.items()}
    out["ask_over_model_load"] = out["qa_ask"]["median_s"] / out["model_load_and_encode"]["median_s"]
    out["exit_codes"] = status
    out["question"] = question
    out["answer_first_line"] = first_line[:160]
    out["command"] = " ".join(Path(ask_cmd[0]).name if i == 0 else a for i, a in enumerate(ask_cmd[:3])) + " ..."
    return out


def build_throughput(settings, embedder, work: Path, rounds: int = 3) -> dict:
    """Full builds of corpus/ interleaved with the raw encoder on the same texts."""
    from qa import update_index
    from qa.store import load_snapshot
    rows = []
    texts = None
    for r in range(rounds):
        s = settings.replace(index_dir=work / f"build-{r}")
        cpu = time.process_time()
        rep = update_index(s, embedder)
        cpu = time.process_time() - cpu
        if texts is None:
            texts = [c.embed_text for c in load_snapshot(Path(s.index_dir)).chunks]
            embedder.embed(texts[:8])
        t, c = time.perf_counter(), time.process_time()
        embedder.embed(texts)
        raw, raw_cpu = time.perf_counter() - t, time.process_time() - c
        rows.append({"chunks": rep.chunks_total, "build_s": rep.seconds, "build_cpu_s": cpu,
                     "build_cps": rep.chunks_total / rep.seconds, "raw_s": raw, "raw_cpu_s": raw_cpu,
                     "raw_cps": len(texts) / raw, "ratio": (rep.chunks_total / rep.seconds) / (len(texts) / raw),
                     "ratio_cpu": (rep.chunks_total / cpu) / (len(texts) / raw_cpu)})
        shutil.rmtree(s.index_dir, ignore_errors=True)
        log(f"speed: build round {r + 1}: {rows[-1]['build_cps']:.1f} chunks/s vs raw {rows[-1]['raw_cps']:.1f}")
    return {"rounds": rows, "build_cps": median([x["build_cps"] for x in rows]),
            "raw_cps": median([x["raw_cps"] for x in rows]), "ratio": median([x["ratio"] for x in rows]),
            "ratio_cpu": median([x["ratio_cpu"] for x in rows]),
            "chunks": rows[0]["chunks"]}


def add_one(settings, embedder, work: Path, full_build_s: float, full_build_cpu_s: float, rounds: int = 3) -> dict:
    """Remove the newest issue from a copy of the corpus+index, re-index, then add it back (timed)."""
    from qa import update_index
    files = sorted(p for p in Path(settings.corpus_dir).iterdir() if p.suffix in (".txt", ".md"))
    newest = files[-1]
    rows = []
    for r in range(rounds):
        corpus, index = work / f"add-corpus-{r}", work / f"add-index-{r}"
        shutil.copytree(settings.corpus_dir, corpus)
        shutil.copytree(settings.index_dir, index)
        s = settings.replace(corpus_dir=corpus, index_dir=index)
        (corpus / newest.name).unlink()
        update_index(s, embedder)
        shutil.copy2(newest, corpus / newest.name)
        cpu = time.process_time()
        rep = update_index(s, embedder)
        cpu = time.process_time() - cpu
        assert rep.added and not rep.rebuilt, rep.summary()
        rows.append({"seconds": rep.seconds, "cpu_s": cpu, "chunks_embedded": rep.chunks_embedded, "chunks_total": rep.chunks_total})
        shutil.rmtree(corpus, ignore_errors=True)
        shutil.rmtree(index, ignore_errors=True)
    sec = median([x["seconds"] for x in rows])
    cpu = median([x["cpu_s"] for x in rows])
    return {"issue": newest.name, "rounds": rows, "add_s": sec, "full_build_s": full_build_s,
            "ratio": sec / full_build_s, "ratio_cpu": cpu / full_build_cpu_s, "existing_issues": len(files) - 1}


def run(assistant, embedder, settings, questions: list[dict], work: Path, quick: bool = False) -> dict:
    val = [q for q in questions if q.get("split") == "validation"]
    log("speed: warm search/ask latency")
    warm = warm_latency(assistant, embedder, val)
    log(f"speed: search {warm['search']['median_ms']:.1f} ms, ask {warm['ask']['median_ms']:.1f} ms; cold start")
    cold = cold_start(settings, "What are the new energy storage targets for 2027?")
    log(f"speed: cold ask {cold['qa_ask']['median_s']:.1f} s; build throughput")
    build = build_throughput(settings, embedder, work, rounds=2 if quick else 3)
    full_s = median([x["build_s"] for x in build["rounds"]])
    log("speed: add one issue")
    full_cpu = median([x["build_cpu_s"] for x in build["rounds"]])
    add = add_one(settings, embedder, work, full_s, full_cpu, rounds=2 if quick else 3)
    return {"warm": warm, "cold": cold, "build": build, "add_one": add, "corpus": str(CORPUS)}
