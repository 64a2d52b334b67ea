"""The pipeline from files to the store: load → sentences + languages → passages → embed → write.

Incremental: a source's version is a hash of its text and the chunking and embedding settings;
an unchanged file embeds nothing, a changed one replaces its rows, a relabelled one (new manifest
fields, same text) only has its metadata updated. Resumable: see store/chroma.py for how a killed run is
completed by the next. Bad files are reported by name and skipped; the rest go in.

Two kinds of vectors, each text embedded once: every passage as a whole (the context a question
matches across languages) and every sentence with letters in it (the extractive answerer quotes
sentences, and retrieval fuses a passage's best sentence with its whole-passage score). Fragments
without letters (")", "2024.", page references) get no sentence vector: alone they sit near every
query of a language, hubs that outrank real passages (measured on XQuAD, docs/figures.md).
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from assistant.config import Settings
from assistant.embedders import Embedder
from assistant.errors import BadDocument, InvalidRequest
from assistant.sources.manifest import Corpus, Outlet, find_manifest, find_outlet, load_manifest
from assistant.sources.model import Source, Suggestion, safe_id
from assistant.sources.suggest import Suggester
from assistant.store.centroids import tallies
from assistant.store.chroma import Store
from assistant.store.records import SourceRecord
from assistant.store.rows import passage_id, passage_meta, sentence_id, sentence_meta, tally_rows

from .chunking import PassageSpan, Span, letters, make_passages, split_sentences
from .language import UNDETERMINED, detect, sentence_languages
from .loaders import Document, guess_title, iter_files, load_document

Progress = Callable[[int, int, str], None]
# A sentence needs this many letters to get a vector of its own (see the module docstring).
MIN_LETTERS = 4


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


@dataclass(frozen=True)
class Prepared:
    """One document cut into sentences and passages, not yet embedded."""

    sentences: list[Span]
    passages: list[PassageSpan]


def prepare(
    text: str,
    settings: Settings,
    embedder: Embedder,
    declared: Sequence[str] = (),
    check: Callable[[], None] | None = None,
) -> Prepared:
    """Sentences (with languages) and passages of one source text, sized in the embedder's
    tokens and never longer than it reads at once.

    `declared`: the languages the source's labels give. When it names exactly one, and one of
    `settings.languages`, that language is what a sentence too short to detect ("Prison is
    punishment.") is taken to be, so that a one-language corpus of short texts stays one
    language (a row of undetermined language is measured without a language baseline,
    centroids.py).

    `check` is called between steps and blocks of sentences; it may raise to abandon the work.
    """
    max_tokens = min(settings.chunk_tokens, embedder.max_tokens)
    # Only a language detection could also give: another would make a group of the short rows.
    one = declared[0] if len(declared) == 1 else ""
    fallback = one if one in settings.languages else UNDETERMINED
    main = detect(text[:3000], settings.languages)
    main = fallback if main == UNDETERMINED else main
    raw = split_sentences(
        text, main if main != UNDETERMINED else "en", max_tokens, embedder.count_tokens
    )
    langs = [
        fallback if lang == UNDETERMINED else lang
        for lang in sentence_languages([s.text for s in raw], settings.languages, check)
    ]
    if check is not None:
        check()
    sentences = [
        Span(s.start, s.end, s.text, lang, s.tokens) for s, lang in zip(raw, langs, strict=True)
    ]
    passages = make_passages(text, sentences, max_tokens, settings.chunk_overlap)
    return Prepared(sentences, passages)


def checkpoint(progress: Progress | None, name: str) -> Callable[[], None] | None:
    """A check to call between steps before any embedding: `progress` with nothing embedded
    and total 0, so that what `progress` raises (a cancel, a stop) abandons the work there too."""
    return None if progress is None else (lambda: progress(0, 0, name))


def version_of(text: str, settings: Settings, embedder_name: str) -> str:
    """Content hash + everything that changes the rows built from it."""
    h = hashlib.sha256(text.encode("utf-8"))
    h.update(f"|{settings.chunk_tokens}|{settings.chunk_overlap}|{embedder_name}|v3".encode())
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
) -> tuple[str, int, int, int]:
    """Index one source text. Returns (status, texts embedded, tokens embedded, passages).

    status is "added", "updated", "relabelled" or "unchanged". `progress(done, total, name)` is
    called between embedding batches with the texts embedded so far, and with total 0 while the
    text is split and its languages detected; an exception it raises stops the ingest before
    anything of this version is written (how a job is cancelled).
    """
    version = version_of(text, settings, embedder.name)
    known = (records if records is not None else store.records()).get(source.id)
    if known is not None and known.version == version:
        if known.source == source:
            return "unchanged", 0, 0, 0
        store.relabel(
            SourceRecord(
                source, version, path or known.path, len(text), known.passages, time.time()
            ),
            corpus,
        )
        return "relabelled", 0, 0, 0
    prep = prepare(text, settings, embedder, source.languages, checkpoint(progress, source.id))
    if not prep.passages:
        raise BadDocument(path or source.id, "no sentences found in the text")
    dense = [j for j, s in enumerate(prep.sentences) if letters(s.text) >= MIN_LETTERS]
    texts = [prep.sentences[j].text for j in dense] + [p.text for p in prep.passages]
    embedded_all = _embed_unique(embedder, texts, progress, source.id)
    vectors, passage_vectors = embedded_all[: len(dense)], embedded_all[len(dense) :]
    owner = _first_passage(prep)
    sent_rows = [
        (
            sentence_id(source.id, version, j),
            prep.sentences[j].text,
            sentence_meta(source, version, j, prep.sentences[j], owner[j]),
            vector,
        )
        for j, vector in zip(dense, vectors, strict=True)
    ]
    pass_rows = [
        (passage_id(source.id, version, i), p.text, passage_meta(source, version, i, p), v)
        for i, (p, v) in enumerate(zip(prep.passages, passage_vectors, strict=True))
    ]
    # What this version adds to its languages' centroids (centroids.py).
    parts = tallies("passage", [p.language for p in prep.passages], passage_vectors) + tallies(
        "sentence", [prep.sentences[j].language for j in dense], vectors
    )
    record = SourceRecord(source, version, path, len(text), len(prep.passages), time.time())
    store.write_source(
        record, text, pass_rows, sent_rows, corpus, tally_rows(source, version, parts)
    )
    status = "added" if known is None else "updated"
    embedded = len(dense) + len(prep.passages)
    tokens = sum(prep.sentences[j].tokens for j in dense) + sum(p.tokens for p in prep.passages)
    return status, embedded, tokens, len(pass_rows)


# Texts per embedding call when someone watches the progress: small enough to report (and to
# cancel) every few seconds on 2 cores, large enough to keep the embedder's batching.
PROGRESS_BATCH = 16


def _embed_unique(
    embedder: Embedder, texts: list[str], progress: Progress | None = None, name: str = ""
) -> np.ndarray:
    """Embed each distinct text once (headers and boilerplate repeat within a document)."""
    uniq = list(dict.fromkeys(texts))
    if progress is None or len(uniq) <= PROGRESS_BATCH:
        vecs = embedder.passages(uniq)
    else:
        parts = []
        for i in range(0, len(uniq), PROGRESS_BATCH):
            progress(i, len(uniq), name)
            parts.append(embedder.passages(uniq[i : i + PROGRESS_BATCH]))
        vecs = np.concatenate(parts)
    if progress is not None:
        progress(len(uniq), len(uniq), name)
    index = {t: i for i, t in enumerate(uniq)}
    return vecs[[index[t] for t in texts]]


def _first_passage(prep: Prepared) -> list[int]:
    owner = [0] * len(prep.sentences)
    for i in reversed(range(len(prep.passages))):
        p = prep.passages[i]
        for j in range(p.first, p.last + 1):
            owner[j] = i
    return owner


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
        source if source.title else dataclasses.replace(source, title=guess_title(doc.text, stem))
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
    files = iter_files(paths)
    report = IngestReport()
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
            status, n_texts, n_tok, n_pass = ingest_text(
                text, source, store, embedder, settings, str(f.resolve()), corpus, records
            )
            getattr(report, status).append(source.id)
            report.texts_embedded += n_texts
            report.tokens_embedded += n_tok
            report.passages_written += n_pass
        except BadDocument as exc:  # other errors (the store, the manifest) stop the ingest
            report.skipped.append((str(f), exc.reason))
        if progress:
            progress(n, len(files), f.name)
    if prune:
        report.pruned = _prune(paths, records, set(seen), store)
    report.seconds = time.perf_counter() - t0
    return report


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
