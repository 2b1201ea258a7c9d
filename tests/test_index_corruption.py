"""Every single-file corruption of the live generation, on real index files (issue 8).

For each file of a generation (manifest.json, chunks.jsonl, vectors.npy, dense.faiss, each
BM25 file, each issues/<date>.json) and CURRENT, and each damage (truncate, random bytes in
place, delete, empty, swap with the other generation's file), three copies of a two-generation
index are damaged the same way:

  A  the previous generation is there:  `qa search`, then `qa index` repairs
  B  only the live generation is there: `qa search`, then `qa index` repairs
  C  as B:                              `qa index --rebuild` repairs

`qa search` must give either the results of a generation that verifies, with one warning line
naming the damaged file and `qa index`, or fail with one line naming it and the fix. After
each repair the live generation must verify (`qa index --check`) and hold the passages and
vectors of the undamaged one, and index/models/ must be untouched. The counts go to
test-output/corruption-table.md.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from conftest import ROOT
from integrity_helpers import DAMAGES, build_two_generations, cli, damage, search, served_generation
from integrity_helpers import one_torch_thread  # noqa: F401  (a fixture)
from qa.store import load_snapshot

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TABLE = ROOT / "test-output" / "corruption-table.md"


@pytest.fixture(scope="module")
def gens(tmp_path_factory, settings_base, embedder):
    return build_two_generations(tmp_path_factory.mktemp("two-gens"), settings_base, embedder)


def expected_hits(capsys, gens, tmp_path) -> dict[str, list]:
    """`qa search` on an undamaged index whose CURRENT names each generation in turn."""
    out = {}
    for gen in (gens.previous, gens.live):
        index = gens.copy(tmp_path / f"expect-{gen}")
        (index / "CURRENT").write_text(gen + "\n")
        status, hits, err = search(capsys, index, gens.corpus)
        assert status == 0 and err == "" and hits, err
        out[gen] = hits
    assert out[gens.previous] != out[gens.live]
    return out


def judge_search(capsys, index, gens, rel, path, expected) -> str:
    """'fallback' or 'message'; raises AssertionError when `qa search` did neither properly."""
    status, hits, err = search(capsys, index, gens.corpus)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, f"not one line on stderr: {err!r}"
    line = lines[0]
    assert "`qa index`" in line, f"no fixing command: {line}"
    # The file named is the damaged one, or (a swapped manifest lists other sizes) another file of
    # the same generation.
    named = str(path) in line or (rel != "CURRENT" and str(index / gens.live) in line)
    assert named, f"the damaged file is not named: {line}"
    if status == 0:
        assert line.startswith("warning: "), line
        served = served_generation(line)
        assert served in expected and (served != gens.live or rel == "CURRENT"), line
        assert hits == expected[served], f"results differ from those of {served}"
        return "fallback"
    assert status == 1 and line.startswith("error: ") and hits is None, (status, line)
    return "message"


def judge_repair(capsys, index, gens, original, *args) -> None:
    """`qa index [args]` succeeds and leaves a live generation with the original's content, which
    `qa index --check` verifies (same passages and vectors: `qa search` answers as before)."""
    status, out, err = cli(capsys, "index", *args, "--index", str(index), "--corpus", str(gens.corpus))
    assert status == 0, f"qa index {' '.join(args)} failed: {err[-500:]}"
    status, out, err = cli(capsys, "index", "--check", "--index", str(index))
    assert status == 0, out + err
    snap = load_snapshot(index)
    assert snap.damaged == "" and snap.generation != gens.live
    assert [c.to_dict() for c in snap.chunks] == [c.to_dict() for c in original.chunks]
    assert np.allclose(snap.vectors, original.vectors, atol=1e-5)
    assert (index / "models" / "model.onnx").read_bytes() == b"onnx"
    assert not [p.name for p in index.iterdir() if p.name.startswith(".CURRENT.") or p.name.endswith(".tmp")]


def test_every_single_file_corruption(gens, capsys, tmp_path):
    expected = expected_hits(capsys, gens, tmp_path)
    original = load_snapshot(gens.index)
    rng = np.random.default_rng(8)
    rows, failures = [], []
    for rel in gens.files:
        for kind in DAMAGES:
            case = f"{rel} / {kind}"
            row = {"file": rel, "damage": kind}
            for scenario, keep_previous, repair in (("A", True, ()), ("B", False, ()), ("C", False, ("--rebuild",))):
                index = gens.copy(tmp_path / f"{len(rows)}-{scenario}", keep_previous=keep_previous)
                path = damage(index, gens, rel, kind, rng)
                try:
                    if scenario != "C":
                        row[scenario] = judge_search(capsys, index, gens, rel, path, expected)
                    judge_repair(capsys, index, gens, original, *repair)
                    row[f"repair {scenario}"] = True
                except AssertionError as e:
                    failures.append(f"{case}, scenario {scenario}: {e}")
            rows.append(row)
    write_table(rows)
    assert not failures, "\n".join(failures)
    assert len(rows) == len(gens.files) * len(DAMAGES) >= 13 * 5


def write_table(rows: list[dict]) -> None:
    counts = {kind: Counter() for kind in DAMAGES}
    for r in rows:
        c = counts[r["damage"]]
        c["cases"] += 1
        for s in ("A", "B"):
            c[r.get(s, "failed")] += 1
        c["qa index"] += bool(r.get("repair A")) + bool(r.get("repair B"))
        c["--rebuild"] += bool(r.get("repair C"))
    total = sum(counts.values(), Counter())
    lines = ["# Single-file corruptions of the live generation", "",
             "Written by tests/test_index_corruption.py. Each case is run on three copies of a real "
             "two-generation index: `qa search` with the previous generation present (A) and absent (B), "
             "then `qa index` repairs A and B; `qa index --rebuild` repairs a third copy (C).", "",
             "| damage | cases | `qa search`: clear message | `qa search`: fallback served | search failed "
             "| repaired by `qa index` | repaired by `--rebuild` |",
             "|---|---|---|---|---|---|---|"]
    for kind, c in [*counts.items(), ("**all**", total)]:
        lines.append(f"| {kind} | {c['cases']} | {c['message']} of {2 * c['cases']} | {c['fallback']} of "
                     f"{2 * c['cases']} | {c['failed']} | {c['qa index']} of {2 * c['cases']} | "
                     f"{c['--rebuild']} of {c['cases']} |")
    lines += ["", "Per file (A / B: what `qa search` did; ✓ repaired):", "",
              "| file | " + " | ".join(DAMAGES) + " |", "|---|" + "---|" * len(DAMAGES)]
    by_file: dict[str, dict] = {}
    for r in rows:
        cell = (f"{r.get('A', 'FAILED')} / {r.get('B', 'FAILED')} "
                f"{'✓' if r.get('repair A') and r.get('repair B') and r.get('repair C') else 'NOT REPAIRED'}")
        by_file.setdefault(r["file"], {})[r["damage"]] = cell
    for f, cells in by_file.items():
        lines.append(f"| {f} | " + " | ".join(cells.get(k, "") for k in DAMAGES) + " |")
    TABLE.parent.mkdir(exist_ok=True)
    TABLE.write_text("\n".join(lines) + "\n", encoding="utf-8")
