"""The assistant's retrieval as a LangChain retriever (the optional `langchain` extra).

    pip install -e '.[langchain]'

    retriever = Assistant().as_langchain_retriever(k=4)
    docs = retriever.invoke("How much aid has Japan given Ukraine?")
    docs[0].metadata["side"], docs[0].metadata["start"]

Each `Document` is one passage: `page_content` is its text, exactly `source_text[start:end]`,
and the metadata says who says it and from which side (`serve/shapes.passage_metadata`). It is a
`Runnable`, so it composes in LCEL chains (`retriever | format_docs`, …).
"""

from __future__ import annotations

from typing import Any

try:
    from langchain_core.callbacks import CallbackManagerForRetrieverRun
    from langchain_core.documents import Document
    from langchain_core.retrievers import BaseRetriever
except ImportError as exc:  # pragma: no cover - depends on the install
    from assistant.errors import ConfigError

    raise ConfigError(
        "the LangChain retriever needs langchain-core: pip install -e '.[langchain]'"
    ) from exc
from pydantic import ConfigDict, Field, field_validator

from . import labelled_passages, search_options


class AssistantLangChainRetriever(BaseRetriever):
    """Our hybrid, side-aware retrieval as a LangChain BaseRetriever."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    assistant: Any
    k: int | None = None
    # Assistant.search's options: side, language, source, mode, balance.
    search_kwargs: dict[str, Any] = Field(default_factory=dict)

    @field_validator("search_kwargs")
    @classmethod
    def _known_options(cls, value: dict[str, Any]) -> dict[str, Any]:
        # k is taken here too, as LangChain's own retrievers take it (search_kwargs={"k": 3}).
        return search_options(value)

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        # Options given to invoke() apply to that call, over the retriever's own, as in
        # LangChain's VectorStoreRetriever (they were dropped: a side filter was ignored).
        options = search_options({**self.search_kwargs, **kwargs})
        k = options.pop("k", self.k)
        return [
            Document(id=p.id, page_content=p.text, metadata=meta)
            for p, meta in labelled_passages(self.assistant, query, k, options)
        ]
