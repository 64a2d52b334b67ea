"""Source text → sentences → passages, all as exact character spans of the source text.

Sentences come from sentencex (rule-based, ~300 languages, returns character offsets, so no
re-alignment is needed). A sentence longer than a passage is cut at tiktoken token boundaries.
Passages are runs of whole sentences of one language, at most `max_tokens` cl100k_base tokens,
each starting with the last `overlap` tokens' worth of sentences of the previous one.

The invariant every later step relies on: ``text[p.start:p.end] == p.text`` for every span.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import sentencex
import tiktoken


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
    """cl100k_base, read from the copy llama-index ships so that nothing is downloaded."""
    import llama_index.core

    cache = Path(llama_index.core.__file__).parent / "_static" / "tiktoken_cache"
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(cache))
    return tiktoken.get_encoding("cl100k_base")


def count_tokens(texts: list[str]) -> list[int]:
    return [len(t) for t in encoding().encode_ordinary_batch(texts)]


def split_sentences(text: str, language: str, max_tokens: int) -> list[Span]:
    """Sentences of the text as trimmed spans; over-long ones cut into token windows.

    Args:
        text: the whole source text.
        language: ISO 639-1 code choosing sentencex's rules (its fallbacks cover the rest).
        max_tokens: no span is longer than this many cl100k_base tokens.
    """
    spans: list[Span] = []
    for b in sentencex.get_sentence_boundaries(language, text):
        start, end = b["start_index"], b["end_index"]
        raw = text[start:end]
        stripped = raw.strip()
        if not stripped:
            continue
        start += len(raw) - len(raw.lstrip())
        end = start + len(stripped)
        spans.append(Span(start, end, stripped))
    counts = count_tokens([s.text for s in spans])
    out: list[Span] = []
    for span, n in zip(spans, counts, strict=True):
        if n <= max_tokens:
            out.append(Span(span.start, span.end, span.text, tokens=n))
        else:
            out.extend(_cut(text, span, max_tokens))
    return out


def _cut(text: str, span: Span, max_tokens: int) -> list[Span]:
    """Cut one over-long sentence into windows of max_tokens tokens, at token boundaries."""
    enc = encoding()
    tokens = enc.encode_ordinary(span.text)
    _, offsets = enc.decode_with_offsets(tokens)
    pieces: list[Span] = []
    for i in range(0, len(tokens), max_tokens):
        a = offsets[i]
        b = offsets[i + max_tokens] if i + max_tokens < len(tokens) else len(span.text)
        piece = span.text[a:b]
        lead = len(piece) - len(piece.lstrip())
        piece = piece.strip()
        if piece:
            s = span.start + a + lead
            pieces.append(Span(s, s + len(piece), piece, tokens=len(enc.encode_ordinary(piece))))
    return pieces


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
