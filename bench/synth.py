"""A synthetic archive for the scale benchmark, generated from the real issues in corpus/.

Each synthetic issue is a real issue file that `qa.parse` reads: a masthead with its own
date (one issue a month) and reporting period, a CONTENTS list, five Top-5 articles drawn
from the pool of all real articles and renumbered, and policy and corporate news items
drawn from the pool of all real items with their dates moved into the new reporting
period. Article blocks are copied line for line from the real files (their markup
included), so the parser meets the same variety it meets in the real ones; the skeleton
around them (masthead, CONTENTS, headings) is written in the markdown style of the later
issues. The policy "Date:" line of an article is moved into the reporting period too.

    python bench/synth.py OUT_DIR --issues 100      # write 100 issues and check they parse
"""

from __future__ import annotations

import argparse
import calendar
import datetime as dt
import difflib
import random
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from qa import read_issue
from qa.schema import CORPORATE_NEWS, POLICY_NEWS
from qa.text import MONTH_RE, clean_inline, normalize, strip_heading

START = dt.date(2025, 1, 1)
"""Month of synthetic issue 0; issue k appears k months later (10,000 issues end in 2858)."""


@dataclass
class Article:
    title: str
    lines: list[str]
    """Raw lines from the heading to the end of the article, trailing blanks removed."""
    source: str


@dataclass
class Pool:
    articles: list[Article] = field(default_factory=list)
    policy: list[str] = field(default_factory=list)
    """Raw item text after its date prefix ("The MIIT announced ... ([MIIT notice](#))")."""
    corporate: list[str] = field(default_factory=list)
    boilerplate: list[list[str]] = field(default_factory=list)
    """AUTHORS .. end of file, one per real issue."""
    per_issue: list[tuple[int, int]] = field(default_factory=list)
    """(policy items, corporate items) of each real issue: the counts synthetic issues draw from."""


_ITEM_START = re.compile(rf"^\s*[-•*–·▪]?\s*\*?\s*(?P<date>{MONTH_RE})\.?\s+\d{{1,2}}\s*[:：]\s*\*?\s*(?P<rest>.*)$", re.I)
_DATE_LINE = re.compile(r"^(\s*\**\s*Date\s*:\s*\**\s*)(\S.*)$")
_TOC_TAIL = re.compile(r"(\.{2,}|…+|\t)\s*\d{1,3}\s*$")


def _plain(line: str) -> str:
    return strip_heading(line).strip()


def load_pool(corpus_dir: Path) -> Pool:
    pool = Pool()
    for path in sorted(p for p in Path(corpus_dir).iterdir() if p.suffix in (".txt", ".md")):
        issue = read_issue(path)
        lines = path.read_text(encoding="utf-8").replace("\r\n", "\n").split("\n")
        plains = [_plain(ln) for ln in lines]
        body = [i for i, p in enumerate(plains) if re.fullmatch(r"merics\s+top\s*5", p, re.I)]
        start = body[-1] + 1 if body else 0
        note = next(i for i in range(start, len(lines)) if re.fullmatch(r"noteworthy", plains[i], re.I))
        heads = []
        for sec in issue.articles:
            cands = [i for i in range(start, note) if re.match(rf"^{sec.number}\s*[.)]\s+\S", plains[i])
                     and not _TOC_TAIL.search(lines[i])]
            best = max(cands, key=lambda i: difflib.SequenceMatcher(
                None, normalize(plains[i]), normalize(f"{sec.number}. {sec.title}")).ratio())
            heads.append((best, sec.title))
        for j, (i, title) in enumerate(heads):
            end = heads[j + 1][0] if j + 1 < len(heads) else note
            block = lines[i:end]
            while block and not block[-1].strip():
                block.pop()
            pool.articles.append(Article(title=title, lines=block, source=path.name))
        authors = next(i for i in range(note, len(lines)) if plains[i].lower() in ("authors", "author"))
        kind, item, counts = None, None, {POLICY_NEWS: 0, CORPORATE_NEWS: 0}

        def flush():
            if item is not None and kind:
                text = " ".join(s.strip() for s in item if s.strip())
                (pool.policy if kind == POLICY_NEWS else pool.corporate).append(text)
                counts[kind] += 1

        for i in range(note + 1, authors):
            p = plains[i]
            if re.fullmatch(r"policy\s+news", p, re.I) or re.fullmatch(r"corporate\s+news", p, re.I):
                flush()
                item = None
                kind = POLICY_NEWS if p.lower().startswith("policy") else CORPORATE_NEWS
                continue
            m = _ITEM_START.match(lines[i])
            if m:
                flush()
                item = [m["rest"]]
            elif item is not None and lines[i].strip():
                item.append(lines[i])
        flush()
        pool.per_issue.append((counts[POLICY_NEWS], counts[CORPORATE_NEWS]))
        pool.boilerplate.append(lines[authors:])
    return pool


def _month(k: int) -> tuple[int, int]:
    m = START.month - 1 + k
    return START.year + m // 12, m % 12 + 1


def month_index(d: dt.date) -> int:
    """k of the synthetic issue dated in d's month."""
    return (d.year - START.year) * 12 + d.month - START.month


def issue_date(k: int) -> dt.date:
    year, month = _month(k)
    # The first Wednesday, like the real issues (2 Oct 2024, 4 Dec 2024, 6 Dec 2023, 5 Oct 2022).
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(2 - first.weekday()) % 7)


def _fmt(d: dt.date, upper: bool = False) -> str:
    s = f"{calendar.month_name[d.month]} {d.day}"
    return s.upper() if upper else s


def make_issue(pool: Pool, k: int, seed: int = 0) -> tuple[dt.date, str, dict]:
    """(issue date, file text, what it should parse to) for synthetic issue k."""
    rng = random.Random(seed * 1_000_003 + k)
    date = issue_date(k)
    period = (date - dt.timedelta(days=36), date - dt.timedelta(days=9))
    articles = rng.sample(pool.articles, 5)
    n_policy, n_corp = rng.choice(pool.per_issue)
    policy = rng.sample(pool.policy, min(n_policy, len(pool.policy)))
    corporate = rng.sample(pool.corporate, min(n_corp, len(pool.corporate)))
    span = (period[1] - period[0]).days

    def item_dates(n: int) -> list[dt.date]:
        return sorted(period[0] + dt.timedelta(days=rng.randint(0, span)) for _ in range(n))

    out = [" ", "", "",
           f"{_fmt(date, True)}, {date.year} (REPORTING PERIOD: {_fmt(period[0], True)} - {_fmt(period[1], True)})",
           "", "# MERICS", "", "## China Industries", "", "", "", "### CONTENTS", "", "MERICS TOP 5.....\t2"]
    for n, a in enumerate(articles, 1):
        out.append(f"{n}. {a.title}.....\t{n + 1}")
    out += ["NOTEWORTHY.....\t7", "Policy news .....\t7", "Corporate news.....\t7", "", "## MERICS TOP 5", ""]
    for n, a in enumerate(articles, 1):
        head = re.sub(r"\d{1,2}(?=\s*[.)]\s)", str(n), a.lines[0], count=1)
        out.append(head)
        for ln in a.lines[1:]:
            m = _DATE_LINE.match(ln)
            if m:
                policy_day = period[0] + dt.timedelta(days=rng.randint(0, span))
                ln = f"{m.group(1)}{_fmt(policy_day)}, {policy_day.year}"
            out.append(ln)
        out.append("")
    out += ["## NOTEWORTHY", "", "### Policy news", ""]
    out += [f"- *{_fmt(d)}:* {t}" for d, t in zip(item_dates(len(policy)), policy)]
    out += ["", "### Corporate news", ""]
    out += [f"- *{_fmt(d)}:* {t}" for d, t in zip(item_dates(len(corporate)), corporate)]
    out += ["", ""] + rng.choice(pool.boilerplate)
    expect = {"date": date.isoformat(), "titles": [clean_inline(a.title) for a in articles],
              "policy": len(policy), "corporate": len(corporate)}
    return date, "\n".join(out) + "\n", expect


def file_name(date: dt.date) -> str:
    return f"merics-china-industries-{date.isoformat()}.md"


def write_archive(pool: Pool, out_dir: Path, n: int, first: int = 0, seed: int = 0) -> list[dict]:
    """Write issues first..first+n-1 into out_dir; returns what each should parse to."""
    out_dir.mkdir(parents=True, exist_ok=True)
    expected = []
    for k in range(first, first + n):
        date, text, expect = make_issue(pool, k, seed)
        path = out_dir / file_name(date)
        path.write_text(text, encoding="utf-8")
        expected.append({**expect, "path": str(path)})
    return expected


def check(expected: list[dict]) -> list[str]:
    """Parse each file with qa.parse; one message per file that does not read back as written."""
    problems = []
    for e in expected:
        try:
            issue = read_issue(e["path"])
        except Exception as ex:  # noqa: BLE001 - reported, not raised
            problems.append(f"{Path(e['path']).name}: refused: {ex}")
            continue
        got = {"date": issue.date, "titles": [s.title for s in issue.articles],
               "policy": sum(len(s.parts) for s in issue.sections if s.kind == POLICY_NEWS),
               "corporate": sum(len(s.parts) for s in issue.sections if s.kind == CORPORATE_NEWS)}
        want = {k: e[k] for k in got}
        if got != want or issue.warnings:
            diff = {k: (want[k], got[k]) for k in got if got[k] != want[k]}
            problems.append(f"{Path(e['path']).name}: {diff} warnings={list(issue.warnings)}")
    return problems


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--issues", type=int, default=100)
    ap.add_argument("--corpus", default=str(Path(__file__).resolve().parent.parent / "corpus"))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    pool = load_pool(Path(args.corpus))
    expected = write_archive(pool, Path(args.out), args.issues, seed=args.seed)
    problems = check(expected)
    print(f"{len(expected)} issues written to {args.out}; pool: {len(pool.articles)} articles, "
          f"{len(pool.policy)} policy items, {len(pool.corporate)} corporate items; "
          f"{len(problems)} did not parse back as written")
    for p in problems[:20]:
        print("  " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
