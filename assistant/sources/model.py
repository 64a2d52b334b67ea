"""Sources and their labels: who each document speaks for, from which side and in which voice.

A `Source` is one document's declared fields (`DECLARED`, the one list that the manifest, the
upload forms, the store and the API follow) and labels. Sides change from one conflict or
debate to the next, so they are data (manifest.py reads them); voices describe the kind of
speaker and are the same everywhere, so they are a fixed vocabulary defined here. A document
without a label has side and voice "unknown" and may carry a *suggested* side (suggest.py),
which is never its label.
"""

from __future__ import annotations

import dataclasses
import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import regex

if TYPE_CHECKING:
    from .manifest import Outlet

UNKNOWN = "unknown"

VOICES: dict[str, str] = {
    "state-media": "an outlet owned or controlled by a state, or a republication of one",
    "government-official": "a serving official, diplomat or state body speaking in that role",
    "state-affiliated-expert": "an analyst or adviser who sits on a state body",
    "independent-media": "a news outlet not controlled by a state, reporting rather than arguing",
    "commentary": "opinion, analysis or a video essay by a writer or channel",
    "aggregator": "a site that republishes others' content, often translated, with little of its own",
    "academic": "a researcher or research institute",
    "ngo": "a non-governmental or international organisation",
    UNKNOWN: "no label: the manifest has no entry for this document",
}

# Letters, marks and digits of any script (the `regex` module knows Unicode classes, `re` does
# not), so that "доклад" and "日本" stay readable and distinct instead of collapsing to one id.
_ID_RE = regex.compile(r"^[\p{L}\p{N}][\p{L}\p{M}\p{N}._-]{0,127}$")
_UNSAFE = regex.compile(r"[^\p{L}\p{M}\p{N}._-]+")
DATE_PATTERN = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
TEXT_FIELDS = (
    "title",
    "outlet",
    "author",
    "perspective",
    "evidence",
    "url",
    "date",
    "events_date",
)


@dataclass(frozen=True)
class Field:
    """One field a person declares for a document, and how forms ask for it."""

    name: str
    label: str
    choices: str = ""  # "sides" or "voices": a dropdown of that vocabulary


# The fields a person declares for a document, in the order forms show them. The manifest's
# [[sources]] entries (plus `file`), the web chat's upload form and the API's upload form all
# read this one list: a new field is added here (and to Source), nowhere else.
DECLARED: tuple[Field, ...] = (
    Field("id", "Id (default: from the file name)"),
    Field("title", "Title (one file only)"),
    Field("outlet", "Outlet"),
    Field("author", "Author or speaker"),
    Field("date", "Date (YYYY, YYYY-MM or YYYY-MM-DD)"),
    Field("events_date", "Date of the events, if different"),
    Field("url", "URL"),
    Field("languages", "Languages (e.g. en, fr)"),
    Field("side", "Side", choices="sides"),
    Field("voice", "Voice", choices="voices"),
    Field("perspective", "Perspective (one line)"),
    Field("evidence", "Evidence for the label"),
)


@dataclass(frozen=True)
class Mark:
    """One piece of evidence for a suggested side: text[start:end] == quote."""

    quote: str
    start: int
    end: int
    side: str
    # The declared marker that matched, or "" for a quote an LLM gave as evidence.
    marker: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Suggestion:
    """A side (and maybe a voice) proposed for an unlabelled document, with verbatim evidence.

    Never a label: the source's `side` stays "unknown" until someone accepts the suggestion
    into the manifest (`assistant label`).
    """

    side: str
    voice: str = UNKNOWN
    by: str = "markers"  # "markers", "llm:<model>" or "markers+llm:<model>"
    evidence: tuple[Mark, ...] = ()
    # Marker occurrences per side, most first: how clearly the markers point one way.
    tally: tuple[tuple[str, int], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "side": self.side,
            "voice": self.voice,
            "by": self.by,
            "evidence": [m.to_dict() for m in self.evidence],
            "tally": dict(self.tally),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Suggestion:
        return cls(
            side=str(d["side"]),
            voice=str(d.get("voice", UNKNOWN)),
            by=str(d.get("by", "markers")),
            evidence=tuple(Mark(**m) for m in d.get("evidence", [])),
            tally=tuple((str(k), int(v)) for k, v in dict(d.get("tally", {})).items()),
        )

    def summary(self, limit: int = 3) -> str:
        """'pro-Russia (markers: “Kiev regime” @120, “SVO” @388, …)'."""
        quotes = ", ".join(f"“{m.quote}” @{m.start}" for m in self.evidence[:limit])
        more = f", +{len(self.evidence) - limit} more" if len(self.evidence) > limit else ""
        voice = f", {self.voice}" if self.voice != UNKNOWN else ""
        return f"{self.side}{voice} ({self.by}: {quotes}{more})"


@dataclass(frozen=True)
class Source:
    """One document and the label of its perspective."""

    id: str
    title: str = ""
    outlet: str = ""
    author: str = ""
    date: str = ""
    events_date: str = ""
    url: str = ""
    languages: tuple[str, ...] = ()
    side: str = UNKNOWN
    voice: str = UNKNOWN
    perspective: str = ""
    evidence: str = ""
    file: str = ""
    # The fields that ingest filled from the file itself (an HTML page's metadata), not from
    # the manifest or the upload form; `sources --json`, the API and MCP report them.
    extracted: tuple[str, ...] = ()
    # For an unlabelled document only: a side its text points to (suggest.py). Not a label.
    suggestion: Suggestion | None = None

    def label(self) -> str:
        """'World Today News (pro-Russia, commentary)': who speaks and from where; an unlabelled
        source with a suggestion reads 'X (unknown, suggested pro-Russia, voice unknown)'."""
        return f"{speaker(self.outlet, self.author, self.title, self.id)} ({self.labels()})"

    def labels(self) -> str:
        """'pro-Russia, commentary', or 'unknown, suggested pro-Russia, voice unknown'."""
        return f"{side_label(self.side, self.suggested_side)}, {voice_label(self.voice)}"

    @property
    def suggested_side(self) -> str:
        return self.suggestion.side if self.suggestion and self.side == UNKNOWN else ""

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["languages"] = list(self.languages)
        d["extracted"] = list(self.extracted)
        d["suggestion"] = self.suggestion.to_dict() if self.suggestion else None
        return d

    def to_flat(self) -> dict[str, str]:
        """Every field as a string, for stores that keep flat metadata (Chroma): lists joined
        by commas, the suggestion with its evidence as JSON."""
        flat = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, tuple):
                value = ",".join(value)
            elif isinstance(value, Suggestion):
                value = json.dumps(value.to_dict(), ensure_ascii=False)
            flat[f.name] = value if value is not None else ""
        return flat

    @classmethod
    def from_flat(cls, source_id: str, m: Mapping[str, Any]) -> Source:
        """The inverse of to_flat (missing fields take their defaults)."""
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            raw = m.get(f.name)
            if f.name == "id" or raw is None:
                continue
            if f.name in ("languages", "extracted"):
                values[f.name] = tuple(x for x in str(raw).split(",") if x)
            elif f.name == "suggestion":
                values[f.name] = Suggestion.from_dict(json.loads(raw)) if raw else None
            else:
                values[f.name] = str(raw)
        return cls(id=source_id, **values)

    def filled_from(self, found: Mapping[str, str]) -> Source:
        """This source with its empty fields filled from a file's metadata (declared fields
        win), recording which were filled in `extracted`.

        >>> Source("a", outlet="Declared").filled_from({"outlet": "Page", "author": "X"})
        Source(id='a', title='', outlet='Declared', author='X', date='', events_date='', \
url='', languages=(), side='unknown', voice='unknown', perspective='', evidence='', file='', \
extracted=('author',), suggestion=None)
        """
        values: dict[str, Any] = {}
        for key, value in found.items():
            if key == "languages":
                if not self.languages and value:
                    values[key] = tuple(x for x in value.split(",") if x)
            elif key == "url" and not web_address(value or ""):
                continue  # a page's own URL is kept only when it is an http(s) address
            elif key in TEXT_FIELDS and value and not getattr(self, key):
                values[key] = value
        if not values:
            return self
        return dataclasses.replace(self, **values, extracted=tuple(sorted(values)))

    def labelled_by(self, outlet: Outlet | None) -> Source:
        """This source with the labels of its declared outlet where its own are unknown (its
        own entry wins); the evidence says where the labels came from."""
        if outlet is None:
            return self
        side = self.side if self.side != UNKNOWN else outlet.side
        voice = self.voice if self.voice != UNKNOWN else outlet.voice
        # A site name read from the page yields to the declared outlet's name.
        declared = bool(self.outlet) and "outlet" not in self.extracted
        if (side, voice) == (self.side, self.voice) and declared:
            return self
        note = f"labels of the outlet {outlet.name!r} declared in sources.toml"
        return dataclasses.replace(
            self,
            outlet=self.outlet if declared else outlet.name,
            extracted=tuple(f for f in self.extracted if f != "outlet"),
            side=side,
            voice=voice,
            perspective=self.perspective or outlet.description,
            evidence=self.evidence
            or (f"{note}: {outlet.description}" if outlet.description else note),
        )


def web_address(url: str) -> bool:
    """An http(s) address with a host: the only URL a source may carry (a `javascript:` or
    `data:` URL would run or render wherever a client makes it a link).

    >>> web_address("https://example.org/a"), web_address("javascript:alert(1)")
    (True, False)
    """
    return re.match(r"https?://[^\s/]+", url, re.I) is not None


def speaker(outlet: str, author: str, title: str, ident: str) -> str:
    """Who says it, as every label shows it: the outlet, else the author, else the title, else
    the id."""
    return outlet or author or title or ident


def side_label(side: str, suggested: str = "") -> str:
    """How a side is shown where people read it: a suggestion is always called one.

    >>> side_label("unknown", "pro-Russia"), side_label("pro-Ukraine")
    ('unknown, suggested pro-Russia', 'pro-Ukraine')
    """
    return f"{side}, suggested {suggested}" if side == UNKNOWN and suggested else side


def voice_label(voice: str) -> str:
    """How a voice is shown beside a side: an unknown one says it is the voice, as a bare
    "unknown" after a side reads as the side's.

    >>> voice_label("unknown"), voice_label("state-media")
    ('voice unknown', 'state-media')
    """
    return f"voice {voice}" if voice == UNKNOWN else voice


def safe_id(text: str) -> str:
    """A source id from a file stem: letters and digits of any script kept (NFC), runs of
    anything else become '-'.

    >>> safe_id("Rapport final (v2)"), safe_id("доклад"), safe_id("отчёт"), safe_id("日本 報告")
    ('Rapport-final-v2', 'доклад', 'отчёт', '日本-報告')
    """
    cleaned = _UNSAFE.sub("-", unicodedata.normalize("NFC", text)).strip("-._")[:128]
    return cleaned or "document"


def check_id(source_id: str) -> str:
    """Return the id if it is safe to use as a key and in URLs, else raise ValueError."""
    if not _ID_RE.match(source_id) or ".." in source_id:
        raise ValueError(
            f"source id {source_id!r} must be 1–128 letters or digits (any script), '.', '_' "
            "or '-', start with a letter or digit, and hold no '..'"
        )
    return source_id
