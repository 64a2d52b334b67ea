"""An uploaded file and its form fields → the Source it declares and its text, checked in two
steps: what a request can tell at once, and what reading the file takes.

`declared_upload` runs in the request: the file name, type and size, and the form's fields
against the corpus's sides. `read_upload` reads the text (bounded by ASSISTANT_MAX_TEXT_CHARS)
and fills the Source's gaps from the file's own metadata; the server runs it in the upload's job
(jobs.py), because a small PDF can hold minutes of text extraction. Whether the id is already
taken is the Assistant's question (documents.check_upload): it needs the index.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.inputs import check_filename, check_unicode
from assistant.recording import Times
from assistant.sources.manifest import Corpus, make_source
from assistant.sources.model import Source

from .loaders import check_file, read_document
from .pipeline import completed


@dataclass(frozen=True)
class ReadUpload:
    """An upload once read (read_upload), for Assistant.index_upload."""

    source: Source
    text: str
    times: Times = ()  # a transcript's (loaders.Document.times)
    # What the reading noticed (a caption file's unread cues, a format other than its name's):
    # the upload's job message says it, as `assistant ingest` prints a file's notes.
    note: str = ""


def declared_upload(
    filename: str, data: bytes, fields: dict[str, Any] | None, corpus: Corpus
) -> Source:
    """The Source the upload's fields declare, validated against the corpus's sides.

    Raises InvalidRequest for a file name that is not a plain name or a field that is not valid
    Unicode, BadDocument for an unsupported, empty or oversized file, ManifestError for bad
    fields."""
    check_filename(filename)
    check_file(data, filename)
    given = {k: v for k, v in (fields or {}).items() if v not in (None, "", [])}
    for key, value in given.items():
        if isinstance(value, str):
            check_unicode(value, f"field {key!r}")
    given.setdefault("file", filename)
    return make_source(given, corpus.sides, where=f"upload {filename}")


def read_upload(
    declared: Source,
    filename: str,
    data: bytes,
    corpus: Corpus,
    max_chars: int,
    check: Callable[[], None] | None = None,
) -> ReadUpload:
    """The upload as read: its Source with gaps filled from the file's metadata and declared
    outlets, its text, a transcript's times, and what the reading noticed. Raises BadDocument
    for unreadable content or text over `max_chars`; `check` may raise to abandon the reading
    (loaders.read_document)."""
    doc = read_document(data, filename, max_chars, check)
    source = completed(declared, doc, corpus.outlets, Path(filename).stem)
    return ReadUpload(source, doc.text, doc.times, doc.note)
