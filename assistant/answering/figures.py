"""Quantities in text, read as amount, unit and scale, so that figures compare across languages.

"$12bn", "12 billion dollars", "12 milliards de dollars", "120 亿美元" and "12 млрд долларов" are
all 12e9 USD; "€2.3 млрд" is 2.3e9 EUR; "19 states" is the count 19, which no "$19 billion" can
support. Four uses:
- `find_figures`: the money amounts of quotes, for side summaries and for saying that sources
  give different figures (citations.disagreements);
- `find_shares`: their percentages, compared the same way where a question asks for a share;
- `find_counts`: their numbers of a thing ("9,500 parking spaces"), compared the same way, each
  thing's with its own, where a question asks how many;
- `quantities_missing`: whether a sentence of an LLM's answer states a quantity that none of its
  cited passages states (the same amount in the same unit), the way small models borrow a
  figure from an unrelated sentence.

Why a table of patterns and not a library: price-parser reads one price and its currency from a
short string but not scale words ("bn", "milliards", 亿); quantulum3 and text2num read English
(text2num also French) only, and none reads 亿/万 or "млрд". The table is small, and tested on
every language we serve, and the scale words of Spanish, Portuguese, Italian and German, in
which evidence is often written (tests/test_answer_text.py, the figure table).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Sequence, Set
from dataclasses import dataclass

from assistant.ingest.language import CJK
from assistant.retrieval.bm25 import stem, tokenize

# Scale words. Latin ones as written (a plural "s" allowed), Cyrillic ones with any ending
# ("миллиардов", "тысячи"), CJK ones exact; longest first so that "万亿" wins over "万".
_SCALES = {
    "trillion": 1e12, "billion": 1e9, "bn": 1e9, "million": 1e6, "mln": 1e6,
    "thousand": 1e3, "milliard": 1e9, "mille": 1e3,
    # Evidence comes in any language: Spanish and Portuguese (a Spanish "billón" is 10^12, a
    # Brazilian "bilhão" 10^9), Italian, German. Words spelt alike in two languages keep the
    # English reading: a German "Billion" (10^12) reads as 10^9, and "mil" alone (Spanish for
    # a thousand, English slang for a million or a thousandth of an inch) is not read.
    "mil millones": 1e9, "millones": 1e6, "millón": 1e6, "billones": 1e12, "billón": 1e12,
    "mil milhões": 1e9, "milhões": 1e6, "milhão": 1e6, "bilhões": 1e9, "bilhão": 1e9,
    "miliardi": 1e9, "miliardo": 1e9, "milioni": 1e6, "milione": 1e6,
    "milliarden": 1e9, "milliarde": 1e9, "mrd.": 1e9, "mrd": 1e9, "millionen": 1e6,
    "mio.": 1e6, "mio": 1e6, "billionen": 1e12,
    "трлн": 1e12, "триллион": 1e12, "млрд": 1e9, "миллиард": 1e9, "млн": 1e6,
    "миллион": 1e6, "тыс": 1e3, "тысяч": 1e3,
    "мільярд": 1e9, "мільйон": 1e6, "тис": 1e3,
    "万亿": 1e12, "亿": 1e8, "万": 1e4, "千": 1e3,
}  # fmt: skip
# Currency signs and ISO codes (before or after the number) and words (after it) → ISO code.
# "¥" alone is ambiguous (yen or yuan) and so not read.
_SIGNS = {
    "us$": "USD", "$": "USD", "usd": "USD", "€": "EUR", "eur": "EUR", "£": "GBP",
    "gbp": "GBP", "jpy": "JPY", "rub": "RUB", "₽": "RUB", "cny": "CNY", "rmb": "CNY",
    "uah": "UAH", "₴": "UAH",
}  # fmt: skip
_WORDS = {
    "dollar": "USD", "美元": "USD", "долл": "USD", "euro": "EUR", "欧元": "EUR", "евро": "EUR",
    "pound": "GBP", "yen": "JPY", "円": "JPY", "日元": "JPY", "иен": "JPY", "rouble": "RUB",
    "ruble": "RUB", "卢布": "RUB", "рубл": "RUB", "руб": "RUB", "yuan": "CNY", "人民币": "CNY",
    "юан": "CNY", "hryvnia": "UAH", "гривн": "UAH", "гривен": "UAH", "гривень": "UAH",
    "долар": "USD", "євро": "EUR",
    "dólares": "USD", "dólar": "USD", "dollari": "USD",
}  # fmt: skip
_PERCENT = (
    "%", "％", "percent", "per cent", "pour cent", "pourcent", "процент", "відсот", "prozent",
    "por ciento", "por cento", "per cento",
)  # fmt: skip
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}
# Russian and Ukrainian letters (і, ї, є, ґ: "відсотків", "мільярдів").
_CYRILLIC = re.compile(r"[а-яёіїєґ]", re.I)
_LATIN = re.compile(r"[a-z]", re.I)


def _words(words: Sequence[str], plural: bool = True) -> str:
    """An alternation in which a Latin word may take a plural "s" (a code may not), a Cyrillic
    one any ending, and nothing else continues a word ("rubbish" is not "rub", "gbps" not
    "gbp", "eurozone" not "euro")."""
    out = []
    for w in sorted(words, key=len, reverse=True):
        if _CYRILLIC.search(w):
            out.append(re.escape(w) + r"[а-яёіїєґ]*\.?")
        elif _LATIN.search(w):
            # Words of a multi-word entry ("mil millones") apart by any space, a line break too.
            word = r"\s+".join(re.escape(part) for part in w.split())
            out.append(word + (r"s?" if plural else "") + r"(?![a-z])")
        else:
            out.append(re.escape(w))
    return "|".join(out)


# 1,234,567.8 / 1 234 567 (groups of three after one to three digits) / 7.6 / 2,3 / 2024
_NUMBER = (
    r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d{1,3}(?:\.\d{3})+(?:,\d+)?"
    r"|\d{1,3}(?:[\u00a0\u202f ]\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?"
)
_PRE = _words(list(_SIGNS), plural=False)
_POST = _words(list(_SIGNS), plural=False) + "|" + _words(list(_WORDS))
# [sign or code] number [scale] [of] [US] [currency or percent]
_QUANTITY = re.compile(
    rf"(?<![a-z])(?P<pre>{_PRE})?\s?(?<![\d.,])(?P<num>{_NUMBER})(?![\d])\s*"
    rf"(?P<scale>{_words(list(_SCALES))})?"
    rf"(?:\s*(?:de\s+|di\s+|d['’]\s*|of\s+)?(?:U\.?S\.?\s*)?(?P<post>{_POST}|{_words(_PERCENT)}))?",
    re.IGNORECASE,
)


# Words that bound or round the figure after them ("less than €1 billion", "около 12 млрд"):
# the figure alone would say more than its source does. Latin and Cyrillic entries are whole
# words before the number (a negated bound with its negation: "no more than" is not "more
# than"); CJK ones touch it. Not "over": "handed over $5 billion" is aid given, not a bound.
QUALIFIERS = (
    "less than", "more than", "fewer than", "no more than", "not more than", "no less than",
    "not less than", "no fewer than", "under", "below", "above", "about", "around", "nearly",
    "almost", "up to", "at least", "at most", "roughly", "approximately",
    "moins de", "plus de", "pas plus de", "pas moins de", "environ", "près de", "presque",
    "jusqu'à", "jusqu’à", "au moins",
    "weniger als", "mehr als", "nicht mehr als", "nicht weniger als", "über", "unter", "etwa",
    "rund", "fast", "knapp", "bis zu", "mindestens", "ungefähr",
    "menos de", "más de", "no más de", "no menos de", "cerca de", "casi", "alrededor de",
    "hasta", "al menos",
    "менее", "меньше", "более", "больше", "свыше", "около", "почти", "примерно", "до",
    "не менее", "не более", "порядка", "понад", "близько", "майже", "приблизно", "щонайменше",
    "不到", "超过", "逾", "约", "近", "大约", "将近", "至少", "多达", "高达",
)  # fmt: skip
_WORDY = sorted((q for q in QUALIFIERS if not CJK.search(q)), key=len, reverse=True)
_QUALIFIED = re.compile(
    r"(?:(?:^|(?<=[\s(«“\"'’]))(?P<q>"
    + "|".join(r"\s+".join(map(re.escape, q.split())) for q in _WORDY)
    + r")|(?P<cjk>"
    + "|".join(
        map(re.escape, sorted((q for q in QUALIFIERS if CJK.search(q)), key=len, reverse=True))
    )
    + r"))\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Quantity:
    """A quantity as written and as read: amount (scale applied) and unit.

    unit: an ISO currency code, "%", or "" for a count or a bare number.
    qualifier: the words bounding or rounding it and the space after them, verbatim ("less
    than "), or ""."""

    text: str
    amount: float
    unit: str
    qualifier: str = ""

    @property
    def written(self) -> str:
        """The figure as its source writes it, qualifier and all ("less than €1 billion")."""
        return self.qualifier + self.text

    @property
    def money(self) -> bool:
        return self.unit not in ("", "%")

    def same(self, other: Quantity) -> bool:
        """The same amount in the same unit (a count matches a count only)."""
        if self.unit != other.unit:
            return False
        return abs(self.amount - other.amount) <= 1e-6 * max(abs(self.amount), 1.0)

    def display(self) -> str:
        """'$7.6 billion', '€2.3 billion', 'JPY 500 billion', '19', '5%'."""
        if self.unit == "%":
            return f"{self.amount:g}%"
        for scale, word in ((1e12, "trillion"), (1e9, "billion"), (1e6, "million")):
            if abs(self.amount) >= scale:
                number = f"{round(self.amount / scale, 6):g} {word}"
                break
        else:
            number = f"{self.amount:g}"
        if not self.money:
            return number
        symbol = _SYMBOLS.get(self.unit)
        return f"{symbol}{number}" if symbol else f"{self.unit} {number}"

    # The name the answer's JSON has always used for a money figure's value.
    @property
    def usd(self) -> float:
        return self.amount if self.unit == "USD" else float("nan")


Figure = Quantity


def _value(raw: str) -> float:
    """'7.6' → 7.6; '4,000,000', '4.000.000' and '4 000 000' → 4e6; '2,3' (decimal comma) → 2.3."""
    raw = re.sub(r"[\u00a0\u202f ]", "", raw)
    groups = re.split(r"[.,]", raw)
    if len(groups) == 1:
        return float(raw)
    if len(groups) == 2 and len(groups[1]) != 3:
        return float(f"{groups[0]}.{groups[1]}")
    if all(len(g) == 3 for g in groups[1:]):
        return float("".join(groups))
    return float("".join(groups[:-1]) + "." + groups[-1])


_UNITS = {**_SIGNS, **_WORDS}
# Longest first, so that a word with an ending ("миллиардов", "долларов") finds its stem.
_UNITS_BY_LENGTH = sorted(_UNITS.items(), key=lambda x: -len(x[0]))
_SCALES_BY_LENGTH = sorted(_SCALES.items(), key=lambda x: -len(x[0]))


def _code(word: str | None) -> str | None:
    if not word:
        return None
    w = word.lower().rstrip(".")
    return _UNITS.get(w) or next((c for k, c in _UNITS_BY_LENGTH if w.startswith(k)), None)


def find_quantities(text: str) -> list[Quantity]:
    """Every number in a text, read with its scale and unit, in order.

    >>> [q.display() for q in find_quantities("$12bn to 19 states, 120 亿美元, €2,3 млрд, 5 %")]
    ['$12 billion', '19', '$12 billion', '€2.3 billion', '5%']

    A word that bounds or rounds a figure is kept beside it:

    >>> [q.written for q in find_quantities("less than €1 billion, около 12 млрд долларов, "
    ...     "援助超过120亿美元, Kunden 5 Mio. Euro, d’environ 12 milliards, no more than $5bn, "
    ...     "jusqu’à 3 milliards, 12 мільярдів доларів")]  # doctest: +NORMALIZE_WHITESPACE
    ['less than €1 billion', 'около 12 млрд долларов', '超过120亿美元', '5 Mio. Euro',
     'environ 12 milliards', 'no more than $5bn', 'jusqu’à 3 milliards', '12 мільярдів доларів']
    >>> [(q.display(), q.qualifier) for q in find_quantities("less than\\n€1 billion; 12 мільярдів доларів")]
    [('€1 billion', 'less than\\n'), ('$12 billion', '')]
    """
    return [q for q, _ in _spans(text)]


def _spans(text: str) -> Iterator[tuple[Quantity, int]]:
    """find_quantities, each with where its figure ends in the text."""
    for m in _QUANTITY.finditer(text):
        try:
            amount = _value(m.group("num"))
        except ValueError:
            continue
        scale = m.group("scale")
        if scale:
            key = " ".join(scale.split()).lower()
            key = key if key in _SCALES else key.rstrip(".")
            amount *= _SCALES.get(key) or next(v for k, v in _SCALES_BY_LENGTH if key.startswith(k))
        post = m.group("post") or ""
        if any(post.lower().startswith(p) for p in _PERCENT):
            unit = "%"
        else:
            unit = _code(m.group("pre")) or _code(post) or ""
        figure = m.group(0).strip()
        at = m.start() + m.group(0).index(figure)
        q = _QUALIFIED.search(text, max(0, at - 32), at)
        yield Quantity(figure, amount, unit, text[q.start() : at] if q else ""), at + len(figure)


# What a count counts: the word or two after its number ("9,500 parking spaces", "50 тысяч
# военных", "2 millions de manifestants"), or the CJK characters after it, past "多" and a
# measure word ("1200多名抗议者").
_GAP = r"[ \t\u00a0\u202f]"  # within a line: a count and its thing are not a line apart
_THING = re.compile(
    rf"{_GAP}*(?:(?:de|of|di){_GAP}+|d['’]{_GAP}*)?"
    rf"(?P<first>[^\W\d_]{{3,}})(?:{_GAP}(?P<second>[^\W\d_]{{3,}}))?"
)
_CJK_THING = re.compile(
    r"[ \t]*[多余]?(?P<measure>[名个位架辆艘枚门座家所条头只件台批]?)(?P<first>[\u4e00-\u9fff]{1,3})"
)
# Characters that end a CJK thing ("5万名士兵在…": "士兵"): particles, prepositions, verbs' aspect.
_CJK_AFTER_THING = re.compile(r"[在被的了和与是于从到将已共并及等]")
# Words after a number that make it no count of a thing: a date, a time, a span ("24 February",
# "3 years", "10 Uhr"), a reading ("7.8 magnitude", "40 degrees"), a word that joins or a verb
# ("2 of them", "under 18 were"), whose source ("50 000 selon les syndicats"). Whole words, any
# case; Cyrillic ones with any ending ("года", "марта", "тижнів").
_NOT_THING = re.compile(
    r"(?:years?|months?|weeks?|days?|hours?|minutes?|seconds?|times?|am|pm|"
    r"january|february|march|april|may|june|july|august|september|october|november|december|"
    r"jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec|"
    r"ans?|années?|mois|semaines?|jours?|heures?|fois|janvier|février|mars|avril|mai|juin|"
    r"juillet|août|septembre|octobre|novembre|décembre|"
    r"jahre?n?|monate?n?|wochen?|tage?n?|stunden?|mal|uhr|januar|februar|märz|juni|juli|"
    r"oktober|dezember|años?|mes(?:es)?|semanas?|días?|horas?|vez|veces|enero|febrero|marzo|"
    r"abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre|ann[io]|giorni|"
    r"giorno|mesi|settimane|ore|volte|magnitude|degrees?|degrés?|grad|"
    r"(?:год|лет|месяц|недел|дн|день|час|минут|январ|феврал|март|апрел|мая|май|июн|июл|"
    r"август|сентябр|октябр|ноябр|декабр|рок|рік|міся|тижн|годин|січн|лют|берез|квітн|травн|"
    r"червн|липн|серпн|вересн|жовтн|листопад|грудн|градус)[а-яёіїєґ]*|раз|разы?|"
    r"and|the|per|out|for|with|than|who|which|that|them|these|those|were|was|are|have|had|has|"
    r"said|says|according|les|des|pour|sur|par|dont|qui|eux|ont|sont|selon|und|der|die|das|"
    r"von|mit|sind|waren|wurden|laut|los|las|del|con|por|para|que|según|secondo|"
    r"из|для|при|что|как|или|были|было|был|них|по)",
    re.IGNORECASE,
)
# A word between a number and its thing that the thing is read past ("12 more tanks").
_PAST = re.compile(
    r"(?:more|new|other|additional|further|extra|plus|autres|nouveaux|nouvelles|"
    r"supplémentaires|weitere|neue|más|nuevos|nuevas|otros|ещё|еще|новых|других)",
    re.IGNORECASE,
)
_NOT_CJK_THING = ("年", "月", "日", "天", "时", "小时", "点", "号", "岁", "次", "分", "周", "度")
# A number that is part of a name, a model or a range: after a letter, a hyphen, a slash, "№",
# "#", "第" ("T-72", "F-16", "COVID-19", "第3旅"); before a hyphen ("3-5"); either end of
# "2,000 and 3,000", "2 000 à 3 000", "от 2 до 3".
_JOINED_BEFORE = re.compile(r"(?:[A-Za-zÀ-ɏА-яЁёІіЇїЄєҐґ]|[-‐‑–/#№第])$")
_JOINER = r"(?:to|and|or|à|et|ou|bis|und|oder|a|y|o|e|до|и|или)"
_RANGE_BEFORE = re.compile(rf"\d[\s\u00a0]*(?:-|–|{_JOINER})[\s\u00a0]*$", re.I)
_RANGE_AFTER = re.compile(rf"[\s\u00a0]*(?:[-‐‑–]|{_JOINER}[\s\u00a0]+)[\s\u00a0]*\d", re.I)
# A capitalised word right before a number of lower-case things names it ("Leopard 2 tanks",
# "Patriot 3 systems"), unless it opens the sentence or bounds the number ("Some 300
# soldiers"); not before a capitalised thing, as German writes every noun ("am Samstag 85
# Demonstranten").
_WORD_BEFORE = re.compile(r"(?P<word>[^\W\d_]+)[ \u00a0]$")
_LOWER_AFTER = re.compile(r"[ \t\u00a0\u202f]*[a-zà-ÿа-яёіїєґ]")
_BOUNDING = {q.split()[-1].casefold() for q in QUALIFIERS} | {"some", "only", "just", "all"}


def _named(text: str, start: int, end: int) -> bool:
    """Whether the number at `start` belongs to the capitalised name before it (see above)."""
    m = _WORD_BEFORE.search(text, max(0, start - 40), start)
    if not m or not m["word"][0].isupper() or m["word"].casefold() in _BOUNDING:
        return False
    before = text[: m.start()].rstrip()
    return (
        bool(before)
        and before[-1] not in '.!?:;\n"“«('
        and _LOWER_AFTER.match(text, end) is not None
    )


@dataclass(frozen=True)
class Count:
    """A number of things as written with them ("9 500 places", "50 тысяч военных").

    keys: what it may count, one key per word of its thing, each the word's stem (PyStemmer,
    as BM25 reads words, so "танка" and "танков" are one) cut to five letters; for a CJK
    thing, its first character, then that character after its measure word ("士", "名士").
    longer: the count with the second word of its thing too, where it has one."""

    quantity: Quantity
    written: str
    keys: tuple[str, ...]
    longer: str = ""


def find_counts(text: str) -> list[Count]:
    """The numbers of things in a text, each with what it may count; not money, percentages,
    years, dates, spans of time, fractions, names and models, ranges, or one thing alone.

    >>> [c.longer or c.written for c in find_counts("In 2022 the city removed 4,000 parking spaces of "
    ...     "9 500 places, 1200 Demonstranten, 50 тысяч военных, 5万名士兵在前线, 2 millions de "
    ...     "manifestants, 12 more tanks; on 24 February, for 3 years, $5 billion, 40 %, 40 T-72 "
    ...     "tanks, 14 Leopard 2 tanks, 3-5 tanks, between 2,000 and 3,000 people, 3.5 soldiers, "
    ...     "Resolution 2334 says, 300 deaths. Some 300 soldiers died")]  # doctest: +NORMALIZE_WHITESPACE
    ['4,000 parking spaces', '9 500 places', '1200 Demonstranten', '50 тысяч военных', '5万名士兵',
     '2 millions de manifestants', '12 more tanks', '14 Leopard', '300 deaths', '300 soldiers died']
    >>> [c.keys for c in find_counts("Уничтожено 21 танк, 300 танков, 1200多名抗议者")]
    [('танк',), ('танк',), ('抗', '名抗')]
    """
    out = []
    for q, end in _spans(text):
        start = end - len(q.text)
        if (
            q.unit
            or q.amount < 2
            or not math.isfinite(q.amount)
            or not q.amount.is_integer()  # "3.5 soldiers", "7.8 magnitude", "10.30 Uhr"
            or re.fullmatch(r"19\d\d|20\d\d", q.text)  # a year (and "2000 troops" with it)
            or _JOINED_BEFORE.search(text, max(0, start - 1), start)
            or _RANGE_BEFORE.search(text, max(0, start - 24), start)
            or _RANGE_AFTER.match(text, end)
            or text.startswith(tuple("-‐‑–/"), end)
            or _named(text, start, end)
        ):
            continue
        cjk = _CJK_THING.match(text, end)
        if cjk:
            first = _CJK_AFTER_THING.split(cjk["first"])[0]
            if first and not any(first.startswith(w) for w in _NOT_CJK_THING):
                measure = cjk["measure"]
                keys = (first[0], measure + first[0]) if measure else (first[0],)
                thing_end = cjk.start("first") + len(first)
                out.append(Count(q, text[start:thing_end], keys))
            continue
        m = _THING.match(text, end)
        if not m:
            continue
        first, second = m["first"], m["second"]
        if second and _PAST.fullmatch(first):
            out.append(Count(q, text[start : m.end()], (_key(second),)))
        elif not (_NOT_THING.fullmatch(first) or CJK.search(first)):
            longer = bool(second) and not (
                _NOT_THING.fullmatch(second) or _PAST.fullmatch(second) or CJK.search(second)
            )
            keys = (_key(first), _key(second)) if longer else (_key(first),)
            whole = text[start : m.end()] if longer else ""
            out.append(Count(q, text[start : m.end("first")], keys, whole))
    return out


def _key(word: str) -> str:
    return stem(word.casefold())[:5]


def asked_keys(question: str) -> set[str]:
    """What a question's words give a count's keys to match: each word as BM25 reads it, and
    cut to five letters, and each CJK character.

    >>> sorted(asked_keys("Combien d'habitants ?")), "抗" in asked_keys("有多少抗议者？")
    (['combi', 'combien', 'habit'], True)
    """
    asked = set(tokenize(question)) | {ch for ch in question if CJK.match(ch)}
    return asked | {t[:5] for t in asked}


def counts_of(text: str, keys: Set[str]) -> list[Count]:
    """The text's counts of a thing among `keys` (asked_keys): "Environ 4 500 habitants" for
    "Combien d'habitants ?"."""
    return [c for c in find_counts(text) if any(k in keys for k in c.keys)]


def find_figures(text: str) -> list[Quantity]:
    """The money amounts of a text, in order, without repeats.

    >>> [f.display() for f in find_figures("aid totaling $7.6 billion; 120 亿美元; 76 亿美元")]
    ['$7.6 billion', '$12 billion']
    """
    return _distinct(q for q in find_quantities(text) if q.money and q.amount >= 1e6)


def find_shares(text: str) -> list[Quantity]:
    """The percentages of a text, in order, without repeats.

    >>> [f.display() for f in find_shares("3 % of the grain, 57 відсотків, about 3%, 45 por ciento")]
    ['3%', '57%', '45%']
    """
    return _distinct(q for q in find_quantities(text) if q.unit == "%")


def _distinct(quantities: Iterable[Quantity]) -> list[Quantity]:
    """The quantities in order, each amount in its unit once."""
    found: list[Quantity] = []
    for q in quantities:
        if not any(q.same(f) for f in found):
            found.append(q)
    return found


def quantities_missing(claim: str, passages: Sequence[str]) -> list[Quantity]:
    """The quantities a claim states that none of the passages states (same amount and unit).

    A claim's amount with a unit (a currency, %) needs the same amount in the same unit; a bare
    amount, any unit: "$19 billion" is not supported by "19 states", nor "19 states" by
    "$19 billion" (the amounts differ), but "12 billion" is by "$12 billion".

    >>> [q.text for q in quantities_missing("Japan gave $19 billion [1]", ["aid to 19 states"])]
    ['$19 billion']
    >>> quantities_missing("Japan gave 12 billion dollars", ["120 亿美元的援助"])
    []
    """
    have = [q for p in passages for q in find_quantities(p)]
    # [n] citation markers are not figures.
    stated = find_quantities(re.sub(r"\[\d{1,3}\]", " ", claim))
    return [
        q
        for q in stated
        if not any(
            q.same(h) or (not q.unit and q.same(Quantity(h.text, h.amount, ""))) for h in have
        )
    ]
