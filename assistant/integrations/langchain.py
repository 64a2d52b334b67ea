"""The assistant's retrieval as a LangChain retriever (the optional `langchain` extra).

    pip install -e '.[langchain]'

    retriever = Assistant().as_langchain_retriever(k=4)
    docs = retriever.invoke("How much aid has Japan given Ukraine?")
    docs[0].metadata["side"], docs[0].metadata["start"]

Each `Document` is one passage: `page_content` is its text, exactly `source_text[start:end]`,
and the metadata says who says it and from which side (`wire.passage_metadata`). It is a
`Runnable`, so it composes in LCEL chains (`retriever | format_docs`, …).
"""

from __future__ import annotations

from typing import Any

try:
    from langchain_core.callbacks import CallbackManagerForRetrieverRun
    from langchain_core.documents import Document
    from langchain_core.retrievers import BaseRetriever
except ImportError as exc:  # pragma: no cover - depends on the install
    from ..errors import ConfigError

    raise ConfigError(
        "the LangChain retriever needs langchain-core: pip install -e '.[langchain]'"
    ) from exc
from pydantic import ConfigDict

from ..wire import passage_metadata


class AssistantLangChainRetriever(BaseRetriever):
    """Our hybrid, side-aware retrieval as a LangChain BaseRetriever."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    assistant: Any
    k: int | None = None
    side: Any = None
    language: Any = None
    source: Any = None
    mode: str = "hybrid"
    balance: bool = False

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        passages = self.assistant.search(
            query,
            self.k,
            side=self.side,
            language=self.language,
            source=self.source,
            mode=self.mode,
            balance=self.balance,
        )
        records = self.assistant.retriever.records()
        return [
            Document(
                id=p.id,
                page_content=p.text,
                metadata=passage_metadata(p, records.get(p.source_id)),
            )
            for p in passages
        ]
