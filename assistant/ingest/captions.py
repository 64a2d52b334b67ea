"""Subtitles and captions (.vtt, .srt) → a transcript's text and where in the recording each
part of it is said.

A video's words reach researchers as caption files: WebVTT from YouTube (hand-made or
automatic), SubRip from broadcasters and subtitlers. Read as plain text they are mostly noise:
cue numbers, timings, styling tags, and in automatic captions every line twice (each cue repeats
the line before it as it rolls up). webvtt-py parses both formats (cue timings, voice spans,
the header's metadata); what is ours is turning cues into a transcript people can quote:

- each caption line once, its tags removed and its entities decoded, in the order said;
- a paragraph at each change of speaker (a WebVTT voice span `<v Name>`, or a broadcast
  caption's `>>`) and after a pause of PAUSE seconds, so that one passage holds one turn;
- a paragraph also where an unpunctuated run (automatic captions have no full stops) reaches
  RUN characters, at the next cue: the sentence splitter then ends a "sentence" there, and a quote
  stays a few lines long instead of a passage-long run;
- sound annotations alone on a line ("[Music]", "(applause)", "♪ … ♪") dropped: nobody says them.

`times` maps the text back to the recording: (character offset where a cue's first new line
starts, whole seconds from the start of the recording), in text order. A citation of a quote
says when it is said (answering/citations.py).
"""

from __future__ import annotations

import bisect
import dataclasses
import html
import io
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import webvtt
from webvtt.errors import MalformedCaptionError, MalformedFileError

# A pause, in seconds, long enough to start a paragraph.
PAUSE = 2.0
# Characters of text with no sentence end after which the next cue starts a paragraph.
RUN = 200

# (offset in the text, seconds into the recording)
Times = tuple[tuple[int, int], ...]

_SENTENCE_END = re.compile(r"[.!?…。！？]['\"”’»)\]]*\s*$")
# A line that is only a sound annotation: [Music], (applause), ♪ la la ♪.
_ANNOTATION = re.compile(r"^\s*(?:\[[^\]]*\]|\([^)]*\)|♪[^♪]*♪?|♪)\s*$")
# SubRip files carry SSA override tags ({\an8}, {\i1}) that webvtt-py leaves in the text.
_SSA = re.compile(r"\{\\[^}]*\}")
_SPEAKER_MARK = re.compile(r"^\s*>>\s*")


@dataclasses.dataclass(frozen=True)
class Transcript:
    text: str
    times: Times
    language: str  # the WebVTT header's "Language:", "" when it declares none
    title: str  # the text after WEBVTT on a WebVTT file's first line ("WEBVTT - Briefing"), or ""


def read_captions(text: str, kind: str) -> Transcript:
    """Parse caption text (`kind` "vtt" or "srt") into a transcript.

    Raises:
        ValueError: the file is not valid WebVTT or SubRip, with the reason; the loader turns it
            into a BadDocument naming the file.
    """
    try:
        parsed = webvtt.from_buffer(io.StringIO(text), format=kind)
    except (MalformedFileError, MalformedCaptionError) as exc:
        what = "WebVTT (it must start with a WEBVTT line)" if kind == "vtt" else "SubRip"
        raise ValueError(f"not valid {what}: {exc}") from exc
    transcript = _assemble(parsed.captions, _header_language(parsed.metadata))
    title = parsed.header_text.strip().lstrip("-–— ").strip() if kind == "vtt" else ""
    return dataclasses.replace(transcript, title=title)


def _header_language(metadata: list[str]) -> str:
    """YouTube's WebVTT headers declare the track's language: a "Language: en" line."""
    for line in metadata:
        key, _, value = line.partition(":")
        if key.strip().lower() == "language" and value.strip():
            return value.strip()
    return ""


def _assemble(captions: list[webvtt.Caption], language: str) -> Transcript:
    parts: list[str] = []  # paragraphs, each a list of lines joined by spaces
    times: list[tuple[int, int]] = []
    paragraph: list[str] = []
    offset = 0  # where the text built so far ends
    last_line = ""
    last_end: float | None = None
    speaker: str | None = None

    def close() -> None:
        nonlocal paragraph, offset
        if paragraph:
            block = " ".join(paragraph)
            parts.append(block)
            offset += len(block) + 2  # the blank line between paragraphs
            paragraph = []

    for cue in captions:
        voice = cue.voice
        lines = [_clean(line) for line in cue.text.split("\n")]
        new = []
        for line in lines:
            if not line or line == last_line:
                continue
            new.append(line)
            last_line = line
        if not new:
            continue
        paused = last_end is not None and cue.start_in_seconds - last_end >= PAUSE
        turn = (voice is not None and voice != speaker) or bool(_SPEAKER_MARK.match(new[0]))
        run = (
            paragraph
            and len(" ".join(paragraph)) >= RUN
            and not _SENTENCE_END.search(paragraph[-1])
        )
        if paused or turn or run:
            close()
        if voice is not None and voice != speaker:
            speaker = voice
            new[0] = f"{voice}: {new[0]}"
        new = [_SPEAKER_MARK.sub("", x) if i == 0 else x for i, x in enumerate(new)]
        new = [x for x in new if x]
        if not new:
            continue
        start = offset + (len(" ".join(paragraph)) + 1 if paragraph else 0)
        times.append((start, int(cue.start_in_seconds)))
        paragraph.extend(new)
        last_end = cue.end_in_seconds
    close()
    return Transcript("\n\n".join(parts), tuple(times), language, "")


def _clean(line: str) -> str:
    """One caption line as said: tags and SSA overrides off, entities decoded, spaces squeezed,
    a sound annotation alone on its line dropped."""
    line = html.unescape(_SSA.sub("", line))
    line = " ".join(line.split())
    return "" if _ANNOTATION.match(line) else line


def time_at(times: Times, offset: int) -> int | None:
    """Seconds into the recording at a character offset of the transcript: the start of the cue
    it falls in. None for a text without times.

    >>> time_at(((0, 3), (40, 7), (95, 12)), 60)
    7
    """
    i = bisect.bisect_right(times, offset, key=lambda t: t[0])
    return times[i - 1][1] if i else None


def at_moment(url: str, seconds: int) -> str:
    """A video's address that opens at the given second, where the host takes one in its address
    (YouTube's `t`); any other address as it is.

    >>> at_moment("https://www.youtube.com/watch?v=abc&t=5s", 754)
    'https://www.youtube.com/watch?v=abc&t=754s'
    >>> at_moment("https://youtu.be/abc", 75), at_moment("https://example.org/v", 75)
    ('https://youtu.be/abc?t=75s', 'https://example.org/v')
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not (host == "youtu.be" or host == "youtube.com" or host.endswith(".youtube.com")):
        return url
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "t"]
    return urlunsplit(parts._replace(query=urlencode([*query, ("t", f"{int(seconds)}s")])))


def clock(seconds: int) -> str:
    """12:04, or 1:02:03 past an hour.

    >>> clock(724), clock(3723)
    ('12:04', '1:02:03')
    """
    h, rest = divmod(int(seconds), 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
