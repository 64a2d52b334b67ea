"""Whom a text names: a question's names ("Who is Atsuko Higashino?": asking.asked_about)
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
def _bare_word(word: str) -> str:
    """_bare, for one word: the same words recur across a question's candidates."""
    return _bare(word)


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


def _located(text: str) -> list[tuple[str, bool, int, int]]:
    """A text's words as written, split at hyphens, each with whether its word is capitalised
    and where it lies; a break ("", False) stands where anything but spaces or an apostrophe
    lies between two words ("Kaneko. Takeshi", "Tanaka, Kenji"): a name runs within one.

    >>> [w for w, *_ in _located("Daisaku Kaneko. Takeshi O’Brien")]
    ['Daisaku', 'Kaneko', '', 'Takeshi', 'O', 'Brien']
    """
    out: list[tuple[str, bool, int, int]] = []
    end = None
    for word in _WORD.finditer(text):
        if end is not None and text[end : word.start()].strip(" \t\r\n'’"):
            out.append(("", False, end, end))
        start, cap = word.start(), word.group()[:1].isupper()
        for part in word.group().split("-"):
            out.append((part, cap, start, start + len(part)))
            start += len(part) + 1
        end = word.end()
    return out


def _parts(text: str) -> list[tuple[str, bool]]:
    """A text's words as written, split at hyphens, each with whether its word is capitalised
    (and the breaks between them: _located)."""
    return [(part, cap) for part, cap, _, _ in _located(text)]


def _words(text: str) -> list[Word]:
    return [(_fold(part), cap) for part, cap in _parts(text)]


def _runs(runs: Sequence[str]) -> list[list[str]]:
    """Each run's folded words; an empty run names no one and is left out."""
    return [folded for run in runs if (folded := [w for w, _ in _words(run) if w])]


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
    """Whether the run's words occur in its order, or the reverse, within one stretch of
    capitalised words (unbroken by punctuation: _located), each the `same` as a word of its
    own: "President Volodymyr Zelensky" names "President Zelensky", "Fumio Kishida" "Kishida
    Fumio" (a family name first, as Japanese names are written); "Atsuko Tanaka met
    Higashino" and "Atsuko Tanaka, Kenji Higashino" no "Atsuko Higashino"."""
    stretch: list[str] = []
    for w, cap in [*words, ("", False)]:
        if cap:
            stretch.append(w)
            continue
        if stretch and (
            _within(stretch, run, same) or (len(run) > 1 and _within(stretch, run[::-1], same))
        ):
            return True
        stretch = []
    return False


def _within(stretch: list[str], run: list[str], same: Callable[[str, str], bool]) -> bool:
    """Whether the run's words occur in a stretch in its order, others between them."""
    i = 0
    for seen in stretch:
        if i < len(run) and same(run[i], seen):
            i += 1
    return i == len(run)


@lru_cache(maxsize=65536)
def _latin(word: str) -> str:
    """A folded word in Latin letters (anyascii's transliteration): "безпальк" is "bezpalk"."""
    return "".join(ch for ch in anyascii(word).lower() if ch.isalpha())


@lru_cache(maxsize=262144)
def _alike(want: str, seen: str) -> bool:
    """Another spelling of the word, in any script: in Latin letters, nearly alike (SPELLING)
    and, in one script, from the same first letter ("Anna" is no "Hanna"); across two, a
    first letter is transliterated as often as not otherwise ("Кармен" is "Karmen", for
    Carmen; "Юрген" "Yurgen", for Jürgen): "Безпалько" and "Bezpalko", "Кисида" and "Kishida".
    """
    a, b = _latin(want), _latin(seen)
    # difflib's ratio is at most twice the shorter's letters over both's: most pairs end here.
    if not a or not b or 2 * min(len(a), len(b)) <= SPELLING * (len(a) + len(b)):
        return False
    return (a[:1] == b[:1] or _script(want[0]) != _script(seen[0])) and (
        difflib.SequenceMatcher(None, a, b).ratio() > SPELLING
    )


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
    >>> [names_all(t, [n]) for t, n in (
    ...     ("Daisaku Kaneko met Kaneko. Takeshi Yamada said", "Takeshi Kaneko"),
    ...     ("Guests: Atsuko Tanaka, Kenji Higashino", "Atsuko Higashino"))]
    [False, False]
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
    ...     ("Fumio Kishida", "Фумио Кисида"), ("Канеко", "Kaneko"), ("Kaneko", "金子"),
    ...     ("Carmen Ibarra firmó", "Кармен Ибарра"), ("Jürgen Albrecht", "Юрген Альбрехт"))]
    [True, True, True, False, True, True]
    >>> names_like("Kaneko", [""])
    False
    """
    # As stemmed, and as written: stemmers of two scripts cut a name differently ("Фумио" is
    # "фум", "Fumio" "fumio").
    if not _may_be_like(text, runs):
        return False
    parts = _parts(text)
    stemmed, written = [(_fold(p), c) for p, c in parts], [(_bare_word(p), c) for p, c in parts]
    return any(_named(stemmed, run, _alike) for run in _runs(runs)) or any(
        _named(written, bare, _alike)
        for run in runs
        if (bare := [_bare(part) for part, _ in _parts(run) if part])
    )


def phrase_spans(text: str, phrase: str) -> list[tuple[int, int]]:
    """Where a text holds a phrase's words one after the other, as written (accents and case
    set aside), its first word capitalised where the phrase's is; in a text typed in one case,
    only a phrase in capitals (an acronym: "what does rt say"). An article the phrase opens
    with may be written otherwise ("the Military Show").

    >>> [bool(phrase_spans(t, p)) for t, p in (("What does RT say?", "RT"),
    ...     ("what does rt say", "RT"), ("What time is it?", "Time"),
    ...     ("Que dit le Courrier des Andes ?", "Le Courrier des Andes"),
    ...     ("Was the Military Show right?", "The Military Show"),
    ...     ("Do Public Health Reviews agree?", "Public Health Review"),
    ...     ("what does the fiscal watch say", "Fiscal Watch"))]
    [True, True, False, True, True, False, False]
    >>> phrase_spans("Is ZN.ua right?", "ZN.ua")
    [(3, 8)]
    """
    return phrases_in(text, [phrase])[phrase]


def phrases_in(text: str, phrases: Iterable[str]) -> dict[str, list[tuple[int, int]]]:
    """phrase_spans of each phrase, the text read once (a question against every outlet's
    name: outlets.named_sources)."""
    one_case = text == text.lower() or text == text.upper()
    located = [(_bare(p), cap, start, end) for p, cap, start, end in _located(text)]
    out: dict[str, list[tuple[int, int]]] = {}
    for phrase in phrases:
        want = [(_bare(p), c) for p, c in _parts(phrase)]
        while len(want) > 1 and not tokenize(want[0][0]):
            want = want[1:]
        out[phrase] = []
        if not want or (one_case and not all(p.isupper() for p, _ in _parts(phrase) if p)):
            continue
        n, words = len(want), [w for w, _ in want]
        for i in range(len(located) - n + 1):
            window = located[i : i + n]
            if [w for w, *_ in window] == words and (one_case or window[0][1] == want[0][1]):
                out[phrase].append((window[0][2], window[-1][3]))
    return out


# A capitalised word, with the parts after its hyphens ("Jong-un").
_CAPITALISED = regex.compile(
    r"(?<![\p{L}\p{M}\p{N}])\p{Lu}[\p{L}\p{M}\p{N}]*(?:-[\p{L}\p{M}\p{N}]+)*"
)


def _may_be_like(text: str, runs: Sequence[str]) -> bool:
    """A quick test names_like's texts pass where each word of a run is alike a capitalised
    word of theirs, as written or as stemmed: most texts are parsed no further (a question's
    300 candidates took 100-300 ms parsed whole)."""
    caps = {p for w in _CAPITALISED.findall(text) for p in w.split("-")}
    return any(
        all(
            any(
                _alike(_bare_word(want), _bare_word(c)) or _alike(_fold(want), _fold(c))
                for c in caps
            )
            for want, _ in parts
            if want
        )
        for run in runs
        if (parts := _parts(run))
    )


def proper(texts: Iterable[str], runs: Sequence[str]) -> list[str]:
    """The runs that are names: those none of the texts writes in lower case ("may" in "may
    lose" makes "May" a word; "water permit" makes "Water Permit" one). An address or a tag
    does not count ("higashino@tsukuba.ac.jp", "#zelensky"). Runs written in lower case come
    from a question whose case tells nothing (asking.asked_about_uncased): they are names
    where the texts write none of their words in lower case, and all of them, or none is (the
    question asks about nothing else).

    >>> proper(["They may lose.", "May 2023 saw"], ["May"]), proper(["Rose Choque"], ["Rose"])
    ([], ['Rose'])
    >>> proper(["Atsuko Higashino (higashino@tsukuba.ac.jp)"], ["Higashino"])
    ['Higashino']
    >>> texts = ["Carmen Ibarra signed. Russia wants lithium.", "Russia said"]
    >>> proper(texts, ["carmen ibarra"]), proper(texts, ["russia want"]), proper(texts, ["zorb"])
    (['carmen ibarra'], [], ['zorb'])

    A title the texts write in lower case before the rest of the name is no word of it:

    >>> proper(["le président Volodymyr Zelensky"], ["President Zelensky"])
    ['Zelensky']
    >>> proper(["Prices rose; Tomás Quispe spoke"], ["Rose Quispe"])
    ['Rose Quispe']
    """
    kept = [run for run in runs if _runs([run])]
    folded = _runs(kept)
    lower = [False] * len(folded)
    # The words of the runs written in lower case, and those of them the texts write so too.
    unsure = {w for run, f in zip(kept, folded, strict=True) if run == run.lower() for w in f}
    uncapitalised: set[str] = set()
    titled = [False] * len(folded)
    for text in texts:
        if not _may_hold(text, kept, every=False):
            continue
        words = _words(_ADDRESS.sub(" ", text))
        for i, run in enumerate(folded):
            lower[i] = lower[i] or _occurs(words, run, False)
            titled[i] = titled[i] or (len(run) > 1 and _titles(words, run))
        uncapitalised.update(w for w, cap in words if not cap and w in unsure)
    if uncapitalised:
        return []
    return [
        run.split(None, 1)[1] if title else run
        for run, is_lower, title in zip(kept, lower, titled, strict=True)
        if title or not is_lower
    ]


def _titles(words: list[Word], run: list[str]) -> bool:
    """Whether the text writes the run's first word in lower case right before a stretch of
    capitalised words that names the rest ("le président Volodymyr Zelensky" for "President
    Zelensky"): a title, not a word of the name."""
    for i, (w, cap) in enumerate(words[:-1]):
        if cap or w != run[0]:
            continue
        stretch = []
        for seen, seen_cap in words[i + 1 :]:
            if not seen_cap:
                break
            stretch.append(seen)
        if _within(stretch, run[1:], str.__eq__):
            return True
    return False


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


def mentions(text: str, runs: Sequence[str]) -> bool:
    """Whether a text names every one of the runs as written (names_all) or any in another
    spelling or script (names_like): "Kaneko" for "Канеко".

    >>> mentions("Daisaku Kaneko", ["Канеко"]), mentions("Kaneko's view", ["Kishida"])
    (True, False)
    """
    return names_all(text, runs) or names_like(text, runs)


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
