"""Language of each sentence, via lingua (accurate on short text, offline, Rust core).

Why lingua: it ships its models in the wheel (no download), handles sentence-length input far
better than n-gram detectors, and can be limited to the languages a deployment expects, which
removes most confusions (Nynorsk or Tswana for a short English line). Short or low-confidence
sentences ("Leave a Comment", "2024-05-06 21:21") take the language of their neighbours, so a
bilingual document splits into clean runs.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

from assistant.errors import ConfigError

UNDETERMINED = "und"
# Characters that each carry more than a letter does (about a word): kana, CJK ideographs
# (unified, extension A, compatibility) and Hangul syllables. The one definition read by
# letters (chunking), tokens (retrieval/bm25) and detection (below).
CJK_RANGES = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
CJK = re.compile(f"[{CJK_RANGES}]")

# The words that ask rather than name (lower case; "такая" and "это" as in "Кто такая …?",
# "Кто это …?"): a question of these and stopwords alone ("Et quand ?", "Why?", "那呢？")
# names nothing to search for, and leans on an earlier one (condense); one that opens a
# question tells which language it is asked in (asked_in).
QUESTION_WORDS = {
    "en": "who what when where why how which whom whose much many",
    "fr": "qui quoi quand où pourquoi comment combien quel quelle quels quelles lequel laquelle",
    "ru": "кто что когда где почему зачем как сколько какой какая какое какие чей откуда куда "
    "такой такая такое такие это",
    "zh": "谁 什么 何时 什么时候 哪里 哪儿 为什么 怎么 怎样 多少 几 哪",
    "de": "wer was wann wo warum wie wieviel wieviele welche welcher welches weshalb wozu",
    "es": "quién qué cuándo dónde porqué cómo cuánto cuántos cuánta cuántas cuál cuáles",
    "uk": "хто що коли де чому навіщо як скільки який яка яке які чий такий така таке такі це",
}

# Words and phrases that open a follow-up as a continuation of the previous question
# (condense); a name after one is not a title's capitalised word (names_among).
CONTINUATIONS = {
    "en": "and, also, what about, how about, then",
    "fr": "et, aussi, quid, et si, alors",
    "ru": "а, и, ещё, еще, тогда, а что",
    "zh": "那, 那么, 还有, 而, 另外",
    "de": "und, auch, was ist mit, wie steht es mit, und was, dann",
    "es": "¿y, también, qué hay de, entonces",
    "uk": "а, і, й, ще, тоді, а що",
}

# The question words that ask who someone is: a question typed without capitals that opens
# with one is read for names by its candidates' case (asking.asked_about_uncased).
WHO = {
    "en": "who whom whose",
    "fr": "qui",
    "ru": "кто",
    "de": "wer wen wem wessen",
    "es": "quién quiénes",
    "uk": "хто",
}

# Honorifics: a name asked with one is the name ("Who is Mr Kaneko?", "Wer ist Frau Wendt?"),
# whether its sources write one or not (asking.asked_about).
HONORIFICS = {
    "en": "mr mrs ms miss mx dr prof professor sir dame",
    "fr": "m mme mlle monsieur madame mademoiselle dr pr professeur",
    "de": "herr frau dr prof professor",
    "es": "sr sra srta señor señora señorita doña dr profesor",
    "ru": "господин госпожа г-н г-жа профессор",
    "uk": "пан пані професор",
}

# Articles: a run of capitalised words after one describes ("Who is the Mining Minister?",
# "Wer ist der Bürgermeister?"), it does not name (asking.asked_about). Russian, Ukrainian
# and Chinese have none.
ARTICLES = {
    "en": "the a an",
    "fr": "le la les l un une des du",
    "de": "der die das den dem des ein eine einen einem einer eines",
    "es": "el la los las lo un una unos unas",
}
# Every language's, as one set: a question's language is not known where they are read.
ARTICLE_WORDS = frozenset(w for ws in ARTICLES.values() for w in ws.split())

_MIN_LETTERS = 25
_MIN_CONFIDENCE = 0.6


def _openers(code: str) -> set[str]:
    """The words a question or a follow-up opens with, in one language: its question words
    and its continuations' first words ("what about" → "what", "¿y" → "y")."""
    continuing = (w.strip().split()[0].lstrip("¿") for w in CONTINUATIONS.get(code, "").split(","))
    return {*QUESTION_WORDS[code].split(), *(w for w in continuing if w)}


# The words that say a text is a question or a follow-up, not a title (names_among).
_OPENERS = {code: _openers(code) for code in QUESTION_WORDS}
_OPENING = frozenset(w for words in _OPENERS.values() for w in words)
# Such a word of one language alone → that language (asked_in: "wo" and "und" are German;
# "а" is Russian and Ukrainian, and tells neither).
_ASKED_IN = {
    word: langs.pop()
    for word in _OPENING
    if len(langs := {code for code, words in _OPENERS.items() if word in words}) == 1
}
# A word in Latin script (asked_in sets aside its capitalised ones, the names).
_LATIN_WORD = re.compile(r"[A-Za-zÀ-ÖØ-öø-ɏ][A-Za-zÀ-ÖØ-öø-ɏ'’-]*")


def _detector(codes: Sequence[str]):  # type: ignore[no-untyped-def]
    # One detector per set of languages, whatever their order (documents add theirs).
    return _built(tuple(sorted(set(codes))))


def _only(codes: Sequence[str]) -> str | None:
    """The one language of a one-language list (ASSISTANT_LANGUAGES=en: nothing to choose
    among, and lingua builds no detector of one language), checked as _built checks; None for
    a list of several."""
    if len(set(codes)) != 1:
        return None
    if language_code(codes[0]) != codes[0]:
        raise ConfigError(
            f"language {codes[0]!r} is not an ISO 639-1 code lingua knows (ASSISTANT_LANGUAGES)"
        )
    return codes[0]


@lru_cache(maxsize=8)
def _built(codes: tuple[str, ...]):  # type: ignore[no-untyped-def]
    langs = []
    for code in codes:
        try:
            langs.append(Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())))
        except (AttributeError, ValueError) as exc:
            raise ConfigError(
                f"language {code!r} is not an ISO 639-1 code lingua knows (ASSISTANT_LANGUAGES)"
            ) from exc
    if not langs:
        raise ConfigError("ASSISTANT_LANGUAGES names no language: give ISO 639-1 codes, e.g. en,fr")
    return LanguageDetectorBuilder.from_languages(*langs).build()


def _code(language: Language) -> str:
    return language.iso_code_639_1.name.lower()


def language_code(value: str) -> str | None:
    """The ISO 639-1 code a person meant by a language's code or English name, in any case, with
    a region or not ("en", "EN", "en-US", "English", "zh_Hans"), as lingua knows them; None for
    anything else. What a hand-written file says "English" in would otherwise be a language of
    its own beside "en".

    >>> [language_code(v) for v in ("en", "EN", "en-US", "English", "russian", "zh_Hans", "xx")]
    ['en', 'en', 'en', 'en', 'ru', 'zh', None]
    """
    name = value.strip()
    code = getattr(IsoCode639_1, name.replace("_", "-").split("-")[0].upper(), None)
    if isinstance(code, IsoCode639_1):
        return code.name.lower()
    language = getattr(Language, name.upper(), None)
    return _code(language) if isinstance(language, Language) else None


# A country's code written for its language ("ua" for Ukrainian): none of these is a language
# lingua knows, and each country has one language people mean by it.
COUNTRY_CODES = {
    "ua": "uk", "cn": "zh", "jp": "ja", "kr": "ko", "gr": "el", "cz": "cs", "dk": "da",
    "ee": "et", "il": "he", "vn": "vi", "rs": "sr", "by": "be", "kz": "kk", "ir": "fa",
    "al": "sq",
}  # fmt: skip


def country_hint(value: str) -> str:
    """The fix for a country's code given as a language's ('' for anything else).

    >>> country_hint("UA"), country_hint("uk"), country_hint("klingon")
    ("'UA' is a country's code: write 'uk' (Ukrainian)", '', '')
    >>> [c for c in COUNTRY_CODES if language_code(c)]  # none is a language lingua knows
    []
    """
    code = COUNTRY_CODES.get(value.strip().lower())
    if code is None:
        return ""
    language = Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper()))
    return f"{value!r} is a country's code: write {code!r} ({language.name.title()})"


def country_hints(values: Sequence[str]) -> str:
    """Each value's country_hint, each after "; ", to end an error that lists them ('' if none).

    >>> country_hints(["xx", "ua"])
    "; 'ua' is a country's code: write 'uk' (Ukrainian)"
    """
    return "".join(f"; {h}" for h in map(country_hint, values) if h)


def language_codes(values: Sequence[str]) -> tuple[str, ...]:
    """Each value's code (language_code), once, in order; what is no language stays as given,
    for whoever checks them to name it.

    >>> language_codes(["EN", "en-US", "fr", "klingon"])
    ('en', 'fr', 'klingon')
    """
    return tuple(dict.fromkeys(language_code(v) or v for v in values))


# A document's own language, when it is none of the configured ones, read from its first
# _DOCUMENT_SAMPLE characters (a Romanian body behind a long English preamble is not found).
# Every language lingua knows (75) in its low accuracy mode (trigram models only: about 3 ms a
# document, 40 MB, not the full models of 75 languages) names up to three candidates (on long
# text usually one: the others score 0); the full models of those and the configured languages
# choose among them, since trigrams alone take Hindi for Marathi. A candidate's full models,
# once loaded, stay, as every detector's do. Only on enough text and a sure verdict: on short
# texts 75 languages confuse (a 57-letter English debate perspective read as Catalan), and a
# wrong language added would split a document's sentences.
_DOCUMENT_SAMPLE = 3000
_DOCUMENT_MIN_LETTERS = 120
_DOCUMENT_CANDIDATES = 3
_DOCUMENT_MIN_CONFIDENCE = 0.9


@lru_cache(maxsize=1)
def _any_language_detector():  # type: ignore[no-untyped-def]
    return LanguageDetectorBuilder.from_all_languages().with_low_accuracy_mode().build()


def document_languages(text: str, codes: Sequence[str], declared: Sequence[str] = ()) -> list[str]:
    """The languages to detect a document's sentences among: `codes` (the configured ones), the
    languages its source declares, and the language the document itself is written in when it
    is none of those. Without it, under the default languages, a Romanian article's sentences
    were labelled Spanish, Portuguese, English and French, and a Hindi one's undetermined.

    >>> document_languages("Short text.", ["en", "ru"], ["Romanian"])
    ['en', 'ru', 'ro']
    """
    out = list(dict.fromkeys([*codes, *filter(None, map(language_code, declared))]))
    sample = text[:_DOCUMENT_SAMPLE]
    # Letters and the marks that are part of them (a Devanagari vowel sign is not a letter).
    if sum(unicodedata.category(ch)[0] in "LM" for ch in sample) < _DOCUMENT_MIN_LETTERS:
        return out
    values = _any_language_detector().compute_language_confidence_values(sample)
    new = [_code(v.language) for v in values[:_DOCUMENT_CANDIDATES] if v.value > 0]
    new = [c for c in new if c not in out]
    if not new:
        return out
    best = _detector([*out, *new]).compute_language_confidence_values(sample)
    if best and best[0].value >= _DOCUMENT_MIN_CONFIDENCE and _code(best[0].language) in new:
        out.append(_code(best[0].language))
    return out


def detect(text: str, codes: Sequence[str], prior: str | None = None) -> str:
    """The ISO 639-1 code of one text (a question, say), or 'und'.

    `prior`: the language the text is likely in (a follow-up's conversation's). A text too
    short to tell, whose best language is under _MIN_CONFIDENCE, is taken to be in it where
    that language comes at least half as close: "Et quand ?" reads Portuguese 0.28, Italian
    0.26, French 0.23, and after a French question it is French; "And when?" after one is
    still English (0.52, French not among its candidates)."""
    if only := _only(codes):
        return only
    detector = _detector(tuple(codes))
    if prior is not None:
        confidences = detector.compute_language_confidence_values(text)
        if confidences and confidences[0].value < _MIN_CONFIDENCE:
            half = confidences[0].value / 2
            if any(_code(c.language) == prior and c.value >= half for c in confidences):
                return prior
    lang = detector.detect_language_of(text)
    return _code(lang) if lang else UNDETERMINED


# English contracts "is" onto a question word ("Who's Carmen Ibarra?"): the word is then not
# one of the question words, and the name after it read as a title's ("Who's" opens no
# question names_among knows).
_CONTRACTED = re.compile(r"\b(who|what|where|when|how|why)['’]s\b|\b(who)s\b", re.I)


def uncontracted(text: str) -> str:
    """The text with a question word's contracted "is" written out, in its case.

    >>> uncontracted("Who's Carmen Ibarra?"), uncontracted("What’s Uralredmet?")
    ('Who is Carmen Ibarra?', 'What is Uralredmet?')
    >>> uncontracted("WHO'S DAISAKU KANEKO?"), uncontracted("whos kaneko")
    ('WHO IS DAISAKU KANEKO?', 'who is kaneko')
    >>> uncontracted("Whose aid is it? Russia's")
    "Whose aid is it? Russia's"

    Capitalised inside the text, it is a name's ("the gender of Doctor Who's companion"):

    >>> uncontracted("What is the gender of Doctor Who's companion?")
    "What is the gender of Doctor Who's companion?"
    """

    def written(m: re.Match[str]) -> str:
        word = m.group(1) or m.group(2)
        opening = not re.search(r"\w", text[: m.start()])
        if word[:1].isupper() and not word.isupper() and not opening:
            return m.group()
        return f"{word} {'IS' if word.isupper() else 'is'}"

    return _CONTRACTED.sub(written, text)


def opens_question(text: str) -> bool:
    """Whether a text opens as a question or a follow-up does, with a question word or a
    continuation ("Who is Kaneko", "and the jobs"), asked with its mark or without.

    >>> opens_question("Who is Kaneko"), opens_question("¿Y Ibarra?"), opens_question("Kaneko")
    (True, True, False)
    """
    return _first_word(text) in _OPENING


def names_among(words: Sequence[Any]) -> list[Any]:
    """Of a text's words (re or regex matches, in order), those past the first that are
    capitalised: a question's names. None where they are the more, in a text that does not
    open with a question word or a follow-up's continuation: a title in capitals ("A Doping
    Cheat's Entire Team Should…") names no one, where "Who is Kim Jong Un?" and "And Jürgen
    Albrecht?" do.

    >>> [m.group() for m in names_among(list(re.finditer(r"\\w+", "Who is Daisaku Kaneko")))]
    ['Daisaku', 'Kaneko']
    >>> names_among(list(re.finditer(r"\\w+", "A Doping Cheat Wins")))
    []
    >>> len(names_among(list(re.finditer(r"\\w+", "Who is Kim Jong Un"))))
    3
    """
    capitalised = [m for m in words[1:] if m.group()[:1].isupper()]
    if words and words[0].group().lower() in _OPENING:
        return capitalised  # a question, not a title: "Who is Kim Jong Un?", "And Jürgen …?"
    return capitalised if len(capitalised) <= len(words) - len(capitalised) else []


def asked_in(text: str, lang: str, codes: Sequence[str], asked: Sequence[str] = ()) -> str:
    """The language a question is asked in, given `lang`, detect()'s: that one, unless it came
    from its names. A question's capitalised Latin-script words past the first (names: "Carmen Ibarra",
    "Jürgen Albrecht") tell nothing of the language it is asked in and can outweigh its own
    words ("Who is Carmen Ibarra?" reads as Spanish, "Who is Daisaku Kaneko?" as Polish); read
    without them, where the whole text's language is not even half as close as the best
    (the rule detect() keeps a prior by), the question is in that best language. Where its
    own words still read as it, the whole text's stands: "¿Qué dice el Gobierno?" stays
    Spanish, though "¿Qué dice el ?" reads a little more French. Where the language its own
    words read first is also the one whose opening word (a question word or a continuation
    of one language alone) it is, it is that one ("Qui est Tomás Quispe ?": "Qui est ?"
    reads French 0.24 and Spanish 0.18, and opens with French "qui"); so it is where that
    word is the question's one word of its own ("¿Y Jürgen Albrecht?": "¿Y ?" reads Polish).
    Lingua reads a few words loosely ("Was in ?" English 0.30 and German 0.23; "¿Qué es ?"
    French 0.57), so an opening word decides nothing more. Cyrillic and other scripts'
    capitals are left in ("Що каже Уряд?": read without "Уряд", Russian), and so is a title
    whose capitalised words are the more, but for the names a question asks about (`asked`:
    asking.asked_about, or typed in one case: asking.asked_about_uncased), set aside in any script
    and case ("Кто такой Богдан Безпалько?" reads as Ukrainian, "Кто такой ?" as Russian;
    "who is daisaku kaneko?" as Polish).

    >>> from assistant.config import DEFAULT_LANGUAGES as L
    >>> [asked_in(q, detect(q, L), L) for q in ("Who is Carmen Ibarra?", "Who is Daisaku Kaneko?",
    ...     "¿Qué dice el Gobierno?", "Що каже Уряд?", "Cosa pensa la Commissione Europea?",
    ...     "A Doping Cheat's Entire Olympic Team Should Be Stripped Of Their Medals",
    ...     "Qui est Tomás Quispe ?", "Was Kaneko wounded?", "Was Kishida in Kyiv?",
    ...     "And Jürgen Albrecht?", "¿Y Jürgen Albrecht?")]
    ['en', 'en', 'es', 'uk', 'it', 'en', 'fr', 'en', 'en', 'en', 'es']
    >>> q = "Кто такой Богдан Безпалько?"
    >>> detect(q, L), asked_in(q, detect(q, L), L, ["Богдан Безпалько"])
    ('uk', 'ru')
    """
    spans = [(m.start(), m.end()) for m in names_among(list(_LATIN_WORD.finditer(text)))]
    for name in asked:
        # As a whole word or words: "Ito" is no part of "Itochu".
        found = re.finditer(rf"(?<!\w){re.escape(name)}(?!\w)", text, re.I)
        spans += [(m.start(), m.end()) for m in found]
    if _only(codes) or lang == UNDETERMINED or not spans:
        return lang  # detected no other way, or nothing set aside: a second reading is moot
    bare, cut = "", 0
    for start, end in sorted(spans):  # overlapping spans (a name found both ways) cut once
        bare += text[cut:start] if start > cut else ""
        cut = max(cut, end)
    bare += text[cut:]
    confidences = _detector(tuple(codes)).compute_language_confidence_values(bare)
    if not confidences:
        return lang
    best, opener = _code(confidences[0].language), _ASKED_IN.get(_first_word(bare), "")
    if opener in codes and (opener == best or len(re.findall(r"\w+", bare)) == 1):
        # Its own words read it first, and it opens with that language's "who"; or its one
        # word of its own is that language's ("¿Y Jürgen Albrecht?": "¿Y ?" reads Polish).
        return opener
    own = next((c.value for c in confidences if _code(c.language) == lang), 0.0)
    return best if own < confidences[0].value / 2 else lang


def _first_word(text: str) -> str:
    """A text's first word, lower case, past any opening mark ("¿Qué …" → "qué")."""
    words = re.findall(r"\w+", text.lower())
    return words[0] if words else ""


# Sentences detected between two checks: large enough to keep lingua's threads busy.
_BLOCK = 1024


def sentence_languages(
    sentences: Sequence[str], codes: Sequence[str], check: Callable[[], None] | None = None
) -> list[str]:
    """One language code per sentence, with short or unsure sentences smoothed.

    Args:
        sentences: the sentences of one document, in order.
        codes: ISO 639-1 codes to choose among.
        check: called between blocks of sentences; it may raise to abandon the work (a
            cancelled job: a long document's detection takes minutes).
    """
    if only := _only(codes):
        return [only] * len(sentences)
    detector = _detector(tuple(codes))
    confidences = []
    for start in range(0, len(sentences), _BLOCK):
        if check is not None:
            check()
        block = list(sentences[start : start + _BLOCK])
        confidences.extend(detector.compute_language_confidence_values_in_parallel(block))
    raw: list[str | None] = []
    for sent, conf in zip(sentences, confidences, strict=True):
        letters = sum(ch.isalpha() for ch in sent)
        cjk = len(CJK.findall(sent))
        # CJK characters carry more signal each, so fewer of them suffice.
        enough = letters >= _MIN_LETTERS or cjk >= 6
        if conf and enough and conf[0].value >= _MIN_CONFIDENCE:
            raw.append(_code(conf[0].language))
        else:
            raw.append(None)
    # Fill unsure sentences from the previous sure one, or the next one at the start.
    out: list[str] = []
    last: str | None = next((x for x in raw if x), None)
    for x in raw:
        if x:
            last = x
        out.append(x or last or UNDETERMINED)
    return out
