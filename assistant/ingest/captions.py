"""Subtitles and captions (.vtt, .srt) → a transcript's text and where in the recording each
part of it is said.

A video's words reach researchers as caption files: WebVTT from YouTube (hand-made or
automatic), SubRip from broadcasters and subtitlers. Read as plain text they are mostly noise:
cue numbers, timings, styling tags, and in roll-up captions (YouTube's automatic ones, most
broadcasts) every line two or three times, each cue repeating the lines before it as they roll
up. webvtt-py parses both formats (cue timings, the header's metadata); what is ours is turning
cues into a transcript people can quote:

- each caption line once: a cue's first lines that repeat the last lines written are the roll-up,
  not speech (a line said twice in a row, in two cues, is kept once);
- tags, ruby readings (`<rt>`), SSA overrides (`{\\an8}`), bidi marks and sound annotations
  alone on a line ("[Music]", "(applause)", "♪ … ♪") left out, entities decoded;
- a paragraph at each change of speaker: a WebVTT voice span (`<v Name>`, kept as "Name: ",
  several in one cue included), or a line opening with a broadcast's `>>` or a dialogue dash
  ("- No."); and after a pause of PAUSE seconds, so that one passage holds one turn;
- a paragraph also where an unpunctuated run (automatic captions have no full stops) reaches
  RUN characters, at the next line: the sentence splitter then ends a "sentence" there, and a
  quote stays a few lines long instead of a passage-long run;
- lines of Chinese or Japanese joined without a space.

A file in the other format than its name says is read as what it is, with a note; cues whose
timing line is not valid (webvtt-py leaves them out, or joins them to the cue before) are
counted in a note that names the first.

`times` maps the text back to the recording: (character offset where a line starts, whole
seconds from the start of the recording), in text order. A citation of a quote says when it is
said (answering/citations.py).
"""

from __future__ import annotations

import dataclasses
import html
import io
import re

import webvtt
from webvtt.errors import MalformedCaptionError, MalformedFileError

from assistant.recording import Times

from .language import CJK

# A pause, in seconds, long enough to start a paragraph.
PAUSE = 2.0
# Characters of text with no sentence end after which the next line starts a paragraph.
RUN = 200


# Where a sentence ends: its mark, closing quotes or brackets, then a space or the line's end.
_SENTENCE_END = re.compile(r"[.!?…。！？]['\"”’»)\]]*(?=\s|$)")
# A line that is only a sound annotation: [Music], (applause), ♪ la la ♪.
_ANNOTATION = re.compile(r"^\s*(?:\[[^\]]*\]|\([^)]*\)|♪[^♪]*♪?|♪)\s*$")
# SubRip files carry SSA override tags ({\an8}, {\i1}) that webvtt-py leaves in the text.
_SSA = re.compile(r"\{\\[^}]*\}")
# A voice span's opening tag, classes (with hyphens) allowed: <v.loud-voice Dana Lee>.
_VOICE = re.compile(r"<v(?:\.[^\s>]+)*\s+([^>]+?)\s*>")
# Ruby readings and their fallback parentheses: said once, by the base text.
_RUBY_TEXT = re.compile(r"<(rt|rp)\b[^>]*>.*?</\1\s*>", re.S)
_TAG = re.compile(r"<[^>]*>")
_BIDI = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# A new speaker at a line's start: a broadcast's ">>", or a dialogue dash.
_TURN = re.compile(r"^(?:>>+|[-–—](?=\s))\s*")
# A timing line, valid or not (a comma for a dot, no milliseconds, one dash, no arrow): a cue
# webvtt-py could not read leaves one in the text, or none. A time has milliseconds or hours,
# so that a line of speech such as "10:30 -> 11:45" is not one.
_STAMP = r"(?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3}|\d+:\d{2}:\d{2}"
_TIMING = re.compile(rf"^\s*(?:{_STAMP})\s*(?:-+>|[–—]>|\s)\s*(?:{_STAMP})")
# A valid timing line of each format, minutes and seconds under 60 (a cue at "00:30:60.000" is
# not read, and the note names its line).
_MS = r"[0-5]\d:[0-5]\d"
_VALID = {
    "vtt": re.compile(rf"^(\d{{2,}}:)?{_MS}\.\d{{3}}\s+-->\s+(\d{{2,}}:)?{_MS}\.\d{{3}}(\s|$)"),
    "srt": re.compile(rf"^\d{{1,2}}:{_MS},\d{{3}}\s*-->\s*\d{{1,2}}:{_MS},\d{{3}}(\s|$)"),
}
_NAMES = {"vtt": "WebVTT", "srt": "SubRip"}
_SHAPES = {
    "vtt": "WebVTT (a WEBVTT line first, then cues: a timing line such as "
    "00:00:01.000 --> 00:00:02.500, the text, a blank line)",
    "srt": "SubRip (cues: a number, a timing line such as 00:00:01,000 --> 00:00:02,500, the "
    "text, a blank line)",
}


@dataclasses.dataclass(frozen=True)
class Transcript:
    text: str
    times: Times
    language: str  # the WebVTT header's "Language:", "" when it declares none
    title: str  # the text after WEBVTT on a WebVTT file's first line ("WEBVTT - Briefing"), or ""
    note: str = ""  # for the ingest's report: cues not read, a format other than the name's


def read_captions(text: str, kind: str) -> Transcript:
    """Parse caption text (`kind` "vtt" or "srt", from the file's name) into a transcript.

    Raises:
        ValueError: the text is neither valid WebVTT nor SubRip, with what was expected; the
            loader turns it into a BadDocument naming the file.
    """
    other = "srt" if kind == "vtt" else "vtt"
    try:
        return _read(text, kind)
    except ValueError as exc:
        try:
            found = _read(text, other)
        except ValueError:
            raise exc from None
        if not found.text:
            raise exc from None
        note = (
            f"its content is {_NAMES[other]}, not {_NAMES[kind]} as its name says: read as "
            f"{_NAMES[other]} (rename it .{other})"
        )
        return dataclasses.replace(found, note="; ".join(x for x in (note, found.note) if x))


def _read(text: str, kind: str) -> Transcript:
    # Blank lines before the first cue and spaces after a line's text ("1 ") are not errors a
    # person would see; webvtt-py refuses the file for them. A line of spaces alone is kept:
    # inside a cue (YouTube writes " " lines) an empty line would end it.
    first = text[: len(text) - len(text.lstrip())].count("\n")  # blank lines before the first
    text = "\n".join(x.rstrip() if x.strip() else x for x in text.lstrip().splitlines())
    try:
        parsed = webvtt.from_buffer(io.StringIO(text), format=kind)
    except (MalformedFileError, MalformedCaptionError) as exc:
        raise ValueError(f"not valid {_SHAPES[kind]}: {exc}") from exc
    assembled = _Assembly()
    for cue in parsed.captions:
        assembled.add(cue)
    language = _header_language(parsed.metadata) if kind == "vtt" else ""
    title = parsed.header_text.strip().lstrip("-–— ").strip() if kind == "vtt" else ""
    return Transcript(
        assembled.text(),
        tuple(assembled.times),
        language,
        title,
        _unread(text, kind, parsed, first),
    )


def _unread(text: str, kind: str, parsed: webvtt.WebVTT, first: int = 0) -> str:
    """A note on the cues webvtt-py could not read: left out, or joined to the cue before with
    their timing line (both happen to a malformed timing line). `first`: the file's lines
    before `text`'s first, so that the note names a line of the file."""
    timings = [
        (n, line.strip())
        for n, line in enumerate(text.splitlines(), first + 1)
        if _TIMING.match(line)
    ]
    # Each timing line webvtt-py did not make a cue of: a cue left out, or joined to the one
    # before it.
    lost = len(timings) - len(parsed.captions)
    if lost <= 0:
        return ""
    bad = next(((n, line) for n, line in timings if not _VALID[kind].match(line)), None)
    where = f" (the first, line {bad[0]}: {bad[1][:80]!r})" if bad else ""
    example = "00:01:02.345 --> 00:01:04.000" if kind == "vtt" else "00:01:02,345 --> 00:01:04,000"
    return (
        f"{lost} cue(s) not read: their timing line is not valid {_NAMES[kind]}{where}; "
        f"write it as {example} and ingest again"
    )


def _header_language(metadata: list[str]) -> str:
    """YouTube's WebVTT headers declare the track's language: a "Language: en" line."""
    for line in metadata:
        key, _, value = line.partition(":")
        if key.strip().lower() == "language" and value.strip():
            return value.strip()
    return ""


@dataclasses.dataclass
class _Line:
    """A piece of a cue's line as said: who (a voice span's name, or None) and whether it opens
    a turn."""

    text: str
    voice: str | None
    turn: bool


@dataclasses.dataclass
class _Row:
    """One line of a cue: what roll-up repeats of it are compared by (its text with its voices'
    names), and its pieces, one per voice span."""

    key: str
    pieces: list[_Line]


class _Assembly:
    """Cues in, a transcript out (see the module doc)."""

    def __init__(self) -> None:
        self.paragraphs: list[str] = []
        self.times: list[tuple[int, int]] = []
        self.paragraph = ""
        self.offset = 0  # where the current paragraph starts in the text
        self.said: list[str] = []  # the last lines written (their keys), for the roll-up
        self.last_end: float | None = None
        self.speaker: str | None = None
        self.run = 0  # characters of the paragraph since its last sentence end

    def add(self, cue: webvtt.Caption) -> None:
        rows = _rows(cue)
        keys = [r.key for r in rows]
        skip = _rolled_up(keys, self.said)  # the first lines repeat the last written: roll-up
        new = [piece for row in rows[skip:] for piece in row.pieces]
        if not new:
            return
        self.said = (self.said + keys[skip:])[-8:]
        # To the millisecond: webvtt-py's *_in_seconds drop the fraction, and a 1.1 s gap read
        # as 2 s cut a sentence in two.
        start = cue.start_time.in_milliseconds() / 1000
        paused = self.last_end is not None and start - self.last_end >= PAUSE
        for i, line in enumerate(new):
            speaks = line.voice is not None and line.voice != self.speaker
            if (paused and i == 0) or speaks or line.turn or self.run >= RUN:
                self.close()
            text = line.text
            if line.voice is not None and (speaks or not self.paragraph):
                # Who speaks opens each of their paragraphs, after a pause too: a quote of it
                # names them.
                self.speaker = line.voice
                text = f"{line.voice}: {text}"
            sep = "" if not self.paragraph or _cjk_pair(self.paragraph[-1], text[0]) else " "
            self.times.append(
                (self.offset + len(self.paragraph) + len(sep), int(cue.start_in_seconds))
            )
            self.paragraph += sep + text
            ends = [m.end() for m in _SENTENCE_END.finditer(text)]
            self.run = len(text) - ends[-1] if ends else self.run + len(sep) + len(text)
        self.last_end = cue.end_time.in_milliseconds() / 1000

    def close(self) -> None:
        if self.paragraph:
            self.paragraphs.append(self.paragraph)
            self.offset += len(self.paragraph) + 2  # the blank line between paragraphs
            self.paragraph = ""
        self.run = 0

    def text(self) -> str:
        self.close()
        return "\n\n".join(self.paragraphs)


def _rows(cue: webvtt.Caption) -> list[_Row]:
    """A cue's lines as said, each piece of a line after a voice span its own piece of that
    voice; a leaked timing line (a malformed cue joined to this one) and the cue number before
    it left out."""
    raw = list(cue.lines)
    out: list[_Row] = []
    voice: str | None = None
    for n, line in enumerate(raw):
        if _TIMING.match(line) or (
            line.strip().isdigit() and n + 1 < len(raw) and _TIMING.match(raw[n + 1])
        ):
            continue
        key = _clean(_VOICE.sub(r"\1: ", line))
        if not key:
            continue
        parts = _VOICE.split(line)  # [before, name, after, name, after, …]
        spans = [(voice, parts[0])] + [
            (parts[k].strip(), parts[k + 1]) for k in range(1, len(parts) - 1, 2)
        ]
        pieces = []
        for who, piece in spans:
            voice = who
            text = _clean(piece)
            turn = bool(_TURN.match(text))
            text = _TURN.sub("", text)
            if text:
                pieces.append(_Line(text, who, turn))
        out.append(_Row(key, pieces))
    return out


def _rolled_up(lines: list[str], written: list[str]) -> int:
    """How many of a cue's first lines repeat the last lines written (the roll-up)."""
    for k in range(min(len(lines), len(written)), 0, -1):
        if lines[:k] == written[-k:]:
            return k
    return 0


def _cjk_pair(a: str, b: str) -> bool:
    return bool(CJK.match(a) and CJK.match(b))


def _clean(line: str) -> str:
    """One caption line as said: ruby readings, tags and SSA overrides off, entities decoded,
    bidi marks off, spaces squeezed; a sound annotation alone on its line dropped."""
    line = _TAG.sub("", _RUBY_TEXT.sub("", _SSA.sub("", line)))
    line = " ".join(_BIDI.sub("", html.unescape(line)).split())
    return "" if _ANNOTATION.match(line) else line
