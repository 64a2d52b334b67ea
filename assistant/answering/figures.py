"""Money figures in quotes, normalised so that sources can be compared across languages.

"$7.6 billion", "12 milliards de dollars", "120 亿美元" and "10 млрд долларов" all become US-dollar
amounts, so the answer can say that sources give different figures for the same thing. Only
amounts with a currency and a magnitude are read; bare numbers are too ambiguous to compare.
No library here reads multilingual money expressions (price-parser and quantulum3 are
English-only and miss 亿), so this is a small table of patterns, tested on each language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NUM = r"(\d+(?:[.,]\d+)?)"
_SCALE = {
    "trillion": 1e12,
    "billion": 1e9,
    "bn": 1e9,
    "million": 1e6,
    "mn": 1e6,
    "milliard": 1e9,
    "milliards": 1e9,
    "billions": 1e9,
    "millions": 1e6,
    "млрд": 1e9,
    "миллиард": 1e9,
    "миллиарда": 1e9,
    "миллиардов": 1e9,
    "млн": 1e6,
    "миллион": 1e6,
    "миллиона": 1e6,
    "миллионов": 1e6,
    "трлн": 1e12,
    "万亿": 1e12,
    "亿": 1e8,
    "万": 1e4,
}
_PATTERNS = [
    # $7.6 billion, US$ 12 bn, USD 10 billion
    re.compile(rf"(?:US\$|\$|USD\s?)\s?{_NUM}\s*(trillion|billion|bn|million|mn)\b", re.I),
    # 12 milliards de dollars, 12 billion dollars
    re.compile(
        rf"{_NUM}\s*(milliards?|millions?|billions?|trillion|billion|million)\s+(?:de\s+)?(?:dollars?|USD|\$)",
        re.I,
    ),
    # 120 亿美元
    re.compile(rf"{_NUM}\s*(万亿|亿|万)\s*美元"),
    # 10 млрд долларов
    re.compile(rf"{_NUM}\s*(млрд|миллиард\w*|млн|миллион\w*|трлн)\.?\s*(?:долл|\$|USD)", re.I),
]


@dataclass(frozen=True)
class Figure:
    """A money amount found in a text: the words as written and the value in US dollars."""

    text: str
    usd: float

    def display(self) -> str:
        if self.usd >= 1e9:
            return f"${self.usd / 1e9:g} billion"
        return f"${self.usd / 1e6:g} million"


def find_figures(text: str) -> list[Figure]:
    """Money amounts in a text, in order, without repeats.

    >>> [f.display() for f in find_figures("aid totaling $7.6 billion; 120 亿美元")]
    ['$7.6 billion', '$12 billion']
    """
    found: dict[float, Figure] = {}
    spans: list[tuple[int, int]] = []
    for pattern in _PATTERNS:
        for m in pattern.finditer(text):
            if any(a < m.end() and m.start() < b for a, b in spans):
                continue
            raw, unit = m.group(1), m.group(2).lower()
            value = (
                float(raw.replace(",", "."))
                if raw.count(",") == 1 and len(raw.split(",")[1]) != 3
                else float(raw.replace(",", ""))
            )
            scale = _SCALE.get(unit) or next(
                (v for k, v in _SCALE.items() if unit.startswith(k)), None
            )
            if scale is None:
                continue
            usd = round(value * scale, -6)
            spans.append((m.start(), m.end()))
            found.setdefault(usd, Figure(m.group(0).strip(), usd))
    return sorted(found.values(), key=lambda f: text.find(f.text))
