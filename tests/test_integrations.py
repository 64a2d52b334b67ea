"""The assistant inside other frameworks, each through its real machinery: LlamaIndex pipelines
and an agent, a LangChain LCEL chain, and MCP clients over stdio and streamable HTTP. Where a
pipeline needs an LLM, it talks to ScriptedOpenAIServer (a scripted stand-in) over real HTTP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant import Assistant, Settings

from .conftest import ThreadedServer, mcp_stdio
from .scripted_openai import ScriptedOpenAIServer

AID = "How much aid has Japan given Ukraine?"


@pytest.fixture()
def llm_server() -> Iterator[ScriptedOpenAIServer]:
    with ScriptedOpenAIServer() as s:
        yield s


def openai_like(server: ScriptedOpenAIServer, **kwargs: Any) -> Any:
    from llama_index.llms.openai_like import OpenAILike

    return OpenAILike(
        model=server.model,
        api_base=server.base_url,
        api_key="scripted",
        is_chat_model=True,
        context_window=8192,
        max_retries=0,
        **kwargs,
    )


def assert_exact_offsets(assistant: Assistant, nodes: list[Any]) -> None:
    for n in nodes:
        _, text = assistant.source(n.node.metadata["source_id"])
        assert text[n.node.start_char_idx : n.node.end_char_idx] == n.node.text


# -- LlamaIndex -----------------------------------------------------------------------------


def test_llamaindex_retriever_nodes_carry_offsets_and_perspective(assistant: Assistant) -> None:
    nodes = assistant.as_retriever(k=5, language="zh").retrieve("日本2024年的军费预算是多少？")
    assert nodes and all(n.node.metadata["language"] == "zh" for n in nodes)
    assert_exact_offsets(assistant, nodes)
    assert all(n.node.ref_doc_id == n.node.metadata["source_id"] for n in nodes)
    meta = nodes[0].node.metadata
    assert {"side", "voice", "outlet", "date", "language", "source_id", "author"} <= set(meta)
    # What an LLM sees of a node names the side and voice, not the offsets.
    seen = nodes[0].node.get_content(metadata_mode="llm")
    assert f"side: {meta['side']}" in seen and "start:" not in seen


def test_our_retriever_in_a_retriever_query_engine(
    assistant: Assistant, llm_server: ScriptedOpenAIServer
) -> None:
    from llama_index.core.query_engine import RetrieverQueryEngine

    llm_server.script("Sources disagree: $7.6 billion (pro-Russia) against $12 billion.")
    engine = RetrieverQueryEngine.from_args(
        assistant.as_retriever(k=4, balance=True), llm=openai_like(llm_server)
    )
    response = engine.query(AID)
    assert str(response).startswith("Sources disagree")
    assert {n.node.metadata["side"] for n in response.source_nodes} >= {"pro-Russia", "pro-Ukraine"}
    prompt = json.dumps(llm_server.requests[-1]["messages"], ensure_ascii=False)
    assert "side: pro-Russia" in prompt and "side: pro-Ukraine" in prompt and AID in prompt
    assert_exact_offsets(assistant, response.source_nodes)


def test_our_retriever_in_a_citation_query_engine(
    assistant: Assistant, llm_server: ScriptedOpenAIServer
) -> None:
    from llama_index.core.query_engine import CitationQueryEngine

    llm_server.script("Japan has provided aid totaling $7.6 billion, says World Today News [1].")
    engine = CitationQueryEngine(
        assistant.as_retriever(k=3, side="pro-Russia"), llm=openai_like(llm_server)
    )
    response = engine.query(AID)
    assert "[1]" in str(response)
    prompt = json.dumps(llm_server.requests[-1]["messages"], ensure_ascii=False)
    assert "Source 1:" in prompt and "7.6 billion" in prompt
    assert all(n.node.metadata["side"] == "pro-Russia" for n in response.source_nodes)


def test_query_engine_response_carries_the_answer_and_its_citations(assistant: Assistant) -> None:
    response = assistant.as_query_engine().query(AID)
    answer = response.metadata["answer"]
    assert str(response) == answer["answer"] and not answer["abstained"]
    assert [n.node.metadata["n"] for n in response.source_nodes] == [
        c["n"] for c in answer["citations"]
    ]
    assert {n.node.metadata["side"] for n in response.source_nodes} == {"pro-Russia", "pro-Ukraine"}
    assert_exact_offsets(assistant, response.source_nodes)
    # Each node names its document as LlamaIndex's parsers do (it was None).
    assert [n.node.ref_doc_id for n in response.source_nodes] == [
        c["source_id"] for c in answer["citations"]
    ]


def test_a_llamaindex_agent_calls_our_tool(
    assistant: Assistant, llm_server: ScriptedOpenAIServer
) -> None:
    from llama_index.core.agent.workflow import FunctionAgent

    llm_server.script(
        ScriptedOpenAIServer.tool_call("ask_sources", {"question": AID}),
        "The sources disagree; see the quotes.",
    )
    agent = FunctionAgent(
        tools=[assistant.as_tool()],
        llm=openai_like(llm_server, is_function_calling_model=True),
    )

    async def run() -> Any:
        return await agent.run(user_msg="What do the sides say about Japan's aid?")

    result = asyncio.run(run())
    assert "sources disagree" in str(result)
    offered = llm_server.requests[0]["tools"][0]["function"]
    assert offered["name"] == "ask_sources" and "side" in offered["description"]
    tool_turn = next(m for m in llm_server.requests[1]["messages"] if m["role"] == "tool")
    # The agent's LLM got our answer: quotes with each side's label and a sources list.
    assert "pro-Russia" in tool_turn["content"] and "7.6 billion" in tool_turn["content"]
    assert "**Sources**" in tool_turn["content"]


# -- LangChain ------------------------------------------------------------------------------


def test_framework_options_are_checked_when_built_and_async_leaves_the_loop_free(
    assistant: Assistant,
) -> None:
    """From a developer's check of the integrations: each of these was accepted and failed, or
    silently did something else, at the first query; async calls ran on the event loop."""
    import asyncio
    import threading

    from llama_index.core.schema import QueryBundle

    from assistant import InvalidRequest

    for build in (
        lambda: assistant.as_query_engine(sides="pro-Russia"),
        lambda: assistant.as_tool(sides="pro-Mars"),
        lambda: assistant.as_retriever(similarity_top_k=3),
    ):
        with pytest.raises(InvalidRequest, match="the options are .*k=4"):
            build()
    for build in (
        lambda: assistant.as_langchain_retriever(k=4, balance="false"),
        lambda: assistant.as_retriever(balance="no"),
    ):
        with pytest.raises(InvalidRequest, match="balance must be True or False"):
            build()
    with pytest.raises(InvalidRequest, match="k must be a whole number"):
        assistant.as_langchain_retriever(k=0)
    # LangChain: options given to invoke() apply to that call; k in search_kwargs, as
    # LangChain's own retrievers take it.
    from assistant.integrations.langchain import AssistantLangChainRetriever

    retriever = assistant.as_langchain_retriever(k=4)
    docs = retriever.invoke(AID, side="pro-Russia", k=2)
    assert len(docs) == 2 and {d.metadata["side"] for d in docs} == {"pro-Russia"}
    with pytest.raises(InvalidRequest, match="pro-Mars"):
        retriever.invoke(AID, side="pro-Mars")
    assert (
        len(AssistantLangChainRetriever(assistant=assistant, search_kwargs={"k": 3}).invoke(AID))
        == 3
    )
    # Whether a passage is on the question, beside the score that ranks it.
    relevances = [d.metadata["relevance"] for d in docs]
    assert all(r is None or r >= 0 for r in relevances) and any(r is not None for r in relevances)

    # Where the work runs: in a thread, not on the event loop's (it ran there before).
    threads: list[int] = []
    search, ask = assistant.search, assistant.ask

    def recorded(fn: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            threads.append(threading.get_ident())
            return fn(*args, **kwargs)

        return call

    async def both() -> int:
        await assistant.as_retriever(k=4).aretrieve(QueryBundle(AID))
        await assistant.as_query_engine().aquery(AID)
        return threading.get_ident()

    assistant.search, assistant.ask = recorded(search), recorded(ask)  # type: ignore[method-assign]
    try:
        loop_thread = asyncio.run(both())
    finally:
        del assistant.search, assistant.ask
    assert len(threads) == 2 and loop_thread not in threads


def test_langchain_retriever_in_an_lcel_chain(
    assistant: Assistant, llm_server: ScriptedOpenAIServer
) -> None:
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate
    from langchain_core.runnables import RunnableLambda, RunnablePassthrough
    from langchain_openai import ChatOpenAI

    retriever = assistant.as_langchain_retriever(k=4, balance=True)
    docs = retriever.invoke(AID)
    assert {d.metadata["side"] for d in docs} >= {"pro-Russia", "pro-Ukraine"}
    for d in docs:
        _, text = assistant.source(d.metadata["source_id"])
        assert text[d.metadata["start"] : d.metadata["end"]] == d.page_content

    def label(ds: list[Any]) -> str:
        return "\n\n".join(
            f"[{d.metadata['side']}, {d.metadata['outlet']}] {d.page_content}" for d in ds
        )

    llm_server.script("Each side gives its own figure.")
    chain = (
        {"context": retriever | RunnableLambda(label), "question": RunnablePassthrough()}
        | ChatPromptTemplate.from_template("Context:\n{context}\n\nQuestion: {question}")
        | ChatOpenAI(
            model=llm_server.model, base_url=llm_server.base_url, api_key="scripted", max_retries=0
        )
        | StrOutputParser()
    )
    assert chain.invoke(AID) == "Each side gives its own figure."
    prompt = llm_server.requests[-1]["messages"][-1]["content"]
    assert "[pro-Russia, World Today News]" in prompt and AID in prompt


# -- MCP ------------------------------------------------------------------------------------


async def _use_mcp(server: Any) -> dict[str, Any]:
    """Everything an MCP host does with our server, through the SDK's own client."""
    from mcp.client import Client

    out: dict[str, Any] = {}
    async with Client(server) as c:
        out["tools"] = sorted(t.name for t in (await c.list_tools()).tools)
        r = await c.call_tool("ask", {"question": AID, "side": ["pro-Russia", "pro-Ukraine"]})
        out["ask"] = r.structured_content
        r = await c.call_tool("search", {"query": "军费预算", "k": 3})
        out["search"] = r.structured_content["result"]
        r = await c.call_tool("search", {"query": "军费预算"})
        out["search_default"] = len(r.structured_content["result"])
        r = await c.call_tool("search", {"query": "军费预算", "side": ["nope"]})
        out["bad"] = (r.is_error, r.content[0].text)
        r = await c.call_tool("search", {"query": "军费预算", "sidee": ["pro-Russia"]})
        out["typo"] = (r.is_error, r.content[0].text)
        page = (await c.call_tool("list_sources", {})).structured_content
        out["sources"] = page["sources"]
        out["page"] = (page["total"], page["next_offset"])
        r = await c.call_tool("list_sources", {"side": "pro-Russia", "limit": 1})
        out["narrowed"] = r.structured_content
        r = await c.call_tool("list_sources", {"limit": 5000})
        out["too_many"] = (r.is_error, r.content[0].text)
        r = await c.call_tool("get_source", {"source_id": out["sources"][0]["id"]})
        out["source"] = r.structured_content
        resources = (await c.list_resources()).resources
        out["resources"] = [str(x.uri) for x in resources]
        read = await c.read_resource(resources[0].uri)
        out["resource_text"] = read.contents[0].text
        try:
            await c.read_resource("source://nope")
            out["missing"] = "read"
        except Exception as exc:  # noqa: BLE001 - the SDK's error type, whatever its name
            out["missing"] = str(exc)
    return out


def check_mcp(out: dict[str, Any], top_k: int = 8) -> None:
    assert out["tools"] == ["ask", "get_source", "list_sources", "search"]
    # Without k, search returns the top_k setting's count (was 8 whatever the setting).
    assert len(out["search"]) == 3 and out["search_default"] == top_k
    ask = out["ask"]
    assert not ask["abstained"] and {c["side"] for c in ask["citations"]} == {
        "pro-Russia",
        "pro-Ukraine",
    }
    assert all(c["quote"] and c["outlet"] and c["voice"] for c in ask["citations"])
    assert out["search"] and all(h["language"] == "zh" for h in out["search"][:1])
    is_error, message = out["bad"]
    assert is_error and "unknown side filter 'nope'" in message and "pro-Russia" in message
    # A mistyped argument is named, not dropped (an unfiltered answer would look filtered).
    is_error, message = out["typo"]
    assert is_error and "'sidee'" in message and "'side'" in message, message
    assert {s["side"] for s in out["sources"]} >= {"pro-Russia", "pro-Ukraine"}
    # A page at a time: how many match, and where the next page starts (null: the last).
    assert out["page"] == (len(out["sources"]), None)
    narrowed = out["narrowed"]
    russian = [s for s in out["sources"] if s["side"] == "pro-Russia"]
    assert narrowed["total"] == len(russian) and narrowed["sources"] == russian[:1]
    assert narrowed["next_offset"] == (1 if len(russian) > 1 else None)
    assert out["too_many"][0] and "less than or equal to 1000" in out["too_many"][1]
    assert all(s["detected_languages"] for s in out["sources"])
    assert out["source"]["detected_languages"] == out["sources"][0]["detected_languages"]
    assert out["source"]["text"] == out["resource_text"]
    # The fix reaches the host (was "Error creating resource from template" and a traceback).
    assert "no source 'nope'" in out["missing"] and "list_sources" in out["missing"]
    assert len(out["resources"]) == len(out["sources"]) and out["resources"][0].startswith(
        "source://"
    )


def test_mcp_server_over_stdio(index_dir: Path) -> None:
    check_mcp(asyncio.run(_use_mcp(mcp_stdio(index_dir))))


def test_mcp_resources_are_listed_a_page_at_a_time(assistant: Assistant) -> None:
    """`resources/list` pages with the protocol's cursor (an archive of 6,000 sources listed
    whole was megabytes a call); here two sources a page, in process."""
    from mcp.client import Client

    from assistant.serve.mcp_server import create_server

    server = create_server(assistant)
    server.resource_page = 2

    async def pages() -> tuple[list[list[str]], str]:
        got, cursor = [], None
        async with Client(server) as c:
            while True:
                result = await c.list_resources(cursor=cursor)
                got.append([str(r.uri) for r in result.resources])
                if (cursor := result.next_cursor) is None:
                    break
            bad = []
            for cursor in ("page-two", "-1", "²"):
                try:
                    await c.list_resources(cursor=cursor)
                    bad.append("listed")
                except Exception as exc:  # noqa: BLE001 - the SDK's error type, whatever its name
                    bad.append(str(exc))
            past = await c.list_resources(cursor="99")
        assert past.resources == [] and past.next_cursor is None
        return got, bad

    got, bad = asyncio.run(pages())
    ids = sorted(r.source.id for r in assistant.sources())
    assert [len(page) for page in got] == [2, 2, 1][: len(got)] and len(got) == 3
    assert [uri for page in got for uri in page] == [f"source://{i}" for i in ids]
    assert [b.split(";")[0] for b in bad] == [
        "not a cursor: 'page-two'",
        "not a cursor: '-1'",
        "not a cursor: '²'",
    ]


def test_mcp_server_over_http_behind_the_keys(index_dir: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    from assistant.serve.mcp_server import http_app

    settings = Settings.resolve(
        index_path=index_dir, api_keys="reader-key-0123456789", top_k=6, env={}
    )
    with ThreadedServer(http_app(Assistant(settings, embedder=embedder))) as s:
        url = s.url + "/mcp"
        denied = httpx2.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        assert denied.status_code == 401 and "Bearer" in denied.json()["error"]["message"]
        wrong = {"Authorization": "Bearer wrong"}
        assert httpx2.post(url, json={}, headers=wrong).status_code == 401

        async def with_key() -> dict[str, Any]:
            headers = {"Authorization": "Bearer reader-key-0123456789"}
            async with httpx2.AsyncClient(headers=headers, timeout=120) as http:
                return await _use_mcp(streamable_http_client(url, http_client=http))

        check_mcp(asyncio.run(with_key()), top_k=6)
