"""The documents half of the `Assistant` facade: index, upload, delete and list sources, and the
corpus's declarations. `Assistant` (core.py) inherits it, so `Assistant().ingest(...)` and
`Assistant().sources()` are one object's methods; this class only keeps core.py to one concern
(collaborators, search and ask) and is not used alone.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.config import Settings
from assistant.errors import IndexNotBuilt, InvalidRequest, SourceExists, SourceNotFound
from assistant.ingest.building import Progress, checkpoint
from assistant.ingest.pipeline import IngestReport, earlier_suggestion, ingest_paths, ingest_text
from assistant.ingest.uploads import ReadUpload, declared_upload, read_upload
from assistant.inputs import check_source_id
from assistant.recording import Times
from assistant.retrieval.filters import Filters
from assistant.sources.manifest import MANIFEST_NAME, Corpus, Outlet, load_manifest
from assistant.sources.model import Source
from assistant.sources.suggest import Suggester
from assistant.store.records import SourceRecord

if TYPE_CHECKING:
    from assistant.embedders import Embedder
    from assistant.retrieval.snapshot import Snapshot
    from assistant.store.chroma import Store

# Every door reaches this: name each one's way to list the sources.
LIST_SOURCES = "list them with `assistant sources`, GET /v1/sources, or the MCP tool list_sources"


class Documents:
    """Index, upload, delete and list the sources of the Assistant's index."""

    settings: Settings

    if TYPE_CHECKING:  # provided by Assistant (core.py)

        @property
        def store(self) -> Store: ...
        @property
        def embedder(self) -> Embedder: ...
        @property
        def llm(self) -> Any: ...
        def snapshot(self) -> Snapshot: ...
        def refresh(self, everything: bool = True) -> None: ...

    def ingest(
        self,
        paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
        manifest: str | Path | None = None,
        prune: bool = False,
        progress: Progress | None = None,
        ray: str | bool | None = None,
    ) -> IngestReport:
        """Index files and directories (see ingest/pipeline.ingest_paths): one path, or a list
        of them; a path given twice is read once.

        `ray`: build the rows as Ray tasks (ingest/ray_ingest.py, the `ray` extra): True for a
        local cluster, or a running cluster's address; they are written here as they come back,
        into this Assistant's store (the embedded index or its Chroma server)."""
        builder: Any = nullcontext()  # yields None: ingest_paths builds in this process
        if ray:
            from assistant.ingest.ray_ingest import OnRay

            builder = OnRay(
                self.settings, self.embedder.name, ray if isinstance(ray, str) else None
            )
        with builder as on:
            report = ingest_paths(
                _paths(paths), self.store, self.embedder, self.settings,
                Path(manifest) if manifest else None, prune, progress, self.llm, builder=on,
            )  # fmt: skip
        self.refresh(everything=False)  # its own writes changed their records
        return report

    def add_document(
        self,
        filename: str,
        data: bytes,
        fields: dict[str, Any] | None = None,
        replace: bool = False,
        progress: Progress | None = None,
    ) -> str:
        """Index one uploaded document with its manifest fields; returns its source id.

        The id is the `id` field, else the file name's stem (letters of any script kept). An
        id already indexed is refused (SourceExists) unless `replace` is true: an upload never
        overwrites a source by accident. Raises BadDocument for unreadable content or text over
        ASSISTANT_MAX_TEXT_CHARS, and ManifestError for bad fields. (The server runs the
        steps apart: the check in the request, the reading and embedding in a job: jobs.py.)
        """
        declared = self.check_upload(filename, data, fields, replace)
        read = self.read_upload(declared, filename, data)
        self.index_upload(read.source, read.text, progress, read.times)
        return read.source.id

    def check_upload(
        self, filename: str, data: bytes, fields: dict[str, Any] | None, replace: bool = False
    ) -> Source:
        """What an upload's request can check at once: the file's name, type and size, the
        manifest fields, and whether its id is taken. Returns the Source the fields declare."""
        if not isinstance(data, bytes | bytearray):
            raise InvalidRequest(
                f"a document's content is the file's bytes, got {type(data).__name__}; "
                "pass text encoded, e.g. text.encode('utf-8')"
            )
        source = declared_upload(filename, data, fields, self.corpus())
        existing = self.snapshot().records.get(source.id) if self.store.exists() else None
        if existing is not None and not replace:
            raise SourceExists(
                f"a source with id {source.id!r} is indexed already "
                f"({existing.source.title or existing.source.id!r}); give this upload another "
                "id (the 'id' field), or ask to replace it explicitly (replace=true)"
            )
        return source

    def read_upload(
        self,
        declared: Source,
        filename: str,
        data: bytes,
        check: Callable[[], None] | None = None,
    ) -> ReadUpload:
        """An upload's text (at most ASSISTANT_MAX_TEXT_CHARS) and its Source completed from
        the file's metadata. `check` is called while a PDF is read and may raise to abandon it.
        Returns the source, text, a transcript's times and the reading's note, for
        index_upload."""
        return read_upload(
            declared, filename, data, self.corpus(), self.settings.max_text_chars, check
        )

    def index_upload(
        self, source: Source, text: str, progress: Progress | None = None, times: Times = ()
    ) -> list[str]:
        """Suggest a side if the upload is unlabelled, then embed and commit it (see
        check_upload). Returns notes on the suggestion (an LLM proposal dropped, and why).

        The suggestion is made here, not in check_upload, because an LLM may be asked: the
        server runs this as a job, not inside the request."""
        corpus = self.corpus()  # before the index is made: into a new one, the default's
        new = not self.store.exists()
        self.store.open_for_write(self.embedder.name, self.embedder.dim)
        existing = self.snapshot().records.get(source.id)
        earlier = earlier_suggestion(existing, text, self.settings, self.embedder.name)
        check = checkpoint(progress, source.id)
        source, notes = self.suggester(corpus).apply(source, text, earlier, check)
        ingest_text(
            text,
            source,
            self.store,
            self.embedder,
            self.settings,
            path="",
            # Into a new index, the declarations the upload was checked against (those of
            # settings.corpus_path's manifest): the index recorded none, so the next upload was
            # checked against "unknown" alone and a side the first took was refused. Into an
            # index that has them, none: an ingest may have recorded newer ones meanwhile.
            corpus=corpus if new else None,
            progress=progress,
            times=times,
        )
        self.refresh(everything=False)  # its own writes changed their records
        return notes

    def delete_document(self, source_id: str) -> None:
        """Remove a source and everything indexed from it."""
        check_source_id(source_id)
        if not self.store.delete_source(source_id):
            raise SourceNotFound(f"no source {source_id!r}; {LIST_SOURCES}")
        self.refresh(everything=False)  # its own writes changed their records

    def sources(self, side: Any = None, language: Any = None) -> list[SourceRecord]:
        """The indexed sources with their labels, sorted by id: every one, or those of the
        sides in `side` and declaring or holding a language in `language` (one value, a list,
        or comma-separated, as a search's filters)."""
        return self.snapshot().listing(Filters.of(side, language))

    def source(self, source_id: str, snap: Snapshot | None = None) -> tuple[SourceRecord, str]:
        """A source's record and its whole text (offsets of citations point into it), of one
        version.

        `snap`: the snapshot that says whether the source is committed, when the caller reads
        more from it (the index's current one by default)."""
        check_source_id(source_id)
        known = (snap if snap is not None else self.snapshot()).records.get(source_id)
        # The record and the text from the store's one row: a snapshot's record is of the
        # version committed when it was read, and a replace since would pair it with the new
        # text (offsets into the wrong one).
        found = self.store.source(source_id) if known else None
        if found is None:
            raise SourceNotFound(f"no source {source_id!r}; {LIST_SOURCES}")
        return found

    def corpus(self) -> Corpus:
        """The corpus's declarations without its sources: name, side vocabulary, outlets and
        markers, as recorded in the index by every ingest with a manifest (Corpus.updated_by);
        before there is an index, as data/corpus/sources.toml (settings.corpus_path) declares
        them."""
        try:
            return self.store.recorded_corpus()
        except IndexNotBuilt:
            manifest = self.settings.corpus_path / MANIFEST_NAME
            if manifest.is_file():
                return dataclasses.replace(load_manifest(manifest), sources={})
            return Corpus()

    def sides(self) -> dict[str, str]:
        """The side vocabulary (see corpus()); "unknown" is always in it."""
        return self.corpus().sides

    def outlets(self) -> dict[str, Outlet]:
        """The outlets the corpus declares (see corpus()): an upload naming one, or from one of
        its domains, takes its labels."""
        return self.corpus().outlets

    def suggester(self, corpus: Corpus | None = None) -> Suggester:
        """Suggests sides for unlabelled documents: the corpus's markers, and the LLM if one is
        configured (suggest.py)."""
        corpus = corpus or self.corpus()
        return Suggester(corpus.markers, corpus.sides, self.llm, self.settings.prompts_dir)

    def ensure_index(self, progress: Progress | None = None) -> IngestReport | None:
        """Build the index from settings.corpus_path if there is none yet."""
        if self.store.exists():
            return None
        return self.ingest([self.settings.corpus_path], progress=progress)


def _paths(given: object) -> list[Path]:
    """The paths an ingest was given: one path or any iterable of them (a string is one path,
    not its characters), each once, in the order given."""
    if isinstance(given, str | os.PathLike):
        given = [given]
    paths = list(given) if isinstance(given, Iterable) and not isinstance(given, bytes) else []
    if not paths:
        raise InvalidRequest(
            f"give the files or folders to ingest, as a path or a list of paths; got {given!r}"
        )
    wrong = [p for p in paths if not isinstance(p, str | os.PathLike)]
    if wrong:
        raise InvalidRequest(f"a path to ingest is a str or a Path, got {wrong[0]!r}")
    return list(dict.fromkeys(Path(p) for p in paths))
