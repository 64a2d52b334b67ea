"""The sources a question names by their outlet ("What does RT say about Japan?",
"Que dit le Courrier des Andes ?"): an answer searches them alone, and says so (core.stream).

An outlet's label is data a corpus declares, often more than a name ("RT interview, republished
by a French-language site", "Agencia Valdoriana de Noticias (AVN)"): its names are the label
before its first comma or bracket, less the lower-case words it ends with, and an acronym in
brackets. A question names one where it holds that name's words one after the other
(names.phrase_spans).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from .names import phrase_spans

# A bracketed part of a label: an alias ("(AVN)") or a platform ("(YouTube)").
_BRACKETED = re.compile(r"\(([^()]*)\)")


def outlet_names(outlet: str) -> list[str]:
    """The names an outlet's label gives it.

    >>> outlet_names("RT interview, republished by a French-language site")
    ['RT']
    >>> outlet_names("Agencia Valdoriana de Noticias (AVN)"), outlet_names("ZN.ua, via UaPosition")
    (['Agencia Valdoriana de Noticias', 'AVN'], ['ZN.ua'])
    >>> outlet_names("The Military Show (YouTube)"), outlet_names("")
    (['The Military Show'], [])
    """
    head = re.split(r"[,(;]", outlet, maxsplit=1)[0].split()
    while head and not head[-1][:1].isupper():  # "RT interview": the outlet is RT
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
    """
    names: dict[str, list[str]] = {}
    for sid, outlet in outlets.items():
        for name in outlet_names(outlet):
            names.setdefault(name, []).append(sid)
    spans = {name: phrase_spans(question, name) for name in names}
    named = [name for name, found in spans.items() if found]
    asked = question
    for start, end in sorted((s for name in named for s in spans[name]), reverse=True):
        asked = asked[:start].rstrip() + " " + asked[end:].lstrip()
    return sorted({sid for name in named for sid in names[name]}), named, asked.strip()
