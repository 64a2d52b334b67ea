"""The extractive answerer: no LLM, only verbatim quotes, each cited and labelled with its side.

1. Candidates: every sentence of the retrieved passages plus the nearest sentences overall.
2. Score: cosine similarity of the question and sentence vectors (the embedder's, stored at
   ingest), plus a small bonus for shared content words and, for "how much" questions, for
   sentences that state an amount.
3. Abstain when the best score is below `min_score`: quoting unrelated text is worse than
   saying the sources do not answer.
4. Select the best sentences near the top score, keep the best of every side present, drop
   near-duplicates (a translation of a sentence already quoted counts as one; the one in the
   question's language wins).
5. Compose Markdown grouped by side, then by source; list figures that differ between sources;
   name sides whose sources say nothing on it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import numpy as np

from ..lexical import tokenize
from ..retrieval import Retrieval
from ..schema import Answer, Citation
from ..store import SourceRecord, Store
from .citations import (
    Evidence,
    disagreements,
    make_citation,
    side_summaries,
    sides_without_evidence,
)

QUANTITY = re.compile(
    r"how (much|many)|amount|total|combien|quel montant|多少|几|金额|сколько|какую сумму|объ[её]м",
    re.I,
)
NO_ANSWER = "The indexed sources do not answer this."


class ExtractiveAnswerer:
    """Answers with verbatim, cited quotes from the retrieved sentences."""

    name = "extractive"

    def __init__(
        self, store: Store, min_score: float = 0.84, max_quotes: int = 6, margin: float = 0.04
    ) -> None:
        self.store = store
        self.min_score, self.max_quotes, self.margin = min_score, max_quotes, margin

    # -- evidence ---------------------------------------------------------------------------

    def evidence(self, question: str, retrieval: Retrieval) -> list[Evidence]:
        """Score every candidate sentence; best first."""
        ids = [s[0] for s in retrieval.sentence_hits]
        for p in retrieval.passages:
            ids.extend(f"{p.source_id}@{p.version}#s{j}" for j in range(p.first, p.last + 1))
        rows = self.store.sentence_vectors(list(dict.fromkeys(ids)))
        if not rows:
            return []
        qtok = set(tokenize(question))
        wants_amount = bool(QUANTITY.search(question))
        keys = list(rows)
        sims = np.stack([rows[k][0] for k in keys]) @ retrieval.query_vector
        out = []
        for key, sim in zip(keys, sims, strict=True):
            _, m, text = rows[key]
            stok = set(tokenize(text))
            lexical = len(qtok & stok) / len(qtok) if qtok else 0.0
            bonus = 0.04 * lexical
            if (
                wants_amount
                and re.search(r"\d", text)
                and re.search(r"\$|dollar|美元|долл|billion|milliard|亿", text, re.I)
            ):
                bonus += 0.03
            out.append(
                Evidence(
                    sentence_id=key,
                    source_id=m["source_id"],
                    start=int(m["start"]),
                    end=int(m["end"]),
                    text=text,
                    language=m.get("language", "und"),
                    side=m.get("side", "unknown"),
                    voice=m.get("voice", "unknown"),
                    score=float(sim) + bonus,
                    dense=float(sim),
                    lexical=lexical,
                    vector=rows[key][0],
                )
            )
        return sorted(out, key=lambda e: -e.score)

    def select(self, evidence: list[Evidence], question_language: str) -> list[Evidence]:
        """The quotes to show: near the best score, every side present kept, no duplicates."""
        if not evidence or evidence[0].score < self.min_score:
            return []
        floor = max(self.min_score, evidence[0].score - self.margin)
        pool = [e for e in evidence if e.score >= floor and _quotable(e.text)]
        chosen: list[Evidence] = []

        def duplicate(e: Evidence) -> Evidence | None:
            for c in chosen:
                if c.source_id == e.source_id and (e.text in c.text or c.text in e.text):
                    return c
                if c.source_id == e.source_id and c.language != e.language and _translation(c, e):
                    return c
            return None

        # First the best of each side, then the rest by score.
        firsts: dict[str, Evidence] = {}
        for e in pool:
            firsts.setdefault(e.side, e)
        for e in list(firsts.values()) + pool:
            if len(chosen) >= self.max_quotes or e in chosen:
                continue
            twin = duplicate(e)
            if twin is None:
                chosen.append(e)
            elif twin.language != question_language and e.language == question_language:
                chosen[chosen.index(twin)] = e
        return chosen

    # -- composing --------------------------------------------------------------------------

    def answer(
        self,
        question: str,
        retrieval: Retrieval,
        records: dict[str, SourceRecord],
        sides: list[str],
        question_language: str = "und",
    ) -> Answer:
        evidence = self.evidence(question, retrieval)
        chosen = self.select(evidence, question_language)
        if not chosen:
            best = evidence[0].score if evidence else 0.0
            return Answer(
                question=question,
                answer=f"{NO_ANSWER} (best match scored {best:.2f}, below {self.min_score:.2f}.)",
                citations=[],
                sides=[],
                abstained=True,
                mode=self.name,
                retrieved=retrieval.passages,
            )
        # Number citations in the order they are shown: by side, then by source, then by score.
        side_order = list(dict.fromkeys(e.side for e in chosen))
        ordered: list[Evidence] = []
        for side in side_order:
            of_side = [e for e in chosen if e.side == side]
            for sid in dict.fromkeys(e.source_id for e in of_side):
                ordered.extend(e for e in of_side if e.source_id == sid)
        citations = [
            make_citation(n, e, records.get(e.source_id)) for n, e in enumerate(ordered, 1)
        ]
        text = compose(citations, records, sides)
        answer = Answer(
            question=question,
            answer=text,
            citations=citations,
            sides=side_summaries(citations),
            abstained=False,
            mode=self.name,
            retrieved=retrieval.passages,
            sides_without_evidence=sides_without_evidence(citations, records, sides),
            disagreements=disagreements(citations),
        )
        answer.answer = text + _coda(answer)
        return answer

    def stream(self, *args: object, **kwargs: object) -> Iterator[str | Answer]:
        """Yield the answer text line by line, then the Answer."""
        answer = self.answer(*args, **kwargs)  # type: ignore[arg-type]
        yield from answer.answer.splitlines(keepends=True)
        yield answer


def _translation(a: Evidence, b: Evidence) -> bool:
    """Whether two sentences of one source in different languages say the same thing."""
    return a.vector is not None and b.vector is not None and float(a.vector @ b.vector) >= 0.9


def _quotable(text: str) -> bool:
    """Long enough to be a claim: bylines, headings and captions are not evidence."""
    cjk = sum("\u3040" <= ch <= "\u9fff" for ch in text)
    letters = sum(ch.isalpha() for ch in text) - cjk
    return cjk >= 12 or letters >= 30


def _oneline(text: str) -> str:
    return " ".join(text.split())


def compose(citations: list[Citation], records: dict[str, SourceRecord], sides: list[str]) -> str:
    """Markdown: a heading per side, a line per source with its label, its quotes with [n]."""
    lines: list[str] = []
    for side in dict.fromkeys(c.side for c in citations):
        lines.append(f"**{side}**")
        of_side = [c for c in citations if c.side == side]
        for sid in dict.fromkeys(c.source_id for c in of_side):
            cs = [c for c in of_side if c.source_id == sid]
            c0 = cs[0]
            who = c0.outlet or c0.author or c0.title or sid
            meta = ", ".join(x for x in (c0.voice, c0.date) if x)
            quotes = " … ".join(f"“{_oneline(c.quote)}” [{c.n}]" for c in cs)
            lines.append(f"- {who} ({meta}) says: {quotes}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _coda(answer: Answer) -> str:
    parts = []
    if answer.disagreements:
        parts.append(
            "\n**Sources disagree on the figures** (they may count different things; read the quotes):"
        )
        by_n = {c.n: c for c in answer.citations}
        for d in answer.disagreements:
            who = "; ".join(
                dict.fromkeys(
                    f"{by_n[n].outlet or by_n[n].title or by_n[n].source_id} ({by_n[n].side})"
                    for n in d["citations"]
                )
            )
            refs = " ".join(f"[{n}]" for n in d["citations"])
            parts.append(f"- {d['figure']} — {who} {refs}")
    if answer.sides_without_evidence:
        parts.append(
            "\n"
            + "; ".join(
                f"No {s} source in the index addresses this." for s in answer.sides_without_evidence
            )
        )
    return ("\n".join(parts) + "\n") if parts else ""
