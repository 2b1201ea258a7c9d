"""Answer latency through the web app's API, as a `gradio_client` user sees it.

    python bench/ui_latency.py                                # launch the app on a free port
    python bench/ui_latency.py --url http://127.0.0.1:7860/   # measure a running `qa serve`
    python bench/ui_latency.py --concurrency 4                # several clients at once

Asks every question of bench/questions.jsonl (107) through the `/ask` endpoint and prints
the median and 95th percentile of the round trip. When it launches the app itself, it also
times `Assistant.ask` in process on the same questions, so the UI's share is visible.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def percentile(values: list[float], p: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    s = sorted(values)
    k = (len(s) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def summary(name: str, seconds: list[float]) -> dict:
    ms = [1000 * s for s in seconds]
    return {"what": name, "n": len(ms), "median_ms": round(statistics.median(ms), 1),
            "p95_ms": round(percentile(ms, 95), 1), "mean_ms": round(statistics.fmean(ms), 1),
            "max_ms": round(max(ms), 1)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", help="a running app; default: launch one on a free local port")
    ap.add_argument("--questions", default=str(ROOT / "bench" / "questions.jsonl"))
    ap.add_argument("--limit", type=int, help="only the first N questions")
    ap.add_argument("--concurrency", type=int, default=1, help="clients asking at the same time")
    ap.add_argument("--warmup", type=int, default=3, help="questions asked first and not timed")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    questions = [json.loads(line)["question"] for line in Path(args.questions).read_text().splitlines() if line.strip()]
    questions = questions[:args.limit] if args.limit else questions
    if len(questions) < 50:
        print(f"note: only {len(questions)} questions", file=sys.stderr)

    from gradio_client import Client

    demo = assistant = None
    url = args.url
    if not url:
        from qa import Assistant, Settings
        from qa.store import current_generation
        from ui.app import build_app, launch
        settings = Settings.load()
        assistant = Assistant(settings)
        if current_generation(Path(settings.index_dir)) is None:
            print(f"building the index in {settings.index_dir}…", file=sys.stderr)
            assistant.update()
        demo = build_app(assistant)
        port = free_port()
        launch(demo, settings, host="127.0.0.1", port=port, prevent_thread_lock=True)
        url = f"http://127.0.0.1:{port}/"

    try:
        clients = [Client(url, verbose=False) for _ in range(max(1, args.concurrency))]
        for q in questions[:args.warmup]:
            clients[0].predict(q, api_name="/ask")

        def timed(i: int) -> tuple[float, dict]:
            t0 = time.perf_counter()
            r = clients[i % len(clients)].predict(questions[i], api_name="/ask")
            return time.perf_counter() - t0, r

        t0 = time.perf_counter()
        with ThreadPoolExecutor(max_workers=len(clients)) as pool:
            results = list(pool.map(timed, range(len(questions))))
        wall = time.perf_counter() - t0
        rows = [summary(f"gradio_client /ask, concurrency {len(clients)}", [s for s, _ in results])]
        abstained = sum(r["abstained"] for _, r in results)

        if assistant is not None:
            core = []
            for q in questions:
                t = time.perf_counter()
                assistant.ask(q)
                core.append(time.perf_counter() - t)
            rows.append(summary("Assistant.ask in process", core))
    finally:
        if demo is not None:
            demo.close()

    if args.json:
        print(json.dumps({"url": url, "questions": len(questions), "abstained": abstained,
                          "wall_s": round(wall, 2), "rows": rows}))
        return 0
    print(f"{len(questions)} questions from {args.questions} against {url} "
          f"({abstained} answered 'no answer'), {wall:.1f} s in all")
    print(f"{'':42} {'median':>9} {'p95':>9} {'mean':>9} {'max':>9}")
    for r in rows:
        print(f"{r['what']:42} {r['median_ms']:>7.1f}ms {r['p95_ms']:>7.1f}ms {r['mean_ms']:>7.1f}ms {r['max_ms']:>7.1f}ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
