"""The sources a question names by their outlet ("What does RT say about Japan?",
"Que dit le Courrier des Andes ?"): an answer searches them alone, and says so (core.stream).

An outlet's label is data a corpus declares, often more than a name ("RT interview, republished
by a French-language site", "Agencia Valdoriana de Noticias (AVN)"): its names are the label
before its first comma or bracket, less the lower-case Latin words it ends with, and an acronym
in brackets. A question names one where it holds that name's words one after the other
(names.phrases_in).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from assistant.ingest.language import ARTICLE_WORDS

from .names import phrases_in

# A bracketed part of a label: an alias ("(AVN)") or a platform ("(YouTube)").
_BRACKETED = re.compile(r"\(([^()]*)\)")


def outlet_names(outlet: str) -> list[str]:
    """The names an outlet's label gives it.

    >>> outlet_names("RT interview, republished by a French-language site")
    ['RT']
    >>> outlet_names("Agencia Valdoriana de Noticias (AVN)"), outlet_names("ZN.ua, via UaPosition")
    (['Agencia Valdoriana de Noticias', 'AVN'], ['ZN.ua'])
    >>> outlet_names("The Military Show (YouTube)"), outlet_names("Экологический вестник")
    (['The Military Show'], ['Экологический вестник'])
    >>> outlet_names("France 24")
    ['France 24']
    """
    head = re.split(r"[,(;]", outlet, maxsplit=1)[0].split()
    # "RT interview": the outlet is RT. Latin words only: a Cyrillic title writes its words
    # after the first in lower case ("Экологический вестник").
    while head and head[-1][:1].islower() and head[-1].isascii():
        head.pop()
    names = [" ".join(head)] if head else []
    # An acronym in brackets is another name ("(AVN)"); a platform is not one ("(YouTube)").
    return names + [b.strip() for b in _BRACKETED.findall(outlet) if b.strip().isupper()]


def named_sources(question: str, outlets: Mapping[str, str]) -> tuple[list[str], list[str], str]:
    """The ids of the sources (id → outlet label) whose outlet the question names, the names
    it names them by (as their labels write them), and the question without them: what it
    asks of them ("What does RT say about Japan?" → "What does say about Japan?"). Searched
    with the name, "What does The Military Show say about aid?" fell 0.011 short of the bar
    within that outlet's sources, the name outweighing the aid.

    >>> outlets = {"rt1": "RT interview, republished by a French-language site",
    ...            "mil": "The Military Show (YouTube)", "wtn": "World Today News"}
    >>> named_sources("What does RT say about Japan?", outlets)
    (['rt1'], ['RT'], 'What does say about Japan?')
    >>> named_sources("What do French sites say?", outlets)
    ([], [], 'What do French sites say?')
    >>> named_sources("Does World Today News agree?", outlets | {"wt": "World Today"})
    (['wtn'], ['World Today News'], 'Does agree?')
    >>> named_sources("Que dit le Courrier des Andes sur l'eau ?", {"c": "Le Courrier des Andes"})
    (['c'], ['Le Courrier des Andes'], "Que dit sur l'eau ?")
    """
    names: dict[str, list[str]] = {}
    for sid, outlet in outlets.items():
        for name in outlet_names(outlet):
            names.setdefault(name, []).append(sid)
    # The longest name where two overlap ("World Today News", not "World Today" in it).
    found = sorted(
        (
            (start, end, name)
            for name, spans in phrases_in(question, names).items()
            for start, end in spans
        ),
        key=lambda f: f[0] - f[1],
    )
    taken: list[tuple[int, int, str]] = []
    for start, end, name in found:
        if all(end <= s or start >= e for s, e, _ in taken):
            taken.append((start, end, name))
    asked = question
    for start, end, _ in sorted(taken, reverse=True):
        # An article before the name goes with it ("que dit le Courrier des Andes").
        before = re.search(r"(?:^|\s)(\w+)['’\s]*$", asked[:start])
        if before and before.group(1).lower() in ARTICLE_WORDS:
            start = before.start(1)
        asked = asked[:start].rstrip() + " " + asked[end:].lstrip()
    named = list(dict.fromkeys(name for _, _, name in sorted(taken)))
    return sorted({sid for name in named for sid in names[name]}), named, asked.strip()
