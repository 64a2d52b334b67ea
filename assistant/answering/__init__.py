"""Answerers: the extractive one (verbatim quotes) and the generative one (an LLM, verified).

Both implement `Answerer`: they work from a `Retrieval` alone (its passages, query vector,
relevance, and the source records and side vocabulary it saw), stream the answer's text, and
end with the `Answer`.

    extractive.ExtractiveAnswerer: verbatim quotes of the sides that speak to the question
    generative.GenerativeAnswerer: an LLM's answer, each sentence attributed and checked
    evidence.score: the retrieved sentences scored against the question
    citations.make_citation: a quote with who says it, from which side and voice
    figures.find_figures: money figures in any of the corpus's languages, to compare sides'
    claims.attribute: an LLM answer's sentences matched to the passages that support them
    condense.condense: a follow-up made a question that stands alone
    text.full: the answer's one text: its body, then the references list
    wording.Wordings: an answer's own words in its question's language (prompts/wording/)
    markdown.SafeMarkdown: an LLM's Markdown made safe as it streams (no HTML, images, links)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol

from assistant.retrieval.result import Retrieval, SentenceScope
from assistant.schema import Answer


class Answerer(Protocol):
    """What `Assistant.stream` asks of an answerer."""

    name: str
    # Which passages' sentences it reads from the Retrieval (Retriever.retrieve's `sentences`).
    sentences: SentenceScope

    def stream(
        self, question: str, retrieval: Retrieval, question_language: str = "und"
    ) -> Iterator[str | Answer]:
        """Yield text as it is produced, then the final Answer."""
        ...

    def answer(self, question: str, retrieval: Retrieval, question_language: str = "und") -> Answer:
        """The final Answer alone (the last item of stream)."""
        ...


def final(items: Iterable[str | Answer]) -> Answer:
    """The Answer a stream ends with."""
    last = None
    for item in items:
        if isinstance(item, Answer):
            last = item
    if last is None:
        raise RuntimeError("an answerer's stream ended without its Answer")
    return last
