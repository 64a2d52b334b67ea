"""Where in a recording: a transcript's times, a clock, a video's address at a moment.

A transcript read from captions (ingest/captions.py) keeps, with its source's record, where each
of its lines starts in the text and when it is said; a citation or a search hit of it says when
its text is said (schema.Citation.at, Passage.at). Kept apart from the caption reader, which
needs its parser, because the results, the store and every door read these.
"""

from __future__ import annotations

import bisect
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# (offset in the text, whole seconds into the recording), in text order.
Times = tuple[tuple[int, int], ...]


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
