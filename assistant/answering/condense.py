"""Follow-up questions → standalone questions.

With an LLM: the `condense.md` prompt asks it to rewrite the follow-up using the conversation.
Without one (the offline default), a rule that needs no model: a follow-up with few content
words ("and Russia?", "et en 2023 ?", "那俄罗斯呢？") is read together with the previous user
question, so retrieval sees both; a follow-up that stands on its own is left as it is.

    >>> condense_rule("And the Chinese side?", [("user", "How much aid has Japan given Ukraine?")])
    'How much aid has Japan given Ukraine? And the Chinese side?'
"""

from __future__ import annotations

from collections.abc import Sequence

from ..lexical import tokenize

History = Sequence[tuple[str, str]] | Sequence[dict[str, str]]
MAX_CONTENT_WORDS = 4


def turns(history: History | None) -> list[tuple[str, str]]:
    """Normalise history given as (role, text) pairs or OpenAI-style {"role", "content"} dicts."""
    out: list[tuple[str, str]] = []
    for item in history or []:
        if isinstance(item, dict):
            out.append((str(item.get("role", "")), str(item.get("content", ""))))
        else:
            role, text = item
            out.append((str(role), str(text)))
    return out


def condense_rule(question: str, history: History | None) -> str:
    """Prefix a short follow-up with the previous user question."""
    previous = [text for role, text in turns(history) if role == "user" and text.strip()]
    if not previous or len(tokenize(question)) > MAX_CONTENT_WORDS:
        return question
    return f"{previous[-1].strip()} {question.strip()}"
