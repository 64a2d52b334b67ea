"""Quantities in text, read as amount, unit and scale, so that figures compare across languages.

"$12bn", "12 billion dollars", "12 milliards de dollars", "120 亿美元" and "12 млрд долларов" are
all 12e9 USD; "€2.3 млрд" is 2.3e9 EUR; "19 states" is the count 19, which no "$19 billion" can
support. Three uses:
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

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from assistant.ingest.language import CJK

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
# военных", "3.000 Tonnen"), or the CJK characters after it and its measure word ("5万名士兵").
_THING = re.compile(
    r"[\s\u00a0\u202f]*(?P<first>[^\W\d_]{3,})(?:[ \u00a0](?P<second>[^\W\d_]{3,}))?"
)
_CJK_THING = re.compile(
    r"\s*(?P<measure>[名个位架辆艘枚门座家所条头只件辆台]?)(?P<first>[\u4e00-\u9fff]{1,3})"
)
# Words after a number that make it a date, a time or a span, or that are no thing at all
# ("24 February", "3 years", "2 of them"): the whole word, in any case; Cyrillic ones with any
# ending ("года", "марта", "тижнів").
_NOT_THING = re.compile(
    r"(?:years?|months?|weeks?|days?|hours?|minutes?|seconds?|times?|am|pm|"
    r"january|february|march|april|may|june|july|august|september|october|november|december|"
    r"jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec|"
    r"ans?|années?|mois|semaines?|jours?|heures?|fois|janvier|février|mars|avril|mai|juin|"
    r"juillet|août|septembre|octobre|novembre|décembre|"
    r"jahre?n?|monate?n?|wochen?|tage?n?|stunden?|mal|januar|februar|märz|juni|juli|oktober|"
    r"dezember|años?|mes(?:es)?|semanas?|días?|horas?|vez|veces|enero|febrero|marzo|abril|mayo|"
    r"junio|julio|agosto|septiembre|octubre|noviembre|diciembre|ann[io]|giorni|giorno|mesi|"
    r"settimane|ore|volte|"
    r"(?:год|лет|месяц|недел|дн|день|час|минут|январ|феврал|март|апрел|мая|май|июн|июл|"
    r"август|сентябр|октябр|ноябр|декабр|рок|рік|міся|тижн|годин|січн|лют|берез|квітн|травн|"
    r"червн|липн|серпн|вересн|жовтн|листопад|грудн)[а-яёіїєґ]*|раз|разы?|"
    r"and|the|of|per|out|for|with|than|who|which|that|to|in|on|at|et|les|des|pour|sur|par|"
    r"dont|qui|und|der|die|das|von|mit|los|las|del|con|por|para|que|из|для|при|что|как|или)",
    re.IGNORECASE,
)
_NOT_CJK_THINGS = ("年", "月", "日", "天", "时", "小时", "点", "号", "岁", "次", "分", "周")
# The second word of a thing, unless it is a word that joins ("tonnes of grain": "tonnes").
_JOINING = {
    "of", "de", "des", "du", "la", "le", "les", "and", "et", "in", "en", "to", "per", "par",
    "pour", "for", "the", "und", "der", "die", "das", "von", "im", "el", "los", "las", "y",
    "del", "con", "и", "в", "на", "по", "из", "для", "a", "à", "that", "which", "who", "qui",
    "were", "was", "have", "had", "ont", "sont", "wurden", "были", "был",
}  # fmt: skip


@dataclass(frozen=True)
class Count:
    """A number of things, as written with them ("9,500 parking spaces"), and what it counts:
    `thing` as written, `key` the same thing however it is inflected ("space", "военн")."""

    quantity: Quantity
    thing: str
    key: str

    def display(self) -> str:
        """'9,500 parking spaces', '1.2 million tonnes', '50,000 военных'."""
        a = self.quantity.amount
        number = f"{a:,.0f}" if a < 1e6 and a == int(a) else Quantity("", a, "").display()
        return f"{number} {self.thing}"


def find_counts(text: str) -> list[Count]:
    """The numbers of things in a text, each with what it counts; not money, percentages,
    years, dates or spans of time, and not one thing alone.

    >>> [c.display() for c in find_counts("In 2022 the city removed 4,000 parking spaces of "
    ...     "9 500 places, 3.000 Tonnen Glyphosat, 50 тысяч военных, 5万名士兵; on 24 February, "
    ...     "for 3 years, $5 billion, 40 %")]  # doctest: +NORMALIZE_WHITESPACE
    ['4,000 parking spaces', '9,500 places', '3,000 Tonnen Glyphosat', '50,000 военных',
     '50,000 士兵']
    >>> [c.key for c in find_counts("4,000 parking spaces; 5 Parkplätze; 9,500 places")]
    ['parki', 'parkp', 'place']
    """
    out = []
    for q, end in _spans(text):
        if q.unit or q.amount < 2 or re.fullmatch(r"1[0-9]\d\d|20\d\d", q.text):
            continue  # money, a share, one thing, or a year
        cjk = _CJK_THING.match(text, end)
        if cjk and CJK.match(text, cjk.start("first")):
            first = cjk.group("first")
            if any(first.startswith(w) for w in _NOT_CJK_THINGS):
                continue
            out.append(Count(q, first, first[:2]))
            continue
        m = _THING.match(text, end)
        if not m:
            continue
        first = m.group("first")
        low = first.casefold()
        if CJK.search(first) or _NOT_THING.fullmatch(low):
            continue
        second = m.group("second")
        thing = f"{first} {second}" if second and second.casefold() not in _JOINING else first
        out.append(Count(q, thing, low[:5]))
    return out


def find_figures(text: str) -> list[Quantity]:
    """The money amounts of a text, in order, without repeats.

    >>> [f.display() for f in find_figures("aid totaling $7.6 billion; 120 亿美元; 76 亿美元")]
    ['$7.6 billion', '$12 billion']
    """
    found: list[Quantity] = []
    for q in find_quantities(text):
        if q.money and q.amount >= 1e6 and not any(q.same(f) for f in found):
            found.append(q)
    return found


def find_shares(text: str) -> list[Quantity]:
    """The percentages of a text, in order, without repeats.

    >>> [f.display() for f in find_shares("3 % of the grain, 57 відсотків, about 3%, 45 por ciento")]
    ['3%', '57%', '45%']
    """
    found: list[Quantity] = []
    for q in find_quantities(text):
        if q.unit == "%" and not any(q.same(f) for f in found):
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
