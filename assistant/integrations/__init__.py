"""The assistant as a component of other frameworks: LlamaIndex (llamaindex.py), LangChain
(langchain.py, an optional extra). Reach them through `Assistant.as_retriever()`,
`as_query_engine()`, `as_tool()` and `as_langchain_retriever()`; the MCP server is
`assistant/mcp_server.py`."""
