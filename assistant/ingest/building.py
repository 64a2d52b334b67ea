"""One source version's rows, built and written nowhere: the text cut into sentences (with their
languages) and passages, each embedded once, with the tallies of its languages. The costly part
of an ingest, and a pure function of its arguments, so that it runs here (pipeline.py) or on a
Ray cluster (ray_ingest.py) while the caller writes what comes back.

Two kinds of vectors, each text embedded once: every passage as a whole (the context a question
matches across languages) and every sentence with letters in it (the extractive answerer quotes
sentences, and retrieval fuses a passage's best sentence with its whole-passage score), kept in
the row of the first passage that holds it (rows.group_meta). Fragments
without letters (")", "2024.", page references) get no sentence vector: alone they sit near every
query of a language, hubs that outrank real passages (measured on XQuAD, docs/figures.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from assistant.config import Settings
from assistant.embedders import Embedder
from assistant.errors import BadDocument
from assistant.sources.model import Source
from assistant.store.centroids import tallies
from assistant.store.records import SourceRecord
from assistant.store.rows import (
    Row,
    group_meta,
    passage_id,
    passage_meta,
    tally_rows,
)

from .chunking import PassageSpan, Span, letters, make_passages, split_sentences
from .language import (
    UNDETERMINED,
    detect,
    document_languages,
    language_code,
    sentence_languages,
)

Progress = Callable[[int, int, str], None]
# A sentence needs this many letters to get a vector of its own (see the module docstring).
MIN_LETTERS = 4


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

    Sentences are detected among `settings.languages`, the declared ones and the document's own
    language when it is none of those (language.document_languages).

    `declared`: the languages the source's labels give. When it names exactly one, that language
    is what a sentence too short to detect ("Prison is punishment.") is taken to be, so that a
    one-language corpus of short texts stays one language (a row of undetermined language is
    measured without a language baseline, centroids.py).

    `check` is called between steps and blocks of sentences; it may raise to abandon the work.
    """
    max_tokens = min(settings.chunk_tokens, embedder.max_tokens)
    codes = document_languages(text, settings.languages, declared)
    # Only a language detection could also give: another would make a group of the short rows.
    one = (language_code(declared[0]) or "") if len(declared) == 1 else ""
    fallback = one if one in codes else UNDETERMINED
    main = detect(text[:3000], codes)
    main = fallback if main == UNDETERMINED else main
    raw = split_sentences(
        text, main if main != UNDETERMINED else "en", max_tokens, embedder.count_tokens
    )
    langs = [
        fallback if lang == UNDETERMINED else lang
        for lang in sentence_languages([s.text for s in raw], codes, check)
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


@dataclass
class Built:
    """One source version's rows, embedded and ready to commit (Store.write_source)."""

    record: SourceRecord
    passages: list[Row]  # each with the sentences it is the first to hold (rows.Group)
    tallies: list[Row]
    embedded: int  # texts embedded
    tokens: int  # tokens embedded

    def outcome(self, known: SourceRecord | None) -> tuple[str, int, int, int]:
        """(status, texts embedded, tokens embedded, passages), as ingest_text returns."""
        status = "added" if known is None else "updated"
        return status, self.embedded, self.tokens, len(self.passages)


def build_rows(
    text: str,
    source: Source,
    version: str,
    path: str,
    settings: Settings,
    embedder: Embedder,
    progress: Progress | None = None,
) -> Built:
    """Split, detect languages, embed: the rows of one source version, written nowhere. The
    costly part of an ingest, and a pure function of its arguments, so that it can run in
    another process (ray_ingest.py) while the caller writes what comes back."""
    prep = prepare(text, settings, embedder, source.languages, checkpoint(progress, source.id))
    return embed_rows(prep, text, source, version, path, embedder, progress)


def embed_rows(
    prep: Prepared,
    text: str,
    source: Source,
    version: str,
    path: str,
    embedder: Embedder,
    progress: Progress | None = None,
) -> Built:
    """Embed a prepared text's sentences and passages into one source version's rows. Apart
    from `prepare` for what knows its sentences already (bench/query.py's bulk build)."""
    if not prep.passages:
        raise BadDocument(path or source.id, "no sentences found in the text")
    dense = [j for j, s in enumerate(prep.sentences) if letters(s.text) >= MIN_LETTERS]
    texts = [prep.sentences[j].text for j in dense] + [p.text for p in prep.passages]
    embedded_all = _embed_unique(embedder, texts, progress, source.id)
    vectors, passage_vectors = embedded_all[: len(dense)], embedded_all[len(dense) :]
    owner = _first_passage(prep)
    owned: list[list[int]] = [[] for _ in prep.passages]  # positions in `dense`, by passage
    for k, j in enumerate(dense):
        owned[owner[j]].append(k)
    pass_rows = [
        (
            passage_id(source.id, version, i),
            p.text,
            {
                **passage_meta(source, version, i, p),
                **group_meta(
                    [(dense[k], prep.sentences[dense[k]].start, prep.sentences[dense[k]].end)
                     for k in owned[i]],
                    vectors[owned[i]],
                ),
            },
            v,
        )
        for i, (p, v) in enumerate(zip(prep.passages, passage_vectors, strict=True))
    ]  # fmt: skip
    # What this version adds to its languages' centroids (centroids.py).
    parts = tallies("passage", [p.language for p in prep.passages], passage_vectors) + tallies(
        "sentence", [prep.sentences[j].language for j in dense], vectors
    )
    record = SourceRecord(source, version, path, len(text), len(prep.passages), time.time())
    tokens = sum(prep.sentences[j].tokens for j in dense) + sum(p.tokens for p in prep.passages)
    return Built(record, pass_rows, tally_rows(source, version, parts), len(texts), tokens)


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


class Builder(Protocol):
    """Builds the rows of the sources an ingest hands it (build_rows): here, or on a cluster.
    The ingest writes each result it gets back, so a source is committed only once built."""

    def submit(self, key: Any, text: str, source: Source, version: str, path: str) -> None:
        """Start building one source version's rows; `key` comes back with the result."""
        ...

    def results(self, wait: bool) -> Iterator[tuple[Any, Built | BadDocument]]:
        """The finished builds (a BadDocument for a text that has none); with `wait`, every
        one submitted, else those done now (blocking only while too many are in flight)."""
        ...


class InProcess:
    """A Builder that builds at once, in this process, one source after another."""

    def __init__(self, settings: Settings, embedder: Embedder) -> None:
        self.settings, self.embedder = settings, embedder
        self._done: list[tuple[Any, Built | BadDocument]] = []

    def submit(self, key: Any, text: str, source: Source, version: str, path: str) -> None:
        try:
            built: Built | BadDocument = build_rows(
                text, source, version, path, self.settings, self.embedder
            )
        except BadDocument as exc:
            built = exc
        self._done.append((key, built))

    def results(self, wait: bool) -> Iterator[tuple[Any, Built | BadDocument]]:
        done, self._done = self._done, []
        yield from done
