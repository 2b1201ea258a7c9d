"""Read a question before searching: its date window, the part it asks for, chat context.

Rules are deliberately few and visible: each one that fires adds a note to the answer
("Searched issues of 2025 only"), so a user can see what the assistant assumed.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass, field

from .asks import WHO_ISSUED, Asked, Slot, read_question
from .lexical import STOPWORDS, words
from .schema import COMMENT, CORPORATE_NEWS, DOCUMENT, EXHIBIT, POLICY_NEWS, SECTION_KINDS, format_date
from .text import MONTH_RE, month_number


class QuestionError(ValueError):
    """A question that cannot be searched (empty, too long); the message says why."""


@dataclass(frozen=True)
class Filters:
    """What the user narrowed the search to (UI filters, CLI flags)."""
    date_from: str | None = None
    """Earliest issue date, ISO, inclusive."""
    date_to: str | None = None
    issues: tuple[str, ...] = ()
    """Only these issue dates; empty means all."""
    kinds: tuple[str, ...] = ()
    """Only these section kinds (article, policy_news, corporate_news); empty means all."""

    def __post_init__(self):
        for name in ("issues", "kinds"):
            values = getattr(self, name)
            if not isinstance(values, (tuple, list)) or not all(isinstance(v, str) for v in values):
                raise QuestionError(f"filter {name} must be a tuple of strings, not {str(values)[:60]!r}")
        for name in ("date_from", "date_to"):
            if not isinstance(getattr(self, name), (str, type(None))):
                raise QuestionError(f"filter {name} must be a date as text (YYYY-MM-DD)")
        for k in self.kinds:
            if k not in SECTION_KINDS:
                raise QuestionError(f"unknown section kind {k!r}; use one of {', '.join(SECTION_KINDS)}")
        for d in (self.date_from, self.date_to, *self.issues):
            if d:
                try:
                    dt.date.fromisoformat(d)
                except ValueError:
                    raise QuestionError(f"{d!r} is not a date (use YYYY-MM-DD)") from None


@dataclass(frozen=True)
class Window:
    """A period a question names ("in November 2024", "the 2022 issues", "late 2023")."""
    first: str
    """ISO date, inclusive."""
    last: str
    names_issue: bool
    """"the December 2024 issue": matches the issue date alone, not item or policy dates."""
    label: str
    """As the answer's note names it: "November 2024", "2022 issues"."""


@dataclass(frozen=True)
class Query:
    question: str
    """As asked."""
    text: str
    """What is searched: the question plus, for a follow-up, the question it follows."""
    focus: str
    """The words that pick the answer's sentences: the question itself."""
    topic: str = ""
    """The question without its date, "latest issue" and news-kind phrases: what it is about.
    Empty topic words mean a browsing question ("corporate news in September 2022")."""
    filters: Filters = Filters()
    windows: tuple[Window, ...] = ()
    """Date ranges the question names, as (first, last, names an issue). A passage matches a
    range by its issue date, item or policy date, or its issue's reporting period; a range
    that names an issue ("the December 2024 issue") matches the issue date alone."""
    asks: Asked = Asked(slot=Slot.OTHER)
    """What the question asks for: the kind of answer, and the years, figures and names it must contain."""
    latest: bool = False
    """"the latest issue": only the newest issue."""
    part: str | None = None
    """Part kind the question asks for (COMMENT, DOCUMENT), boosted in the ranking."""
    kind: str | None = None
    """Section kind the question names (policy or corporate news), boosted in the ranking."""
    notes: tuple[str, ...] = field(default_factory=tuple)


_FOLLOW = re.compile(r"^(and|also|what about|how about|and what|what else|same for|then|but|ok(ay)?|so)\b", re.I)
_DEICTIC = {"it", "its", "they", "them", "their", "this", "that", "these", "those", "there", "he", "she"}
_COMMENT = re.compile(
    r"\bmerics\b|\b(risk|risks|implication|implications|opinion|assess|assessment|judge|judgement|view|"
    r"critic\w*|warn\w*|concern\w*|caution\w*|downside|threat|pressure|challenge|bad news|good news|"
    r"mean for|matter for|effective|likely|expect\w*|analysts?|think)\b", re.I)
_DOCUMENT = re.compile(
    rf"{WHO_ISSUED}|" r"\b(which (ministry|ministries|agency|agencies|body|bodies|"
    r"department|authority|authorities|government)|issuing bod\w*|issued by|(official|full|chinese|exact) "
    r"(title|name)|title of|name of the (policy|document|plan|notice|regulation)|when was\b.*\b(issued|"
    r"released|published|announced|adopted)|what date|on what date)\b", re.I)
_EXHIBIT = re.compile(r"\b(exhibits?|charts?|graphs?|figure \d+|the figure|data source)\b", re.I)
_CORPORATE = re.compile(r"\b(corporate news|company news|business news|which compan(y|ies)|what compan(y|ies)|firms? announced)\b", re.I)
_POLICY = re.compile(r"\bpolicy news\b", re.I)
_LATEST = re.compile(r"\b(latest|most recent|newest|current|last|recent)\s+(issue|edition|newsletter|report)\b", re.I)
_ISSUE_WORD = r"(?:issue|issues|edition|editions|newsletter|report)"
# Days of a month that "early", "late" ... cover (None: to the month's end); a day of overlap each side.
_MONTH_PART = {"early": (1, 11), "beginning of": (1, 11), "start of": (1, 11), "mid": (9, 22), "late": (19, None),
               "end of": (19, None), "first half of": (1, 16), "second half of": (14, None)}
_PHASE = {"early": (1, 4), "mid": (5, 8), "late": (9, 12), "end of": (10, 12), "beginning of": (1, 3),
          "spring": (3, 5), "summer": (6, 8), "autumn": (9, 11), "fall": (9, 11), "winter": (1, 2)}


def interpret(question: str, history: list[dict] | None = None, filters: Filters | None = None,
              dates: list[str] | None = None, today: dt.date | None = None, max_chars: int = 2000) -> Query:
    """Question (+ earlier chat turns as role/content dicts) -> Query. Raises QuestionError."""
    q = " ".join((question or "").split())
    if not q:
        raise QuestionError("The question is empty: type a question about the China Industries issues.")
    if len(q) > max_chars:
        raise QuestionError(f"The question is {len(q):,} characters long; the limit is {max_chars:,}. "
                            "Ask about one thing at a time.")
    today = today or dt.date.today()
    notes: list[str] = []
    text, prior = q, ""
    previous = [m.get("content", "") for m in (history or []) if m.get("role") == "user" and m.get("content")]
    if previous and _is_follow_up(q):
        prior = " ".join(str(previous[-1]).split())[:max_chars]
        text = f"{q} {prior}"
        notes.append(f"Read as a follow-up to: “{prior}”")

    windows, spans = _windows(q, today)
    if prior and not windows:
        # "starting when?" after "... in March 2026?": the earlier question's period still holds.
        windows = _windows(prior, today)[0]
    latest = bool(_LATEST.search(q))
    f = filters or Filters()
    eligible = [d for d in dates or () if (not f.issues or d in f.issues) and (not f.date_from or d >= f.date_from)
                and (not f.date_to or d <= f.date_to)]
    if latest and eligible:
        notes.append(f"Searched the latest issue only ({format_date(max(eligible))})")
    outside = "".join(ch if not any(a <= i < b for a, b in spans) else " " for i, ch in enumerate(q))
    topic = " ".join(_POLICY.sub(" ", _CORPORATE.sub(" ", _LATEST.sub(" ", outside))).split())

    part = EXHIBIT if _EXHIBIT.search(q) else DOCUMENT if _DOCUMENT.search(q) else COMMENT if _COMMENT.search(q) else None
    kind = CORPORATE_NEWS if _CORPORATE.search(q) else POLICY_NEWS if _POLICY.search(q) else None
    return Query(question=q, text=text, focus=q, topic=topic, filters=filters or Filters(), windows=tuple(windows),
                 asks=_asks(q, text, spans), latest=latest, part=part, kind=kind, notes=tuple(notes))


def _asks(q: str, text: str, spans) -> "Asked":
    """What is asked; an elliptical follow-up ("and for 2035?") asks for what its question did."""
    asks = read_question(q, spans)
    if asks.slot is Slot.OTHER and text != q:
        prior = read_question(text[len(q):].strip())
        asks = Asked(**{**asks.__dict__, "slot": prior.slot, "focus": prior.focus, "focus_phrase": prior.focus_phrase})
    return asks


def _is_follow_up(q: str) -> bool:
    content = [w for w in words(q) if w not in STOPWORDS]
    if _FOLLOW.match(q):
        return True
    # "starting when?", "and the budget?": too few words to be about anything on their own.
    return len(content) <= 4 and any(w in _DEICTIC for w in words(q)) or len(content) <= 1


def _month_range(year: int, m1: int, m2: int) -> tuple[str, str]:
    year = min(max(year, 1), 9999)  # "January 0000" is a period no issue is from, not an error
    return dt.date(year, m1, 1).isoformat(), dt.date(year, m2, calendar.monthrange(year, m2)[1]).isoformat()


def _windows(q: str, today: dt.date):
    """Every date phrase in the question -> ([(first, last, names an issue)], labels, text spans)."""
    windows: list[Window] = []
    spans: list[tuple[int, int]] = []

    def add(a: str, b: str, issue: bool, label: str, span: tuple[int, int]) -> None:
        if any(s[0] < span[1] and span[0] < s[1] for s in spans):
            return  # already read as part of a longer phrase
        windows.append(Window(a, b, issue, label))
        spans.append(span)

    # "the 2022 and December 2024 issues": each element of the list names an issue.
    item = rf"(?:{MONTH_RE}\.?\s+)?\d{{4}}"
    for m in re.finditer(rf"\b({item}(?:\s*(?:,|and|&|or)\s*{item})*)\s+{_ISSUE_WORD}\b", q, re.I):
        for e in re.finditer(rf"(?:({MONTH_RE})\.?\s+)?(\d{{4}})", m.group(1), re.I):
            year, month = int(e.group(2)), e.group(1)
            a, b = _month_range(year, month_number(month), month_number(month)) if month else _month_range(year, 1, 12)
            add(a, b, True, f"{month.capitalize() + ' ' if month else ''}{year} issues",
                (m.start(1) + e.start(), m.start(1) + e.end()))
    for m in re.finditer(rf"\b{_ISSUE_WORD}\s+(?:of|from|in|published in)\s+(\d{{4}})\b", q, re.I):
        add(*_month_range(int(m.group(1)), 1, 12), True, f"{m.group(1)} issues", m.span(1))
    # A day: "on November 18, 2024", "18 Nov 2024"; "the week of ..." is that day and the six after.
    for m in re.finditer(rf"\b(?:(?P<week>(?:the\s+)?week\s+of)\s+)?(?:(?P<m1>{MONTH_RE})\.?\s+(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?,?"
                         rf"|(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<m2>{MONTH_RE})\.?,?)\s+(?P<y>\d{{4}})\b", q, re.I):
        try:
            day = dt.date(int(m["y"]), month_number(m["m1"] or m["m2"]), int(m["d1"] or m["d2"]))
        except ValueError:
            continue
        last = day + dt.timedelta(days=6 if m["week"] else 0)
        add(day.isoformat(), last.isoformat(), False, ("the week of " if m["week"] else "") + format_date(day.isoformat()),
            m.span())
    # Part of a month: "early October 2024", "at the end of October 2024", "mid-November 2023".
    for m in re.finditer(rf"\b(early|mid|late|end of|beginning of|start of|first half of|second half of)[\s-]+(?:the\s+month\s+of\s+)?({MONTH_RE})\.?\s+(\d{{4}})\b", q, re.I):
        year, month = int(m.group(3)), month_number(m.group(2))
        a, b = _month_range(year, month, month)
        first, last = _MONTH_PART[m.group(1).lower()]
        add(f"{a[:8]}{first:02d}", b if last is None else f"{a[:8]}{last:02d}", False,
            f"{m.group(1).lower()} {m.group(2).capitalize()} {year}", m.span())
    for m in re.finditer(rf"\b({MONTH_RE})\.?\s+(\d{{4}})\b", q, re.I):
        month = month_number(m.group(1))
        add(*_month_range(int(m.group(2)), month, month), False, f"{m.group(1).capitalize()} {m.group(2)}", m.span())
    for m in re.finditer(r"\b(early|mid|late|end of|beginning of|spring|summer|autumn|fall|winter)[\s-]+(\d{4})\b", q, re.I):
        a, b = _PHASE[m.group(1).lower()]
        add(*_month_range(int(m.group(2)), a, b), False, f"{m.group(1).lower()} {m.group(2)}", m.span())
    for m in re.finditer(rf"\b(last|previous|this)\s+year'?s?\b", q, re.I):
        year = today.year - (0 if m.group(1).lower() == "this" else 1)
        add(*_month_range(year, 1, 12), False, str(year), m.span())
    return windows, spans
