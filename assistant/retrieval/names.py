"""Whom a text names: a question's names ("Who is Atsuko Higashino?": condense.asked_about)
found in passages and sentences as they write them.

A name is a run of capitalised words ("Atsuko Higashino"), found where the text has the same
words, capitalised, one after the other. Words are compared as BM25 stems them, with their
accents set aside, so that an inflected name counts ("Путина" names "Путин") and so does one
typed without its accents ("Jurgen Albrecht"); an elided article does not hide one ("d'Hélène
Marchand"). A run the texts also write in lower case is a word, not a name ("Who is May?"
beside "may lose"; "What is the Water Permit?" beside "the water permit"): `common`.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache

import regex

from .bm25 import tokenize

# A word, split at apostrophes ("d'Hélène" is "d" and "Hélène").
_WORD = regex.compile(r"[\p{L}\p{M}\p{N}-]+")
_MARKS = regex.compile(r"\p{M}+")
# How alike a name and a text's words must be to be taken for another spelling of it
# ("Rachmaninov" and "Rachmaninoff", 0.87; "Zelenskyy" and "Zelensky", 0.94), not another
# name ("Jonas Higashino" and "Atsuko Higashino", 0.65; "Carmen Albrecht" and "Carmen
# Ibarra", 0.71): difflib's ratio, twice the letters in common over the letters of both.
SPELLING = 0.8

Word = tuple[str, bool]  # (the word folded: stemmed, no accents; whether it is capitalised)


def _bare(text: str) -> str:
    """Lower case, accents set aside."""
    return _MARKS.sub("", unicodedata.normalize("NFKD", text)).lower()


@lru_cache(maxsize=65536)
def _fold(word: str) -> str:
    bare = _bare(word)
    stems = tokenize(bare)
    return stems[0] if len(stems) == 1 else bare  # a stopword is kept as written


def _may_hold(text: str, runs: Sequence[str]) -> bool:
    """A quick test that passes every text naming one of the runs (each word's first four
    letters, lower case and without accents, are in it), and few others: most texts are
    read no further."""
    bare = _bare(text)
    return any(all(w[:4] in bare for w in _bare(run).split()) for run in runs)


def _words(text: str) -> list[Word]:
    return [(_fold(w), w[:1].isupper()) for w in _WORD.findall(text)]


def _runs(runs: Sequence[str]) -> list[list[str]]:
    return [[w for w, _ in _words(run)] for run in runs]


def _occurs(words: list[Word], run: list[str], capitalised: bool) -> bool:
    """Whether the run's words occur one after the other, each capitalised (or the first in
    lower case: `capitalised` False)."""
    n = len(run)
    for i in range(len(words) - n + 1):
        if [w for w, _ in words[i : i + n]] == run:
            if capitalised and all(cap for _, cap in words[i : i + n]):
                return True
            if not capitalised and not words[i][1]:
                return True
    return False


def names_all(text: str, runs: Sequence[str]) -> bool:
    """Whether a text names every one of `runs` (a question's names, as it writes them).

    >>> [names_all(t, ["Atsuko Higashino"]) for t in ("One is Atsuko Higashino, a professor.",
    ...     "Higashino spoke.", "atsuko higashino", "Atsuko Tanaka met Higashino")]
    [True, False, False, False]
    >>> names_all("Визит Путина", ["Путин"]), names_all("Itochu said", ["Ito"])
    (True, False)
    >>> names_all("Chronique d'Hélène Marchand", ["Helene Marchand"])
    True
    """
    if not runs or not all(_may_hold(text, [run]) for run in runs):
        return False
    words = _words(text)
    return all(_occurs(words, run, True) for run in _runs(runs))


def names_any(text: str, runs: Sequence[str]) -> bool:
    """Whether a text names any word of the runs ("She … Higashino" for "Atsuko Higashino"),
    capitalised.

    >>> names_any("Higashino spoke.", ["Atsuko Higashino"]), names_any("Prices rose", ["Rose"])
    (True, False)
    """
    wanted = {w for run in _runs(runs) for w in run}
    bare = _bare(text)
    if not any(w[:4] in bare for run in runs for w in _bare(run).split()):
        return False
    return any(cap and w in wanted for w, cap in _words(text))


def names_like(text: str, runs: Sequence[str]) -> bool:
    """Whether a text names any of the runs in another spelling (SPELLING): as many
    capitalised words one after the other, spelt nearly alike.

    >>> names_like("nostalgic for Sergei Rachmaninoff", ["Rachmaninov"])
    True
    >>> names_like("One is Atsuko Higashino", ["Jonas Higashino"])
    False
    """
    words = _words(text)
    for run in _runs(runs):
        wanted, n = " ".join(run), len(run)
        for i in range(len(words) - n + 1):
            window = words[i : i + n]
            if all(cap for _, cap in window):
                seen = " ".join(w for w, _ in window)
                if difflib.SequenceMatcher(None, wanted, seen).ratio() >= SPELLING:
                    return True
    return False


def common(texts: Iterable[str], runs: Sequence[str]) -> list[str]:
    """The runs that are names: those none of the texts writes in lower case ("may" in "may
    lose" makes "May" a word; "water permit" makes "Water Permit" one).

    >>> common(["They may lose.", "May 2023 saw"], ["May"]), common(["Rose Choque"], ["Rose"])
    ([], ['Rose'])
    """
    folded = _runs(runs)
    lower = [False] * len(runs)
    for text in texts:
        if not _may_hold(text, runs):
            continue
        words = _words(text)
        for i, run in enumerate(folded):
            lower[i] = lower[i] or _occurs(words, run, False)
    return [run for run, is_lower in zip(runs, lower, strict=True) if not is_lower]


def in_their_script(text: str, runs: Sequence[str]) -> bool:
    """Whether a text holds a letter of the script the runs are written in (a script as the
    first word of a letter's Unicode name: "LATIN", "CYRILLIC").

    >>> in_their_script("Канеко воюет.", ["Ito"]), in_their_script("Kaneko", ["Ito"])
    (False, True)
    """
    scripts = {_script(ch) for run in runs for ch in run if ch.isalpha()}
    return any(_script(ch) in scripts for ch in text if ch.isalpha())


def _script(letter: str) -> str:
    return unicodedata.name(letter, "").partition(" ")[0]
