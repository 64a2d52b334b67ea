"""How often suggested sides are right: each labelled source left out in turn.

For every [[sources]] entry of a folder's manifest, the document is read as if it had no entry
(no side, no voice; the corpus's outlets and markers stay, they describe the corpus rather than
this document) and goes through the same steps as an ingest: extraction, outlet labels, then the
Suggester. The outcome is "correct" (the suggested side is its declared one), "wrong", or "none"
(no suggestion). Nothing is embedded: suggestions read the text alone.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from assistant.ingest.loaders import load_document
from assistant.ingest.pipeline import completed
from assistant.sources.manifest import MANIFEST_NAME, load_manifest
from assistant.sources.model import Source
from assistant.sources.suggest import Suggester


def leave_one_out(folder: Path, llm: Any = None, prompts_dir: Path | None = None) -> dict[str, Any]:
    """Counts of correct / wrong / none over the folder's labelled sources, and one row each."""
    corpus = load_manifest(folder / MANIFEST_NAME)
    suggester = Suggester(corpus.markers, corpus.sides, llm, prompts_dir)
    rows = []
    for entry in corpus.sources.values():
        doc = load_document(folder / entry.file)
        bare = Source(id=entry.id, file=entry.file)  # its entry left out
        source = completed(bare, doc, corpus.outlets, Path(entry.file).stem)
        source, notes = suggester.apply(source, doc.text)
        suggested: str | None = source.suggestion.side if source.suggestion else None
        if source.side != "unknown":  # labelled by its outlet: not a suggestion to score
            outcome, suggested = "outlet", source.side
        else:
            outcome = (
                "none" if suggested is None else "correct" if suggested == entry.side else "wrong"
            )
        rows.append(
            {
                "id": entry.id,
                "file": entry.file,
                "side": entry.side,
                "suggested": suggested,
                "outcome": outcome,
                "evidence": [m.to_dict() for m in source.suggestion.evidence]
                if source.suggestion
                else [],
                "notes": notes,
            }
        )
    counts = Counter(r["outcome"] for r in rows)
    return {
        "folder": str(folder),
        "sources": rows,
        **{k: counts.get(k, 0) for k in ("correct", "wrong", "none", "outlet")},
    }
