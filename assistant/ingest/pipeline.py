"""The pipeline from files to the store: load → sentences + languages → passages → embed → write.

Incremental: a source's version is a hash of its text and the chunking and embedding settings;
an unchanged file embeds nothing, a changed one replaces its rows, a relabelled one (new manifest
fields, same text) only has its metadata updated. Resumable: see store/chroma.py for how a killed run is
completed by the next. Bad files are reported by name and skipped; the rest go in.

The costly part, a source version's rows (sentences, languages, passages, vectors), is built by
building.py, here or on a Ray cluster (ray_ingest.py); this module decides what to build and
writes what comes back, one source at a time, its record last.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.config import Settings
from assistant.embedders import Embedder
from assistant.errors import BadDocument, InvalidRequest
from assistant.inputs import did_you_mean
from assistant.recording import Times
from assistant.sources.manifest import Corpus, Outlet, find_manifest, find_outlet, load_manifest
from assistant.sources.model import Source, Suggestion, safe_id
from assistant.sources.suggest import Suggester
from assistant.store.chroma import Store
from assistant.store.records import SourceRecord

from .building import Builder, Built, InProcess, Progress, build_rows
from .loaders import Document, guess_title, iter_files, load_document


@dataclass
class IngestReport:
    """What one ingest run did, file by file."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    relabelled: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    # (file, what to know): e.g. an HTML page read as all visible text, not as an article.
    notes: list[tuple[str, str]] = field(default_factory=list)
    texts_embedded: int = 0  # sentences and passages
    tokens_embedded: int = 0
    passages_written: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}

    def summary(self) -> str:
        parts = [
            f"{len(self.added)} added",
            f"{len(self.updated)} updated",
            f"{len(self.relabelled)} relabelled",
            f"{len(self.unchanged)} unchanged",
            f"{len(self.skipped)} skipped",
            f"{len(self.pruned)} pruned",
            *([f"{len(self.notes)} with notes"] if self.notes else []),
            f"{self.passages_written} passages",
            f"{self.texts_embedded} texts embedded",
            f"{self.seconds:.1f}s",
        ]
        return ", ".join(parts)


def version_of(text: str, settings: Settings, embedder_name: str) -> str:
    """Content hash + everything that changes the rows built from it."""
    h = hashlib.sha256(text.encode("utf-8"))
    h.update(f"|{settings.chunk_tokens}|{settings.chunk_overlap}|{embedder_name}|v5".encode())
    return h.hexdigest()[:16]


def ingest_text(
    text: str,
    source: Source,
    store: Store,
    embedder: Embedder,
    settings: Settings,
    path: str = "",
    corpus: Corpus | None = None,
    records: dict[str, SourceRecord] | None = None,
    progress: Progress | None = None,
    times: Times = (),
) -> tuple[str, int, int, int]:
    """Index one source text. Returns (status, texts embedded, tokens embedded, passages).
    `times`: a transcript's (loaders.Document.times), kept with its record.

    status is "added", "updated", "relabelled" or "unchanged". `progress(done, total, name)` is
    called between embedding batches with the texts embedded so far, and with total 0 while the
    text is split and its languages detected; an exception it raises stops the ingest before
    anything of this version is written (how a job is cancelled).
    """
    version = version_of(text, settings, embedder.name)
    known = (records if records is not None else store.records()).get(source.id)
    settled = _settled(text, source, version, store, path, corpus, known, times)
    if settled is not None:
        return settled, 0, 0, 0
    built = build_rows(text, source, version, path, settings, embedder, progress)
    return _written(store, corpus, text, known, built, times)


def _written(
    store: Store,
    corpus: Corpus | None,
    text: str,
    known: SourceRecord | None,
    built: Built,
    times: Times = (),
) -> tuple[str, int, int, int]:
    """Commit one built source version (its record last: Store.write_source), a transcript's
    times with its record; returns what ingest_text returns."""
    record = dataclasses.replace(built.record, times=times)
    store.write_source(record, text, built.passages, corpus, built.tallies)
    return built.outcome(known)


def _not_another(
    known: SourceRecord | None, source_id: str, version: str, path: str, f: Path
) -> None:
    """Refuse a file whose id is indexed from another document that is still there (a file of
    the same name in another folder, or an upload): replacing it would lose that document. A
    file moved since it was indexed (its old path gone) updates it, as an edit in place does."""
    if known is None or known.version == version or known.path == path:
        return
    if known.path and os.path.exists(known.path):
        origin = f"from {known.path}"
    elif not known.path:
        origin = "from an upload"
    else:
        return
    raise BadDocument(
        str(f),
        f"its id {source_id!r} is already indexed {origin}, a different text; replacing that "
        f"would lose it: give this file an id of its own in sources.toml ([[sources]] "
        f'file = "{f.name}", id = "{source_id}-2"), or delete the indexed one first '
        f"(DELETE /v1/sources/{source_id})",
    )


def _settled(
    text: str,
    source: Source,
    version: str,
    store: Store,
    path: str,
    corpus: Corpus | None,
    known: SourceRecord | None,
    times: Times = (),
) -> str | None:
    """ "unchanged" or "relabelled" (its labels, or a transcript's times, rewritten) when this
    version is indexed already; None when its rows must be built."""
    if known is None or known.version != version:
        return None
    if known.source == source and known.times == times:
        return "unchanged"
    store.relabel(
        SourceRecord(
            source, version, path or known.path, len(text), known.passages, time.time(), times
        ),
        corpus,
    )
    return "relabelled"


def declared_for(path: Path, corpus: Corpus | None) -> Source:
    """The manifest entry for a file, or an 'unknown'-side source named after it."""
    entry = corpus.by_file(path.name) if corpus else None
    return entry or Source(id=safe_id(path.stem), file=path.name)


def completed(source: Source, doc: Document, outlets: Mapping[str, Outlet], stem: str) -> Source:
    """A declared source (manifest entry or upload form) with its empty fields filled from the
    file's own metadata, its unknown labels from its declared outlet, and a missing title from
    the text's first line (a stand-in, so not recorded as extracted)."""
    source = source.filled_from(doc.metadata)  # a URL read from the page can name the outlet
    source = source.labelled_by(find_outlet(outlets, source))
    return (
        source
        if source.title
        else dataclasses.replace(source, title=doc.fallback_title or guess_title(doc.text, stem))
    )


def earlier_suggestion(
    known: SourceRecord | None, text: str, settings: Settings, embedder_name: str
) -> Suggestion | None:
    """The suggestion indexed for a source if its text is the same as now, else None."""
    if known is None or known.version != version_of(text, settings, embedder_name):
        return None
    return known.source.suggestion


def ingest_paths(
    paths: list[Path],
    store: Store,
    embedder: Embedder,
    settings: Settings,
    manifest: Path | None = None,
    prune: bool = False,
    progress: Progress | None = None,
    llm: Any = None,
    builder: Builder | None = None,
) -> IngestReport:
    """Ingest files and directories; report what happened to each file.

    Args:
        paths: files and/or directories (searched recursively).
        store: where to write.
        embedder: must match the one the store was built with.
        settings: chunking settings.
        manifest: a sources.toml; by default the one in the first directory given, if any.
        prune: also remove indexed sources whose file, under a given directory, is gone.
        progress: called as (done, total, file name) after each file.
        llm: a llama-index LLM to propose sides for unlabelled documents (suggest.py), or None
            for the corpus's markers alone.
        builder: where the rows are built (building.InProcess by default; ray_ingest.OnRay
            across a cluster); each source is written here as its rows come back.
    """
    t0 = time.perf_counter()
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise InvalidRequest(f"no such file or directory: {', '.join(missing)}")
    manifest = manifest or find_manifest(paths)
    corpus = load_manifest(manifest) if manifest else None
    suggester = Suggester(
        corpus.markers if corpus else {},
        corpus.sides if corpus else {},
        llm,
        settings.prompts_dir,
    )
    store.open_for_write(embedder.name, embedder.dim)
    records = store.records()
    builder = builder or InProcess(settings, embedder)
    files = iter_files(paths)
    report = IngestReport()
    if manifest and corpus:
        report.notes += unmatched_entries(manifest, corpus, files)
    if not files:
        where = ", ".join(map(str, paths))
        report.notes.append((where, "no files here (hidden files and sources.toml are skipped)"))
    seen: dict[str, Path] = {}
    for n, f in enumerate(files, start=1):
        try:
            doc = load_document(f)
            text = doc.text
            source = completed(
                declared_for(f, corpus), doc, corpus.outlets if corpus else {}, f.stem
            )
            source, notes = suggester.apply(
                source,
                text,
                earlier_suggestion(records.get(source.id), text, settings, embedder.name),
            )
            report.notes += [(str(f), note) for note in [doc.note] * bool(doc.note) + notes]
            if source.id in seen:
                raise BadDocument(
                    str(f),
                    f"its id {source.id!r} is also {seen[source.id]}'s; give one of them "
                    "another id in sources.toml",
                )
            seen[source.id] = f
            version, path = version_of(text, settings, embedder.name), str(f.resolve())
            known = records.get(source.id)
            if source.id == safe_id(f.stem):  # an id a manifest gives is the user's decision
                _not_another(known, source.id, version, path, f)
            settled = _settled(text, source, version, store, path, corpus, known, doc.times)
            if settled is not None:
                getattr(report, settled).append(source.id)
            else:
                builder.submit((f, text, known, doc.times), text, source, version, path)
        except BadDocument as exc:  # other errors (the store, the manifest) stop the ingest
            report.skipped.append((str(f), exc.reason))
        for key, built in builder.results(wait=False):
            _commit(report, store, corpus, key, built)
        if progress:
            progress(n, len(files), f.name)
    for key, built in builder.results(wait=True):
        _commit(report, store, corpus, key, built)
    if prune:
        report.pruned = _prune(paths, records, set(seen), store)
    if corpus is not None:
        store.declare(corpus)  # what the manifest declares beside its documents
    report.seconds = time.perf_counter() - t0
    return report


def unmatched_entries(manifest: Path, corpus: Corpus, files: list[Path]) -> list[tuple[str, str]]:
    """A note for each manifest entry whose file is neither being ingested nor in the
    manifest's folder: a mistyped name, which would leave the document it meant to label
    unlabelled without a word (entries for files elsewhere in that folder are for another
    ingest of it, and say nothing)."""
    names = {f.name for f in files}
    missing = [s.file for s in corpus.sources.values() if s.file and s.file not in names]
    if missing:  # the folder is walked only when what is ingested leaves entries unmatched
        names |= {f.name for f in iter_files([manifest.parent])}
    notes = []
    for file in missing:
        if file not in names:
            hint = did_you_mean(file, names)
            hint = f"{hint} " if hint else ""
            notes.append(
                (
                    str(manifest),
                    f"the entry for file {file!r} matches no file; {hint}a document it "
                    "was meant to label is indexed as side 'unknown' until the name is fixed "
                    "(then ingest again: it is relabelled without embedding)",
                )
            )
    return notes


def _commit(
    report: IngestReport,
    store: Store,
    corpus: Corpus | None,
    key: tuple[Path, str, SourceRecord | None, Times],
    built: Built | BadDocument,
) -> None:
    """Write one built source (_written) and count it in the report."""
    f, text, known, times = key
    if isinstance(built, BadDocument):
        report.skipped.append((str(f), built.reason))
        return
    status, n_texts, n_tok, n_pass = _written(store, corpus, text, known, built, times)
    getattr(report, status).append(built.record.source.id)
    report.texts_embedded += n_texts
    report.tokens_embedded += n_tok
    report.passages_written += n_pass


def _prune(
    paths: list[Path], records: dict[str, SourceRecord], seen: set[str], store: Store
) -> list[str]:
    """Delete the indexed sources whose file, under one of the given directories, is gone;
    then the rows no committed source owns. Returns the deleted ids."""
    dirs = [p.resolve() for p in paths if p.is_dir()]
    pruned = []
    for sid, rec in records.items():
        if sid in seen or not rec.path:
            continue
        if any(Path(rec.path).is_relative_to(d) for d in dirs) and not Path(rec.path).exists():
            store.delete_source(sid)
            pruned.append(sid)
    store.orphans()
    return pruned
