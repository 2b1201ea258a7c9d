"""Does a generation's content match its manifest? Hashes, sizes and row counts.

A generation records the size and SHA-256 of every file it holds (`FileEntry`). Loading
compares sizes first (a stat per file), then hashes, then, once the files are parsed, the
row counts that must agree across them. Any difference is an `IndexDamaged` that names the
file, the problem and the command that repairs it, so no reader ever gets a decoder error
or a traceback from a damaged index.
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass
from pathlib import Path

REPAIR = "run `qa index` to repair the index"


class IndexMissing(FileNotFoundError):
    """There is no usable index: the message says which command builds one."""


class IndexDamaged(IndexMissing):
    """A generation whose files are missing, unreadable or disagree with its manifest."""

    def __init__(self, path: Path | str, problem: str, fix: str = REPAIR):
        self.path = str(path)
        """The file (or folder) at fault, as the index folder was given."""
        self.problem = problem
        self.fix = fix
        super().__init__(f"{self.path}: {problem}; {fix}")

    @property
    def where(self) -> str:
        """"path: problem", without the fix: for messages that say what happens next themselves."""
        return f"{self.path}: {self.problem}"


@dataclass(frozen=True)
class FileEntry:
    """One file of a generation as its writer left it."""
    size: int
    """Bytes."""
    sha256: str
    """Hex SHA-256 of the bytes."""

    def to_dict(self) -> dict:
        return {"size": self.size, "sha256": self.sha256}

    @classmethod
    def from_dict(cls, d) -> "FileEntry":
        if not isinstance(d, dict) or not _is_int(d.get("size")) or not isinstance(d.get("sha256"), str):
            raise ValueError("a file entry needs an integer size and a sha256")
        return cls(size=d["size"], sha256=d["sha256"])


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def record_files(folder: Path, skip: str = "manifest.json") -> dict[str, FileEntry]:
    """Size and hash of every file under `folder` but `skip`, by POSIX path relative to it."""
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).as_posix()
        if p.is_file() and rel != skip:
            out[rel] = FileEntry(size=p.stat().st_size, sha256=file_digest(p))
    return out


def check_files(folder: Path, files: dict[str, FileEntry], required: list[str], hashes: bool) -> None:
    """Every required file is listed; every listed file exists with its size (and hash)."""
    for rel in required:
        if rel not in files:
            raise IndexDamaged(folder / "manifest.json", f"does not list {rel}")
    for rel, entry in files.items():
        path = folder / rel
        if ".." in Path(rel).parts or Path(rel).is_absolute():
            raise IndexDamaged(folder / "manifest.json", f"lists a file outside the generation ({rel!r})")
        try:
            size = path.stat().st_size if path.is_file() else None
        except OSError:
            size = None
        if size is None:
            raise IndexDamaged(path, "is missing" if not path.exists() else "is not a file")
        if size != entry.size:
            raise IndexDamaged(path, f"is {size:,} bytes, the manifest says {entry.size:,} (truncated or replaced)")
    if hashes:
        for rel, entry in files.items():
            with reading(folder / rel):
                digest = file_digest(folder / rel)
            if digest != entry.sha256:
                raise IndexDamaged(folder / rel, "its content differs from the SHA-256 in the manifest "
                                                 "(garbled or replaced)")


def expect_rows(path: Path, what: str, found: int, rows: int) -> None:
    if found != rows:
        raise IndexDamaged(path, f"holds {found:,} {what}, the manifest says {rows:,}")


@contextlib.contextmanager
def reading(path: Path):
    """Any failure while reading `path` becomes an IndexDamaged naming it."""
    try:
        yield
    except IndexDamaged:
        raise
    except FileNotFoundError:
        raise IndexDamaged(path, "is missing") from None
    except MemoryError:
        raise IndexDamaged(path, "claims more data than fits in memory (garbled)") from None
    except Exception as e:  # noqa: BLE001 - decoders raise anything on garbage; all mean "unreadable"
        detail = " ".join(str(e).split())[:120]
        raise IndexDamaged(path, f"cannot be read ({type(e).__name__}: {detail})" if detail
                           else f"cannot be read ({type(e).__name__})") from None
