"""The generative answerer: any OpenAI-compatible chat endpoint, through llama-index's OpenAILike.

The retrieved passages go into prompts/answer.user.md numbered [1]…[k] with their source, side and
voice. The reply is then checked (citations.verify_markers): a marker that names no passage is
dropped and reported, a sentence without a marker is reported as unsupported and shown as such.
Each kept citation quotes the passage's sentence that best matches the question, verbatim, with
its offsets, so the quote can be checked against the source like an extractive one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..errors import LLMError
from ..prompts import render
from ..retrieval import Retrieval, SentenceScope
from ..rows import parse
from ..schema import Answer, Passage
from . import final
from .citations import (
    disagreements,
    make_citation,
    side_summaries,
    sides_without_evidence,
    verify_markers,
)
from .evidence import NO_ANSWER, Evidence, abstain, abstention, score


def make_llm(base_url: str, model: str, api_key: str | None, timeout: float) -> Any:
    """A llama-index LLM for an OpenAI-compatible server (Ollama, vLLM, llama.cpp, OpenAI)."""
    from llama_index.llms.openai_like import OpenAILike

    return OpenAILike(
        model=model,
        api_base=base_url,
        api_key=api_key or "not-needed",
        is_chat_model=True,
        timeout=timeout,
        max_retries=1,
        temperature=0.1,
        context_window=8192,
    )


class GenerativeAnswerer:
    """Asks an LLM to write the answer from labelled passages, then verifies its citations."""

    sentences: SentenceScope = "all"  # every passage it shows may be cited by its best sentence

    def __init__(self, llm: Any, prompts_dir: Any, model: str = "") -> None:
        self.llm, self.prompts_dir = llm, prompts_dir
        self.name = f"llm:{model or getattr(llm, 'model', 'unknown')}"

    def _messages(self, question: str, retrieval: Retrieval) -> list[Any]:
        from llama_index.core.llms import ChatMessage, MessageRole

        items = [
            {"n": n, "label": _label(p), "text": p.text}
            for n, p in enumerate(retrieval.passages, start=1)
        ]
        # What the model may say about a side's evidence is what the search established: the
        # sides searched with nothing relevant, and the sides the filters left out (unknown).
        shown = {p.side for p in retrieval.passages}
        empty = [s for s in retrieval.sides_without_evidence() if s not in shown]
        system = render(self.prompts_dir, "answer.system.md")
        user = render(
            self.prompts_dir, "answer.user.md", passages=items, question=question,
            sides_without_evidence=empty, sides_not_searched=retrieval.sides_not_searched,
        )  # fmt: skip
        return [
            ChatMessage(role=MessageRole.SYSTEM, content=system),
            ChatMessage(role=MessageRole.USER, content=user),
        ]

    def stream(
        self, question: str, retrieval: Retrieval, question_language: str = "und"
    ) -> Iterator[str | Answer]:
        """Yield text deltas as the model writes, then the verified Answer.

        Junk questions and questions no passage is relevant to abstain as in extractive mode,
        without asking the model: it would only have unrelated passages to misread.
        """
        why = abstention(question, retrieval)
        if why is not None:
            answer = abstain(question, retrieval, why, self.name)
            yield answer.answer
            yield answer
            return
        messages = self._messages(question, retrieval)
        parts: list[str] = []
        try:
            for chunk in self.llm.stream_chat(messages):
                delta = chunk.delta or ""
                if delta:
                    parts.append(delta)
                    yield delta
        except Exception as exc:
            raise LLMError.failed(exc) from exc
        yield self._finish(question, "".join(parts), retrieval)

    def answer(self, question: str, retrieval: Retrieval, question_language: str = "und") -> Answer:
        return final(self.stream(question, retrieval, question_language))

    def _finish(self, question: str, text: str, retrieval: Retrieval) -> Answer:
        records = retrieval.records
        evidence = score(question, retrieval, retrieval.passages)
        candidates = [
            make_citation(n, _best_sentence(p, evidence), records.get(p.source_id))
            for n, p in enumerate(retrieval.passages, start=1)
        ]
        texts = {n: p.text for n, p in enumerate(retrieval.passages, start=1)}
        clean, used, dropped, unsupported = verify_markers(text, candidates, texts)
        abstained = NO_ANSWER.lower().rstrip(".") in clean.lower()
        shown = clean.strip()
        if dropped:
            shown += "\n\n⚠ Citations removed because they name no retrieved passage: " + ", ".join(
                f"[{n}]" for n in dropped
            )
        if unsupported and not abstained:
            shown += (
                "\n\n⚠ **Unsupported** — these sentences cite no source, or state a figure their "
                "cited passage does not contain; treat them as unverified:\n"
                + "\n".join(f"- {s}" for s in unsupported)
            )
        if used:
            shown += "\n\n**Sources**\n" + "\n".join(
                f"[{c.n}] {c.label()}: “{' '.join(c.quote.split())}”" for c in used
            )
        return Answer(
            question=question,
            answer=shown + "\n",
            citations=used,
            sides=side_summaries(used),
            abstained=abstained,
            mode=self.name,
            retrieved=retrieval.passages,
            sides_without_evidence=sides_without_evidence(used, retrieval) if used else [],
            disagreements=disagreements(used),
            unsupported_sentences=unsupported,
            dropped_citations=dropped,
        )


def _label(p: Passage) -> str:
    return f"{p.who()} — side: {p.side}; voice: {p.voice}; language: {p.language}; date: {p.date or 'unknown'}"


def _best_sentence(p: Passage, evidence: list[Evidence]) -> Evidence:
    """The passage's sentence that best matches the question (or the passage itself)."""
    for e in evidence:  # sorted best first
        row = parse(e.id)
        if (row.source, row.version, row.kind) == (p.source_id, p.version, "s") and (
            p.first <= row.n <= p.last
        ):
            return e
    return Evidence.of_passage(p)
