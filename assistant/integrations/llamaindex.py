"""The assistant as LlamaIndex components: a retriever, a query engine and an agent tool.

    a = Assistant()
    nodes = a.as_retriever(k=4, side="pro-Russia").retrieve("aid to Ukraine")
    nodes[0].node.metadata["side"], nodes[0].node.start_char_idx

- `AssistantRetriever` returns our ranked passages as `NodeWithScore`s: the passage text, its
  exact `start_char_idx`/`end_char_idx` in the source's whole text, and who says it
  (`serve/shapes.passage_metadata`). Use it in any LlamaIndex pipeline (`RetrieverQueryEngine`,
  `CitationQueryEngine`, …); the side and voice are in the metadata the LLM sees.
- `AssistantQueryEngine` answers with our own answerer (extractive or LLM, side-balanced): the
  `Response` text is the answer, `source_nodes` are its citations (verbatim quotes with
  offsets, n in the metadata), and `metadata["answer"]` is the whole answer as JSON.
- `ask_tool()` is a `FunctionTool` for agents: the answer with its numbered, side-labelled
  sources list, the text an agent reads best.
"""

from __future__ import annotations

import asyncio
from typing import Any

from llama_index.core.base.response.schema import Response
from llama_index.core.callbacks import CallbackManager
from llama_index.core.query_engine import CustomQueryEngine
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import (
    NodeRelationship,
    NodeWithScore,
    QueryBundle,
    RelatedNodeInfo,
    TextNode,
)
from llama_index.core.tools import FunctionTool
from pydantic import Field

from assistant.answering.text import full
from assistant.core import Assistant
from assistant.schema import Answer, Citation
from assistant.serve.shapes import answer_out

from . import ask_options, labelled_passages, search_options

# Metadata that helps a reader but only costs an LLM tokens.
_NOT_FOR_LLM = ["passage_id", "start", "end", "score", "relevance", "url"]

ASK_DESCRIPTION = (
    "Ask the research assistant a question about its document collection, in any language. "
    "Returns an answer of verbatim quotes, each numbered and labelled with who says it and "
    "from which side and voice, and where sources disagree, each side's figures. Quote the "
    "sides as sides; do not turn one side's claim into fact."
)


class AssistantRetriever(BaseRetriever):
    """Our hybrid, side-aware retrieval as a LlamaIndex retriever (see the module doc)."""

    def __init__(
        self,
        assistant: Assistant,
        k: int | None = None,
        *,
        callback_manager: CallbackManager | None = None,
        **options: Any,
    ) -> None:
        """options: as for Assistant.search (side, language, source, mode, balance)."""
        super().__init__(callback_manager=callback_manager)
        self.assistant, self.k = assistant, k
        self.options = search_options({**options, "k": k})  # k checked with the rest
        self.options.pop("k")

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return [
            NodeWithScore(node=_node(p.id, p.text, p.start, p.end, meta), score=p.score)
            for p, meta in labelled_passages(
                self.assistant, query_bundle.query_str, self.k, self.options
            )
        ]

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        # In a thread: the default ran the search on the event loop, stalling it.
        return await asyncio.to_thread(self._retrieve, query_bundle)


class AssistantQueryEngine(CustomQueryEngine):
    """Our answerer as a LlamaIndex query engine (see the module doc)."""

    assistant: Any = Field(description="the Assistant that answers")
    options: dict[str, Any] = Field(default_factory=dict, description="Assistant.ask options")

    def custom_query(self, query_str: str) -> Response:
        return to_response(self.assistant.ask(query_str, **self.options))

    async def acustom_query(self, query_str: str) -> Response:
        # In a thread: the default ran the whole answer (an LLM's call too) on the event loop.
        return await asyncio.to_thread(self.custom_query, query_str)


def to_response(a: Answer) -> Response:
    """An Answer as a LlamaIndex Response: text, citations as source nodes, the whole answer."""
    return Response(
        response=a.answer,
        source_nodes=[NodeWithScore(node=_citation_node(c), score=c.score) for c in a.citations],
        metadata={"answer": answer_out(a).model_dump()},
    )


def ask_tool(assistant: Assistant, name: str = "ask_sources", **options: Any) -> FunctionTool:
    """A FunctionTool that asks the assistant; options go to Assistant.ask (side, mode, …)."""

    ask_options(options)  # a wrong option is refused now, not at the agent's first call

    def ask_sources(question: str) -> str:
        """Ask the research assistant (see the tool's description)."""
        return full(assistant.ask(question, **options))

    return FunctionTool.from_defaults(fn=ask_sources, name=name, description=ASK_DESCRIPTION)


def _citation_node(c: Citation) -> TextNode:
    meta = {k: v for k, v in c.to_dict().items() if k not in ("quote", "start", "end")}
    return _node(f"{c.source_id}:{c.start}-{c.end}", c.quote, c.start, c.end, meta)


def _node(node_id: str, text: str, start: int, end: int, meta: dict[str, Any]) -> TextNode:
    # The source document is the node's SOURCE, as LlamaIndex's own parsers set it: ref_doc_id,
    # and what groups nodes by document (a response's get_formatted_sources, a docstore).
    source = RelatedNodeInfo(node_id=meta["source_id"], metadata={"title": meta.get("title", "")})
    return TextNode(
        id_=node_id,
        relationships={NodeRelationship.SOURCE: source},
        text=text,
        start_char_idx=start,
        end_char_idx=end,
        metadata=meta,
        excluded_llm_metadata_keys=[k for k in _NOT_FOR_LLM if k in meta],
        excluded_embed_metadata_keys=list(meta),
    )
