"""Dependencies point one way: `ui/` (web app, MCP tools, the `qa` command) calls `qa/`, and
`qa/` knows nothing of Gradio, the console or the UI.

The fast test reads every import statement of `qa/` (including those inside functions, where a
lazy import would hide a cycle); the slow one imports every module and looks at `sys.modules`.
"""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from conftest import ROOT

# What the library must never import: the UI packages, and what only a front end needs.
FORBIDDEN = {"ui", "gradio", "gradio_client", "tqdm"}


def _imports(path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", sorted((ROOT / "qa").glob("*.py")), ids=lambda p: p.name)
def test_library_module_imports_no_front_end(path):
    assert not _imports(path) & FORBIDDEN, f"qa/{path.name} imports {_imports(path) & FORBIDDEN}"


def test_the_import_check_sees_a_lazy_import(tmp_path):
    # The check above must be able to fail: an import inside a function counts.
    f = tmp_path / "m.py"
    f.write_text("def serve():\n    from ui.app import serve\n    import gradio as gr\n")
    assert _imports(f) == {"ui", "gradio"}


@pytest.mark.slow
def test_importing_every_library_module_loads_no_gradio():
    modules = sorted(p.stem for p in (ROOT / "qa").glob("*.py") if p.stem != "__init__")
    code = ("import importlib, sys\n"
            f"for m in {modules!r}: importlib.import_module('qa.' + m)\n"
            "import ui.cli\n"  # the command line loads Gradio only for `qa serve`
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {sorted(FORBIDDEN - {'ui', 'tqdm'})!r}))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
