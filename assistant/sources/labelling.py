"""`assistant label`: review unlabelled sources and write accepted labels into the manifest.

A suggestion (suggest.py) never labels a source by itself; a person accepts it, or gives the
side and voice they read, and the label goes where every label lives: the [[sources]] entry of
the document's file in its folder's sources.toml. tomlkit edits that file in place, so the
comments and layout people wrote stay as they were; the result is validated as a manifest
before it replaces the file, so a bad label never leaves a manifest that no longer loads.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import tomlkit
import tomlkit.exceptions

from assistant.errors import InvalidRequest, ManifestError
from assistant.ingest.loaders import iter_files
from assistant.inputs import closest
from assistant.store.records import SourceRecord

from .manifest import MANIFEST_NAME, load_manifest
from .model import UNKNOWN, VOICES, Source


@dataclass(frozen=True)
class Accepted:
    """One label to write: which source, which side and voice, and what supports it."""

    source: Source
    side: str
    voice: str
    evidence: str


def pending(records: Iterable[SourceRecord]) -> list[SourceRecord]:
    """Sources without a declared side: those with a suggestion first, then the rest, by id."""
    todo = [r for r in records if r.source.side == UNKNOWN]
    return sorted(todo, key=lambda r: (r.source.suggestion is None, r.source.id))


def decide(record: SourceRecord, side: str | None = None, voice: str | None = None) -> Accepted:
    """The label to write for a source: the side and voice given, else its suggestion's."""
    s, suggested = record.source, record.source.suggestion
    if side is None:
        if suggested is None:
            raise InvalidRequest(
                f"source {s.id!r} has no suggested side; give one: assistant label {s.id} --side SIDE"
            )
        side = suggested.side
    own_voice = s.voice if s.voice != UNKNOWN else ""
    voice = voice or own_voice or (suggested.voice if suggested else UNKNOWN)
    if voice not in VOICES:
        raise InvalidRequest(f"voice {voice!r} is not one of {sorted(VOICES)}")
    if suggested is not None and suggested.side == side:
        why = f"accepted suggestion: {suggested.summary()}"
    else:
        why = "labelled by hand with `assistant label`"
    return Accepted(s, side, voice, why)


def manifest_of(record: SourceRecord) -> Path:
    """The sources.toml of the folder the source's file was ingested from."""
    if not record.path:
        raise InvalidRequest(
            f"source {record.source.id!r} was uploaded, not ingested from a folder, so no "
            "manifest holds it: upload it again with its side and voice (replace=true), or pass "
            "--manifest with the sources.toml of a folder that holds its file"
        )
    return Path(record.path).parent / MANIFEST_NAME


def write_labels(manifest: Path, labels: list[Accepted], sides: dict[str, str]) -> list[str]:
    """Set side, voice and evidence in each source's [[sources]] entry (added if missing).

    A manifest that does not exist yet is created with the index's side vocabulary. Returns
    one line per change. Raises ManifestError, leaving the file untouched, if the result would
    not load (a side the manifest does not declare, for one).
    """
    if manifest.is_file():
        try:
            doc = tomlkit.parse(manifest.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomlkit.exceptions.TOMLKitError) as exc:
            raise ManifestError(f"{manifest}: cannot read the manifest ({exc})") from exc
    else:
        doc = tomlkit.document()
        corpus = tomlkit.table()
        corpus.add("sides", {s: d for s, d in sides.items() if s != UNKNOWN})
        doc.add("corpus", corpus)
    entries = doc.setdefault("sources", tomlkit.aot())
    changes = []
    # The file names an ingest of the folder matches entries against (its whole tree).
    present = {f.name for f in iter_files([manifest.parent])} if manifest.parent.is_dir() else set()
    for label in labels:
        file = label.source.file
        entry = next((e for e in entries if e.get("file") == file), None)
        fixed = ""
        if entry is None:
            # An entry naming no file here, close to this one's name, was meant for it (ingest
            # said "did you mean …?"): label that entry, its title and outlet kept, and fix its
            # file name, rather than add a second entry that, once the typo is fixed by hand,
            # gives the id twice.
            stray = {
                str(e.get("file")): e
                for e in entries
                if e.get("file") not in present and e.get("id", label.source.id) == label.source.id
            }
            near = closest(file, stray) if file else None
            # Only the entry whose closest file is this one: the one ingest's note named.
            if near is not None and closest(near, present) == file:
                entry = stray[near]
                entry["file"] = file
                fixed = f" (the entry for {near!r}, which matched no file, now names {file!r})"
        if entry is None:
            entry = tomlkit.table()
            entry.add("file", file)
            if label.source.id != Path(file).stem:
                entry.add("id", label.source.id)
            entries.append(entry)
        entry["side"] = label.side
        if label.voice != UNKNOWN:
            entry["voice"] = label.voice
        if not entry.get("evidence"):
            entry["evidence"] = label.evidence
        changes.append(f"{label.source.id}: side {label.side}, voice {label.voice}{fixed}")
    text = tomlkit.dumps(doc)
    tmp = manifest.with_name(f".{manifest.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    try:
        load_manifest(tmp)  # the same checks an ingest makes
    except ManifestError as exc:
        tmp.unlink()
        raise ManifestError(
            str(exc).replace(str(tmp), str(manifest)) + "; the manifest was not changed"
        ) from exc
    os.replace(tmp, manifest)
    return changes
