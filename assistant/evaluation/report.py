"""Reports of one evaluation run: report.md and report.html, with three plots (PNG files beside
them, also embedded in the HTML so it opens on its own): the metrics, a per-language breakdown
and the latency distribution. Question text and answers are HTML-escaped.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

import numpy as np

from .metrics import MEANINGS, METRICS, SUMMARY_KEYS
from .results import Result

PLOTS = ("metrics.png", "languages.png", "latency.png")


def _plots(out_dir: Path, summary: dict[str, Any], rows: list[Result]) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display; files only
    import matplotlib.pyplot as plt

    names = [n for n in METRICS if summary.get(n) is not None]
    fig, ax = plt.subplots(figsize=(8, 3.6))
    ax.barh(names[::-1], [summary[n] for n in names][::-1], color="#1d4ed8")
    ax.set_xlim(0, 1)
    for i, n in enumerate(names[::-1]):
        ax.text(min(summary[n] + 0.01, 0.93), i, f"{summary[n]:.2f}", va="center", fontsize=8)
    ax.set_title(f"Metrics — {summary.get('mode')} — {summary.get('questions')} questions")
    fig.tight_layout()
    fig.savefig(out_dir / "metrics.png", dpi=110)
    plt.close(fig)

    langs = list(summary["by_language"])
    shown = [
        "hit_at_k",
        "citation_recall",
        "fact_recall",
        "side_coverage",
        "side_balance",
        "abstention_accuracy",
    ]
    fig, ax = plt.subplots(figsize=(8, 3.6))
    width = 0.8 / len(shown)
    for j, name in enumerate(shown):
        vals = [summary["by_language"][lang].get(name) for lang in langs]
        xs = [i + j * width for i in range(len(langs))]
        # A metric that does not apply to a language's questions (no unanswerable one, say)
        # has no bar and says so: a zero bar would read as a score of zero.
        ax.bar(xs, [np.nan if v is None else v for v in vals], width, label=name)
        for x, v in zip(xs, vals, strict=True):
            if v is None:
                ax.text(x, 0.01, "n/a", rotation=90, ha="center", va="bottom", fontsize=6)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(langs))])
    ax.set_xticklabels([f"{lang} ({summary['by_language'][lang]['questions']})" for lang in langs])
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=7, ncol=3)
    ax.set_title("By question language")
    fig.tight_layout()
    fig.savefig(out_dir / "languages.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(8, 3))
    ax.hist([r.latency_ms for r in rows], bins=20, color="#047857")
    for p, height in (("latency_p50_ms", 0.92), ("latency_p95_ms", 0.80)):
        # Each label at its own height and right of its line: p50 and p95 can be close.
        ax.axvline(summary[p], color="#b91c1c", linestyle="--")
        ax.text(summary[p], ax.get_ylim()[1] * height, " " + p.split("_")[1], fontsize=8)
    ax.set_xlabel("ms per question")
    ax.set_title("Latency")
    fig.tight_layout()
    fig.savefig(out_dir / "latency.png", dpi=110)
    plt.close(fig)


def _fmt(v: Any) -> str:
    return "—" if v is None else (f"{v:.3f}" if isinstance(v, float) else str(v))


def write_reports(out_dir: Path, summary: dict[str, Any], rows: list[Result]) -> None:
    """report.md and report.html (plots embedded) beside the run's results."""
    _plots(out_dir, summary, rows)
    (out_dir / "report.md").write_text(_markdown(summary, rows), encoding="utf-8")
    (out_dir / "report.html").write_text(_html(out_dir, summary, rows), encoding="utf-8")


def _columns(summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The breakdown columns: each question language, then each tag (as #tag)."""
    return {
        **summary["by_language"],
        **{f"#{tag}": b for tag, b in summary.get("by_tag", {}).items()},
    }


def _cell(text: str) -> str:
    """A question set's own text in a Markdown table cell: a "|" would end the cell.

    >>> print(_cell("#a|b"))
    #a\\|b
    """
    return text.replace("|", "\\|")


def _markdown(summary: dict[str, Any], rows: list[Result]) -> str:
    keys = SUMMARY_KEYS
    columns = _columns(summary)
    md = [
        f"# Evaluation — {summary['mode']}",
        "",
        f"{summary['questions']} questions, k = {summary['k']}, embedder {summary['embedder']}, "
        f"{summary['errors']} errors, {summary['created']}.",
        "",
        "| metric | all | "
        + " | ".join(f"{_cell(c)} ({b['questions']})" for c, b in columns.items())
        + " |",
        "|---|---|" + "---|" * len(columns),
    ]
    for key in keys:
        md.append(
            f"| {key} | {_fmt(summary[key])} | "
            + " | ".join(_fmt(b[key]) for b in columns.values())
            + " |"
        )
    if "llm_judged" in summary:
        md += [
            "",
            f"LLM-judged faithfulness (not deterministic): {summary['llm_judged']['faithfulness']:.3f} "
            f"over {summary['llm_judged']['questions']} questions.",
        ]
    if summary.get("notes"):
        md += ["", "**Notes** (each scores zero where it counts):", ""]
        md += [f"- {_cell(n)}" for n in summary["notes"]]
    md += ["", "Metrics:", ""]
    md += [f"- `{k}`: {MEANINGS[k]}" for k in keys]
    md += [
        "",
        *[f"![{p}]({p})" for p in PLOTS],
        "",
        "## Questions",
        "",
        "| id | lang | answerable | abstained | hit@k | cit. recall | facts | side coverage | ms |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        s = r.scores
        md.append(
            f"| {_cell(r.id)} | {_cell(r.language)} | {r.answerable} | {r.abstained} | {_fmt(s['hit_at_k'])} | "
            f"{_fmt(s['citation_recall'])} | {_fmt(s['fact_recall'])} | {_fmt(s['side_coverage'])} | {r.latency_ms} |"
        )
    return "\n".join(md) + "\n"


def _html(out_dir: Path, summary: dict[str, Any], rows: list[Result]) -> str:
    keys = SUMMARY_KEYS
    columns = _columns(summary)

    def img(name: str) -> str:
        data = base64.b64encode((out_dir / name).read_bytes()).decode()
        return f'<img alt="{name}" src="data:image/png;base64,{data}" style="max-width:100%">'

    head = "".join(
        f"<th>{html.escape(x)}</th>"
        for x in ["metric", "all", *(f"{c} ({b['questions']})" for c, b in columns.items())]
    )
    body = "".join(
        "<tr>"
        + "".join(
            f"<td>{html.escape(x)}</td>"
            for x in [
                k,
                _fmt(summary[k]),
                *[_fmt(b[k]) for b in columns.values()],
            ]
        )
        + "</tr>"
        for k in keys
    )
    qrows = "".join(
        "<tr>"
        + "".join(
            f"<td>{html.escape(str(x))}</td>"
            for x in [
                r.id,
                r.language,
                r.question,
                r.answerable,
                r.abstained,
                _fmt(r.scores["hit_at_k"]),
                _fmt(r.scores["citation_recall"]),
                _fmt(r.scores["fact_recall"]),
                _fmt(r.scores["side_coverage"]),
                r.latency_ms,
                f"error: {r.error}" if r.error else r.answer[:300],
            ]
        )
        + "</tr>"
        for r in rows
    )
    judged = ""
    if "llm_judged" in summary:  # as in report.md
        j = summary["llm_judged"]
        judged = (
            f"<p>LLM-judged faithfulness (not deterministic): {j['faithfulness']:.3f} over "
            f"{j['questions']} questions.</p>"
        )
    if summary.get("notes"):
        judged += "<p><b>Notes</b> (each scores zero where it counts):</p><ul>"
        judged += "".join(f"<li>{html.escape(n)}</li>" for n in summary["notes"]) + "</ul>"
    judged += (
        "<p>Metrics:</p><ul>"
        + "".join(f"<li><code>{k}</code>: {html.escape(MEANINGS[k])}</li>" for k in keys)
        + "</ul>"
    )
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>Evaluation — {html.escape(summary["mode"])}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:auto}}table{{border-collapse:collapse;font-size:13px}}
td,th{{border:1px solid #ddd;padding:3px 6px;vertical-align:top}}</style></head><body>
<h1>Evaluation — {html.escape(summary["mode"])}</h1>
<p>{summary["questions"]} questions, k = {summary["k"]}, embedder {html.escape(summary["embedder"])}, {summary["errors"]} errors, {html.escape(summary["created"])}.</p>
<table><tr>{head}</tr>{body}</table>
{judged}
{"".join(img(p) for p in PLOTS)}
<h2>Questions</h2><table><tr><th>id</th><th>lang</th><th>question</th><th>answerable</th><th>abstained</th><th>hit@k</th><th>cit. recall</th><th>facts</th><th>side coverage</th><th>ms</th><th>answer</th></tr>{qrows}</table>
</body></html>"""
    return page
