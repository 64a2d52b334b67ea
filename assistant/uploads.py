"""An uploaded file and its form fields → the Source it declares and its text, checked.

Everything here runs before anything is embedded, so that the server can refuse a bad upload in
the request and queue only a good one (jobs.py). Whether the id is already taken is the
Assistant's question (core.check_upload): it needs the index.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .checks import check_filename, check_unicode
from .ingest import completed
from .loaders import read_document
from .manifest import Corpus, make_source
from .sources import Source


def declared_upload(
    filename: str, data: bytes, fields: dict[str, Any] | None, corpus: Corpus
) -> tuple[Source, str]:
    """The upload's Source (its fields validated against the corpus's sides, gaps filled from
    the file's metadata and declared outlets) and its text.

    Raises InvalidRequest for a file name that is not a plain name or text that is not valid
    Unicode, BadDocument for unreadable content, ManifestError for bad fields."""
    check_filename(filename)
    doc = read_document(data, filename)
    given = {k: v for k, v in (fields or {}).items() if v not in (None, "", [])}
    for key, value in given.items():
        if isinstance(value, str):
            check_unicode(value, f"field {key!r}")
    given.setdefault("file", filename)
    declared = make_source(given, corpus.sides, where=f"upload {filename}")
    return completed(declared, doc, corpus.outlets, Path(filename).stem), doc.text
