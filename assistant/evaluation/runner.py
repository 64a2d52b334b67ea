"""Run a question set through the same Assistant as the chat and score every answer.

Writes to the output directory: results.jsonl (one line per question: ranked retrieved source
ids, cited source ids, answer, citations, per-question scores, latency), summary.json, and the
reports (report.py). An optional LLM-judged faithfulness score is kept apart from the
deterministic metrics, under "llm_judged".

While it runs, each answered question is appended to results.partial.jsonl, so a run stopped
half way keeps what it did; the run's files are written into a folder of their own and moved
into place only when all are written, so a folder never mixes one run's report with another's
results (an earlier run's files stay until the new ones replace them).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assistant.core import Assistant
from assistant.errors import AssistantError, InvalidRequest
from assistant.inputs import composed, passages_wanted
from assistant.prompts import render

from . import metrics as m
from .metrics import METRICS
from .questions import Question, unknown_references
from .report import write_reports
from .results import Result, Scores


def score(q: Question, answer: Result, texts: dict[str, str], k: int) -> Scores:
    """Every per-question metric of one answer (see metrics.py for definitions)."""
    retrieved, cited = answer.retrieved_sources, answer.cited_sources
    quotes = [(c.quote, texts.get(c.source_id, ""), c.start, c.end) for c in answer.citations]
    ok = q.answerable
    # Related sources count as relevant wherever relevance is judged; recall asks for the
    # expected ones alone (questions.py).
    relevant = q.relevant_sources
    return {
        "hit_at_k": m.hit_at_k(retrieved, relevant, k) if ok else None,
        "mrr": m.reciprocal_rank(retrieved, relevant) if ok else None,
        "citation_precision": m.citation_precision(cited, relevant) if ok else None,
        "citation_recall": m.citation_recall(cited, q.expected_sources) if ok else None,
        "quote_validity": m.quote_validity(quotes),
        "fact_recall": m.fact_recall(answer.answer, q.expected_facts) if ok else None,
        # Sides compared in one Unicode form: a set's "Umweltverbände" is the index's, however
        # either was typed.
        "side_coverage": m.side_coverage(
            [composed(c.side) for c in answer.citations], [composed(s) for s in q.expected_sides]
        )
        if ok
        else None,
        "side_balance": m.side_balance(
            [(c.source_id, composed(c.side)) for c in answer.citations],
            relevant,
            [composed(s) for s in q.expected_sides],
        )
        if ok
        else None,
        "abstention_accuracy": m.abstention_correct(q.answerable, answer.abstained),
        "wrong_abstention_rate": (1.0 if answer.abstained else 0.0) if ok else None,
        "unsupported_claim_rate": m.unsupported_claim_rate(
            len(answer.unsupported_sentences), answer.claims
        ),
    }


def summarise(rows: list[Result], meta: dict[str, Any]) -> dict[str, Any]:
    """Means of the per-question scores, latency percentiles, and breakdowns by language and
    by tag."""

    def block(rs: list[Result]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in METRICS:
            if name == "quote_validity":  # micro-average: every citation counts once
                n = sum(len(r.citations) for r in rs)
                good = sum((r.scores["quote_validity"] or 0) * len(r.citations) for r in rs)
                out[name] = round(good / n, 4) if n else None
            else:
                v = m.mean(r.scores[name] for r in rs)
                out[name] = round(v, 4) if v is not None else None
        lat = [r.latency_ms for r in rs]
        out["latency_p50_ms"] = round(m.percentile(lat, 50) or 0.0, 1)
        out["latency_p95_ms"] = round(m.percentile(lat, 95) or 0.0, 1)
        out["questions"] = len(rs)
        return out

    summary = {**block(rows), **meta}
    summary["errors"] = sum(1 for r in rows if r.error)
    # The first few, so that a run that failed says why where it is read (results hold all).
    summary["error_examples"] = [f"{r.id}: {r.error}" for r in rows if r.error][:3]
    summary["by_language"] = {
        lang: block([r for r in rows if r.language == lang])
        for lang in sorted({r.language for r in rows})
    }
    # A set's tags (contested, cross-lingual, mixed-language…) each get their own line too.
    summary["by_tag"] = {
        tag: block([r for r in rows if tag in r.tags])
        for tag in sorted({t for r in rows for t in r.tags})
    }
    return summary


# The questions answered so far, one line each, while a run is under way.
PARTIAL = "results.partial.jsonl"


def run_eval(
    assistant: Assistant,
    questions: list[Question],
    out_dir: Path,
    mode: str = "extractive",
    k: int | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    judge: bool = False,
) -> dict[str, Any]:
    """Ask every question, score the answers, write results, summary and reports.

    Args:
        assistant: the Assistant to evaluate (the chat's own).
        questions: from questions.load_questions.
        out_dir: created if missing; an earlier run's files are replaced when this one ends.
        mode: "extractive" or "llm".
        k: passages retrieved per question (default: the assistant's top_k).
        progress: called as (done, total, question id).
        judge: also ask the configured LLM to judge faithfulness (kept apart).
    """
    k = passages_wanted(k, assistant.settings.top_k)
    # What would fail every question fails the run before it starts: a mode or a judge with
    # no LLM configured (the answerer says how to configure one) ...
    assistant.answerer(mode)
    if judge:
        assistant.answerer("llm")
    # ... and, in the unscored questions below, no index or an unreachable store. One per
    # language of the set: the language detector, jieba, the BM25 index and each language's
    # first search load on first use, and that one-time cost is not the latency of answering.
    for first in {q.language: q for q in reversed(questions)}.values():
        try:
            assistant.ask(first.question, mode="extractive", k=k)
        except InvalidRequest:
            pass  # this question's own fault (too long, say): the scored run reports it
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidRequest(
            f"cannot make the output folder {out_dir} ({exc.strerror}); give --out a folder "
            "path that can be created"
        ) from exc
    texts: dict[str, str] = {}
    rows: list[Result] = []
    partial = out_dir / PARTIAL
    with partial.open("w", encoding="utf-8") as kept:
        for i, q in enumerate(questions, start=1):
            row = ask_one(assistant, q, mode, k, texts)
            if judge and assistant.llm is not None and q.answerable and row.citations:
                row.llm_faithfulness = judge_faithfulness(assistant, q.question, row)
            rows.append(row)
            kept.write(json.dumps(row.to_dict(), ensure_ascii=False) + "\n")
            kept.flush()
            if progress:
                progress(i, len(questions), q.id)
    summary = summarise(rows, run_meta(assistant, mode, k))
    # What the set names that the index lacks scores zero without a word: the report says it.
    summary["notes"] = unknown_references(questions, assistant)
    judged = [r.llm_faithfulness for r in rows if r.llm_faithfulness is not None]
    if judged:
        summary["llm_judged"] = {
            "faithfulness": round(sum(judged) / len(judged), 4),
            "questions": len(judged),
        }
    staging = out_dir / f".run-{os.getpid()}"
    for folder in [staging, *_abandoned(out_dir)]:
        shutil.rmtree(folder, ignore_errors=True)
    try:
        staging.mkdir()
        shutil.copyfile(partial, staging / "results.jsonl")  # the same lines, now complete
        (staging / "summary.json").write_text(
            json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8"
        )
        write_reports(staging, summary, rows)
        for path in staging.iterdir():
            path.replace(out_dir / path.name)
        partial.unlink()
    finally:  # stopped while writing: the answers stay in the partial file, nothing half-made
        shutil.rmtree(staging, ignore_errors=True)
    return summary


def _abandoned(out_dir: Path) -> list[Path]:
    """Staging folders of runs killed outright while writing (their process is gone): a run
    stopped any other way removes its own. The check sees this machine's processes only: two
    machines or containers writing one shared --out folder at once are not told apart."""
    if os.name != "posix":  # os.kill(pid, 0) is a liveness check on POSIX only
        return []
    gone = []
    for folder in out_dir.glob(".run-*"):
        pid = folder.name.removeprefix(".run-")
        if not pid.isascii() or not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            gone.append(folder)
        except (OSError, OverflowError):  # alive (another user's), or no process id at all
            pass
    return gone


def ask_one(assistant: Assistant, q: Question, mode: str, k: int, texts: dict[str, str]) -> Result:
    """Ask one question and score the answer; `texts` caches the cited sources' texts."""
    t = time.perf_counter()
    row = Result.asked(q)
    try:
        row.answered(assistant.ask(q.question, mode=mode, k=k))
        for c in row.citations:
            if c.source_id not in texts:
                texts[c.source_id] = assistant.source(c.source_id)[1]
    except AssistantError as exc:
        row.error = f"{type(exc).__name__}: {exc}"
    row.latency_ms = round((time.perf_counter() - t) * 1000, 1)
    # A question that failed has no answer to score: not a good one (it did not abstain), nor
    # a bad one; the run's `errors` counts it, and the CLI says so.
    row.scores = {name: None for name in METRICS} if row.error else score(q, row, texts, k)
    return row


def run_meta(assistant: Assistant, mode: str, k: int) -> dict[str, Any]:
    """What a run was made with, recorded in its summary."""
    return {
        "mode": assistant.mode_label(mode),
        "k": k,
        "embedder": assistant.embedder.name,
        "chunk_tokens": assistant.settings.chunk_tokens,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }


def judge_faithfulness(assistant: Assistant, question: str, row: Result) -> float | None:
    """Ask the LLM for a 0–1 score of how well the cited quotes support the answer."""
    from llama_index.core.llms import ChatMessage

    prompt = render(
        assistant.settings.prompts_dir,
        "judge.md",
        question=question,
        answer=row.answer,
        quotes=[{"n": c.n, "quote": c.quote} for c in row.citations],
    )
    try:
        reply = assistant.llm.chat([ChatMessage(role="user", content=prompt)]).message.content or ""
    except Exception:  # a judge failure must not fail the deterministic evaluation
        return None
    return judge_score(reply)


def judge_score(reply: str) -> float | None:
    """The judge's score: the reply's last number from 0 to 1 (a judge that explains first,
    "the 2024 aid claims are supported, so the score is 1", gave 0, read from "2024"); None
    when it gave none.

    >>> judge_score("0.75"), judge_score("Both 2024 claims are supported, so the score is 1.")
    (0.75, 1.0)
    >>> judge_score("2024 is the year"), judge_score("Score: 1.5")
    (None, None)
    """
    numbers = re.findall(r"(?<![\d.])\d+(?:\.\d+)?(?![\d.]*\d)", reply)
    scores = [float(n) for n in numbers if 0 <= float(n) <= 1]
    return scores[-1] if scores else None
