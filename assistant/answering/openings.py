"""How a question opens: with a question word, or, as a follow-up, with a continuation of
the one before ("and …", "what about …", "et …", "а …", "那 …", "und …", "¿y …"). Read by the
follow-up rule (condense.py) and by whom a question asks about (asking.py).
"""

from __future__ import annotations

import regex

from assistant.ingest.language import CONTINUATIONS, QUESTION_WORDS
from assistant.retrieval.bm25 import tokenize
from assistant.retrieval.relevance import WORD


def entries(table: dict[str, str], sep: str | None) -> tuple[frozenset[str], tuple[str, ...]]:
    """(word-script entries, Chinese entries) of a table of words per language."""
    items = [w.strip() for ws in table.values() for w in ws.split(sep) if w.strip()]
    cjk = tuple(w for w in items if regex.match(r"\p{Han}", w))
    return frozenset(w for w in items if w not in cjk), cjk


_CONT_WORDS, _CONT_CJK = entries(CONTINUATIONS, ",")
# Spanish opens a question with ¿: "¿Y cuánto cuesta?" continues, where French "Y a-t-il … ?"
# does not, so "y" counts only after its mark.
_CONT_MARKED = tuple(w + " " for w in _CONT_WORDS if w.startswith("¿"))
# The most words a continuation has ("wie steht es mit").
_CONT_LONGEST = max(len(w.split()) for w in _CONT_WORDS)
# The question words as BM25 reads them (stemmed, stopwords gone), and as written.
ASKING = frozenset(t for ws in QUESTION_WORDS.values() for w in ws.split() for t in tokenize(w))
QUESTION = frozenset(w for ws in QUESTION_WORDS.values() for w in ws.split())


def after_opening(text: str) -> str:
    """A lower-cased question without the continuation it opens with ("and", "what about",
    "¿y", "那"): the text itself where it opens with none."""
    for opening in (*_CONT_CJK, *_CONT_MARKED):
        if text.startswith(opening):
            return text[len(opening) :]
    found = list(WORD.finditer(text))[:_CONT_LONGEST]
    spoken = [m.group().strip("'") for m in found]
    n = max((n for n in range(1, len(found) + 1) if " ".join(spoken[:n]) in _CONT_WORDS), default=0)
    return text[found[n - 1].end() :] if n else text
