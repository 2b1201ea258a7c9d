"""Chunking: every chunk is one piece of one part of one section of one issue, fits what the
real model reads (counted with its own tokenizer), and carries its context."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pytest

from core_helpers import DATES, ENERGY_BULLET, ENERGY_HEADING, issue_file
from qa import chunk_issue, read_issue
from qa.chunk import TAIL_SHARE, _pack, count_tokens, enforce_limit
from qa.store import load_snapshot
from qa.text import split_units


@pytest.fixture(scope="module")
def issues():
    return {d: read_issue(issue_file(d)) for d in DATES}


@pytest.mark.parametrize("budget", [160, 40])
@pytest.mark.parametrize("date", DATES)
def test_every_chunk_is_a_piece_of_one_part_of_one_section(issues, settings_base, date, budget):
    issue = issues[date]
    chunks = chunk_issue(issue, budget)
    assert len({c.id for c in chunks}) == len(chunks)
    by_part: dict[tuple[str, int], list] = {}
    for c in chunks:
        d, sid, pi, piece = c.id.split("/")
        section = issue.section(sid)
        part = section.parts[int(pi)]
        assert (d, c.issue_date, c.section_id) == (date, date, sid)
        assert (c.section_kind, c.section_heading) == (section.kind, section.heading)
        assert (c.part_kind, c.part_label) == (part.kind, part.label)
        assert c.context.startswith(f"{issue.title}. ")
        if part.date or section.policy_date:
            assert c.dates == (part.date or section.policy_date,)
        by_part.setdefault((sid, int(pi)), []).append((int(piece), c))
    # Nothing lost, nothing repeated: a part's pieces, in order, hold its paragraphs and bullets.
    assert set(by_part) == {(s.id, i) for s in issue.sections for i in range(len(s.parts))}
    for (sid, pi), pieces in by_part.items():
        pieces.sort(key=lambda x: x[0])
        assert [n for n, _ in pieces] == list(range(len(pieces)))
        words = " ".join(c.text for _, c in pieces).split()
        assert words == issue.section(sid).parts[pi].text.split(), (date, sid, pi)


@pytest.mark.parametrize("date", DATES)
def test_chunk_bodies_keep_to_the_budget(issues, date):
    for budget in (160, 60):
        for c in chunk_issue(issues[date], budget):
            # A single sentence, bullet or policy-document block longer than the budget is the only
            # excuse, besides a small last piece folded into the one before it.
            if count_tokens(c.text) > budget * (1 + 1 / TAIL_SHARE):
                assert len(split_units(c.text)) == 1 or c.part_kind == "document", (c.id, c.text)


def test_a_small_last_piece_joins_the_one_before_it():
    words = lambda t: len(t.split())  # noqa: E731 - a counter anyone can check by eye
    data = "Orders rose from 2 in 2021 to 9 in 2024 and to 14 in 2025 as buyers in Asia came."  # 19 words
    # 19 + 2 words exceed the budget of 20, but "Source: CWEA" alone would be a chunk of little more
    # than its context: under a quarter of the budget, it joins the piece before it.
    assert _pack(f"{data}\n\nSource: CWEA", 20, words) == [(f"{data}\n\nSource: CWEA", "")]
    # A last piece of a quarter of the budget or more stays its own chunk.
    tail = "Source: CWEA, company announcements, MERICS compilation"  # 6 words
    assert _pack(f"{data}\n\n{tail}", 20, words) == [(data, ""), (tail, "")]


def test_the_model_reads_exactly_max_tokens_word_pieces(embedder):
    """Check, don't assume: the text beyond `max_tokens` word pieces changes nothing."""
    limit = embedder.max_tokens
    assert limit == 256
    assert embedder.count_tokens("word " * 10) == 12  # special tokens [CLS] and [SEP] included
    full = "word " * (limit - 3) + "zebra"                 # exactly `limit` pieces
    over = "word " * (limit - 2) + "zebra"                 # one more: "zebra" falls off
    assert (embedder.count_tokens(full), embedder.count_tokens(over)) == (limit, limit + 1)
    base_full, base_over = "word " * (limit - 3), "word " * (limit - 2)
    v = embedder.embed([full, base_full, over, base_over])
    assert not np.allclose(v[0], v[1], atol=1e-4), "the last piece within the limit is read"
    assert np.allclose(v[2], v[3], atol=1e-5), "a piece beyond the limit is dropped"


def test_every_indexed_chunk_fits_the_model(built_index, embedder):
    snap = load_snapshot(built_index)
    counts = [embedder.count_tokens(c.embed_text) for c in snap.chunks]
    longest = max(counts)
    print(f"\n{len(counts)} chunks; longest embedded text {longest} of {embedder.max_tokens} word pieces")
    assert longest <= embedder.max_tokens
    assert sorted({c.issue_date for c in snap.chunks}) == list(DATES)


def test_enforce_limit_splits_an_artificially_long_chunk(issues, embedder):
    issue = issues["2024-12-04"]
    original = chunk_issue(issue, 160)[0]
    long_text = "\n\n".join(p.text for s in issue.articles for p in s.parts if p.kind == "comment")
    chunk = replace(original, text=long_text)
    assert embedder.count_tokens(chunk.embed_text) > 4 * embedder.max_tokens
    pieces = enforce_limit([chunk], embedder.count_tokens, embedder.max_tokens)
    assert len(pieces) >= 5
    for p in pieces:
        assert embedder.count_tokens(p.embed_text) <= embedder.max_tokens
        assert re.fullmatch(re.escape(original.id) + r"(\.[01])+", p.id)
        assert p.context == original.context and p.section_id == original.section_id
    assert len({p.id for p in pieces}) == len(pieces)
    assert " ".join(p.text for p in pieces).split() == long_text.split()
    # A chunk within the limit is passed through untouched.
    short = chunk_issue(issue, 160)[1]
    assert enforce_limit([short], embedder.count_tokens, embedder.max_tokens) == [short]


def test_energy_storage_bullets_carry_the_article_title(built_index):
    snap = load_snapshot(built_index)
    [chunk] = [c for c in snap.chunks if ENERGY_BULLET in c.text]
    assert chunk.issue_date == "2024-12-04" and chunk.section_heading == ENERGY_HEADING
    assert chunk.part_label == "At a glance"
    assert chunk.context.startswith("China Industries, 4 December 2024.")
    assert ENERGY_HEADING in chunk.context and "At a glance" in chunk.context
    assert chunk.embed_text.startswith(chunk.context)


def test_bullets_split_from_their_lead_in_keep_it_in_the_context(issues):
    """With a small budget the 2027 bullets are chunked apart from "Important goals for 2027 include:"."""
    chunks = [c for c in chunk_issue(issues["2024-12-04"], 40) if c.section_id == "2" and c.part_kind == "at_a_glance"]
    bullets = [c for c in chunks if c.text.startswith("- ")]
    assert len(bullets) >= 2
    for c in bullets:
        assert ENERGY_HEADING in c.context
        assert c.context.endswith("Important goals for 2027 include:"), c.context
    [first] = [c for c in chunks if ENERGY_BULLET in c.text]
    assert "Important goals for 2027 include:" in first.text or first.context.endswith("include:")
