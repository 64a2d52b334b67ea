"""The assistant as a component of other frameworks: LlamaIndex (llamaindex.py), LangChain
(langchain.py, an optional extra). Reach them through `Assistant.as_retriever()`,
`as_query_engine()`, `as_tool()` and `as_langchain_retriever()`; the MCP server is
`assistant/serve/mcp_server.py`.

Both retrievers take the options of `Assistant.search` as they are (side, language, source,
mode, balance) and return the same passages with the same metadata, through the two helpers
below.

llamaindex.AssistantRetriever: our retrieval as a LlamaIndex retriever (nodes with exact offsets)
llamaindex.AssistantQueryEngine: our answerer as a LlamaIndex query engine, citations as nodes
llamaindex.ask_tool: the assistant as a LlamaIndex FunctionTool for agents
langchain.AssistantLangChainRetriever: our retrieval as a LangChain retriever (the extra)
"""

from __future__ import annotations

import inspect
from typing import Any

from assistant.core import Assistant
from assistant.schema import Passage
from assistant.serve.shapes import passage_metadata


def search_options(options: dict[str, Any]) -> dict[str, Any]:
    """The options, once Assistant.search accepts their names: an unknown one is a TypeError
    when the retriever is made, not at its first query."""
    inspect.signature(Assistant.search).bind(None, "", **options)
    return options


def labelled_passages(
    assistant: Assistant, query: str, k: int | None, options: dict[str, Any]
) -> list[tuple[Passage, dict[str, Any]]]:
    """Assistant.search's passages, each with who says it (serve/shapes.passage_metadata)."""
    passages = assistant.search(query, k, **options)
    records = assistant.snapshot().records
    return [(p, passage_metadata(p, records.get(p.source_id))) for p in passages]
