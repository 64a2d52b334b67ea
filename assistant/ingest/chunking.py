"""Source text → sentences → passages, all as exact character spans of the source text.

Sentences come from sentencex (rule-based, ~300 languages, returns character offsets, so no
re-alignment is needed). A sentence longer than a passage is cut at tiktoken token boundaries.
Passages are runs of whole sentences of one language, at most `max_tokens` tokens, each starting
with the last `overlap` tokens' worth of sentences of the previous one.

Tokens are counted by a function passed in; ingest passes the embedder's own tokenizer, because
a passage must fit what the embedder sees, and cl100k_base is English-centred: a Russian XQuAD
paragraph is 360 cl100k tokens but 195 multilingual-e5 tokens (medians), so cl100k-sized passages
cut Russian text twice as finely as English (docs/how-it-works.md). cl100k_base stays the
default counter for callers without an embedder.

The invariant every later step relies on: ``text[p.start:p.end] == p.text`` for every span.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import regex
import sentencex
import tiktoken

from .language import CJK


@dataclass(frozen=True)
class Span:
    """A piece of the source text: text == source[start:end]."""

    start: int
    end: int
    text: str
    language: str = "und"
    tokens: int = 0


@dataclass(frozen=True)
class PassageSpan:
    """A passage: sentences [first, last] of the document, one language."""

    start: int
    end: int
    text: str
    language: str
    first: int
    last: int
    tokens: int


@lru_cache(maxsize=1)
def encoding() -> tiktoken.Encoding:
    """cl100k_base, read from the copy llama-index ships so that nothing is downloaded.

    tiktoken finds its files through TIKTOKEN_CACHE_DIR only; as llama-index's own
    get_tokenizer() does, it points there for this one load and is put back after, so that
    nothing else in the process sees a changed environment. A cache dir the user set wins.
    """
    import llama_index.core

    if "TIKTOKEN_CACHE_DIR" in os.environ:
        return tiktoken.get_encoding("cl100k_base")
    cache = Path(llama_index.core.__file__).parent / "_static" / "tiktoken_cache"
    os.environ["TIKTOKEN_CACHE_DIR"] = str(cache)
    try:
        return tiktoken.get_encoding("cl100k_base")
    finally:
        del os.environ["TIKTOKEN_CACHE_DIR"]


Counter = Callable[[Sequence[str]], list[int]]

# Regular expressions, not a loop over characters: ingest calls this for every sentence.
_LETTER = re.compile(r"[^\W\d_]")


def letters(text: str) -> int:
    """Letters in a text, a CJK character counting as three (it carries about a word).

    >>> letters("2024."), letters(":133–134:38-1"), letters("Japan"), letters("日本")
    (0, 0, 5, 6)
    """
    return len(_LETTER.findall(text)) + 2 * len(CJK.findall(text))


def count_tokens(texts: Sequence[str]) -> list[int]:
    """cl100k_base tokens of each text."""
    return [len(t) for t in encoding().encode_ordinary_batch(list(texts))]


def split_sentences(
    text: str, language: str, max_tokens: int, count: Counter = count_tokens
) -> list[Span]:
    """Sentences of the text as trimmed spans; over-long ones cut into token windows.

    Args:
        text: the whole source text.
        language: ISO 639-1 code choosing sentencex's rules (its fallbacks cover the rest).
        max_tokens: no span is longer than this many tokens.
        count: the token counter (default cl100k_base; ingest passes the embedder's).
    """
    spans: list[Span] = []
    for start, end in _joined_initials(
        text,
        [
            (b["start_index"], b["end_index"])
            for b in sentencex.get_sentence_boundaries(language, text)
        ],
    ):
        raw = text[start:end]
        stripped = raw.strip()
        if not stripped:
            continue
        start += len(raw) - len(raw.lstrip())
        spans.extend(_off_headings(Span(start, start + len(stripped), stripped)))
    counts = count([s.text for s in spans])
    out: list[Span] = []
    for span, n in zip(spans, counts, strict=True):
        if n <= max_tokens:
            out.append(Span(span.start, span.end, span.text, tokens=n))
        else:
            out.extend(_cut(span, max_tokens, count))
    return out


# A person's initials ending a piece of text where sentencex breaks after them: an initial and
# a two-letter one of a Russian name written in English ("A. Yu.", "V. Zh."), two Cyrillic
# ones ("А. Ю.", "А.Ю."), or a hyphenated pair ("J.-P."). "U.S.", "Dr.", "D. C." and a lone
# "A." are left to sentencex.
_INITIALS_END = regex.compile(
    r"(?:^|[^\p{L}\p{M}])\p{Lu}\."
    r"(?:\s*(?:Yu|Ya|Ye|Yo|Zh|Kh|Ch|Sh|Ts|(?=\p{Cyrillic})\p{Lu})|-\p{Lu}\p{Ll}?)\.$"
)
_INITIAL_END = regex.compile(r"(?:^|[^\p{L}\p{M}])\p{Lu}\.$")
_HYPHENED_INITIAL = regex.compile(r"-\p{Lu}\p{Ll}?\.")


def _joined_initials(text: str, bounds: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sentence bounds with a break after a person's initials taken out: "the Russian
    Federation A. Yu. Rudenko summoned the Ambassador" was two sentences, the second a quote
    without its date or its speaker's office.

    >>> s = "On June 9, the Minister A. Yu. Rudenko summoned him. Selon J.-P. Martin, non. Fin."
    >>> bounds = [(b["start_index"], b["end_index"]) for b in sentencex.get_sentence_boundaries("en", s)]
    >>> [s[a:b].strip() for a, b in bounds][:2]
    ['On June 9, the Minister A. Yu.', 'Rudenko summoned him.']
    >>> [s[a:b].strip() for a, b in _joined_initials(s, bounds)]
    ['On June 9, the Minister A. Yu. Rudenko summoned him.', 'Selon J.-P. Martin, non.', 'Fin.']
    >>> t = "He moved to the U.S. Then he left. Grade A. Then more. Signed, Dr. Jo.\\nNext day."
    >>> [t[a:b].strip() for a, b in _joined_initials(t, [(b["start_index"], b["end_index"])
    ...                          for b in sentencex.get_sentence_boundaries("en", t)])]
    ['He moved to the U.S.', 'Then he left.', 'Grade A.', 'Then more.', 'Signed, Dr. Jo.', 'Next day.']
    """
    out: list[tuple[int, int]] = []
    for start, end in bounds:
        if out:
            raw = text[out[-1][0] : out[-1][1]]
            before = raw.rstrip()
            on_one_line = "\n" not in raw[len(before) :] + text[start:end][:1]
            if on_one_line and (
                (_INITIALS_END.search(before) and text[start:end].lstrip()[:1].isupper())
                or (_INITIAL_END.search(before) and _HYPHENED_INITIAL.match(text, start))
            ):
                out[-1] = (out[-1][0], end)
                continue
        out.append((start, end))
    return out


# A Markdown heading's mark: one to six "#" then a space, at a line's start (quotable.py reads
# it too, to tell a heading from running text).
MARKDOWN_HEADING = re.compile(r"^[ \t]*#{1,6}[ \t]", re.M)
# A Markdown heading: a line of its own, a block whatever follows it on the next line.
_HEADING_LINE = re.compile(MARKDOWN_HEADING.pattern + r"[^\n]*$", re.M)


def _off_headings(span: Span) -> list[Span]:
    """The span with each Markdown heading line a sentence of its own: the sentence splitter
    joins "# Title" to the text on the next line, and the headline became a quote's start.

    >>> [s.text for s in _off_headings(Span(0, 23, "# Dam\\nThe dam is built."))]
    ['# Dam', 'The dam is built.']
    """
    cuts = sorted(
        {c for m in _HEADING_LINE.finditer(span.text) for c in (m.start(), m.end())}
        | {0, len(span.text)}
    )
    if len(cuts) == 2:
        return [span]
    out = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        piece = span.text[a:b]
        text = piece.strip()
        if text:
            s = span.start + a + len(piece) - len(piece.lstrip())
            out.append(Span(s, s + len(text), text))
    return out


def _cut(span: Span, max_tokens: int, count: Counter) -> list[Span]:
    """Cut one over-long sentence into pieces of at most max_tokens tokens (as `count` counts
    them), at cl100k_base token boundaries, which never split a character."""
    enc = encoding()
    tokens = enc.encode_ordinary(span.text)
    _, offsets = enc.decode_with_offsets(tokens)
    window = max_tokens
    while True:
        pieces: list[Span] = []
        for i in range(0, len(tokens), window):
            a = offsets[i]
            b = offsets[i + window] if i + window < len(tokens) else len(span.text)
            piece = span.text[a:b]
            lead = len(piece) - len(piece.lstrip())
            piece = piece.strip()
            if piece:
                s = span.start + a + lead
                pieces.append(Span(s, s + len(piece), piece))
        counts = count([p.text for p in pieces])
        if max(counts) <= max_tokens or window == 1:
            return [
                Span(p.start, p.end, p.text, tokens=n) for p, n in zip(pieces, counts, strict=True)
            ]
        # The counter sees more tokens than cl100k in this text: shrink the window to fit.
        window = max(1, window * max_tokens // max(counts))


def make_passages(
    text: str, sentences: list[Span], max_tokens: int, overlap: int
) -> list[PassageSpan]:
    """Group consecutive sentences of one language into passages with overlap.

    Args:
        text: the source text the sentence spans point into.
        sentences: spans with `language` and `tokens` set, in order.
        max_tokens: the most tokens of sentences a passage holds.
        overlap: tokens of trailing sentences repeated at the start of the next passage.

    Example: sentences of 80, 80, 80 tokens, max 200, overlap 90 → passages [0, 1] and [1, 2].
    """
    passages: list[PassageSpan] = []
    i, n = 0, len(sentences)
    while i < n:
        lang = sentences[i].language
        j, total = i, 0
        while j < n and sentences[j].language == lang and total + sentences[j].tokens <= max_tokens:
            total += sentences[j].tokens
            j += 1
        j = max(j, i + 1)  # a single sentence is never longer than max_tokens (see _cut)
        first, last = sentences[i], sentences[j - 1]
        passages.append(
            PassageSpan(
                first.start,
                last.end,
                text[first.start : last.end],
                lang,
                i,
                j - 1,
                sum(s.tokens for s in sentences[i:j]),
            )
        )
        if j >= n:
            break
        # Step back over trailing sentences worth ≤ overlap tokens, but always move forward and
        # never carry sentences across a language change.
        back, k = 0, j
        while k - 1 > i and sentences[k - 1].language == sentences[j].language:
            if back + sentences[k - 1].tokens > overlap:
                break
            back += sentences[k - 1].tokens
            k -= 1
        i = k
    return passages
