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
from assistant.errors import InvalidRequest
from assistant.inputs import passages_wanted
from assistant.schema import Passage
from assistant.serve.shapes import passage_metadata


def search_options(options: dict[str, Any]) -> dict[str, Any]:
    """The options, once Assistant.search accepts them: an unknown name, a k that is not 1–100
    or a balance that is not a bool is refused when the retriever is made, not at its first
    query (a string "false" would have turned balancing on)."""
    return _checked(Assistant.search, options, "side, language, source, mode, balance")


def ask_options(options: dict[str, Any]) -> dict[str, Any]:
    """The same for Assistant.ask's options (a query engine's, a tool's)."""
    return _checked(Assistant.stream, options, "mode, k, side, language, source, history")


def _checked(method: Any, options: dict[str, Any], names: str) -> dict[str, Any]:
    try:
        inspect.signature(method).bind(None, "", **options)
    except TypeError as exc:
        raise InvalidRequest(
            f"{exc}; the options are {names} (k is the number of passages: k=4, not "
            "similarity_top_k or search_kwargs)"
        ) from exc
    if options.get("k") is not None:
        passages_wanted(options["k"], 1)
    if "balance" in options and not isinstance(options["balance"], bool):
        raise InvalidRequest(f"balance must be True or False, got {options['balance']!r}")
    return options


def labelled_passages(
    assistant: Assistant, query: str, k: int | None, options: dict[str, Any]
) -> list[tuple[Passage, dict[str, Any]]]:
    """Assistant.search's passages, each with who says it (serve/shapes.passage_metadata)."""
    passages = assistant.search(query, k, **options)
    records = assistant.snapshot().records
    return [(p, passage_metadata(p, records.get(p.source_id))) for p in passages]
