"""Suggested sides for unlabelled documents, from evidence in their own text.

Two ways, both leaving the source's label "unknown" (a suggestion is shown as one, never as
a label, until someone accepts it into the manifest with `assistant label`):

- **Markers**: the corpus declares, per side, framing phrases that side uses ([corpus.markers]
  in sources.toml: its own names for places, events and forces). Every occurrence in the text
  is found (case-insensitive, any script; `*` at a word's end takes any ending, for inflected
  languages). An occurrence in quotation marks or after "so-called" is a *mention*, not a use:
  each side quotes the other's names to dispute them (“Putin's “special military operation””),
  so mentions count for no side. A side is suggested only when its markers point clearly one way: at least
  MIN_HITS occurrences and at least DOMINANCE times those of any other side. The matches,
  with their offsets, are the evidence.
- **An LLM** (when one is configured) may propose side and voice with quotes as evidence
  (prompts/suggest_label.md). The proposal is kept only if every quote is an exact span of the
  text, the side is one the corpus declares and the voice one of VOICES; a proposal that
  contradicts a clear marker suggestion is dropped, and the report says why.

The marker rule's thresholds were set before measuring, not tuned: docs/manifest.md reports how
often it is right, wrong or silent with each labelled source left out in turn.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import regex

from assistant.prompts import render

from .model import UNKNOWN, VOICES, Mark, Source, Suggestion

MIN_HITS = 2
DOMINANCE = 2.0
# How much of a document the LLM reads: enough for its framing, within a small model's window.
LLM_CHARS = 6000

# Scripts written without spaces between words: a marker in them matches inside a longer run
# of letters; in every other script it must start and end at a word boundary.
_UNSPACED = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}]")


_APOSTROPHES = "['’ʼ]"


# Use–mention: a marker inside quotation marks, or after "so-called", is the other side's word
# quoted to be disputed. The quote marks of the scripts the corpus readers write in.
_OPENING = "\"'“”„«‹「『‘’"
_CLOSING = "\"'“”«»‹›」』‘’"
_SO_CALLED = regex.compile(
    r"(?:so[- ]called|soi-disant|prétendu[es]?|так\s+называем\w*|так\s+звано\w*|所谓的?)\s*$",
    regex.IGNORECASE,
)


def is_mention(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] is quoted or called "so-called" rather than used.

    >>> is_mention("Putin’s “special military operation.”", 9, 35)
    True
    >>> is_mention("the special military operation goes on", 4, 30)
    False
    """
    before = text[max(0, start - 40) : start].rstrip()
    after = text[end : end + 3].lstrip(".,;:!?。，")
    quoted = before[-1:] in _OPENING and after[:1] in _CLOSING
    return quoted or bool(_SO_CALLED.search(before.rstrip(_OPENING).rstrip()))


def _pattern(marker: str) -> str:
    words = []
    for word in marker.split(" "):
        # Typewriter and typographic apostrophes are the same mark to a reader.
        stem = "".join(_APOSTROPHES if ch in "'’ʼ" else regex.escape(ch) for ch in word.rstrip("*"))
        words.append(stem + (r"[\p{L}\p{M}]*" if word.endswith("*") else ""))
    # Words of a phrase are apart by spaces and at most one line break: a blank line ends the
    # paragraph, so a phrase never spans one (which also lets find() scan block by block).
    body = r"(?=\s)[^\S\n]*(?:\n[^\S\n]*)?".join(words)
    first, last = marker[0], marker.rstrip("*")[-1]
    head = "" if _UNSPACED.match(first) else r"(?<![\p{L}\p{M}\p{N}])"
    tail = "" if _UNSPACED.match(last) or marker.endswith("*") else r"(?![\p{L}\p{M}\p{N}])"
    return head + body + tail


# Characters scanned between two checks (about a second of the pattern's work).
BLOCK_CHARS = 65_536


def _blocks(text: str) -> list[tuple[int, int]]:
    """(start, end) of blocks of whole paragraphs, about BLOCK_CHARS each: no marker phrase
    spans a blank line (_pattern), so scanning block by block finds what one scan would."""
    out, start = [], 0
    while start < len(text):
        cut = text.find("\n\n", start + BLOCK_CHARS)
        end = len(text) if cut < 0 else cut
        out.append((start, end))
        start = end
    return out


class Markers:
    """The declared markers of a corpus, compiled once into one pattern (longest first, so a
    side's longer phrase wins over another side's phrase inside it)."""

    def __init__(self, markers: Mapping[str, Sequence[str]]) -> None:
        self.markers = {side: tuple(phrases) for side, phrases in markers.items() if phrases}
        self._of: list[tuple[str, str]] = []  # group index → (side, marker)
        parts = []
        ordered = sorted(
            ((side, m) for side, ms in self.markers.items() for m in ms), key=lambda x: -len(x[1])
        )
        for i, (side, marker) in enumerate(ordered):
            parts.append(f"(?P<m{i}>{_pattern(marker)})")
            self._of.append((side, marker))
        self._re = (
            regex.compile("|".join(parts), regex.IGNORECASE | regex.FULLCASE | regex.V1)
            if parts
            else None
        )

    def find(self, text: str, check: Callable[[], None] | None = None) -> list[Mark]:
        """Every marker used in the text (mentions left out: is_mention), in order, with its
        offsets. `check` is called between paragraphs' blocks and may raise to abandon the scan
        (the pattern runs at about 70 KB/s: a long upload's scan takes tens of seconds)."""
        if self._re is None:
            return []
        marks = []
        for start, end in _blocks(text):
            if check is not None:
                check()
            for m in self._re.finditer(text, start, end):
                if is_mention(text, m.start(), m.end()):
                    continue
                side, marker = self._of[int(str(m.lastgroup)[1:])]
                marks.append(Mark(m.group(), m.start(), m.end(), side, marker))
        return marks

    def suggest(self, text: str, check: Callable[[], None] | None = None) -> Suggestion | None:
        """The side the markers clearly point to, with every occurrence of its markers as
        evidence; None when they are too few or point more than one way."""
        marks = self.find(text, check)
        tally = Counter(m.side for m in marks).most_common()
        if not tally or tally[0][1] < MIN_HITS:
            return None
        side, hits = tally[0]
        runner_up = tally[1][1] if len(tally) > 1 else 0
        if hits < DOMINANCE * runner_up:
            return None
        return Suggestion(
            side=side,
            evidence=tuple(m for m in marks if m.side == side),
            tally=tuple(tally),
        )


class Suggester:
    """Suggests a side for each unlabelled source it is given (markers, then maybe an LLM).

    Args:
        markers: the corpus's [corpus.markers].
        sides: the corpus's side vocabulary.
        llm: a llama-index LLM, or None for markers only.
        prompts_dir: where prompts/suggest_label.md is.
    """

    def __init__(
        self,
        markers: Mapping[str, Sequence[str]],
        sides: Mapping[str, str],
        llm: Any = None,
        prompts_dir: Path | None = None,
    ) -> None:
        self.markers = Markers(markers)
        self.sides = dict(sides)
        self.llm, self.prompts_dir = llm, prompts_dir

    def apply(
        self,
        source: Source,
        text: str,
        earlier: Suggestion | None = None,
        check: Callable[[], None] | None = None,
    ) -> tuple[Source, list[str]]:
        """The source with a suggestion if it is unlabelled and its text points one way, and
        notes for the report (an LLM proposal dropped, and why).

        `earlier` is this same text's suggestion from a previous ingest: its LLM part is reused
        instead of asking the LLM again (answers vary from run to run; cost does not). `check`
        may raise to abandon the work (Markers.find).
        """
        if source.side != UNKNOWN:
            return dataclasses.replace(source, suggestion=None), []
        by_markers = self.markers.suggest(text, check)
        notes: list[str] = []
        by_llm = None
        if self.llm is not None:
            if earlier is not None and "llm:" in earlier.by:
                by_llm = _llm_part(earlier)
            else:
                by_llm, note = self.ask_llm(text)
                notes += [note] if note else []
        suggestion = by_markers
        if by_llm is not None:
            if by_markers is None:
                suggestion = by_llm
            elif by_markers.side == by_llm.side:
                suggestion = dataclasses.replace(
                    by_markers,
                    voice=by_llm.voice,
                    by=f"markers+{by_llm.by}",
                    evidence=by_markers.evidence + by_llm.evidence,
                )
            else:
                notes.append(
                    f"no suggestion: the markers point to {by_markers.side!r}, the LLM to "
                    f"{by_llm.side!r}"
                )
                suggestion = None
        return dataclasses.replace(source, suggestion=suggestion), notes

    def ask_llm(self, text: str) -> tuple[Suggestion | None, str]:
        """The LLM's proposal, kept only if every quote is an exact span of the text."""
        from llama_index.core.llms import ChatMessage

        assert self.prompts_dir is not None
        shown = text[:LLM_CHARS]
        prompt = render(
            self.prompts_dir,
            "suggest_label.md",
            sides={s: d for s, d in self.sides.items() if s != UNKNOWN},
            voices={v: d for v, d in VOICES.items() if v != UNKNOWN},
            text=shown,
        )
        try:
            reply = self.llm.chat([ChatMessage(role="user", content=prompt)])
        except Exception as exc:  # the ingest goes on: a suggestion is optional
            return None, f"no LLM suggestion: the LLM endpoint failed ({type(exc).__name__})"
        model = getattr(self.llm, "model", "") or "unknown"
        return check_proposal(reply.message.content or "", shown, self.sides, f"llm:{model}")


def check_proposal(
    reply: str, text: str, sides: Mapping[str, str], by: str
) -> tuple[Suggestion | None, str]:
    """An LLM's JSON proposal {side, voice, evidence: [quotes]} as a Suggestion, or None and
    why it was dropped. Every quote must occur verbatim in the text."""
    found = re.search(r"\{.*\}", reply, re.S)
    try:
        data = json.loads(found.group()) if found else None
    except json.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        return None, "LLM suggestion dropped: its reply holds no JSON object"
    side, voice = data.get("side"), data.get("voice") or UNKNOWN
    quotes = data.get("evidence")
    if side in (None, "", UNKNOWN):
        return None, ""  # the LLM found no side: nothing to suggest, nothing wrong
    if side not in sides:
        return None, f"LLM suggestion dropped: side {side!r} is not one the corpus declares"
    if voice not in VOICES:
        return None, f"LLM suggestion dropped: voice {voice!r} is not one of VOICES"
    if not isinstance(quotes, list) or not quotes or not all(isinstance(q, str) for q in quotes):
        return None, "LLM suggestion dropped: it gave no quotes as evidence"
    marks = []
    for q in quotes:
        start = text.find(q) if q.strip() else -1
        if start < 0:
            return None, f"LLM suggestion dropped: its quote {q[:80]!r} is not in the text"
        marks.append(Mark(q, start, start + len(q), side))
    return Suggestion(side=side, voice=voice, by=by, evidence=tuple(marks)), ""


def _llm_part(s: Suggestion) -> Suggestion:
    """The LLM's share of a combined suggestion (its quotes carry no marker)."""
    return dataclasses.replace(
        s,
        by=s.by.removeprefix("markers+"),
        evidence=tuple(m for m in s.evidence if not m.marker),
        tally=(),
    )
