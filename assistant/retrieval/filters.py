"""Retrieval filters: restrict a search to some sides, languages or sources.

One value, a list, or a comma-separated string each; the same filters apply to the vector
search (a Chroma `where`) and to BM25 (a mask over its metadata columns).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from assistant.errors import InvalidRequest
from assistant.ingest.language import language_codes


@dataclass(frozen=True)
class Filters:
    """Restrict retrieval to some sides, languages or sources (empty = no restriction)."""

    sides: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # A language as a person writes it ("English", "EN", "en-US") is the code the index
        # holds, as the listing of sources and a question file read it; what is no language
        # stays as given, for the index's check to name (Snapshot.check).
        object.__setattr__(self, "languages", language_codes(self.languages))

    @classmethod
    def of(cls, side: Any = None, language: Any = None, source: Any = None) -> Filters:
        def tup(v: Any) -> tuple[str, ...]:
            if v is None or v == "":
                return ()
            if isinstance(v, str):
                return tuple(x.strip() for x in v.split(",") if x.strip())
            if isinstance(v, list | tuple | set):
                return tuple(str(x) for x in v)
            raise InvalidRequest(f"a filter must be a string or a list of strings, got {v!r}")

        return cls(tup(side), tup(language), tup(source))

    def fields(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """(metadata field, wanted values) for each filter that is set."""
        pairs = (("side", self.sides), ("language", self.languages), ("source_id", self.sources))
        return tuple((key, vals) for key, vals in pairs if vals)

    def public(self) -> dict[str, list[str]]:
        """The filters that are set, as an answer reports them: side, language, source.

        >>> Filters.of(side="pro-Russia", language="uk").public()
        {'side': ['pro-Russia'], 'language': ['uk']}
        """
        return {key.removesuffix("_id"): list(vals) for key, vals in self.fields()}

    def where(self) -> dict[str, Any] | None:
        parts = [{key: {"$in": list(vals)}} for key, vals in self.fields()]
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else {"$and": parts}
