"""The web chat on the bundled corpus: `python app.py [--host H] [--port P]`.

Builds index/ from data/corpus first if there is none, then serves on 127.0.0.1. The interface
itself lives in assistant/web/app.py so that the HTTP API can mount it too.
"""

from assistant.web.app import CSS, create_app, document_html, main, sources_html

__all__ = ["CSS", "create_app", "document_html", "main", "sources_html"]

if __name__ == "__main__":
    raise SystemExit(main())
