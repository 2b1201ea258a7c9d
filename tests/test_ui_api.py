"""The named API endpoints through gradio_client, against the real app on a free local port."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from qa.store import current_generation
from ui_helpers import HOSTILE_NAME, NEW_DATE, UNIQUE_QUESTION, hostile_issue_text, new_issue_text
from ui_helpers import server  # noqa: F401  (the module's app, a fixture)

pytestmark = pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")

ENERGY = "What are the new energy storage targets for 2027?"


@pytest.fixture(scope="module")
def client(server):
    return Client(server[0], verbose=False)


def test_named_endpoints_are_the_api(client):
    named = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert set(named) == {"/ask", "/search", "/list_issues", "/add_issue"}


def test_ask(client):
    r = client.predict(ENERGY, api_name="/ask")
    assert not r["abstained"] and "[1]" in r["answer"]
    assert r["citations"][0]["issue_date"] == "2024-12-04"
    assert r["citations"][0]["issue_title"] == "China Industries, 4 December 2024"
    assert "energy storage" in r["citations"][0]["section"].lower()
    assert all(c["sentences"] and c["text"] for c in r["citations"])

    # Filters narrow the search: corporate news only can't cite the Top-5 article.
    only_news = client.predict(question=ENERGY, kinds=["corporate_news"], api_name="/ask")
    assert all(c["section"] == "Corporate news" for c in only_news["citations"])
    one_issue = client.predict(question="What are the key targets of the plan?", issues=["2022-10-05"],
                               api_name="/ask")
    assert one_issue["citations"] and all(c["issue_date"] == "2022-10-05" for c in one_issue["citations"])
    older = client.predict(question=ENERGY, date_to="2023-12-31", api_name="/ask")
    assert all(c["issue_date"] <= "2023-12-31" for c in older["citations"])

    # A follow-up reads the history.
    follow = client.predict(question="And what does MERICS think about it?",
                            history=[{"role": "user", "content": ENERGY}, {"role": "assistant", "content": r["answer"]}],
                            api_name="/ask")
    assert any("follow-up" in n for n in follow["notes"])

    with pytest.raises(AppError, match="empty"):
        client.predict("   ", api_name="/ask")
    with pytest.raises(AppError, match="not a date"):
        client.predict(question=ENERGY, date_from="December 2024", api_name="/ask")


def test_search(client):
    r = client.predict("BioNTech acquisition of Biotheus", 3, api_name="/search")
    assert 1 <= len(r["hits"]) <= 3
    top = r["hits"][0]
    assert top["rank"] == 1 and top["issue_date"] == "2024-12-04" and "BioNTech" in top["text"]
    assert top["section"] == "Corporate news"


def test_list_issues(client):
    issues = client.predict(api_name="/list_issues")
    dates = [i["issue_date"] for i in issues]
    assert dates[:4] == sorted(dates, reverse=True)[:4]
    assert {"2022-10-05", "2023-12-06", "2024-10-02", "2024-12-04"} <= set(dates)
    dec = next(i for i in issues if i["issue_date"] == "2024-12-04")
    assert dec["period_start"] == "2024-10-29" and dec["period_end"] == "2024-11-25"
    assert len(dec["articles"]) == 5 and dec["policy_news"] > 0 and dec["corporate_news"] > 0


def test_add_issue_refusals_leave_the_index_alone(client, server):
    _, settings = server
    before = current_generation(settings.index_dir)
    corpus_before = sorted(p.name for p in settings.corpus_dir.iterdir())
    for text, name, reason in [
        (new_issue_text(), "issue.pdf", "not a PDF file"),
        (new_issue_text(), "issue.docx", "expected .md, .txt or .pdf"),
        ("Hello, this is not a newsletter.\n", "notes.md", "not a MERICS China Industries issue"),
        ("", "empty.md", "empty"),
        ("x" * (settings.limits.max_upload_bytes + 1), "big.md", "limit"),
    ]:
        r = client.predict(text, name, False, api_name="/add_issue")
        assert r["status"] == "refused" and reason in r["message"], r
    assert current_generation(settings.index_dir) == before
    assert sorted(p.name for p in settings.corpus_dir.iterdir()) == corpus_before


def test_add_issue_flow_with_hostile_file_name(client, server):
    _, settings = server
    text = hostile_issue_text()
    r = client.predict(text, "../../../etc/" + HOSTILE_NAME, False, api_name="/add_issue")
    assert r["status"] == "added", r
    date = r["issue_date"]
    saved = settings.corpus_dir / f"merics-china-industries-{date}.md"
    assert saved.read_text(encoding="utf-8") == text
    assert r["preview"]["target_name"] == saved.name
    # The name was only a label: nothing outside the corpus, nothing named after it.
    assert not any("img" in p.name or "etc" in p.name for p in settings.corpus_dir.parent.rglob("*"))
    assert "/" not in r["preview"]["source"] and "<" not in r["preview"]["source"]

    again = client.predict(text, "other-name.md", False, api_name="/add_issue")
    assert again["status"] == "unchanged"

    edited = text.replace("quokka robotics standard", "quokka robotics norm")
    asked = client.predict(edited, "hostile.md", False, api_name="/add_issue")
    assert asked["status"] == "needs_replace" and "replace" in asked["message"]
    assert saved.read_text(encoding="utf-8") == text
    replaced = client.predict(edited, "hostile.md", True, api_name="/add_issue")
    assert replaced["status"] == "replaced" and date in replaced["report"]["updated"]
    assert saved.read_text(encoding="utf-8") == edited
    answer = client.predict("What does the quokka robotics norm cover?", api_name="/ask")
    assert answer["citations"] and answer["citations"][0]["issue_date"] == date


def test_questions_in_parallel_while_an_issue_is_added(server):
    """Questions keep being answered, concurrently, while an upload is embedded and swapped in."""
    url, _ = server
    adder = Client(url, verbose=False)
    before = adder.predict(UNIQUE_QUESTION, api_name="/ask")
    assert not any(c["issue_date"] == NEW_DATE for c in before["citations"])

    add_done = threading.Event()
    add_times = {}

    def add():
        add_times["start"] = time.perf_counter()
        add_times["result"] = adder.predict(new_issue_text(), "march.md", False, api_name="/add_issue")
        add_times["end"] = time.perf_counter()
        add_done.set()

    def ask(i):
        c = Client(url, verbose=False)
        t0 = time.perf_counter()
        r = c.predict(ENERGY, api_name="/ask")
        return t0, time.perf_counter(), r

    thread = threading.Thread(target=add)
    thread.start()
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(ask, range(12)))
    thread.join(timeout=120)
    assert add_done.is_set() and add_times["result"]["status"] == "added", add_times.get("result")
    for t0, t1, r in results:
        assert r["citations"] and r["citations"][0]["issue_date"] == "2024-12-04"
    # The questions overlapped each other (not one at a time) and the update.
    spans = sorted((t0, t1) for t0, t1, _ in results)
    assert any(spans[i + 1][0] < spans[i][1] for i in range(len(spans) - 1))
    assert any(add_times["start"] < t0 and t1 < add_times["end"] for t0, t1, _ in results)

    after = adder.predict(UNIQUE_QUESTION, api_name="/ask")
    assert after["citations"][0]["issue_date"] == NEW_DATE and "42" in after["answer"]
