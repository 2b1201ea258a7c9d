"""Shared helpers of the benchmark: machine facts, timing statistics, workspaces, offline guard."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
QUESTIONS = ROOT / "bench" / "questions.jsonl"
# Held-out sets, measured only when present: questions over the shipped issues never used for
# tuning, and a folder with an issue never seen in development and questions about it.
HELDOUT = ROOT / "bench" / "heldout.jsonl"
UNSEEN = ROOT / "bench" / "unseen"
RESULTS_JSON = ROOT / "bench" / "results.json"
RESULTS_MD = ROOT / "bench" / "RESULTS.md"

# Nothing in the benchmark may reach a hub: the model is bundled, tiktoken's encoding is the
# packaged offline one, LlamaIndex's NLTK data is the copy inside llama-index-core.
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
               "TOKENIZERS_PARALLELISM": "false"}


def set_offline_env() -> None:
    for k, v in OFFLINE_ENV.items():
        os.environ.setdefault(k, v)


def now() -> str:
    return dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")


def machine() -> dict:
    import psutil
    info = {"cores_logical": os.cpu_count(), "cores_physical": psutil.cpu_count(logical=False),
            "memory_gib": round(psutil.virtual_memory().total / 2**30, 1), "python": platform.python_version(),
            "platform": platform.platform(), "load_avg_at_start": [round(x, 2) for x in os.getloadavg()]}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import faiss
        import torch
        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
        info["faiss"] = faiss.__version__
        import onnxruntime
        info["onnxruntime"] = onnxruntime.__version__
    except Exception:  # noqa: BLE001 - informative only
        pass
    try:
        info["commit"] = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                                        capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "qa"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        info["qa_dirty"] = bool(dirty)
    except Exception:  # noqa: BLE001
        pass
    return info


def median(xs) -> float:
    return float(statistics.median(xs)) if xs else float("nan")


def percentile(xs, p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of xs."""
    if not xs:
        return float("nan")
    s = sorted(xs)
    k = max(0, min(len(s) - 1, int(round(p / 100 * len(s) + 0.5)) - 1))
    return float(s[k])


def timed(fn, *args, **kw):
    t = time.perf_counter()
    out = fn(*args, **kw)
    return time.perf_counter() - t, out


def ensure_onnx_export(settings) -> None:
    """Make the ONNX export in `settings.index_dir` when it is missing, as `qa index` does, so
    that a process which loads an embedder before building measures ONNX, not a torch fallback."""
    from qa.embed import model_folder
    from qa.onnx_export import ensure_export
    ensure_export(Path(settings.index_dir), model_folder(settings))


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def live_generation(index_dir: Path) -> Path:
    return Path(index_dir) / (Path(index_dir) / "CURRENT").read_text().strip()


def copy_tree(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class NetworkGuard:
    """Refuses (and counts) every connection to a non-loopback address while active."""

    def __init__(self):
        self.attempts: list[str] = []

    @contextlib.contextmanager
    def active(self):
        original = socket.socket.connect
        guard = self

        def connect(sock, address):
            host = address[0] if isinstance(address, tuple) else str(address)
            if isinstance(address, tuple) and not (host.startswith("127.") or host in ("::1", "localhost")):
                guard.attempts.append(str(address))
                raise OSError(f"benchmark is offline: refused connection to {address}")
            return original(sock, address)

        socket.socket.connect = connect
        try:
            yield self
        finally:
            socket.socket.connect = original


def load_results() -> dict:
    try:
        return json.loads(RESULTS_JSON.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def save_results(results: dict) -> None:
    RESULTS_JSON.write_text(json.dumps(results, indent=1, ensure_ascii=False, default=_jsonable) + "\n")


def _jsonable(o):
    if hasattr(o, "item"):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(type(o))
