"""The source manifest (`sources.toml`): sides, outlets, markers and labelled documents.

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

Every entry is validated against the vocabularies (sides declared here, voices fixed in
sources/model.py); an error names the file, the entry and the field, and says the fix. A document
without an entry is still indexed, with side and voice "unknown".
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from assistant.errors import ManifestError
from assistant.ingest.language import country_hint
from assistant.inputs import MAX_QUESTION_CHARS, as_known, hinted

from .model import (
    DATE_PATTERN,
    DECLARED,
    TEXT_FIELDS,
    UNKNOWN,
    VOICES,
    Source,
    check_id,
    safe_id,
    web_address,
)

MANIFEST_NAME = "sources.toml"


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


def with_unknown(sides: Mapping[str, str]) -> dict[str, str]:
    """A side vocabulary with "unknown" in it, wherever it came from: every document without a
    label has that side (its description, if the corpus gives one, is kept).

    >>> with_unknown({"a": "A"})
    {'a': 'A', 'unknown': 'not labelled'}
    """
    return {**sides, UNKNOWN: sides.get(UNKNOWN, "not labelled")}


def _unknown(earlier: Mapping[str, str], later: Mapping[str, str]) -> str:
    """The description of "unknown" after a merge: the later corpus's, unless it is only the
    default (every corpus has one), then the earlier's."""
    default = with_unknown({})[UNKNOWN]
    given = later.get(UNKNOWN, default)
    return given if given != default else earlier.get(UNKNOWN, default)


@dataclass(frozen=True)
class Corpus:
    """The side vocabulary, declared outlets and labelled sources of one corpus."""

    name: str = ""
    description: str = ""
    sides: dict[str, str] = field(default_factory=lambda: with_unknown({}))
    sources: dict[str, Source] = field(default_factory=dict)
    outlets: dict[str, Outlet] = field(default_factory=dict)
    # Per side, the framing phrases that evidence it ([corpus.markers]; suggest.py).
    markers: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Questions the web chat offers to start with ([corpus] examples): the corpus's own, so
    # that a chat over another debate does not offer questions about this one.
    examples: tuple[str, ...] = ()

    def by_file(self, filename: str) -> Source | None:
        for s in self.sources.values():
            if s.file == filename:
                return s
        return None

    def to_json(self) -> str:
        """The declarations an index records (Store.bump): name, description, sides, outlets
        and markers; not the sources, which the index records one by one."""
        return json.dumps(
            {
                "name": self.name,
                "description": self.description,
                "sides": self.sides,
                "outlets": [o.to_dict() for o in self.outlets.values()],
                "markers": {side: list(ms) for side, ms in self.markers.items()},
                "examples": list(self.examples),
            }
        )

    def updated_by(self, other: Corpus) -> Corpus:
        """These declarations with another corpus's added: its sides, outlets and markers join
        (its own win where both declare one), its name and description replace when given, and
        its examples when it gives some or a name.
        An index holding two corpora keeps both vocabularies: its documents keep their sides.
        A side renamed in a manifest stays declared under its old name too (harmless: only
        sides with passages are searched or reported); delete and rebuild the index to drop it.

        >>> a = Corpus("A", sides=with_unknown({"pro-A": "a"}))
        >>> b = Corpus("", sides=with_unknown({"pro-B": "b"}))
        >>> c = a.updated_by(b)
        >>> c.name, sorted(c.sides)
        ('A', ['pro-A', 'pro-B', 'unknown'])
        """
        return dataclasses.replace(
            self,
            name=other.name or self.name,
            description=other.description or self.description,
            sides={**self.sides, **other.sides, UNKNOWN: _unknown(self.sides, other.sides)},
            outlets={**self.outlets, **other.outlets},
            markers={**self.markers, **other.markers},
            # A named corpus's examples are its own, none included (the questions of another
            # debate would not fit it); an unnamed one's replace only when it gives some.
            examples=other.examples if other.examples or other.name else self.examples,
        )

    @classmethod
    def from_json(cls, text: str | None) -> Corpus:
        """The declarations an index recorded (to_json), validated like a manifest's. "unknown"
        is always a side; an index that recorded none has it alone.

        >>> Corpus.from_json(Corpus(sides={"a": "A"}).to_json()).sides
        {'a': 'A', 'unknown': 'not labelled'}
        """
        info = json.loads(text or "{}")
        sides = with_unknown(info.get("sides", {}))
        where = "the index's recorded corpus: "
        return cls(
            name=str(info.get("name", "")),
            description=str(info.get("description", "")),
            sides=sides,
            outlets=load_outlets(info.get("outlets", []), sides, where),
            markers=load_markers(info.get("markers", {}), sides, where),
            examples=load_examples(info.get("examples", []), where),
        )


def checked_url(url: str, where: str = "source") -> str:
    """An http(s) address (sources.web_address), or ManifestError.

    >>> checked_url("https://example.org/a")
    'https://example.org/a'
    """
    if not web_address(url):
        raise ManifestError(
            f"{where}: field 'url' is {url[:60]!r}; give an http:// or https:// address"
        )
    return url


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
            raise ManifestError(
                f"{where}: unknown field {hinted(str(key), known)}; known fields: {sorted(known)}"
            )
    values: dict[str, Any] = {}
    for key in TEXT_FIELDS + ("file",):
        if key in fields and fields[key] is not None:
            if not isinstance(fields[key], str):
                raise ManifestError(f"{where}: field {key!r} must be a string")
            values[key] = fields[key].strip()
    for key in ("date", "events_date"):
        if values.get(key) and not DATE_PATTERN.match(values[key]):
            raise ManifestError(
                f"{where}: field {key!r} is {values[key]!r}; write YYYY, YYYY-MM or YYYY-MM-DD"
            )
    if values.get("url"):
        values["url"] = checked_url(values["url"], where)
    langs = fields.get("languages", ())
    if isinstance(langs, str):
        langs = [x.strip() for x in langs.split(",") if x.strip()]
    if not isinstance(langs, list | tuple) or not all(isinstance(x, str) for x in langs):
        raise ManifestError(f"{where}: field 'languages' must be a list of language codes")
    for lang in langs:
        if hint := country_hint(lang):  # taken for no language, it would pass without a word
            raise ManifestError(f"{where}: field 'languages': {hint}")
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
    if isinstance(side, str):  # the declared spelling, in either Unicode form
        side = as_known(side, sides)
    if side != UNKNOWN and side not in sides:
        declared = sorted(set(sides) | {UNKNOWN})
        raise ManifestError(
            f"{where}: field 'side' is {hinted(str(side), declared)}; this corpus declares "
            f"{declared} in [corpus.sides]"
        )
    voice = fields.get("voice") or UNKNOWN
    if voice not in VOICES:
        raise ManifestError(
            f"{where}: field 'voice' is {hinted(str(voice), VOICES)}; use one of {sorted(VOICES)}"
        )
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
    bad = set(corpus) - {"name", "description", "sides", "markers", "examples"}
    if bad:
        raise ManifestError(f"{path}: [corpus] has unknown field(s) {sorted(bad)}")
    sides = corpus.get("sides", {})
    if not isinstance(sides, dict) or not all(isinstance(v, str) for v in sides.values()):
        raise ManifestError(f"{path}: [corpus.sides] must map each side to a one-line description")
    sides = with_unknown(sides)
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
        examples=load_examples(corpus.get("examples", []), f"{path}: "),
    )


# The most example questions a corpus offers, and the longest (a question's own limit).
EXAMPLES_MOST = 12


def load_examples(value: Any, where: str) -> tuple[str, ...]:
    """Validate [corpus] examples: a list of questions, each non-empty and of at most
    MAX_QUESTION_CHARS characters, EXAMPLES_MOST of them at most.

    >>> load_examples(["How much aid?", " Où ? "], "")
    ('How much aid?', 'Où ?')
    >>> load_examples("How much aid?", "sources.toml: ")
    Traceback (most recent call last):
    ...
    assistant.errors.ManifestError: sources.toml: [corpus] examples must be a list of questions, like examples = ["How much aid has Japan given Ukraine?"]
    """
    example = 'examples = ["How much aid has Japan given Ukraine?"]'
    if not isinstance(value, list) or not all(isinstance(q, str) and q.strip() for q in value):
        raise ManifestError(f"{where}[corpus] examples must be a list of questions, like {example}")
    if len(value) > EXAMPLES_MOST or any(len(q) > MAX_QUESTION_CHARS for q in value):
        raise ManifestError(
            f"{where}[corpus] examples: at most {EXAMPLES_MOST} questions of at most "
            f"{MAX_QUESTION_CHARS} characters each; keep the few a new user should start with"
        )
    return tuple(q.strip() for q in value)


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
