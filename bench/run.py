"""Regenerate bench/RESULTS.md: quality against peer pipelines, speed, scale.

    python bench/run.py                    # everything (the 1,000-issue build takes 25-60 min)
    python bench/run.py --quick            # skip the 1,000-issue step and the tiled 10,000 (a few minutes)
    python bench/run.py --only quality     # some steps: quality, speed, scale (comma-separated)
    python bench/run.py --only speed       # cold/warm latency on ONNX and torch, serve start (a few min)

Each step stores its figures in bench/results.json under its own name and date; RESULTS.md
is rendered from all steps stored there, so `--only` refreshes a part and keeps the rest.
Everything runs through the public API (qa.Assistant, qa.update_index, qa.Settings,
qa.evaluate, qa.chunk, qa.parse) against an index built in a temporary folder from corpus/,
so a re-run measures the current code and settings.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from benchlib import (CORPUS, QUESTIONS, RESULTS_JSON, RESULTS_MD, load_results, log, machine, now,  # noqa: E402
                      save_results, set_offline_env)

STEPS = ("quality", "speed", "scale")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="skip the 1,000-issue scale step and the tiled 10,000")
    ap.add_argument("--only", default=",".join(STEPS), help="comma-separated steps: quality,speed,scale")
    ap.add_argument("--sizes", help="synthetic archive sizes (default 100,1000; 100 with --quick)")
    ap.add_argument("--tile", type=int, help="copies of the largest archive for the no-embedding index "
                                             "(default 10 → 10,000 issues; 0 with --quick; 0 turns it off)")
    ap.add_argument("--work", help="folder for temporary corpora and indexes (default: a new temp folder)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    ap.add_argument("--no-write", action="store_true", help="print the report, do not touch bench/results.*")
    ap.add_argument("--render", action="store_true", help="only re-render RESULTS.md from bench/results.json")
    args = ap.parse_args(argv)
    if args.render:
        from report import render
        RESULTS_MD.write_text(render(load_results()), encoding="utf-8")
        return 0
    steps = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(steps) - set(STEPS)
    if unknown:
        ap.error(f"unknown step(s) {', '.join(sorted(unknown))}; choose from {', '.join(STEPS)}")
    sizes = [int(x) for x in args.sizes.split(",")] if args.sizes else ([100] if args.quick else [100, 1000])
    tile = args.tile if args.tile is not None else (0 if args.quick else 10)
    command = "python bench/run.py" + (" " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:])) if (argv or sys.argv[1:]) else "")

    set_offline_env()
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="qa-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    log(f"work folder {work}")
    results = load_results() if not args.no_write else {}
    results["machine"] = machine()
    results.setdefault("parts", {})
    t_all = time.perf_counter()
    try:
        if "quality" in steps or "speed" in steps:
            from qa import Assistant, Settings, update_index
            from qa.embed import make_embedder
            from qa.evaluate import load_questions
            settings = Settings.load(corpus_dir=CORPUS, index_dir=work / "index")
            log("building the index of corpus/ (with the one-time ONNX export of the model)")
            report = update_index(settings)
            if report.refused:
                raise SystemExit(f"corpus/ has files the indexer refuses: {report.refused}")
            embedder = make_embedder(settings)  # the default, ONNX Runtime on the export just made
            embedder.embed(["warm up"])
            assistant = Assistant(settings, embedder=embedder)
            questions = load_questions(QUESTIONS, "all")
            if "quality" in steps:
                import quality
                t = time.perf_counter()
                results["parts"]["quality"] = {**quality.run(assistant, embedder, questions, work),
                                               "measured": now(), "command": command,
                                               "seconds": time.perf_counter() - t, "commit": _commit()}
                _save(results, args.no_write)
            if "speed" in steps:
                import speed
                t = time.perf_counter()
                results["parts"]["speed"] = {**speed.run(assistant, embedder, settings, questions, work, args.quick),
                                             "measured": now(), "command": command, "seconds": time.perf_counter() - t,
                                             "commit": _commit()}
                _save(results, args.no_write)
        if "scale" in steps:
            import scale
            t = time.perf_counter()

            previous = results["parts"].get("scale", {})

            def merged(partial: dict, complete: bool) -> dict:
                # Sizes (and the tiled index) not measured this time keep their earlier figures,
                # each with its own date, so `--sizes 100` does not drop the 1,000-issue row.
                for d in partial.get("sizes", {}).values():
                    d.setdefault("measured", now())
                if "tiled" in partial:
                    partial["tiled"].setdefault("measured", now())
                sizes_all = {**previous.get("sizes", {}), **partial.get("sizes", {})}
                out = {**previous, **partial, "sizes": sizes_all, "measured": now(), "command": command,
                       "seconds": time.perf_counter() - t, "complete": complete, "commit": _commit()}
                if "tiled" not in partial and "tiled" in previous:
                    out["tiled"] = previous["tiled"]
                return out

            def checkpoint(partial: dict) -> None:
                results["parts"]["scale"] = merged(partial, False)
                _save(results, args.no_write)

            results["parts"]["scale"] = merged(scale.run(work, sizes, tile, checkpoint), True)
            _save(results, args.no_write)
    finally:
        if not args.keep and not args.work:
            shutil.rmtree(work, ignore_errors=True)
    from report import render
    text = render(results)
    if args.no_write:
        print(text)
    else:
        RESULTS_MD.write_text(text, encoding="utf-8")
        log(f"wrote {RESULTS_MD.relative_to(HERE.parent)} and {RESULTS_JSON.relative_to(HERE.parent)} "
            f"in {time.perf_counter() - t_all:.0f} s")
    return 0


def _commit() -> str:
    """HEAD, marked when qa/ has uncommitted changes: parts measured at different times may
    have run different code (others commit to qa/ while a long run goes on)."""
    import subprocess
    try:
        head = subprocess.run(["git", "-C", str(HERE.parent), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(HERE.parent), "status", "--porcelain", "qa"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return head + ("+uncommitted qa/ changes" if dirty else "")
    except Exception:  # noqa: BLE001 - informative only
        return "?"


def _save(results: dict, no_write: bool) -> None:
    if not no_write:
        save_results(results)
        from report import render
        RESULTS_MD.write_text(render(results), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
