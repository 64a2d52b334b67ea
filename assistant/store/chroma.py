"""Chroma, embedded at index/ or a server: four collections per corpus (five in an index
written before sentences travelled in their passages' rows).

    <name>            passages: text, offsets, source labels, and the sentences each is the first
                      to hold with their vectors (rows.Group); vector = the passage embedded whole
    <name>-tallies    per source, kind and language: row count; vector = the rows' sum (centroids.py)
    <name>-sources    one record per source: its whole text, labels and the committed version
    <name>-stamps     per source, a fingerprint of its record (records.stamp), written just
                      before it: a reader lists these to read only the records that changed

An index written before groups also has `<name>-sentences`, a row per sentence: read once by a
reader for the passages without a group (`old_sentence_rows`), and kept up by writes and deletes.

A source's passages carry the `version` (content hash) they were built from; the
source record, written last, *commits* that version. Readers keep only hits of committed
versions, so an ingest killed midway never shows half a document, and the next run finishes it.
The sources collection's metadata holds a `generation` that changes on every write, so other
processes (several app servers on one Chroma server) know to refresh what they cache.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from functools import wraps
from typing import Any, Concatenate, ParamSpec, TypeVar

import numpy as np

from assistant.errors import ConfigError, EmbedderMismatch, IndexNotBuilt, StoreUnavailable
from assistant.sources.manifest import Corpus

from .centroids import KINDS, Kind, Tally
from .client import connect, read_only_directory, writable_copy
from .failures import explained, written_elsewhere
from .records import SourceRecord, record_meta, record_of, stamp
from .rows import Row, group_of, parse, relabelled, tally_of
from .writing import IndexLock

TALLIES = "-tallies"
# Seconds a database file must have been still before its unchanged state vouches for the
# generation marker read from it (Store.generation): coarser than any local file system's clock.
SETTLED = 3.0
# Per database file (and its write-ahead log): modification time, size, inode, change time.
FileState = tuple[tuple[int, int, int, int], ...]
STAMPS = "-stamps"


P = ParamSpec("P")
R = TypeVar("R")


def _missing(exc: Exception) -> bool:
    """Chroma's error for a collection that does not exist (any more)."""
    return "does not exist" in str(exc) or "NotFound" in type(exc).__name__


def _written(method: Callable[Concatenate[Store, P], R]) -> Callable[Concatenate[Store, P], R]:
    """A Store method that writes, made under Store._writing."""

    @wraps(method)
    def under_lock(self: Store, *args: P.args, **kwargs: P.kwargs) -> R:
        with self._writing():
            return method(self, *args, **kwargs)

    return under_lock


class Store:
    """The Chroma collections of one corpus."""

    def __init__(
        self, path: str, collection: str = "corpus", url: str | None = None, batch: int = 2000
    ) -> None:
        """batch: rows per Chroma write; one call with every row of a long document can pass
        the limit Chroma sets on a batch."""
        self.path, self.url, self.name, self.batch = path, url, collection, batch
        if not url and os.path.exists(path) and not os.path.isdir(path):
            # Chroma would say "no index" to a read and "File exists" to a write.
            raise ConfigError(
                f"the index path {path} is a file, not a folder: give --index (or "
                "ASSISTANT_INDEX_PATH) a folder, new or holding an index"
            )
        # Where the index is read from: `path`, or a copy of it when `path` is read-only.
        self.read_from = path
        self._client: Any = None
        self._cols: dict[str, Any] = {}
        # The embedder the index was last checked against (check_embedder), checked again
        # when the index is found built anew on a server; the writes under way per thread.
        self._checked: tuple[str, int] | None = None
        self._writes = threading.local()
        self._no_old_sentences = False
        self._reopening = threading.Lock()
        self._opened = 0  # how many times it was reopened (_reopened)
        # The database file's state and the generation marker read from it (generation()).
        self._marker: tuple[FileState, str] | None = None
        # Reads share the index with other processes, a write holds it alone (writing.py);
        # the files' state as this process left them when it last let go of the lock (or as
        # it opened them), so that it opens the index afresh after another's write (_taken).
        self._lock = IndexLock(path, self._stale, self._taken, self._given)
        self._files_as_left: FileState | None = None
        # An embedded index not built yet is opened when first written: Chroma creates its
        # files on opening, and a read or a refused ingest must leave nothing behind.
        if url or self._built():
            self._connect()

    def _built(self) -> bool:
        return os.path.exists(os.path.join(self.path, "chroma.sqlite3"))

    def _connect(self) -> Any:
        if self._client is None:
            try:
                self._client = connect(self.path, self.url)
            except StoreUnavailable:
                if self.url or not read_only_directory(self.path):
                    raise
                # Copied under the index's lock, as a read: a copy taken while another process
                # (on another machine's writable mount, say) commits would be torn. Where this
                # process holds the lock already (opening the index afresh under it), that
                # excludes the others; a second descriptor would wait on this one's own.
                with ExitStack() as held:
                    if not self._lock.held:
                        copying = IndexLock(self.path)
                        held.callback(copying.close)  # last, once the read below is over
                        held.enter_context(copying.reading())
                    self.read_from = writable_copy(self.path)
                self._client = connect(self.read_from, None)
            self._files_as_left = self._file_state()  # what this client was opened on
        return self._client

    def _reopened(self, fn: Any, opened: int) -> Any:
        """Open this embedded index afresh (_reopen) and return `fn` bound to the new client
        or collection."""
        return self._rebound(fn, self._reopen(opened))

    def _reopen(self, opened: int) -> Any:
        """Open this embedded index afresh; the client it replaces (None if another thread's
        call reopened it meanwhile). Chroma keeps one in-process system per path, and its
        vector index, loaded when opened, does not see rows another process adds (a server
        running while `assistant ingest` writes); a new system reads them from disk. The old
        system is forgotten, not stopped: a call under way in another thread, or another Store
        on this path, keeps working on it (and reopens in turn if it must)."""
        from chromadb.api.shared_system_client import SharedSystemClient as Shared

        with self._reopening:
            old = self._client
            if self._opened != opened:
                return None
            with Shared._refcount_lock:
                Shared._identifier_to_system.pop(str(getattr(old, "_identifier", "")), None)
            # A marker kept from the old system's reads is read again (generation()).
            self._client, self._cols, self._marker = None, {}, None
            self._no_old_sentences = False
            self._connect()
            self._opened += 1
        return old

    @contextmanager
    def _held(self, write: bool) -> Iterator[None]:
        """A call to this index: on an embedded one, under the index folder's lock, shared to
        read and alone to write, on the files as they are (writing.py)."""
        if self.url or self.read_only:  # a server orders its callers; a private copy has none
            yield
        else:
            with self._lock.writing() if write else self._lock.reading():
                yield

    def _stale(self) -> bool:
        """Another process changed this embedded index's files since this one last let go of
        its lock (or opened it)."""
        return self._client is not None and self._file_state() != self._files_as_left

    def _taken(self) -> None:
        """This process has just taken the index's lock: where another process wrote since,
        the index is opened afresh, so that no vector index held in memory from before is
        brought up to date and saved over the other's."""
        if self._stale():
            self._reopen(self._opened)

    def _given(self) -> None:
        self._files_as_left = self._file_state()

    def _current(self, fn: Any) -> Any:
        """`fn`, a method of a client or collection, bound to the ones now open (the index may
        have been opened afresh since it was bound)."""
        owner = getattr(fn, "__self__", None)
        if owner is None or owner is self._client or any(c is owner for c in self._cols.values()):
            return fn
        return self._rebound(fn, None)

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """A write to this index, alone among the processes that hold it (_held)."""
        self._writes.depth = getattr(self._writes, "depth", 0) + 1
        try:
            with self._held(write=True):
                yield
        finally:
            self._writes.depth -= 1

    def _not_built(self) -> IndexNotBuilt:
        # The fix names this index's place: a bare `assistant ingest` builds the default one.
        if self.url:
            return IndexNotBuilt(
                f"no index named {self.name!r} on the Chroma server {self.url}; build it with "
                "`assistant ingest data/corpus` (or your documents' folder) with "
                "ASSISTANT_CHROMA_URL set to that server (in Python: Assistant.ingest)"
            )
        return IndexNotBuilt(
            f"no index named {self.name!r} at {self.path}; build it with `assistant --index "
            f"{self.path} ingest data/corpus` (or your documents' folder; in Python: "
            "Assistant.ingest or ensure_index)"
        )

    def _rebound(self, fn: Any, old_client: Any) -> Any:
        """`fn`, a method of a client or a collection, bound to the current one."""
        owner, name = getattr(fn, "__self__", None), fn.__name__
        if owner is old_client or not hasattr(owner, "name"):
            return getattr(self._client, name)
        suffix = str(getattr(owner, "name", self.name))[len(self.name) :]
        return getattr(self._col(suffix, False), name)

    @property
    def read_only(self) -> bool:
        """The index is read from a copy: its own directory cannot be written."""
        return self.read_from != self.path

    # -- collections --------------------------------------------------------------------

    def _col(self, suffix: str, create: bool, metadata: dict[str, Any] | None = None) -> Any:
        name = self.name + suffix
        if name in self._cols:
            return self._cols[name]
        if not create and self._client is None and not self._built():
            raise self._not_built()
        try:
            if create:
                col = self._connect().get_or_create_collection(
                    name, metadata=metadata, embedding_function=None
                )
            else:
                col = self._connect().get_collection(name, embedding_function=None)
        except Exception as exc:
            if not create and _missing(exc):
                raise self._not_built() from exc
            raise explained(exc, self.path, self.url) from exc
        self._cols[name] = col
        return col

    def open_for_write(self, embedder_name: str, dim: int) -> None:
        """Create the collections if needed and check they were built by this embedder."""
        if self.read_only:
            raise StoreUnavailable(
                f"the index at {self.path} is read-only here (it is being read from a copy); "
                "adding or deleting documents needs write access to it: remount it writable, or "
                "copy it to a writable place and point ASSISTANT_INDEX_PATH there"
            )
        meta = {"hnsw:space": "cosine", "embedder": embedder_name, "dim": dim}
        with self._writing():
            self._col("", True, meta)
            # Checked before the others are made: a refused write leaves nothing behind.
            self.check_embedder(embedder_name, dim)
            self._col(TALLIES, True, meta)
            self._col("-sources", True, {"generation": uuid.uuid4().hex})

    def _rows_cols(self) -> list[Any]:
        """The collections that hold a source's versioned rows. An index built before tallies
        existed has none: writing to it creates the collection (its tallies are then computed
        from the stored vectors by whoever reads them, `row_tallies`)."""
        old = self._old_sentences()
        return [self._col("", False), *([old] if old is not None else []), self._col(TALLIES, True)]

    def _old_sentences(self) -> Any | None:
        """`<name>-sentences`, in an index written before sentences were kept in their
        passages' rows; None in one written since (remembered: no release creates it now)."""
        if self._no_old_sentences:
            return None
        try:
            return self._col("-sentences", False)
        except IndexNotBuilt:
            self._no_old_sentences = True
            return None

    def check_embedder(self, embedder_name: str, dim: int) -> None:
        self._checked = (embedder_name, dim)
        meta = self._col("", False).metadata or {}
        if "embedder" not in meta:
            # A collection another program made under this name (no release writes one
            # without its embedder).
            where = f"on the Chroma server {self.url}" if self.url else f"at {self.path}"
            raise ConfigError(
                f"the collection {self.name!r} {where} is not an index of this assistant (it "
                "records no embedder); name another with --collection (ASSISTANT_COLLECTION)"
            )
        if meta.get("embedder") != embedder_name or int(meta.get("dim", -1)) != dim:
            raise EmbedderMismatch(
                f"the index {self.name!r} was built with {meta.get('embedder')} "
                f"({meta.get('dim')} dimensions), not {embedder_name} ({dim}); use that embedder "
                f"(ASSISTANT_EMBEDDER), or another collection (ASSISTANT_COLLECTION), or rebuild"
            )

    def exists(self) -> bool:
        try:
            self._col("-sources", False)
            return self.passage_count() > 0
        except IndexNotBuilt:
            return False

    def _batched(self, write: Any, **columns: Any) -> None:
        """A Chroma write (upsert, update, delete) of aligned columns, `batch` rows per call."""
        for i in range(0, len(columns["ids"]), self.batch):
            self._call(write, **{k: v[i : i + self.batch] for k, v in columns.items()})

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Run a Chroma call under the index's lock, on the files as they are (_held), turning
        transport and storage failures into StoreUnavailable (_made)."""
        with self._held(write=False):
            return self._made(self._current(fn), *args, **kwargs)

    def _made(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """`fn` called; where it fails as on an embedded index written elsewhere, the index is
        reopened and the call made again, once (`_reopened`)."""
        opened = self._opened
        try:
            return fn(*args, **kwargs)
        except (IndexNotBuilt, EmbedderMismatch):
            raise
        except Exception as exc:
            if self.url and _missing(exc):
                # The collection was deleted on the server (and perhaps made again by an
                # ingest) since this process bound it, by its id: a read binds the one of that
                # name now, checked against the embedder as the old one was, or says there is
                # none, so that every process serving it recovers on its own. A write stops:
                # its source's rows before the deletion are gone, and its record must not
                # vouch for the rest in another index.
                self._cols = {}
                if getattr(self._writes, "depth", 0):
                    raise StoreUnavailable(
                        f"the index {self.name!r} was deleted on the Chroma server {self.url} "
                        "during this write; run the ingest again (the source being written "
                        "was not committed)"
                    ) from exc
                try:
                    if self._checked is not None:
                        self.check_embedder(*self._checked)
                    return self._rebound(fn, None)(*args, **kwargs)
                except (IndexNotBuilt, EmbedderMismatch, ConfigError):
                    raise
                except Exception as again:
                    if _missing(again):
                        raise self._not_built() from again
                    raise explained(again, self.path, self.url) from again
            if not self.url and written_elsewhere(exc):
                fn = self._reopened(fn, opened)
                try:
                    return fn(*args, **kwargs)
                except Exception as again:
                    raise explained(again, self.path, self.url) from again
            if isinstance(exc, ValueError | TypeError) and not self.url:
                raise
            raise explained(exc, self.path, self.url) from exc

    # -- generation: a marker other processes poll ---------------------------------------

    def _sources_meta(self) -> dict[str, Any]:
        """The sources collection's metadata, read fresh: a cached collection object keeps the
        metadata it was born with, and another process may have changed it since."""
        self._col("-sources", False)  # IndexNotBuilt when there is no index yet
        col = self._call(
            self._connect().get_collection, self.name + "-sources", embedding_function=None
        )
        return dict(col.metadata or {})

    def generation(self) -> str:
        """The marker, read afresh (~0.5 ms, every query polls it), except that an embedded
        index's is read again only once its database file has changed since the last read.
        The rule is git's for a racily clean index: a file modified within SETTLED seconds of
        the read could be written again within one tick of its clock unseen, so until it has
        been still that long, the marker is read every time."""
        state = self._file_state()
        seen = self._marker
        if state is not None and seen is not None and seen[0] == state:
            return seen[1]
        gen = str(self._sources_meta().get("generation", ""))
        if state is None:
            self._marker = None
            return gen
        # Kept once its files' newest modification or change time is SETTLED seconds old.
        newest = max(max(mtime, ctime) for mtime, _, _, ctime in state)
        self._marker = (state, gen) if newest < time.time_ns() - SETTLED * 1e9 else None
        return gen

    def _file_state(self) -> FileState | None:
        """The embedded database's modification time, size, inode and change time, with its
        write-ahead log's where it keeps one (a write commits there first); None for a
        server, whose files this process cannot see. On a network file system, its client's
        attribute cache can hold another machine's write back for up to a minute: there,
        use a Chroma server (SQLite's own documentation advises against network file systems)."""
        if self.url:
            return None
        db = os.path.join(self.read_from, "chroma.sqlite3")
        state: FileState = ()
        for f in (db, db + "-wal"):
            try:
                st = os.stat(f)
            except FileNotFoundError:
                continue
            except OSError:
                return None  # unreadable here: the marker is read, and Chroma says why
            state += ((st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns),)
        return state or None

    def identity(self) -> str:
        """Which index this is: the sources collection's id, new whenever the index is deleted
        and built again, though its name, records and generation may come back the same."""
        return str(self._col("-sources", False).id)

    @_written
    def bump(self, corpus: Corpus | None = None) -> None:
        """Mark the index changed (a new generation, so every reader refreshes), adding the
        corpus's declarations to those recorded when given (Corpus.updated_by: a second corpus
        ingested into one index does not take the first one's sides away)."""
        meta = self._sources_meta()
        meta["generation"] = uuid.uuid4().hex
        if corpus is not None:
            recorded = Corpus.from_json(meta.get("corpus"))
            meta["corpus"] = recorded.updated_by(corpus).to_json()
        self._call(self._col("-sources", False).modify, metadata=meta)

    @_written
    def declare(self, corpus: Corpus) -> bool:
        """Record a corpus's declarations where they add or change something the index does
        not hold: a side, outlet, marker or example question added to a manifest whose
        documents are unchanged, which no source's write records. True when they did (a new
        generation); an ingest that changes nothing leaves the generation as it was."""
        recorded = Corpus.from_json(self._sources_meta().get("corpus"))
        if recorded.updated_by(corpus) == recorded:
            return False
        self.bump(corpus)
        return True

    def recorded_corpus(self) -> Corpus:
        """The corpus declarations (name, sides, outlets, markers) recorded by the last ingest
        with a manifest (Corpus.from_json)."""
        return Corpus.from_json(self._sources_meta().get("corpus"))

    # -- writing ----------------------------------------------------------------------------

    def write_source(
        self,
        record: SourceRecord,
        text: str,
        passages: list[Row],
        corpus: Corpus | None = None,
        language_tallies: list[Row] | None = None,
    ) -> None:
        """Add a source's passages (each with its sentences: rows.Group) and language tallies,
        then commit it, then drop older versions.

        Each row is (id, text, metadata, vector). Ids embed the version, so a retry after a kill
        upserts the same rows instead of duplicating them.
        """
        self.write_sources([(record, text, passages, language_tallies or [])], corpus)

    @_written
    def write_sources(
        self,
        sources: Sequence[tuple[SourceRecord, str, list[Row], list[Row]]],
        corpus: Corpus | None = None,
    ) -> None:
        """`write_source` for many sources at once, each (record, text, passages, tallies):
        every row first, then the stamps, then the records, in calls of `batch` rows, so that
        a bulk load pays Chroma's cost per write once per batch, not once per source (older
        versions are still looked up source by source). A kill midway leaves some sources
        committed and the rest invisible (their rows are orphans that a retry upserts again).

        Raises:
            ValueError: a source given twice (the second version's record would commit over
                the first's, whose stale-version drop would then delete its rows).
        """
        twice = sorted(i for i, n in Counter(s[0].source.id for s in sources).items() if n > 1)
        if twice:
            raise ValueError(
                f"sources given twice in one write: {', '.join(twice)}; give each once"
            )
        if not sources:
            return
        for suffix, rows in (
            ("", [r for s in sources for r in s[2]]),
            (TALLIES, [r for s in sources for r in s[3]]),
        ):
            if rows:  # np.stack needs at least one vector
                self._batched(
                    self._col(suffix, suffix == TALLIES).upsert,
                    ids=[r[0] for r in rows],
                    documents=[r[1] for r in rows],
                    metadatas=[r[2] for r in rows],
                    embeddings=np.stack([r[3] for r in rows]).astype(np.float32),
                )
        records = [s[0] for s in sources]
        self._stamp(records)
        self._batched(
            self._col("-sources", False).upsert,
            ids=[r.source.id for r in records],
            documents=[s[1] for s in sources],
            metadatas=[record_meta(r) for r in records],
            embeddings=[[1.0]] * len(records),
        )
        for r in records:
            self._drop_stale(r.source.id, r.version)
        self.bump(corpus)

    @_written
    def relabel(self, record: SourceRecord, corpus: Corpus | None = None) -> None:
        """New manifest labels for an unchanged source: update metadata, embed nothing."""
        for col in (self._col("", False), self._old_sentences()):
            if col is None:
                continue
            got = self._call(col.get, where={"source_id": record.source.id}, include=["metadatas"])
            metas = [relabelled(m, record.source) for m in got["metadatas"]]
            self._batched(col.update, ids=got["ids"], metadatas=metas)
        col = self._col("-sources", False)
        self._stamp([record])
        self._call(col.update, ids=[record.source.id], metadatas=[record_meta(record)])
        self.bump(corpus)

    def _stamp(self, records: list[SourceRecord]) -> None:
        """Write records' stamps, before the records: a reader that sees the new stamp with the
        old record reads that record again at its next refresh, never misses the new one."""
        self._batched(
            self._col(STAMPS, True).upsert,
            ids=[r.source.id for r in records],
            documents=[stamp(r) for r in records],
            embeddings=[[1.0]] * len(records),
        )

    def _drop_stale(self, source_id: str, keep_version: str | None) -> int:
        dropped = 0
        for col in self._rows_cols():
            where: dict[str, Any] = {"source_id": source_id}
            if keep_version is not None:
                where = {"$and": [where, {"version": {"$ne": keep_version}}]}
            got = self._call(col.get, where=where, include=[])
            self._batched(col.delete, ids=got["ids"])
            dropped += len(got["ids"])
        return dropped

    @_written
    def delete_source(self, source_id: str) -> bool:
        """Remove a source, its passages, sentences and language tallies. True if it existed."""
        col = self._col("-sources", False)
        existed = bool(self._call(col.get, ids=[source_id], include=[])["ids"])
        self._call(col.delete, ids=[source_id])  # uncommit first: readers stop seeing it at once
        self._call(self._col(STAMPS, True).delete, ids=[source_id])
        self._drop_stale(source_id, None)
        self.bump()
        return existed

    @_written
    def orphans(self) -> int:
        """Delete rows whose version is not committed (left by killed ingests). Returns count."""
        committed = {sid: r.version for sid, r in self.records().items()}
        dropped = 0
        for col in self._rows_cols():
            got = self._call(col.get, include=["metadatas"])
            bad = [
                i
                for i, m in zip(got["ids"], got["metadatas"], strict=True)
                if committed.get(m.get("source_id")) != m.get("version")
            ]
            self._batched(col.delete, ids=bad)
            dropped += len(bad)
        return dropped

    # -- reading ----------------------------------------------------------------------------

    def records(self, known: dict[str, SourceRecord] | None = None) -> dict[str, SourceRecord]:
        """Every committed source, by id.

        With `known` (a previous read's), only the records whose stamp differs from theirs (or
        that have none) are read; the rest are `known`'s. Listing the ids and stamps costs a
        small part of reading every record's metadata (docs/figures.md). When nothing seems
        changed, every record is read, as without `known`: a writer that stamps nothing (an
        older release on the same server) still changes the generation, so a refresh that
        finds no changed stamp reads everything rather than miss its write. (Its write is
        seen late when a stamped write lands in the same refresh: the next refresh that finds
        no changed stamp reads it. Releases mixed on one server should be brief.)"""
        col = self._col("-sources", False)
        stamps = self.stamps() if known else {}
        if stamps:  # an index written before stamps has none: every record is read
            assert known is not None
            ids = self._call(col.get, include=[])["ids"]
            changed = [i for i in ids if i not in known or stamps.get(i) != stamp(known[i])]
            # Most of them changed (or unstamped): one read of everything is cheaper.
            if len(changed) <= max(200, len(ids) // 2) and (changed or len(ids) != len(known)):
                out = {i: known[i] for i in ids if i in known}
                for i in range(0, len(changed), 200):
                    got = self._call(col.get, ids=changed[i : i + 200], include=["metadatas"])
                    out.update(
                        (sid, record_of(sid, m))
                        for sid, m in zip(got["ids"], got["metadatas"], strict=True)
                    )
                return {i: out[i] for i in ids if i in out}
        got = self._call(col.get, include=["metadatas"])
        return {i: record_of(i, m) for i, m in zip(got["ids"], got["metadatas"], strict=True)}

    def stamps(self) -> dict[str, str]:
        """Each stamped source's record stamp (none in an index built before stamps)."""
        try:
            col = self._col(STAMPS, False)
        except IndexNotBuilt:
            return {}
        got = self._call(col.get, include=["documents"])
        return dict(zip(got["ids"], got["documents"], strict=True))

    def tallies(self, source_ids: list[str] | None = None) -> dict[tuple[str, str], list[Tally]]:
        """Every stored language tally, or those of some sources, by (source, version),
        committed or not; none in an index built before tallies existed."""
        try:
            self._col(TALLIES, False)
        except IndexNotBuilt:
            return {}
        out: dict[tuple[str, str], list[Tally]] = {}
        include = ["metadatas", "embeddings"]
        pages = (
            self._pages(include, 5000, TALLIES)
            if source_ids is None
            else self._of_sources(TALLIES, source_ids, include)
        )
        for got in pages:
            for i, m, e in zip(got["ids"], got["metadatas"], got["embeddings"], strict=True):
                row = parse(i)
                out.setdefault((row.source, row.version), []).append(
                    tally_of(m, np.asarray(e, dtype=np.float64))
                )
        return out

    def row_tallies(self, keys: set[tuple[str, str]]) -> dict[tuple[str, str], list[Tally]]:
        """The language tallies of some (source, version)s computed from their stored rows, for
        sources ingested before tallies were written: one scan of the rows' vectors, nothing
        embedded."""
        sums: dict[tuple[str, str, Kind, str], list[Any]] = {}

        def add(key: tuple[str, str], kind: Kind, language: str, vectors: np.ndarray) -> None:
            acc = sums.setdefault((*key, kind, language), [0, 0.0])
            acc[0] += len(vectors)
            acc[1] = acc[1] + vectors.astype(np.float64).sum(axis=0)

        old = [] if self._old_sentences() is None else ["-sentences"]
        for kind, suffix in zip(KINDS, ["", *old], strict=False):
            for got in self._pages(["metadatas", "embeddings"], 5000, suffix):
                for m, e in zip(got["metadatas"], got["embeddings"], strict=True):
                    key = (str(m.get("source_id")), str(m.get("version")))
                    if key not in keys:
                        continue
                    language = str(m.get("language", "und"))
                    add(key, kind, language, np.asarray([e], dtype=np.float64))
                    # A passage's own sentences (none in a row written before groups).
                    group = group_of(m, len(e)) if kind == "passage" else None
                    if group is not None and len(group):
                        add(key, "sentence", language, group.unit())
        out: dict[tuple[str, str], list[Tally]] = {key: [] for key in keys}
        for (source, version, kind, lang), (count, total) in sums.items():
            out[(source, version)].append(Tally(kind, lang, count, total))
        return out

    def source(self, source_id: str) -> tuple[SourceRecord, str] | None:
        """A committed source's record and whole text, read together: one row, so they are of
        one version even while the source is being replaced."""
        col = self._col("-sources", False)
        got = self._call(col.get, ids=[source_id], include=["documents", "metadatas"])
        if not got["ids"]:
            return None
        return record_of(source_id, got["metadatas"][0]), got["documents"][0]

    def passage_count(self) -> int:
        return int(self._call(self._col("", False).count))

    def iter_passages(self, page: int = 5000) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """Every passage row (id, text, metadata), committed or not, in pages."""
        for got in self._pages(["documents", "metadatas"], page):
            yield from zip(got["ids"], got["documents"], got["metadatas"], strict=True)

    def passages_of(
        self, source_ids: list[str], chunk: int = 50
    ) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """The passage rows (id, text, metadata) of some sources, committed or not: what a
        reader that holds the rest reads after an upload. `chunk` sources a call: Chroma binds
        the rows a call matches as variables of one SQLite statement (at most 32,766), and 200
        sources' sentence rows (about 40,000) passed that on 10,052 passages ("too many SQL
        variables"); 50 sources pass it only past 650 passages a source on average."""
        for got in self._of_sources("", source_ids, ["documents", "metadatas"], chunk):
            yield from zip(got["ids"], got["documents"], got["metadatas"], strict=True)

    def _of_sources(
        self, suffix: str, source_ids: list[str], include: list[str], chunk: int = 200
    ) -> Iterator[dict[str, Any]]:
        """The rows of some sources in one collection, `chunk` sources per Chroma call."""
        col = self._col(suffix, False)
        for i in range(0, len(source_ids), chunk):
            yield self._call(
                col.get, where={"source_id": {"$in": source_ids[i : i + chunk]}}, include=include
            )

    def iter_passage_vectors(
        self, page: int = 5000
    ) -> Iterator[tuple[str, dict[str, Any], np.ndarray]]:
        """Every passage row's (text, metadata, vector): to copy the index elsewhere."""
        for got in self._pages(["documents", "metadatas", "embeddings"], page):
            vectors = [np.asarray(e, dtype=np.float32) for e in got["embeddings"]]
            yield from zip(got["documents"], got["metadatas"], vectors, strict=True)

    def _pages(
        self, include: list[str], page: int, suffix: str = "", where: dict[str, Any] | None = None
    ) -> Iterator[dict[str, Any]]:
        """The rows of one collection (those `where` matches), `page` a Chroma call."""
        col = self._col(suffix, False)
        offset = 0
        while True:
            got = self._call(col.get, where=where, include=include, limit=page, offset=offset)
            if not got["ids"]:
                return
            yield got
            offset += len(got["ids"])

    def query_passages(
        self, vector: np.ndarray, n: int, where: dict[str, Any] | None
    ) -> list[tuple[str, float]]:
        """Nearest passages: (id, cosine similarity). Ids only: callers hold the rows."""
        return self._nearest("", [vector], n, where)[0]

    def query_passages_each(
        self, vectors: Sequence[np.ndarray], n: int, where: dict[str, Any] | None
    ) -> list[list[tuple[str, float]]]:
        """query_passages for each vector, in one Chroma call (two lists cost about one)."""
        return self._nearest("", vectors, n, where)

    def _nearest(
        self, suffix: str, vectors: Sequence[np.ndarray], n: int, where: dict[str, Any] | None
    ) -> list[list[tuple[str, float]]]:
        got = self._call(
            self._col(suffix, False).query,
            query_embeddings=[np.asarray(v, np.float32) for v in vectors],
            n_results=n,
            where=where or None,
            include=["distances"],
        )
        return [
            [(i, 1.0 - float(d)) for i, d in zip(ids, distances, strict=True)]
            for ids, distances in zip(got["ids"], got["distances"], strict=True)
        ]

    def old_sentence_rows(
        self, source_ids: list[str]
    ) -> Iterator[tuple[dict[str, Any], np.ndarray]]:
        """The sentence rows (metadata, vector) of some sources in an index written before
        groups (none in one written since): a reader makes the groups of their passages from
        them (rows.group_of_rows)."""
        if self._old_sentences() is None:
            return
        # Read in pages of rows, not only of sources: Chroma binds the rows a call matches as
        # variables of one SQLite statement (at most 32,766), and 200 sources' sentence rows
        # (about 40,000) passed that on 10,052 passages. A row read twice, as rows move
        # between pages under a write, counts once (group_of_rows keys them by position).
        for i in range(0, len(source_ids), 20):
            where = {"source_id": {"$in": source_ids[i : i + 20]}}
            for got in self._pages(["metadatas", "embeddings"], 5000, "-sentences", where):
                for m, e in zip(got["metadatas"], got["embeddings"], strict=True):
                    yield m, np.asarray(e, dtype=np.float32)
