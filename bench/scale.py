"""Step "scale": synthetic archives of 100 and 1,000 issues (and a 10,000-issue index made
from the 1,000-issue vectors), built and searched in their own processes.

Each measurement runs in a subprocess so its peak memory is its own: the child reports its
VmHWM (peak resident set) from /proc/self/status. Run by hand:

    python bench/scale.py worker build --corpus C --index I     # (the parent does this)
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from benchlib import (OFFLINE_ENV, QUESTIONS, dir_size, ensure_onnx_export, live_generation, log,  # noqa: E402
                      median, percentile)


# --- the parent side -------------------------------------------------------------------------

def run_worker(mode: str, *args: str, timeout: float = 4 * 3600) -> dict:
    """Run `scale.py worker MODE ARGS` in a new process; its JSON result plus wall time and peak RSS."""
    fd, name = tempfile.mkstemp(prefix=f"qa-bench-{mode}-", suffix=".json")
    os.close(fd)
    out_file = Path(name)
    cmd = [sys.executable, str(HERE / "scale.py"), "worker", mode, *args, "--out", str(out_file)]
    env = {**os.environ, **OFFLINE_ENV}
    t = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t
    err = p.stderr.read() if p.stderr else ""
    if p.returncode != 0:
        raise RuntimeError(f"worker {mode} failed ({p.returncode}):\n{err[-3000:]}")
    result = json.loads(out_file.read_text())
    out_file.unlink()
    # The child's own VmHWM; ru_maxrss (KiB) only where /proc is missing, as it includes the
    # parent's RSS at fork time (see _peak_rss_mib).
    peak = result.pop("peak_rss_mib", None)
    return {**result, "wall_s": wall, "max_rss_mib": peak if peak is not None else usage.ru_maxrss / 1024,
            "rss_source": "VmHWM" if peak is not None else "ru_maxrss"}


def index_breakdown(index_dir: Path) -> dict:
    gen = live_generation(index_dir)
    parts = {}
    for p in gen.iterdir():
        parts[p.name] = dir_size(p) if p.is_dir() else p.stat().st_size
    return {"total_mib": sum(parts.values()) / 2**20, "parts_mib": {k: v / 2**20 for k, v in sorted(parts.items())}}


def scale_size(n: int, work: Path, pool, with_add: bool = True) -> dict:
    import synth
    from qa.store import FLAT_LIMIT
    base = work / f"scale-{n}"
    corpus, index = base / "corpus", base / "index"
    log(f"scale {n}: writing {n} synthetic issues")
    t = time.perf_counter()
    expected = synth.write_archive(pool, corpus, n)
    gen_s = time.perf_counter() - t
    sample = expected if n <= 100 else random.Random(n).sample(expected, 50)
    problems = synth.check(sample)
    log(f"scale {n}: {len(problems)} of {len(sample)} checked files did not parse back as written; building")
    build = run_worker("build", "--corpus", str(corpus), "--index", str(index))
    log(f"scale {n}: built {build['chunks_total']} chunks in {build['seconds']:.0f} s "
        f"({build['chunks_total'] / build['seconds']:.1f}/s, raw encoder {build['raw_cps']:.1f}/s); searching")
    serve = run_worker("serve", "--corpus", str(corpus), "--index", str(index))
    out = {"issues": n, "generate_s": gen_s, "checked_files": len(sample), "parse_problems": problems[:10],
           "corpus_mib": dir_size(corpus) / 2**20, "build": build, "serve": serve,
           "index": index_breakdown(index), "flat_limit": FLAT_LIMIT,
           "build_cps": build["chunks_total"] / build["seconds"],
           "build_over_raw": (build["chunks_total"] / build["seconds"]) / build["raw_cps"],
           "build_over_raw_cpu": (build["chunks_total"] / build["cpu_s"]) / build["raw_cpu_cps"]}
    if with_add:
        synth.write_archive(pool, corpus, 1, first=n)
        log(f"scale {n}: adding issue {n + 1}")
        add = run_worker("add", "--corpus", str(corpus), "--index", str(index))
        out["add_one"] = add
        out["add_over_build"] = add["seconds"] / build["seconds"]
        out["add_over_build_cpu"] = add["cpu_s"] / build["cpu_s"]
        log(f"scale {n}: add one took {add['seconds']:.1f} s = {100 * out['add_over_build']:.1f} % of the full build")
    return out


def tiled(source_index: Path, work: Path, copies: int, noise: float = 0.01) -> dict:
    index = work / f"tiled-{copies}x" / "index"
    log(f"scale: writing a {copies}x tiled index from {source_index} (no new embeddings)")
    write = run_worker("tile", "--index", str(index), "--source", str(source_index), "--copies", str(copies),
                       "--noise", str(noise))
    log(f"scale: tiled index of {write['chunks_total']} chunks written in {write['seconds']:.0f} s; searching")
    serve = run_worker("serve", "--corpus", str(work), "--index", str(index))
    return {"copies": copies, "noise": noise, "write": write, "serve": serve, "index": index_breakdown(index)}


def run(work: Path, sizes: list[int], tile_copies: int = 0, checkpoint=None) -> dict:
    """checkpoint(partial result) is called after each size, so a long run keeps what it measured."""
    import synth
    from benchlib import CORPUS
    pool = synth.load_pool(CORPUS)
    floor = run_worker("floor", "--index", str(work / "floor" / "index"))
    out = {"pool": {"articles": len(pool.articles), "policy_items": len(pool.policy),
                    "corporate_items": len(pool.corporate)},
           "floor": floor, "sizes": {}}
    for n in sizes:
        out["sizes"][str(n)] = scale_size(n, work, pool)
        if checkpoint:
            checkpoint(out)
    if tile_copies and sizes:
        out["tiled"] = tiled(work / f"scale-{max(sizes)}" / "index", work, tile_copies)
        out["tiled"]["from_issues"] = max(sizes)
    return out


# --- the worker side -------------------------------------------------------------------------

def _settings(args):
    from qa import Settings
    return Settings.load(corpus_dir=Path(args.corpus), index_dir=Path(args.index))


def _sample_texts(corpus: Path, settings, k: int = 10) -> list[str]:
    from qa import chunk_issue, read_issue
    files = sorted(p for p in corpus.iterdir() if p.suffix in (".md", ".txt"))
    pick = random.Random(1).sample(files, min(k, len(files)))
    return [c.embed_text for p in pick for c in chunk_issue(read_issue(p), settings.index.chunk_tokens)]


def _raw(embedder, texts: list[str]) -> tuple[float, float]:
    """(chunks per wall second, chunks per CPU second) of the bare encoder on `texts`."""
    t, c = time.perf_counter(), time.process_time()
    embedder.embed(texts)
    return len(texts) / (time.perf_counter() - t), len(texts) / (time.process_time() - c)


def worker_floor(args) -> dict:
    from qa.embed import make_embedder
    s = _settings(args)
    ensure_onnx_export(s)
    t = time.perf_counter()
    make_embedder(s).embed(["warm up"])
    return {"seconds": time.perf_counter() - t}


def worker_build(args) -> dict:
    from qa import update_index
    from qa.embed import make_embedder
    s = _settings(args)
    ensure_onnx_export(s)  # once per index folder, as `qa index` makes it; not part of the build
    t = time.perf_counter()
    embedder = make_embedder(s)
    embedder.embed(["warm up"])
    load_s = time.perf_counter() - t
    texts = _sample_texts(Path(args.corpus), s)
    raw_before = _raw(embedder, texts)
    cpu = time.process_time()
    rep = update_index(s, embedder)
    cpu = time.process_time() - cpu
    raw_after = _raw(embedder, texts)
    return {"model_load_s": load_s, "seconds": rep.seconds, "cpu_s": cpu, "chunks_total": rep.chunks_total,
            "chunks_embedded": rep.chunks_embedded, "issues": len(rep.added), "refused": rep.refused[:10],
            "warnings": len(rep.warnings), "warnings_sample": rep.warnings[:5], "raw_sample": len(texts),
            "raw_cps_before": raw_before[0], "raw_cps_after": raw_after[0],
            "raw_cps": (raw_before[0] + raw_after[0]) / 2, "raw_cpu_cps": (raw_before[1] + raw_after[1]) / 2}


def worker_add(args) -> dict:
    from qa import update_index
    from qa.embed import make_embedder
    s = _settings(args)
    embedder = make_embedder(s)
    embedder.embed(["warm up"])
    cpu = time.process_time()
    rep = update_index(s, embedder)
    cpu = time.process_time() - cpu
    assert rep.added and not rep.rebuilt and not rep.updated, rep.summary()
    return {"seconds": rep.seconds, "cpu_s": cpu, "chunks_embedded": rep.chunks_embedded, "chunks_total": rep.chunks_total,
            "added": rep.added, "summary": rep.summary()}


def worker_serve(args) -> dict:
    from qa import Assistant
    from qa.evaluate import load_questions
    s = _settings(args)
    a = Assistant(s)
    a.embedder.embed(["warm up"])
    t = time.perf_counter()
    snap = a.snapshot
    load_s = time.perf_counter() - t
    texts = [q["question"] for q in load_questions(QUESTIONS, "validation")]
    for q in texts[:5]:
        a.search(q)
    enc, srch, dense = [], [], []
    while len(srch) < 100:
        for q in texts:
            t0 = time.perf_counter()
            qv = a.embedder.embed([q])
            t1 = time.perf_counter()
            a.search(q)
            t2 = time.perf_counter()
            snap.dense.search(qv, 200)  # the FAISS part alone (retrieve.CANDIDATES rows)
            dense.append(time.perf_counter() - t2)
            srch.append(t2 - t1)
            enc.append(t1 - t0)
    return {"snapshot_load_s": load_s, "chunks": len(snap.chunks), "issues": len(snap.issues),
            "faiss_index": type(snap.dense.index).__name__,
            "search_median_ms": 1000 * median(srch), "search_p95_ms": 1000 * percentile(srch, 95),
            "encode_median_ms": 1000 * median(enc), "samples": len(srch), "faiss_median_ms": 1000 * median(dense),
            "search_over_encode": median(srch) / median(enc)}


def worker_tile(args) -> dict:
    """A `copies`-times larger index from an existing one's vectors: dates moved on by whole
    archives, each vector perturbed by Gaussian noise (sigma per dimension) and renormalised.
    Written with the store's own writer (qa.writer.write_generation), so the files, the FAISS
    index type and the BM25 index are what a real build of that size would write."""
    from qa.schema import Chunk, Issue, format_date
    from qa.store import IssueEntry, load_snapshot
    from qa.writer import publish, write_generation
    import synth
    src = load_snapshot(Path(args.source))
    n_issues = len(src.issues)
    rng = np.random.default_rng(0)
    chunks, vecs, issues, manifest_issues = [], [], [], {}
    date_re = re.compile(r"\d{4}-\d{2}-\d{2}")
    for j in range(args.copies):
        shift = {}
        for d in src.issues:
            k = synth.month_index(dt.date.fromisoformat(d)) + j * n_issues
            shift[d] = (synth.issue_date(k) - dt.date.fromisoformat(d)).days

        def move(text: str, days: int) -> str:
            return date_re.sub(lambda m: (dt.date.fromisoformat(m.group(0)) + dt.timedelta(days=days)).isoformat(), text)

        for d, issue in src.issues.items():
            days = shift[d]
            new = Issue.from_dict(json.loads(move(json.dumps(issue.to_dict()), days)))
            new = dataclasses.replace(new, source=synth.file_name(dt.date.fromisoformat(new.date)))
            issues.append(new)
            manifest_issues[new.date] = IssueEntry(source=new.source, sha256=new.sha256,
                                                   chunks=len(src.rows_by_issue.get(d, [])))
        for c in src.chunks:
            days = shift[c.issue_date]
            new_date = (dt.date.fromisoformat(c.issue_date) + dt.timedelta(days=days)).isoformat()
            chunks.append(Chunk(**{**c.to_dict(), "id": move(c.id, days), "issue_date": new_date,
                                   "context": c.context.replace(format_date(c.issue_date), format_date(new_date)),
                                   "dates": tuple(move(x, days) for x in c.dates)}))
        v = src.vectors + (rng.standard_normal(src.vectors.shape).astype(np.float32) * args.noise if j else 0)
        vecs.append(v / np.linalg.norm(v, axis=1, keepdims=True))
    vectors = np.vstack(vecs).astype(np.float32)
    manifest = dataclasses.replace(src.manifest, issues=manifest_issues)
    t = time.perf_counter()
    units = np.vstack([src.unit_vectors] * args.copies).astype(np.float32)  # chunks are copied in order
    folder = write_generation(Path(args.index), manifest, chunks, vectors, issues, units)
    publish(Path(args.index), folder)
    seconds = time.perf_counter() - t
    return {"seconds": seconds, "chunks_total": len(chunks), "issues": len(issues),
            "faiss": _flat_vs_store(folder / "dense.faiss", vectors)}


def _flat_vs_store(path: Path, vectors: np.ndarray) -> dict:
    """The index the store wrote against an exact IndexFlatIP over the same vectors: query time
    for retrieve.CANDIDATES (200) rows and how many of the exact top 10 / top 200 it returns."""
    import faiss
    from qa import Settings
    from qa.embed import make_embedder
    from qa.evaluate import load_questions
    from qa.store import FaissIndex
    settings = Settings.load(index_dir=path.parent.parent)  # the index holding this generation
    ensure_onnx_export(settings)
    queries = make_embedder(settings).embed([q["question"] for q in load_questions(QUESTIONS, "validation")])
    stored = FaissIndex.load(path)
    t = time.perf_counter()
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    flat_build = time.perf_counter() - t
    tf, ts, r10, r200 = [], [], [], []
    for q in queries:
        t0 = time.perf_counter()
        _, exact = flat.search(q[None, :], 200)
        t1 = time.perf_counter()
        _, got = stored.search(q[None, :], 200)
        ts.append(time.perf_counter() - t1)
        tf.append(t1 - t0)
        r10.append(len(set(exact[0][:10]) & set(got[0][:10])) / 10)
        r200.append(len(set(exact[0]) & set(got[0])) / 200)
    return {"store_index": type(stored.index).__name__, "flat_ms": 1000 * median(tf), "store_ms": 1000 * median(ts),
            "recall10_vs_exact": float(np.mean(r10)), "recall200_vs_exact": float(np.mean(r200)),
            "flat_build_s": flat_build, "queries": len(queries)}


def worker_main(argv) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["floor", "build", "add", "serve", "tile"])
    ap.add_argument("--corpus", default="corpus")
    ap.add_argument("--index", default="index")
    ap.add_argument("--source")
    ap.add_argument("--copies", type=int, default=10)
    ap.add_argument("--noise", type=float, default=0.01)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    for k, v in OFFLINE_ENV.items():
        os.environ.setdefault(k, v)
    result = {"floor": worker_floor, "build": worker_build, "add": worker_add, "serve": worker_serve,
              "tile": worker_tile}[args.mode](args)
    result["peak_rss_mib"] = _peak_rss_mib()
    Path(args.out).write_text(json.dumps(result, default=float))
    return 0


def _peak_rss_mib() -> float | None:
    """This process's own peak RSS (VmHWM). Not ru_maxrss: Linux carries the parent's RSS at fork
    across exec into the child's ru_maxrss, so a large parent would mask a small child."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        sys.exit(worker_main(sys.argv[2:]))
    print(__doc__)
