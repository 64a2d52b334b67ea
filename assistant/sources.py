"""The source manifest: who each document speaks for, as data the corpus declares.

A corpus directory may hold `sources.toml`:

    [corpus]
    name = "Japan and the Russia–Ukraine war"
    [corpus.sides]                      # the side vocabulary of this corpus; "unknown" always exists
    "pro-Russia" = "argues for the Russian state's position"
    "pro-Ukraine" = "argues for the Ukrainian state's position"
    [corpus.markers]                    # optional: framing phrases that evidence a side
    "pro-Russia" = ["special military operation", "Kiev regime", "киевск* режим*"]

    [[sources]]
    file = "000_fa22c8dc189e4776.txt"   # required; id defaults to the file stem
    title = "…"
    side = "pro-Russia"                 # one of [corpus.sides] or "unknown"
    voice = "state-media"               # one of VOICES (fixed, the same for every corpus)

Sides change from one conflict or debate to the next, so they are data. Voices describe the kind
of speaker and are the same everywhere, so they are a fixed vocabulary defined here.
A document without an entry is still indexed, with side and voice "unknown"; when the corpus
declares markers, it may carry a *suggested* side (suggest.py), which is never its label.
"""

from __future__ import annotations

import dataclasses
import json
import re
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import regex

from .errors import ManifestError

MANIFEST_NAME = "sources.toml"
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
_DATE_RE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
_TEXT_FIELDS = (
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
        source with a suggestion reads 'X (unknown, suggested pro-Russia, unknown)'."""
        return f"{speaker(self.outlet, self.author, self.title, self.id)} ({self.labels()})"

    def labels(self) -> str:
        """'pro-Russia, commentary', or 'unknown, suggested pro-Russia, unknown'."""
        return f"{side_label(self.side, self.suggested_side)}, {self.voice}"

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
            elif key in _TEXT_FIELDS and value and not getattr(self, key):
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


@dataclass(frozen=True)
class Outlet:
    """A publisher declared once in the manifest: its documents take its side and voice."""

    name: str
    side: str = UNKNOWN
    voice: str = UNKNOWN
    domains: tuple[str, ...] = ()  # web domains, without "www."; subdomains match too
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "domains": list(self.domains)}


def find_outlet(outlets: Mapping[str, Outlet], source: Source) -> Outlet | None:
    """The declared outlet a source comes from: by its outlet name (case and spacing aside),
    else by its URL's host (a declared domain or a subdomain of one).

    >>> rt = Outlet("RT", "pro-Russia", "state-media", ("rt.com",))
    >>> find_outlet({"RT": rt}, Source("a", url="https://francais.rt.com/x")).name
    'RT'
    """
    name = " ".join(source.outlet.split()).casefold()
    for o in outlets.values():
        if name and " ".join(o.name.split()).casefold() == name:
            return o
    host = (urlparse(source.url).hostname or "").removeprefix("www.")
    for o in outlets.values():
        if host and any(host == d or host.endswith("." + d) for d in o.domains):
            return o
    return None


@dataclass(frozen=True)
class Corpus:
    """The side vocabulary, declared outlets and labelled sources of one corpus."""

    name: str = ""
    description: str = ""
    sides: dict[str, str] = field(default_factory=lambda: {UNKNOWN: "not labelled"})
    sources: dict[str, Source] = field(default_factory=dict)
    outlets: dict[str, Outlet] = field(default_factory=dict)
    # Per side, the framing phrases that evidence it ([corpus.markers]; suggest.py).
    markers: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def by_file(self, filename: str) -> Source | None:
        for s in self.sources.values():
            if s.file == filename:
                return s
        return None


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


def make_source(
    fields: Mapping[str, Any], sides: Mapping[str, str], where: str = "source"
) -> Source:
    """Validate one entry's fields against the vocabularies and build a Source.

    Args:
        fields: the entry (from TOML, a web form or an HTTP request).
        sides: the corpus's side vocabulary ("unknown" is always accepted).
        where: how to name the entry in error messages.
    """
    known = {f.name for f in DECLARED} | {"file"}
    for key in fields:
        if key not in known:
            raise ManifestError(f"{where}: unknown field {key!r}; known fields: {sorted(known)}")
    values: dict[str, Any] = {}
    for key in _TEXT_FIELDS + ("file",):
        if key in fields and fields[key] is not None:
            if not isinstance(fields[key], str):
                raise ManifestError(f"{where}: field {key!r} must be a string")
            values[key] = fields[key].strip()
    for key in ("date", "events_date"):
        if values.get(key) and not _DATE_RE.match(values[key]):
            raise ManifestError(
                f"{where}: field {key!r} is {values[key]!r}; write YYYY, YYYY-MM or YYYY-MM-DD"
            )
    langs = fields.get("languages", ())
    if isinstance(langs, str):
        langs = [x.strip() for x in langs.split(",") if x.strip()]
    if not isinstance(langs, list | tuple) or not all(isinstance(x, str) for x in langs):
        raise ManifestError(f"{where}: field 'languages' must be a list of language codes")
    values["languages"] = tuple(langs)
    side, voice = check_labels(fields, sides, where)
    source_id = fields.get("id") or safe_id(Path(values.get("file", "")).stem)
    try:
        check_id(str(source_id))
    except ValueError as exc:
        raise ManifestError(f"{where}: field 'id': {exc}") from exc
    return Source(id=str(source_id), side=side, voice=voice, **values)


def check_labels(
    fields: Mapping[str, Any], sides: Mapping[str, str], where: str
) -> tuple[str, str]:
    """(side, voice) of an entry, each checked against its vocabulary ("unknown" if absent)."""
    side = fields.get("side") or UNKNOWN
    if side != UNKNOWN and side not in sides:
        raise ManifestError(
            f"{where}: field 'side' is {side!r}; this corpus declares "
            f"{sorted(set(sides) | {UNKNOWN})} in [corpus.sides]"
        )
    voice = fields.get("voice") or UNKNOWN
    if voice not in VOICES:
        raise ManifestError(f"{where}: field 'voice' is {voice!r}; use one of {sorted(VOICES)}")
    return side, voice


def load_manifest(path: Path) -> Corpus:
    """Read and validate a sources.toml file.

    Args:
        path: the manifest file.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{path}: cannot read the manifest ({exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"{path}: not valid TOML ({exc})") from exc
    extra = set(data) - {"corpus", "sources", "outlets"}
    if extra:
        raise ManifestError(
            f"{path}: unknown top-level key(s) {sorted(extra)}; use [corpus], [[outlets]] and "
            "[[sources]]"
        )
    corpus = data.get("corpus", {})
    if not isinstance(corpus, dict):
        raise ManifestError(f"{path}: [corpus] must be a table")
    bad = set(corpus) - {"name", "description", "sides", "markers"}
    if bad:
        raise ManifestError(f"{path}: [corpus] has unknown field(s) {sorted(bad)}")
    sides = corpus.get("sides", {})
    if not isinstance(sides, dict) or not all(isinstance(v, str) for v in sides.values()):
        raise ManifestError(f"{path}: [corpus.sides] must map each side to a one-line description")
    sides = {**sides, UNKNOWN: sides.get(UNKNOWN, "not labelled")}
    entries = data.get("sources", [])
    if not isinstance(entries, list):
        raise ManifestError(f"{path}: 'sources' must be an array of tables: write [[sources]]")
    sources: dict[str, Source] = {}
    for i, entry in enumerate(entries, start=1):
        where = f"{path}: [[sources]] entry {i}"
        if not isinstance(entry, dict):
            raise ManifestError(f"{where}: must be a table")
        if "file" not in entry:
            raise ManifestError(f"{where}: field 'file' is missing; name the document file")
        where = f"{path}: [[sources]] entry {i} ({entry['file']})"
        source = make_source(entry, sides, where)
        if source.id in sources:
            raise ManifestError(f"{where}: field 'id': {source.id!r} is used by two entries")
        sources[source.id] = source
    return Corpus(
        name=str(corpus.get("name", "")),
        description=str(corpus.get("description", "")),
        sides=sides,
        sources=sources,
        outlets=load_outlets(data.get("outlets", []), sides, f"{path}: "),
        markers=load_markers(corpus.get("markers", {}), sides, f"{path}: "),
    )


def load_markers(
    entries: Any, sides: Mapping[str, str], where: str = ""
) -> dict[str, tuple[str, ...]]:
    """Validate [corpus.markers]: each declared side (not "unknown") → a list of phrases."""
    example = '"pro-Russia" = ["special military operation", "Kiev regime"]'
    if not isinstance(entries, dict):
        raise ManifestError(f"{where}[corpus.markers] must be a table like {example}")
    markers: dict[str, tuple[str, ...]] = {}
    for side, phrases in entries.items():
        if side == UNKNOWN or side not in sides:
            raise ManifestError(
                f"{where}[corpus.markers] names side {side!r}; markers are for the sides "
                f"[corpus.sides] declares: {sorted(set(sides) - {UNKNOWN})}"
            )
        if not isinstance(phrases, list) or not all(
            isinstance(x, str) and x.strip(" *") for x in phrases
        ):
            raise ManifestError(
                f"{where}[corpus.markers] {side!r} must be a list of non-empty phrases, "
                f"like {example}"
            )
        markers[side] = tuple(
            dict.fromkeys(unicodedata.normalize("NFC", " ".join(x.split())) for x in phrases)
        )
    return markers


def load_outlets(entries: Any, sides: Mapping[str, str], where: str = "") -> dict[str, Outlet]:
    """Validate [[outlets]] entries (from a manifest, or as recorded in the index)."""
    if not isinstance(entries, list):
        raise ManifestError(f"{where}'outlets' must be an array of tables: write [[outlets]]")
    known = {f.name for f in dataclasses.fields(Outlet)}
    outlets: dict[str, Outlet] = {}
    for i, entry in enumerate(entries, start=1):
        at = f"{where}[[outlets]] entry {i}"
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise ManifestError(f"{at}: must be a table with a 'name'")
        at = f"{at} ({entry['name']})"
        bad = set(entry) - known
        if bad:
            raise ManifestError(f"{at}: unknown field(s) {sorted(bad)}; known: {sorted(known)}")
        domains = entry.get("domains", [])
        if not isinstance(domains, list) or not all(isinstance(d, str) for d in domains):
            raise ManifestError(f"{at}: field 'domains' must be a list like [\"rt.com\"]")
        side, voice = check_labels(entry, sides, at)  # the same rules as a document's
        outlet = Outlet(
            name=" ".join(entry["name"].split()),
            side=side,
            voice=voice,
            domains=tuple(d.strip().lower().removeprefix("www.") for d in domains if d.strip()),
            description=str(entry.get("description", "")).strip(),
        )
        if outlet.name in outlets:
            raise ManifestError(f"{at}: another [[outlets]] entry has the same name")
        outlets[outlet.name] = outlet
    return outlets


def find_manifest(paths: list[Path]) -> Path | None:
    """The sources.toml of the first directory among paths (or the parent of the first file)."""
    for p in paths:
        d = p if p.is_dir() else p.parent
        if (d / MANIFEST_NAME).is_file():
            return d / MANIFEST_NAME
    return None
