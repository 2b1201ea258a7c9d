"""`qa serve` as a user runs it: a subprocess with QA_CORPUS_DIR / QA_INDEX_DIR set."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from gradio_client import Client

from conftest import CORPUS, ROOT
from ui.app import is_loopback, load_auth
from ui_helpers import copy_workspace, free_port


class Serve:
    """`python -m ui.cli serve ...` with its combined output collected line by line."""

    def __init__(self, args: list[str], env: dict[str, str]):
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")} | env
        self.proc = subprocess.Popen([sys.executable, "-m", "ui.cli", "serve", *args], cwd=ROOT, env=full_env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float = 180) -> int:
        """Index of the first output line containing `text`; fails if the process ends first."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for i, line in enumerate(self.lines):
                if text in line:
                    return i
            if self.proc.poll() is not None and not self.reader.is_alive():
                break
            time.sleep(0.1)
        pytest.fail(f"no {text!r} in the output of qa serve:\n" + "\n".join(self.lines))

    def stop(self, sig: int = signal.SIGINT) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self.reader.join(timeout=5)


def test_first_run_builds_the_index_then_serves_with_login(tmp_path):
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    shutil.copy(CORPUS / "merics-china-industries-2024-12-04.txt", corpus)
    port = free_port()
    serve = Serve(["--port", str(port)], {"QA_CORPUS_DIR": str(corpus), "QA_INDEX_DIR": str(index),
                                          "QA_AUTH": "reader:s3cret pass"})
    try:
        serving = serve.wait_for(f"on http://127.0.0.1:{port}/ (login required)")
        order = [serve.wait_for(f"No index in {index} yet: building it"), serve.wait_for("Full rebuild (no index yet)"),
                 serve.wait_for("Loading the embedding model"), serve.wait_for("1 issues indexed"), serving]
        assert order == sorted(order)
        assert not any("warning" in line for line in serve.lines)
        assert (index / "CURRENT").exists()

        with pytest.raises(Exception):
            Client(f"http://127.0.0.1:{port}/", verbose=False)
        client = Client(f"http://127.0.0.1:{port}/", auth=("reader", "s3cret pass"), verbose=False)
        issues = client.predict(api_name="/list_issues")
        assert [i["issue_date"] for i in issues] == ["2024-12-04"]
        answer = client.predict("What are the new energy storage targets for 2027?", api_name="/ask")
        assert answer["citations"][0]["issue_date"] == "2024-12-04"
        # Listening on loopback only.
        with pytest.raises(OSError):
            socket.create_connection((_outward_address(), port), timeout=2).close()
    finally:
        code = serve.stop()
    assert code == 0, "\n".join(serve.lines)


def test_serving_a_built_index_never_loads_torch(tmp_path, settings_base, built_index):
    """The server answers on ONNX Runtime: torch's library is never mapped into its memory."""
    settings = copy_workspace(tmp_path, built_index, settings_base)
    port = free_port()
    serve = Serve(["--port", str(port)], {"QA_CORPUS_DIR": str(settings.corpus_dir),
                                          "QA_INDEX_DIR": str(settings.index_dir)})
    try:
        serve.wait_for(f"on http://127.0.0.1:{port}/")
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        answer = client.predict("What are the new energy storage targets for 2027?", api_name="/ask")
        assert answer["citations"][0]["issue_date"] == "2024-12-04"
        libraries = (Path("/proc") / str(serve.proc.pid) / "maps").read_text()
        assert "onnxruntime" in libraries and "libtorch" not in libraries
        assert not any("warning" in line for line in serve.lines), serve.lines
    finally:
        code = serve.stop(signal.SIGTERM)  # what a service manager sends; the other tests send Ctrl+C
    assert code == 0 and serve.lines[-1] == "Stopping…", "\n".join(serve.lines)


def _outward_address() -> str:
    """This machine's address on its default route, or skip when it has none but loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # TEST-NET address: nothing is sent
            address = s.getsockname()[0]
        except OSError:
            address = ""
    if not address or address.startswith("127."):
        pytest.skip("no non-loopback address to test against")
    return address


def test_exposed_without_login_warns_and_a_busy_port_fails_fast(tmp_path):
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))  # bound, never listening: nothing can connect to it
        port = taken.getsockname()[1]
        serve = Serve(["--host", "0.0.0.0", "--port", str(port)],
                      {"QA_CORPUS_DIR": str(CORPUS), "QA_INDEX_DIR": str(tmp_path / "index")})
        code = serve.proc.wait(timeout=60)
        serve.reader.join(timeout=5)
    out = "\n".join(serve.lines)
    assert code == 1, out
    assert "warning: listening on 0.0.0.0 without a login" in out
    assert f"cannot listen on 0.0.0.0:{port}" in out
    assert "Loading the embedding model" not in out  # refused before the slow part
    assert not (tmp_path / "index").exists()


def test_logins_and_loopback(tmp_path, monkeypatch):
    monkeypatch.delenv("QA_AUTH", raising=False)
    assert load_auth(None) is None
    f = tmp_path / "logins"
    f.write_text("# comment\n\nalice:wonder:land\nbob:builder\n")
    assert load_auth(str(f)) == [("alice", "wonder:land"), ("bob", "builder")]
    monkeypatch.setenv("QA_AUTH", "carol:secret")
    assert load_auth(None) == [("carol", "secret")]
    assert load_auth(str(f))[0][0] == "alice"  # the file wins
    for value in (":nouser", "nopassword:", "plain"):
        monkeypatch.setenv("QA_AUTH", value)
        with pytest.raises(ValueError):
            load_auth(None)
    f.write_text("# nothing\n")
    with pytest.raises(ValueError):
        load_auth(str(f))
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost") and is_loopback("127.0.0.5")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5") and not is_loopback("example.org")
