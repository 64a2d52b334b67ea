"""The doors over HTTP and stdio, and what guards them.

http.create_api: the JSON API (and the chat at /ui) as one ASGI app
http.create_chat: the web chat alone, behind the same guard (`python app.py`)
routes: the /v1 endpoints: ask, search, sources, uploads, jobs, health
openai_api: the OpenAI-compatible /v1/chat/completions and /v1/models
mcp_server.create_server: the MCP server: ask, search, list_sources, get_source
mcp_server.serve: run it over stdio, or over HTTP behind the read keys
shapes: the JSON shapes every door shares (pydantic)
access.Keys: read and admin keys, compared in constant time
middleware.Guard: body limits, JSON checks, throttled guessing, cross-site writes refused
errors: the error replies (one JSON shape, the status each error has)
jobs.Jobs: the bounded queue of background ingest jobs, with cancel
"""
