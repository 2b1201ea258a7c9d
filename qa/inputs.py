"""Values from outside (a terminal, JSON over HTTP, a notebook) into what `qa` works with.

Every interface passes what it received through here, so a wrong type or a hostile string
becomes a QuestionError that says what is wrong, never an exception from deep inside the
tokenizer, the stemmer or the printer. `user_message` turns any failure back into one line.
"""

from __future__ import annotations

import math
import re

from .integrity import IndexMissing
from .query import Filters, QuestionError
from .schema import IssueError

# Lone surrogates come from a terminal in another encoding (Python's surrogateescape) or from
# JSON ("\udc80"); encoders, tokenizers and printers reject them. Control characters (NUL
# included) carry nothing a question needs.
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(text: str) -> str:
    """Lone surrogates become U+FFFD and control characters spaces; tabs and newlines stay."""
    return _CONTROL.sub(" ", _SURROGATE.sub("\ufffd", text))


def _kind(value) -> str:
    return "nothing" if value is None else type(value).__name__


def question_text(question) -> str:
    if not isinstance(question, str):
        raise QuestionError(f"The question must be text, not {_kind(question)}.")
    return clean_text(question)


def chat_history(history) -> list[dict]:
    """Earlier turns as {"role", "content"} text messages. Messages of another shape in the list
    are skipped (a chat client may add its own); a history that is not a list is refused."""
    if history is None:
        return []
    if not isinstance(history, (list, tuple)):
        raise QuestionError(f"The chat history must be a list of {{role, content}} messages, not {_kind(history)}.")
    out = []
    for m in history:
        if isinstance(m, dict) and isinstance(m.get("role"), str):
            content = _content_text(m.get("content"))
            if content.strip():
                out.append({"role": m["role"], "content": clean_text(content)})
    return out


def _content_text(content) -> str:
    """Gradio messages hold a string, or a list of parts of which {"type": "text", "text"} count."""
    if isinstance(content, str):
        return content
    if isinstance(content, (list, tuple)):
        return " ".join(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def result_count(k, default: int) -> int:
    """How many passages to return: a positive whole number (5, 5.0 or "5")."""
    if k is None:
        return default
    n = None
    if isinstance(k, int) and not isinstance(k, bool):
        n = k
    elif isinstance(k, float) and math.isfinite(k) and k.is_integer():
        n = int(k)
    elif isinstance(k, str) and k.strip().isdigit():
        n = int(k.strip())
    if n is None or n < 1:
        raise QuestionError(f"The number of passages must be a positive whole number, not {str(k)[:40]!r}.")
    return n


def filters_of(filters) -> Filters | None:
    if filters is None or isinstance(filters, Filters):
        return filters
    raise QuestionError(f"filters must be a qa.Filters, not {_kind(filters)}.")


def text_value(value, what: str) -> str | None:
    """One optional text field (a date filter): stripped, None when empty."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise QuestionError(f"{what} must be text, not {_kind(value)}.")
    return clean_text(value).strip() or None


def text_list(value, what: str) -> tuple[str, ...]:
    """An optional list of text values (issue dates, section kinds); a single string is a list of one."""
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise QuestionError(f"{what} must be a list of text values, not {str(value)[:60]!r}.")
    return tuple(clean_text(v).strip() for v in value if v.strip())


def user_message(e: BaseException) -> str:
    """One line for a user: the message of the errors qa raises on purpose (they name the file,
    the problem and the fix), file and reason of an OS error, and for anything else its type."""
    if isinstance(e, (IndexMissing, IssueError, QuestionError)):
        text = str(e)
    elif isinstance(e, OSError) and e.filename:
        text = f"{e.filename}: {e.strerror or e}"
    elif isinstance(e, (OSError, ValueError)):
        text = str(e)
    else:
        text = f"unexpected {type(e).__name__}: {e} (a bug in qa: please report what you did)"
    return " ".join(clean_text(text).split())


def expected(e: BaseException) -> bool:
    """Whether `e` is a failure qa reports on purpose (bad input, damaged index), not a bug."""
    return isinstance(e, (IndexMissing, IssueError, QuestionError, OSError, ValueError))
