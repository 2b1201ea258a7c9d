"""Step "speed": warm and cold latency on both backends, serve start, build throughput, adding one issue.

    python bench/run.py --only speed       # this step alone (a few minutes)

Every figure sits next to a baseline measured in the same process at the same time, so the
ratio survives a noisy shared machine even when the absolute numbers do not:
- search / ask latency next to encoding the question alone (the floor of any dense search),
  with ONNX Runtime (what questions use) and with torch (for comparison);
- `qa ask` cold start next to `python -c pass`, next to importing what a question needs, next to
  a process that only loads the ONNX encoder and encodes one text, and next to the same
  question answered on torch (QA_EMBED_BACKEND=torch) and torch's own load-and-encode floor;
- `qa serve` time to its first HTTP 200 next to `python -c "import gradio"`;
- build throughput next to the raw encoder on the same chunk texts (the ceiling), per backend;
- adding one issue next to building the whole index.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from benchlib import CORPUS, OFFLINE_ENV, log, median, percentile

from qa.onnx_embed import models_dir


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
    out = {"backend": embedder.backend, "encode_only": _lat(enc), "search": _lat(srch), "ask": _lat(ask),
           "k": assistant.settings.search.k, "chunks": len(assistant.snapshot.chunks)}
    out["search_over_encode"] = out["search"]["median_ms"] / out["encode_only"]["median_ms"]
    out["ask_over_encode"] = out["ask"]["median_ms"] / out["encode_only"]["median_ms"]
    return out


def qa_command() -> list[str]:
    script = Path(sys.executable).parent / "qa"
    return [str(script)] if script.exists() else [sys.executable, "-m", "ui.cli"]


# What a question imports, and nothing else: the floor under any cold `qa ask`.
QUERY_IMPORTS = "import qa, ui.cli, qa.embed, qa.onnx_embed, onnxruntime, tokenizers, faiss, bm25s, numpy"


def cold_start(settings, question: str, runs: int = 5) -> dict:
    """Wall time of new processes, interleaved run by run so that load spikes hit all alike."""
    env = {**os.environ, **OFFLINE_ENV, "QA_INDEX_DIR": str(settings.index_dir),
           "QA_CORPUS_DIR": str(settings.corpus_dir)}
    env.pop("QA_EMBED_BACKEND", None)
    torch_env = {**env, "QA_EMBED_BACKEND": "torch"}
    load = ("from qa import Settings; from qa.embed import make_embedder; "
            "make_embedder(Settings.load()).embed(['warm up'])")
    issue = sorted(Path(settings.corpus_dir).glob("*.txt"))[-1]
    cmds = {  # key: (command, environment)
        "python_bare": ([sys.executable, "-c", "pass"], env),
        "imports": ([sys.executable, "-c", QUERY_IMPORTS], env),
        "onnx_load_and_encode": ([sys.executable, "-c", load], env),
        "qa_ask": (qa_command() + ["ask", question], env),
        "qa_help": (qa_command() + ["--help"], env),
        "qa_issues": (qa_command() + ["issues"], env),
        "qa_parse": (qa_command() + ["parse", str(issue)], env),
        "model_load_and_encode": ([sys.executable, "-c", load], torch_env),
        "qa_ask_torch": (qa_command() + ["ask", question], torch_env),
    }
    times: dict[str, list[float]] = {k: [] for k in cmds}
    status, first_line = [], ""
    for _ in range(runs):
        for key, (cmd, cmd_env) in cmds.items():
            t = time.perf_counter()
            p = subprocess.run(cmd, capture_output=True, text=True, env=cmd_env, timeout=600)
            times[key].append(time.perf_counter() - t)
            if p.returncode != 0:
                raise RuntimeError(f"{key}: {' '.join(cmd)} failed: {p.stderr[-1000:]}")
            if key == "qa_ask":
                status.append(p.returncode)
                first_line = (p.stdout.strip().splitlines() or [p.stderr.strip()[:200]])[0]
                if p.stderr.strip():  # a fallback to torch would say so here, and would not be this path
                    raise RuntimeError(f"qa ask printed to stderr: {p.stderr[-500:]}")
    out = {k: {"median_s": median(v), "runs_s": v} for k, v in times.items()}
    out["ask_over_onnx_load"] = out["qa_ask"]["median_s"] / out["onnx_load_and_encode"]["median_s"]
    out["ask_over_torch_ask"] = out["qa_ask"]["median_s"] / out["qa_ask_torch"]["median_s"]
    out["ask_over_model_load"] = out["qa_ask_torch"]["median_s"] / out["model_load_and_encode"]["median_s"]
    out["exit_codes"] = status
    out["question"] = question
    out["answer_first_line"] = first_line[:160]
    out["imports"]["modules"] = QUERY_IMPORTS
    return out


def serve_start(settings, runs: int = 3, timeout: float = 120) -> dict:
    """Seconds from starting `qa serve` on the built index to its first HTTP 200, next to
    `python -c "import gradio"`, the floor of any Gradio server."""
    env = {**os.environ, **OFFLINE_ENV, "QA_INDEX_DIR": str(settings.index_dir),
           "QA_CORPUS_DIR": str(settings.corpus_dir)}
    env.pop("QA_EMBED_BACKEND", None)
    first, gradio, torch_mapped = [], [], []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import gradio"], check=True, env=env, timeout=600)
        gradio.append(time.perf_counter() - t)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        t = time.perf_counter()
        proc = subprocess.Popen(qa_command() + ["serve", "--port", str(port)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            while True:
                if proc.poll() is not None or time.perf_counter() - t > timeout:
                    raise RuntimeError(f"qa serve did not answer: {proc.communicate(timeout=10)[1][-1000:]}")
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as r:
                        if r.status == 200:
                            break
                except OSError:
                    time.sleep(0.02)
            first.append(time.perf_counter() - t)
            torch_mapped.append("libtorch" in Path(f"/proc/{proc.pid}/maps").read_text())
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
    return {"first_200": {"median_s": median(first), "runs_s": first},
            "import_gradio": {"median_s": median(gradio), "runs_s": gradio},
            "over_import_gradio": median(first) / median(gradio), "torch_loaded": any(torch_mapped)}


def export_once(settings, work: Path) -> dict:
    """The one-time cost `qa index` pays when an index folder has no ONNX export: a new
    process that loads torch and the model, exports, and checks the export against torch."""
    index = work / "export-index"
    code = ("import sys; from pathlib import Path; from qa import Settings; from qa.embed import model_folder; "
            "from qa.onnx_export import ensure_export; "
            f"assert ensure_export(Path({str(index)!r}), model_folder(Settings.load()))[1]")
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, **OFFLINE_ENV}, timeout=600)
    seconds = time.perf_counter() - t
    size = sum(p.stat().st_size for p in (index / "models").rglob("*") if p.is_file())
    shutil.rmtree(index, ignore_errors=True)
    return {"seconds": seconds, "mib": size / 2**20}


def build_throughput(settings, embedder, work: Path, rounds: int = 3) -> dict:
    """Full builds of corpus/ interleaved with the raw encoder on the same texts."""
    from qa import update_index
    from qa.store import load_snapshot
    rows = []
    texts = None
    for r in range(rounds):
        s = settings.replace(index_dir=work / f"build-{r}")
        # The export is made once per index folder; measured apart (export_once), not here.
        shutil.copytree(models_dir(settings.index_dir), models_dir(s.index_dir))
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
        log(f"speed: {embedder.backend} build round {r + 1}: {rows[-1]['build_cps']:.1f} chunks/s "
            f"vs raw {rows[-1]['raw_cps']:.1f}")
    return {"backend": embedder.backend, "rounds": rows, "build_cps": median([x["build_cps"] for x in rows]),
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
    from qa import Assistant
    from qa.embed import make_embedder
    torch_embedder = make_embedder(settings.replace(embed_backend="torch"))
    val = [q for q in questions if q.get("split") == "validation"]
    log(f"speed: warm search/ask latency ({embedder.backend}, then torch)")
    warm = warm_latency(assistant, embedder, val)
    warm_torch = warm_latency(Assistant(settings, embedder=torch_embedder), torch_embedder, val)
    log(f"speed: search {warm['search']['median_ms']:.1f} ms ({warm_torch['search']['median_ms']:.1f} ms on torch); "
        "cold start")
    cold = cold_start(settings, "What are the new energy storage targets for 2027?", runs=3 if quick else 5)
    log(f"speed: cold ask {cold['qa_ask']['median_s']:.2f} s (torch {cold['qa_ask_torch']['median_s']:.2f} s); "
        "qa serve start")
    serve = serve_start(settings)
    log(f"speed: first page after {serve['first_200']['median_s']:.2f} s; one-time export; build throughput")
    export = export_once(settings, work)
    rounds = 2 if quick else 3
    build = build_throughput(settings, embedder, work, rounds=rounds)
    build_torch = build_throughput(settings, torch_embedder, work, rounds=rounds)
    full_s = median([x["build_s"] for x in build["rounds"]])
    log("speed: add one issue")
    full_cpu = median([x["build_cpu_s"] for x in build["rounds"]])
    add = add_one(settings, embedder, work, full_s, full_cpu, rounds=rounds)
    return {"warm": warm, "warm_torch": warm_torch, "cold": cold, "serve": serve, "export": export,
            "build": build, "build_torch": build_torch, "add_one": add, "corpus": str(CORPUS)}
