"""Whom a text names: a question's names ("Who is Atsuko Higashino?": condense.asked_about)
found in passages and sentences as they write them.

A name is a run of capitalised words ("Atsuko Higashino"), found where the text has the same
words within one stretch of capitalised words ("President Volodymyr Zelensky" names "President
Zelensky", "Fumio Kishida" "Kishida Fumio"; "Atsuko Tanaka met Higashino" names no Atsuko
Higashino). Words are split at apostrophes and hyphens ("d'Hélène
Marchand", "Kim Jong-un") and compared as BM25 stems them, Latin letters' accents set aside
and case folded, so that an inflected name counts ("Путина" names "Путин", "Толстого"
"Толстой") and so does one typed without its accents ("Jurgen Albrecht", "Strauss"). A run
the texts also write in lower case is a word, not a name ("Who is May?" beside "may lose";
"What is the Water Permit?" beside "the water permit"): `proper`.
"""

from __future__ import annotations

import difflib
import os
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache

import regex
from anyascii import anyascii

from .bm25 import tokenize

# A word, split at apostrophes ("d'Hélène" is "d" and "Hélène"); hyphens are split after
# (_words), each part as capitalised as the word ("Kim Jong-un").
_WORD = regex.compile(r"[\p{L}\p{M}\p{N}]+(?:-[\p{L}\p{M}\p{N}]+)*")
# A Latin letter's accents; other scripts' marks are letters of their own (Cyrillic "й").
_ACCENTS = regex.compile(r"(?<=\p{Latin})\p{M}+")
# How alike each word of a name and of a text must be, past this and from the same first
# letter, to be taken for another spelling of it ("Rachmaninov" and "Rachmaninoff", 0.87;
# "Zelenskyy" and "Zelensky", 0.82, as stems), not another name ("Maria" and "Mario", 0.80;
# "Jürgen" and "Carmen", 0.50; "Anna" and "Hanna", 0.89, another first letter): difflib's
# ratio, twice the letters in common over the letters of both, word by word.
SPELLING = 0.8

Word = tuple[str, bool]  # (the word folded: stemmed, accents set aside; whether capitalised)


def _bare(text: str) -> str:
    """Case folded, Latin letters' accents set aside."""
    nfkd = unicodedata.normalize("NFKD", text)
    return unicodedata.normalize("NFC", _ACCENTS.sub("", nfkd)).casefold()


@lru_cache(maxsize=65536)
def _fold(word: str) -> str:
    bare = _bare(word)
    stems = tokenize(bare)
    # A stopword ("May", "Un") is kept as written: it still names where it is written.
    return stems[0] if len(stems) == 1 else bare


def _key(word: str) -> str:
    """What a text holding the word surely holds, case folded and without accents: the start
    its stem and its written form share, up to four letters ("ан" for "Анна", "Анну")."""
    return os.path.commonprefix([_fold(word), _bare(word)])[:4]


def _parts(text: str) -> list[tuple[str, bool]]:
    """A text's words as written, split at hyphens, each with whether its word is capitalised."""
    return [(part, word[:1].isupper()) for word in _WORD.findall(text) for part in word.split("-")]


def _words(text: str) -> list[Word]:
    return [(_fold(part), cap) for part, cap in _parts(text)]


def _runs(runs: Sequence[str]) -> list[list[str]]:
    """Each run's folded words; an empty run names no one and is left out."""
    return [folded for run in runs if (folded := [w for w, _ in _words(run)])]


def _may_hold(text: str, runs: Sequence[str], every: bool) -> bool:
    """A quick test that passes every text naming all (`every`) or any of the runs' words,
    and few others: most texts are read no further."""
    bare = _bare(text)
    keys = [[_key(w) for w, _ in _parts(run)] for run in runs]
    if every:
        return all(all(k in bare for k in ks) for ks in keys)
    return any(k in bare for ks in keys for k in ks)


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


def _named(words: list[Word], run: list[str], same: Callable[[str, str], bool]) -> bool:
    """Whether the run's words all occur within one stretch of capitalised words, each the
    `same` as a word of its own: "President Volodymyr Zelensky" names "President Zelensky",
    "Fumio Kishida" "Kishida Fumio" (a family name first, as Japanese names are written),
    "Atsuko Tanaka met Higashino" no "Atsuko Higashino"."""
    stretch: list[str] = []
    for w, cap in [*words, ("", False)]:
        if cap:
            stretch.append(w)
            continue
        left = list(stretch)
        for want in run:
            seen = next((i for i, w in enumerate(left) if same(want, w)), None)
            if seen is None:
                break
            del left[seen]
        else:
            return True
        stretch = []
    return False


@lru_cache(maxsize=65536)
def _latin(word: str) -> str:
    """A folded word in Latin letters (anyascii's transliteration): "безпальк" is "bezpalk"."""
    return "".join(ch for ch in anyascii(word).lower() if ch.isalpha())


def _alike(want: str, seen: str) -> bool:
    """Another spelling of the word, in any script: in Latin letters, from the same first
    letter and nearly alike (SPELLING): "Безпалько" and "Bezpalko", "Кисида" and "Kishida"."""
    a, b = _latin(want), _latin(seen)
    return bool(a) and a[:1] == b[:1] and difflib.SequenceMatcher(None, a, b).ratio() > SPELLING


def names_all(text: str, runs: Sequence[str]) -> bool:
    """Whether a text names every one of `runs` (a question's names, as it writes them).

    >>> [names_all(t, ["Atsuko Higashino"]) for t in ("One is Atsuko Higashino, a professor.",
    ...     "Higashino spoke.", "atsuko higashino", "Atsuko Tanaka met Higashino")]
    [True, False, False, False]
    >>> names_all("Визит Путина", ["Путин"]), names_all("Itochu said", ["Ito"])
    (True, False)
    >>> [names_all(t, [n]) for t, n in (("Chronique d'Hélène Marchand", "Helene Marchand"),
    ...     ("Kim Jong-un spoke", "Kim Jong Un"), ("Анну Петрову", "Анна Петрова"),
    ...     ("O’Brien said", "O'Brien"), ("Толстого", "Толстой"), ("Strauß", "Strauss"))]
    [True, True, True, True, True, True]
    >>> [names_all(t, ["President Zelensky"]) for t in ("President Volodymyr Zelensky said",
    ...     "Zelensky, the President", "President Biden met Zelensky")]
    [True, False, False]
    >>> names_all("Fumio Kishida spoke", ["Kishida Fumio"])
    True
    >>> names_all("Kaneko", [""])
    False
    """
    folded = _runs(runs)
    if not folded or not _may_hold(text, runs, every=True):
        return False
    words = _words(text)
    return all(_named(words, run, str.__eq__) for run in folded)


def names_any(text: str, runs: Sequence[str]) -> bool:
    """Whether a text names any word of the runs that is not a stopword ("She … Higashino"
    names Atsuko Higashino; "Un homme" names no Kim Jong Un), capitalised.

    >>> names_any("Higashino spoke.", ["Atsuko Higashino"]), names_any("Prices rose", ["Rose"])
    (True, False)
    >>> names_any("Un homme", ["Kim Jong Un"])
    False
    """
    wanted = {_fold(w) for run in runs for w, _ in _parts(run) if tokenize(w)}
    if not wanted or not _may_hold(text, runs, every=False):
        return False
    return any(cap and w in wanted for w, cap in _words(text))


def names_like(text: str, runs: Sequence[str]) -> bool:
    """Whether a text names any of the runs in another spelling, or script: each of its words
    spelt nearly alike (SPELLING, in Latin letters), within one stretch of capitalised words.

    >>> names_like("nostalgic for Sergei Rachmaninoff", ["Rachmaninov"])
    True
    >>> [names_like(t, [n]) for t, n in (("One is Atsuko Higashino", "Jonas Higashino"),
    ...     ("Jürgen Albrecht signed", "Carmen Albrecht"), ("Mario said", "Maria"),
    ...     ("Hanna said", "Anna"), ("Volodymyr Zelensky said", "Volodymyr Zelenskyy"))]
    [False, False, False, False, True]
    >>> [names_like(t, [n]) for t, n in (("Channel Five quotes Bezpalko", "Безпалько"),
    ...     ("Fumio Kishida", "Фумио Кисида"), ("Канеко", "Kaneko"), ("Kaneko", "金子"))]
    [True, True, True, False]
    >>> names_like("Kaneko", [""])
    False
    """
    # As stemmed, and as written: stemmers of two scripts cut a name differently ("Фумио" is
    # "фум", "Fumio" "fumio").
    stemmed, written = _words(text), [(_bare(part), cap) for part, cap in _parts(text)]
    return any(_named(stemmed, run, _alike) for run in _runs(runs)) or any(
        _named(written, [_bare(part) for part, _ in _parts(run)], _alike)
        for run in runs
        if _parts(run)
    )


def phrase_spans(text: str, phrase: str) -> list[tuple[int, int]]:
    """Where a text holds a phrase's words one after the other, compared as names are, its
    first word capitalised where the phrase's is, unless the text has no capitals or is all
    in them (typed in one case): "What does RT say?" names "RT", "what time is it" no "Time".
    An article the phrase opens with may be written otherwise ("the Military Show").

    >>> [bool(phrase_spans(t, p)) for t, p in (("What does RT say?", "RT"),
    ...     ("what does rt say", "RT"), ("What time is it?", "Time"),
    ...     ("Que dit le Courrier des Andes ?", "Le Courrier des Andes"),
    ...     ("Was the Military Show right?", "The Military Show"))]
    [True, True, False, True, True]
    >>> phrase_spans("Is ZN.ua right?", "ZN.ua")
    [(3, 8)]
    """
    want = _words(phrase)
    while len(want) > 1 and not tokenize(want[0][0]):
        want = want[1:]
    if not want:
        return []
    located = [
        (_fold(part), word.group()[:1].isupper(), start, start + len(part))
        for word in _WORD.finditer(text)
        for part, start in _hyphen_parts(word)
    ]
    one_case = text == text.lower() or text == text.upper()
    n, out = len(want), []
    for i in range(len(located) - n + 1):
        window = located[i : i + n]
        if [w for w, *_ in window] == [w for w, _ in want] and (
            one_case or window[0][1] == want[0][1]
        ):
            out.append((window[0][2], window[-1][3]))
    return out


def _hyphen_parts(word: regex.Match[str]) -> list[tuple[str, int]]:
    """A word's parts split at hyphens, each with where it starts in the text."""
    parts, start = [], word.start()
    for part in word.group().split("-"):
        parts.append((part, start))
        start += len(part) + 1
    return parts


def proper(texts: Iterable[str], runs: Sequence[str]) -> list[str]:
    """The runs that are names: those none of the texts writes in lower case ("may" in "may
    lose" makes "May" a word; "water permit" makes "Water Permit" one). An address or a tag
    does not count ("higashino@tsukuba.ac.jp", "#zelensky"). Runs written in lower case come
    from a question whose case tells nothing (condense.asked_about_uncased): they are names
    where the texts write none of their words in lower case, and all of them, or none is (the
    question asks about nothing else).

    >>> proper(["They may lose.", "May 2023 saw"], ["May"]), proper(["Rose Choque"], ["Rose"])
    ([], ['Rose'])
    >>> proper(["Atsuko Higashino (higashino@tsukuba.ac.jp)"], ["Higashino"])
    ['Higashino']
    >>> texts = ["Carmen Ibarra signed. Russia wants lithium.", "Russia said"]
    >>> proper(texts, ["carmen ibarra"]), proper(texts, ["russia want"]), proper(texts, ["zorb"])
    (['carmen ibarra'], [], ['zorb'])
    """
    kept = [run for run in runs if _runs([run])]
    folded = _runs(kept)
    lower = [False] * len(folded)
    # The words of the runs written in lower case, and those of them the texts write so too.
    unsure = {w for run, f in zip(kept, folded, strict=True) if run == run.lower() for w in f}
    uncapitalised: set[str] = set()
    for text in texts:
        if not _may_hold(text, kept, every=False):
            continue
        words = _words(_ADDRESS.sub(" ", text))
        for i, run in enumerate(folded):
            lower[i] = lower[i] or _occurs(words, run, False)
        uncapitalised.update(w for w, cap in words if not cap and w in unsure)
    if uncapitalised:
        return []
    return [run for run, is_lower in zip(kept, lower, strict=True) if not is_lower]


# An e-mail address, a web address or a tag: its words are not written as prose writes them.
_ADDRESS = regex.compile(r"\S*[@#/]\S*|\S+\.\S+\.\S+")


def acronyms(runs: Sequence[str]) -> bool:
    """Whether every run is one word in capitals, which sources in other languages may write
    otherwise ("NATO": "l'OTAN", "НАТО"), as they would not a person's name.

    >>> acronyms(["NATO"]), acronyms(["NATO", "Kishida"]), acronyms(["Kim Jong Un"])
    (True, False, False)
    """
    return bool(runs) and all(
        len(parts := _parts(run)) == 1 and len(w := parts[0][0]) > 1 and w.isupper() for run in runs
    )


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
