"""The snapshot kept on disk, so that a new process starts from it instead of building it: it
loads the passage rows, their sentences' vectors and the bm25s model (both memory-mapped) and
their BM25 tokens, then reads from
Chroma only the records, and the passages of the sources that changed since it was kept
(Snapshot.read with it as `previous`). An embedded index keeps it beside itself
(`<index>/snapshot-<collection>/`); a process reading a Chroma server keeps it in its own local
index folder, one per server and collection (`<index>/snapshot-<collection>@<host>-<port>/`), so
that a replica restarted, or one given a copy of that folder, starts from it (processes of one
machine may share one folder).

It is a cache: whatever it holds is checked against the store's records on load, and anything
unreadable, of another format, made by another tokenizer or kept for another index (one deleted
and built again under the same name) is ignored (the process then reads every row, as without
it). Each save writes a folder of its own, then points `current.json` at it with one atomic
rename, so a process loading never sees half a save; older folders are removed after. Savers
take a file lock (filelock: the same on every platform), so that two processes saving at once
never remove the folder the other one's `current.json` points at. A process that saved or
loaded a folder reads its sentence vectors through a map of its file; removed by a later save,
that file keeps its disk space until the process maps a newer one (at its next refresh that
reads rows) or ends. A process that loads a folder asks the system to read the files questions
read at random into its page cache (read_ahead), so that its first questions do not each wait
on the disk.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import uuid
from pathlib import Path
from typing import Any

import bm25s
import numpy as np
from filelock import FileLock

from assistant.store.chroma import Store
from assistant.store.client import server_address
from assistant.store.records import record_meta, record_of
from assistant.store.rows import Group

from .bm25 import Bm25Index, tokenize
from .snapshot import Row, Snapshot, lean

# Bump when what is kept changes shape.
FORMAT = 4
# Kept tokens are only good for the tokenizer that made them: a changed tokenizer (stemmer,
# stopwords, segmenter) tokenizes this differently, and the kept snapshot is ignored.
PROBE = "Japan's aid in 2024: l'aide du Japon, помощь Японии Украине, 日本对乌克兰的援助"
CURRENT = "current.json"
# The rows, a line of JSON for each ROWS_A_LINE of them: written and read a line at a time, so
# that neither holds the whole file as one string (gigabytes at a million passages, twice over:
# the text and its encoding).
ROWS, ROWS_A_LINE = "rows.jsonl", 10_000
LOCK = "save.lock"
LOCK_WAIT_S = 60


class SnapshotFiles:
    """Where a snapshot is kept between processes: load() the last one saved, save() a new one."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @classmethod
    def of(cls, store: Store) -> SnapshotFiles:
        """Where a store's readers keep its snapshot: beside an embedded index; for a Chroma
        server, in the reader's local index folder (`store.path`), named after the server."""
        return cls.at(store.read_from if store.url is None else store.path, store.name, store.url)

    @classmethod
    def at(cls, path: str | Path, name: str, url: str | None = None) -> SnapshotFiles:
        """Where the readers of the index `name` keep its snapshot: beside an embedded index
        at `path`, or, for the Chroma server at `url`, in the local index folder `path`."""
        if url is None:
            return cls(Path(path) / f"snapshot-{name}")
        host, port, _ = server_address(url)
        server = re.sub(r"[^A-Za-z0-9.]+", "-", host).strip("-")
        return cls(Path(path) / f"snapshot-{name}@{server}-{port}")

    def load(self, identity: str) -> Snapshot | None:
        """The snapshot last saved for the index `identity` (Store.identity); None when there
        is none or it cannot be used."""
        try:
            head = json.loads((self.folder / CURRENT).read_text(encoding="utf-8"))
            if head.get("format") != FORMAT or head.get("tokenizer") != tokenize(PROBE):
                return None
            if head.get("index") != identity:
                return None  # the index was deleted and built again since
            part = self.folder / head["folder"]
            rows = _read_rows(part / ROWS)
            words = json.loads((part / "vocab.json").read_text(encoding="utf-8"))
            # Mapped, not read: a reader needs a row's tokens only for a merge after an upload
            # or a question's check that a passage holds every word (0.4 GB at 1M passages).
            flat = np.asarray(np.load(part / "tokens.npy", mmap_mode="r"))
            ends = np.load(part / "ends.npy")
            tokens = np.split(flat, ends[:-1]) if len(rows) else []
            model = bm25s.BM25.load(str(part / "bm25"), mmap=True, show_progress=False)
            if len(tokens) != len(rows) or int(model.scores["num_docs"]) != len(rows):
                return None  # parts of different saves
            bm25 = Bm25Index.assembled(rows, model, tokens, {w: i for i, w in enumerate(words)})
            records = {sid: record_of(sid, m) for sid, m in head["records"].items()}
            kept = Snapshot.kept(head["generation"], records, rows, _groups(part, rows), bm25)
        except Exception:  # noqa: BLE001
            # Whatever is wrong with a cache (a truncated file, a foreign shape) is the same
            # to the reader: ignore it and read the store.
            return None
        try:
            threading.Thread(target=read_ahead, args=(part,), daemon=True).start()
        except RuntimeError:
            pass  # no thread to be had (the interpreter shutting down): the pages fault in
        return kept

    def save(self, snap: Snapshot, identity: str) -> Path | None:
        """Keep this snapshot of the index `identity` for the next process (nothing when it
        has no BM25 yet). Returns the folder saved (for `mapped`), or None."""
        bm25 = snap.bm25
        if bm25 is None or bm25.model is None or bm25.segmented or snap.generation is None:
            return None  # nothing to keep, or segments (kept once merged: Retriever._keep)
        self.folder.mkdir(parents=True, exist_ok=True)
        # A lock held longer than any save (a stuck process) skips this one: it is a cache.
        with FileLock(self.folder / LOCK, timeout=LOCK_WAIT_S):
            return self._save(snap, bm25, identity)

    @staticmethod
    def mapped(part: Path, snap: Snapshot) -> dict[str, Group]:
        """The sentence groups of `snap` as saved in `part`, read through a map of the files:
        the process that saved them may hold these instead of its own (Retriever._keep)."""
        assert snap.bm25 is not None  # a saved snapshot has one
        return _groups(part, [snap.rows[pid] for pid in snap.bm25.ids])

    def _save(self, snap: Snapshot, bm25: Bm25Index, identity: str) -> Path:
        name = f"s-{uuid.uuid4().hex[:12]}"
        part = self.folder / name
        (part / "bm25").mkdir(parents=True)
        rows = [snap.rows[pid] for pid in bm25.ids]
        _write_rows(part / ROWS, rows)
        _write(part / "vocab.json", sorted(bm25.vocab, key=bm25.vocab.__getitem__))
        _stacked(part / "tokens.npy", bm25.tokens, (), np.int32)  # ids of a vocabulary
        np.save(part / "ends.npy", np.cumsum([len(t) for t in bm25.tokens], dtype=np.int64))
        assert bm25.model is not None  # save() checked
        bm25.model.save(str(part / "bm25"), show_progress=False)
        # Every row's sentences in one array of each (in the rows' order), so that a load maps
        # them instead of reading them: a question reads the vectors of its candidates only.
        by_row = [snap.groups.get(pid) for pid in bm25.ids]
        held = [g for g in by_row if g is not None]
        dim = held[0].vectors.shape[1] if held else 0
        np.save(part / "group_ends.npy", np.cumsum([len(g or ()) for g in by_row], dtype=np.int64))
        _stacked(part / "group_spans.npy", [g.spans for g in held], (3,), np.int32)
        _stacked(part / "group_vectors.npy", [g.vectors for g in held], (dim,), np.float16)
        _stacked(part / "group_norms.npy", [g.norms for g in held], (), np.float32)
        head = {
            "format": FORMAT,
            "tokenizer": tokenize(PROBE),
            "index": identity,
            "generation": snap.generation,
            "records": {sid: record_meta(r) for sid, r in snap.records.items()},
            "folder": name,
        }
        _write(self.folder / f"{CURRENT}.{name}", head)
        os.replace(self.folder / f"{CURRENT}.{name}", self.folder / CURRENT)
        for old in self.folder.glob("s-*"):
            if old.name != name:
                # A process mapping an older save's arrays keeps reading them: the system
                # frees a removed file's disk space once its last map goes.
                shutil.rmtree(old, ignore_errors=True)
        return part


# The mapped files a question reads at random places: its candidates' sentence vectors and
# BM25's columns for its words.
READ_AT_RANDOM = (
    "group_vectors.npy",
    "group_norms.npy",
    "group_spans.npy",
    "bm25/data.csc.index.npy",
    "bm25/indices.csc.index.npy",
)
READ_AHEAD_STEP = 8 << 20


def read_ahead(part: Path) -> None:
    """Ask the system to read a kept snapshot's READ_AT_RANDOM files into its page cache.

    A new process maps them, and each question's first read of a page it lacks waits on the
    disk: at 1M passages (a 3.9 GB sentence vectors file not in the cache) a question's
    sentence list took up to 0.77 s against 4 ms warm (docs/figures.md, Reading and serving
    at scale). The system reads them in the background, into its cache, not this process's
    memory, and drops them first when memory runs short. Where posix_fadvise is missing
    (macOS, Windows) questions fault the pages in as before.
    """
    advise = getattr(os, "posix_fadvise", None)
    if advise is None:
        return
    for name in READ_AT_RANDOM:
        try:
            fd = os.open(part / name, os.O_RDONLY)
        except OSError:
            continue  # a save of another shape: nothing to read ahead
        try:
            # A step at a time: Linux reads ahead a few megabytes a call (one call over a
            # 3.9 GB file cached 8 MB of it); 8 MiB steps cached all of it in about 10 s, for
            # 1 s of CPU.
            for start in range(0, os.fstat(fd).st_size, READ_AHEAD_STEP):
                advise(fd, start, READ_AHEAD_STEP, os.POSIX_FADV_WILLNEED)
        except OSError:
            pass  # a cache hint: a file system that refuses it changes nothing
        finally:
            os.close(fd)


def _stacked(path: Path, parts: list[np.ndarray], tail: tuple[int, ...], dtype: Any) -> None:
    """`parts` stacked into one .npy file, written part by part: at a million passages the
    sentence vectors are gigabytes, and a stacked copy in memory would double them. Written,
    not mapped: a write to a full disk raises, where a map's page would kill the process."""
    header = {
        "descr": np.lib.format.dtype_to_descr(np.dtype(dtype)),
        "fortran_order": False,
        "shape": (sum(len(x) for x in parts), *tail),
    }
    with path.open("wb") as f:
        np.lib.format.write_array_header_1_0(f, header)
        for x in parts:
            f.write(np.ascontiguousarray(x, dtype=dtype).tobytes())


def _groups(part: Path, rows: list[Row]) -> dict[str, Group]:
    """The kept rows' sentence groups, views of the memory-mapped arrays."""
    ends = np.load(part / "group_ends.npy")
    # Plain arrays over the mapped files: a memmap's slices cost a Python call each to make.
    spans = np.asarray(np.load(part / "group_spans.npy", mmap_mode="r"))
    vectors = np.asarray(np.load(part / "group_vectors.npy", mmap_mode="r"))
    norms = np.asarray(np.load(part / "group_norms.npy", mmap_mode="r"))
    if (
        len(ends) != len(rows)
        or vectors.dtype != np.float16
        or norms.dtype != np.float32
        or len(spans) != len(vectors)
        or len(norms) != len(vectors)
        or (len(ends) and ends[-1] != len(spans))
    ):
        raise ValueError("sentence groups of another save")
    starts = np.concatenate([[0], ends])[:-1].astype(np.int64)
    return {
        r[0]: Group(spans[a:b], vectors[a:b], norms[a:b])
        for r, a, b in zip(rows, starts.tolist(), ends.tolist(), strict=True)
        if b > a
    }


def _write_rows(path: Path, rows: list[Row]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for i in range(0, len(rows), ROWS_A_LINE):
            f.write(json.dumps(rows[i : i + ROWS_A_LINE], ensure_ascii=False) + "\n")


def _read_rows(path: Path) -> list[Row]:
    with path.open(encoding="utf-8") as f:
        return [lean((r[0], r[1], r[2])) for line in f for r in json.loads(line)]


def _write(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")
