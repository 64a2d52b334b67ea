"""Whom a follow-up's "he" or "she" points at: the one person its conversation asked about.

"What did she say about water?" after "Who is Carmen Ibarra?" stands on its own by its words
(condense.elliptical: two content words, and a personal pronoun is not a back reference, or
"What did he discover?" would lean on nothing), so it was searched as it is and answered with
a hunger striker's words. Where the pronoun has no name, and no noun after an article, before
it in its own question ("Le projet est-il rentable ?", "¿… el proyecto y cuál es su
impacto?"), and the latest earlier question naming anyone asked who one person is, condense
writes the name beside it: "What did she (Carmen Ibarra) say about water?". No offline
library resolves anaphora in these languages, and gender tells no name from another in a
closed list, so after a question naming anything else ("What does Bolivia think?", "How
much water will Ostwerk use?", "Japan" and "Ukraine"), nothing is written.
"""

from __future__ import annotations

import regex

from assistant.ingest.language import ARTICLES

# Third-person singular personal and possessive pronouns, per language (lower case). German
# "sie" and "ihr" are also "they" and "you": after a question about one person, "Was hat sie
# gesagt?" asks about her. Chinese 他 and 她 stand alone (其他 is "other", 他们 "they").
PERSONAL = {
    "en": "he him his himself she her hers herself",
    "fr": "il elle lui son sa ses",
    "ru": "он она его ему него нему им ним нём её ей неё ней ею нею ее нее",
    "uk": "він вона його йому нього ним нім її їй неї нею",
    "de": "er ihn ihm sein seine seiner seinem seinen seines sie ihr ihre ihrer ihrem ihren",
    "es": "él ella su sus",
}
WORDS = frozenset(w for ws in PERSONAL.values() for w in ws.split())
_ARTICLES = frozenset(w for ws in ARTICLES.values() for w in ws.split())
# German capitalises "you" ("Können Sie mir sagen, was er sagte?"): there "Sie" is no "she".
_POLITE = frozenset("sie ihr ihre ihrer ihrem ihren".split())
# French "il" of an impersonal phrase points at no one ("Combien d'emplois y a-t-il ?", "Il
# est possible que le projet soit annulé ?").
_IMPERSONAL = regex.compile(
    r"\b(?:il\s+y\s+a|y\s+a-t-il|il\s+faut|faut-il|il\s+s['’]agit|s['’]agit-il"
    r"|il\s+(?:semble|paraît|reste|est\s+\w+\s+(?:que|qu['’]|de|d['’])))",
    regex.I,
)
# A pronoun as a word of its own: a hyphen or an apostrophe bounds it ("Qu'a-t-elle dit ?").
_PRONOUN = regex.compile(
    r"(?<![\p{L}\p{M}])(?:"
    + "|".join(sorted(WORDS, key=len, reverse=True))
    + r")(?![\p{L}\p{M}])|(?<!其)[他她](?!们)",
    regex.I,
)


def pronoun(text: str) -> regex.Match[str] | None:
    """The text's first personal pronoun for one person, if any.

    >>> [m.group() if (m := pronoun(q)) else None for q in ("What did she say about water?",
    ...     "Qu'a-t-elle dit sur l'eau ?", "Combien d'emplois y a-t-il ?", "他为什么去乌克兰？",
    ...     "其他国家呢？", "What does it cost?", "Was hat sie gesagt?",
    ...     "Können Sie mir sagen, was er sagte?", "Il est possible que le projet échoue ?")]
    ['she', 'elle', None, '他', None, None, 'sie', 'er', None]
    """
    impersonal = [m.span() for m in _IMPERSONAL.finditer(text)]
    for m in _PRONOUN.finditer(text):
        polite = m.start() > 0 and m.group()[:1].isupper() and m.group().lower() in _POLITE
        if not polite and not any(a <= m.start() < b for a, b in impersonal):
            return m
    return None


def with_referent(text: str, name: str) -> str:
    """The text with `name` written after its first personal pronoun: where a name or an
    article stands before that pronoun, or there is none, or the name is in another script
    (a Latin name in a Chinese question drew English lines in place of the Chinese that
    answer), the text as it is.

    >>> with_referent("What did she say about water?", "Carmen Ibarra")
    'What did she (Carmen Ibarra) say about water?'
    >>> with_referent("Who is Daisaku Kaneko and why does he fight?", "Carmen Ibarra")
    'Who is Daisaku Kaneko and why does he fight?'
    >>> with_referent("Le projet est-il rentable ?", "Jürgen Albrecht")
    'Le projet est-il rentable ?'
    >>> with_referent("Où a-t-il été blessé ?", "Daisaku Kaneko")
    'Où a-t-il (Daisaku Kaneko) été blessé ?'
    >>> with_referent("Et le projet, quand sera-t-il terminé ?", "Jürgen Albrecht")
    'Et le projet, quand sera-t-il terminé ?'
    >>> with_referent("他在国会说了什么？", "Fumio Kishida"), with_referent("他在国会说了什么？", "岸田文雄")
    ('他在国会说了什么？', '他 (岸田文雄)在国会说了什么？')
    """
    m = pronoun(text)
    if m is None or _named_before(text[: m.start()]) or _script(m.group()) != _script(name):
        return text
    return f"{text[: m.end()]} ({name}){text[m.end() :]}"


def _script(text: str) -> str:
    """The script of a text's first letter, of those the pronouns are written in."""
    for script in ("Latin", "Cyrillic", "Han"):
        if regex.match(rf"\P{{L}}*\p{{{script}}}", text):
            return script
    return ""


def _named_before(text: str) -> bool:
    """Whether a capitalised word past the text's first, or an article, stands in it: the
    pronoun's own antecedent ("Jürgen Albrecht", "the company", "le projet"), in its own
    question."""
    words = regex.findall(r"[\p{L}\p{M}]+", text)
    # An article before a word ("the company"), not a verb of the same letters ("Où a-t-il").
    nouns = regex.findall(r"(?<![\p{L}\p{M}'’-])([\p{L}\p{M}]+)(?=\s+\p{L})", text)
    return any(w[:1].isupper() for w in words[1:]) or any(w.lower() in _ARTICLES for w in nouns)
