"""The web chat (Gradio). `python app.py [--host H] [--port P]` runs it; the HTTP API mounts it.

`create_app(assistant)` builds the Gradio interface and starts nothing; only `__main__` builds
the index if there is none (from data/corpus, with progress) and launches the server on
127.0.0.1. Document and user text is inert: escaped for Markdown in the chat (markup.py),
HTML-escaped in the source panels, and the page forbids loading anything from another origin
(a Content-Security-Policy header, from guard.py, whichever way the page is served).
With keys configured, Gradio's login guards the page and its API (access.py).
"""

from __future__ import annotations

import argparse
import html
import inspect
import os
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr
from starlette.middleware import Middleware

from . import VOICES, Answer, Assistant, AssistantError, Citation
from .access import LOGIN_MESSAGE, Keys
from .guard import Guard
from .jobs import Jobs
from .markup import inert, plain
from .sources import DECLARED, Source

EXAMPLES = [
    "How much aid has Japan given Ukraine?",
    "Où Kaneko a-t-il été blessé ?",
    "日本2024年的军费预算是多少？",
    "Почему Япония помогает Украине?",
    "Why does Russia call Japan an adversary?",
]

# Colours for side badges: assigned in vocabulary order, so any corpus's sides get one.
PALETTE = ["#b91c1c", "#1d4ed8", "#047857", "#7c3aed", "#b45309", "#0e7490", "#be185d"]
UNKNOWN_COLOUR = "#6b7280"

CSS = """
.badge {display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-size:12px;font-weight:600}
.suggested {display:inline-block;padding:0 7px;border-radius:10px;border:2px dashed;font-size:12px;font-weight:600}
.voice {display:inline-block;padding:1px 8px;border-radius:10px;border:1px solid #9ca3af;font-size:12px}
.cite {border-left:4px solid #d1d5db;padding:6px 10px;margin:8px 0;background:#fafafa}
.cite mark {background:#fde68a;padding:0 1px}
.ctx {color:#4b5563;font-size:13px;white-space:pre-wrap}
"""


def side_colours(sides: list[str]) -> dict[str, str]:
    named = [s for s in sides if s != "unknown"]
    colours = {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(named)}
    colours["unknown"] = UNKNOWN_COLOUR
    return colours


def badge(side: str, colours: dict[str, str]) -> str:
    return f'<span class="badge side-badge" style="background:{colours.get(side, UNKNOWN_COLOUR)}">{html.escape(side)}</span>'


def suggested_badge(side: str, colours: dict[str, str], title: str = "") -> str:
    """A suggested side: dashed, and saying so in words, never looking like a label."""
    colour = colours.get(side, UNKNOWN_COLOUR)
    return (
        f'<span class="suggested suggested-badge" style="border-color:{colour};color:{colour}" '
        f'title="{html.escape(title)}">suggested: {html.escape(side)}</span>'
    )


def suggestion_html(s: Source, colours: dict[str, str]) -> str:
    """A source's suggested side with every piece of its evidence, for the document view."""
    g = s.suggestion
    if g is None or not s.suggested_side:  # only an unlabelled source shows one
        return ""
    items = "".join(
        f"<li>“{html.escape(m.quote)}” at {m.start}–{m.end}"
        + (f" (marker {html.escape(m.marker)})" if m.marker and m.marker != m.quote else "")
        + "</li>"
        for m in g.evidence
    )
    voice = f", voice {html.escape(g.voice)}" if g.voice != "unknown" else ""
    return (
        f'<div class="suggestion" id="suggestion">{suggested_badge(g.side, colours)} '
        f"<small>Not a label: suggested by {html.escape(g.by)}{voice} from this evidence in the "
        f"text (accept it with <code>assistant label {html.escape(s.id)}</code>):</small>"
        f"<ul>{items}</ul></div>"
    )


def legend_html(assistant: Assistant) -> str:
    sides = assistant.sides()
    colours = side_colours(list(sides))
    rows = [f"{badge(s, colours)} {html.escape(d)}" for s, d in sides.items()]
    voices = [
        f'<span class="voice">{html.escape(v)}</span> {html.escape(d)}' for v, d in VOICES.items()
    ]
    return "<b>Sides</b><br>" + "<br>".join(rows) + "<br><b>Voices</b><br>" + "<br>".join(voices)


def citation_html(
    c: Citation, source_text: str, colours: dict[str, str], context: int = 300
) -> str:
    """One cited source: labels, then the quote highlighted inside its surrounding text."""
    before = source_text[max(0, c.start - context) : c.start]
    after = source_text[c.end : c.end + context]
    who = c.who()
    suggested = (
        " " + suggested_badge(c.suggested_side, colours, "a suggestion from the text, not a label")
        if c.suggested_side
        else ""
    )
    return (
        f'<div class="cite" id="cite-{c.n}"><b>[{c.n}]</b> {badge(c.side, colours)}{suggested} '
        f'<span class="voice">{html.escape(c.voice)}</span> <b>{html.escape(who)}</b> · '
        f"{html.escape(c.title)} · {html.escape(c.date or 'undated')} · {html.escape(c.language)}"
        f" · <code>{html.escape(c.source_id)}</code>"
        f'<div class="ctx">…{html.escape(before)}<mark>{html.escape(c.quote)}</mark>{html.escape(after)}…</div></div>'
    )


def sources_html(assistant: Assistant, answer: Answer) -> str:
    if answer.abstained or not answer.citations:
        return "<i>No source quoted: the indexed sources do not answer this.</i>"
    colours = side_colours(list(assistant.sides()))
    texts = {c.source_id: assistant.source(c.source_id)[1] for c in answer.citations}
    return "".join(citation_html(c, texts[c.source_id], colours) for c in answer.citations)


def document_html(assistant: Assistant, source_id: str, start: int | None, end: int | None) -> str:
    """A whole source document, with the cited span highlighted."""
    record, text = assistant.source(source_id)
    colours = side_colours(list(assistant.sides()))
    s = record.source
    head = (
        f"<h3>{html.escape(s.title)}</h3>{badge(s.side, colours)} <span class='voice'>{html.escape(s.voice)}</span> "
        f"{html.escape(s.outlet)} · {html.escape(s.author)} · {html.escape(s.date or 'undated')}"
        f"<p><i>{html.escape(s.perspective)}</i></p><p><small>Label evidence: {html.escape(s.evidence)}</small></p>"
        + suggestion_html(s, colours)
    )
    if start is not None and end is not None and 0 <= start <= end <= len(text):
        body = (
            html.escape(text[:start])
            + "<mark>"
            + html.escape(text[start:end])
            + "</mark>"
            + html.escape(text[end:])
        )
    else:
        body = html.escape(text)
    return head + f'<div class="ctx" id="document-text">{body}</div>'


def as_text(text: str) -> str:
    """Text shown in the chat as written: no Markdown or HTML in it takes effect (markup.py)."""
    return inert(text)


def linked(text: str) -> str:
    """Turn [n] markers into links to the citation in the source panel."""
    return re.sub(r"\[(\d{1,3})\]", r"[[\1]](#cite-\1)", text)


def upload(
    jobs: Jobs, files: list[Any] | None, fields: dict[str, Any], replace: bool = False
) -> Iterator[str]:
    """Queue uploaded files as ingest jobs (jobs.py) and report their progress, one line each,
    until every job is done or failed."""
    if not files:
        yield "Choose one or more files (txt, md, html, pdf) first."
        return
    lines: dict[str, str] = {}
    queued: dict[str, str] = {}
    for f in files:
        path = Path(f if isinstance(f, str) else f.name)
        own = dict(fields)
        if len(files) > 1:
            own.pop("title", None)  # one title cannot name several documents
        try:
            job = jobs.submit(path.name, path.read_bytes(), own, replace)
            queued[path.name] = job.id
            lines[path.name] = f"… {path.name}: queued as {job.source_id}"
        except AssistantError as exc:
            lines[path.name] = f"✘ {path.name}: {exc}"
    yield "\n".join(lines.values())
    while queued:
        time.sleep(0.5)
        for name, job_id in list(queued.items()):
            job = jobs.get(job_id)
            if job.state == "done":
                record = jobs.assistant.retriever.records().get(job.source_id)
                labels = f" ({record.source.labels()})" if record else ""
                notes = job.message.removeprefix("indexed").lstrip("; ")
                lines[name] = f"✔ {name}: indexed as {job.source_id}{labels}" + (
                    f"; {notes}" if notes else ""
                )
                del queued[name]
            elif job.state == "failed":
                lines[name] = f"✘ {name}: {job.message}"
                del queued[name]
            else:
                lines[name] = f"… {name}: {job.message} ({job.to_dict()['progress']:.0%})"
        yield "\n".join(lines.values())


def _text(content: Any) -> str:
    """A chat message's text: Gradio gives a string or a list of {"type": "text", "text": …}."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def create_app(
    assistant: Assistant, keys: Keys | None = None, jobs: Jobs | None = None
) -> gr.Blocks:
    """Build the chat interface around an Assistant.

    Args:
        assistant: what answers.
        keys: the access model; with keys, serve the Blocks with `auth=keys.login()` and only
            admin sessions may add documents (the same rule as the JSON API).
        jobs: the ingest queue shared with the JSON API (one of its own if not given; its
            worker thread starts now).
    """
    keys = keys or Keys()
    jobs = jobs or Jobs(assistant)
    sides = [s for s in assistant.sides()]
    records = assistant.sources()
    languages = sorted(
        {lang for r in records for lang in r.source.languages} | {"en", "fr", "zh", "ru"}
    )
    source_choices = [(f"{r.source.id} — {r.source.title[:50]}", r.source.id) for r in records]
    modes = assistant.modes()

    def respond(
        message: str,
        chat: list[dict[str, Any]],
        side: list[str],
        language: list[str],
        source: list[str],
        mode: str,
    ) -> Iterator[tuple[list[dict[str, Any]], str, Any, str]]:
        history = [(m["role"], plain(_text(m.get("content")))) for m in chat]
        chat = chat + [
            {"role": "user", "content": as_text(message)},
            {"role": "assistant", "content": ""},
        ]
        text = ""
        try:
            for item in assistant.stream(
                message,
                history or None,
                mode=mode,
                side=side or None,
                language=language or None,
                source=source or None,
            ):
                if isinstance(item, str):
                    text += item
                    # An extractive answer is composed inert (document text escaped); an LLM's
                    # text may repeat a document's markup, so all of it is escaped.
                    shown = text if mode == "extractive" else as_text(text)
                    chat[-1] = {"role": "assistant", "content": shown}
                    yield chat, "", gr.update(), ""
                else:
                    shown = item.answer if item.mode == "extractive" else as_text(item.answer)
                    chat[-1] = {"role": "assistant", "content": linked(shown)}
                    choices = [
                        (f"[{c.n}] {c.who()}", f"{c.source_id}:{c.start}:{c.end}")
                        for c in item.citations
                    ]
                    yield (
                        chat,
                        sources_html(assistant, item),
                        gr.update(choices=choices, value=None),
                        "",
                    )
        except AssistantError as exc:
            chat[-1] = {"role": "assistant", "content": as_text(f"⚠ {exc}")}
            yield chat, "", gr.update(), ""

    def open_source(key: str | None) -> str:
        if not key:
            return ""
        source_id, start, end = key.rsplit(":", 2)
        return document_html(assistant, source_id, int(start), int(end))

    # No telemetry: the page is for people's research questions, and the product runs offline.
    with gr.Blocks(title="Perspective-aware research assistant", analytics_enabled=False) as demo:
        gr.Markdown(
            "## Perspective-aware research assistant\nAsk in any language; answers quote the sources "
            "verbatim, in their own language, and say which side and voice each speaks for."
        )
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(label="Conversation", height=480, elem_id="chat")
                box = gr.Textbox(
                    placeholder="Ask a question…", show_label=False, elem_id="question"
                )
                with gr.Row():
                    send = gr.Button("Ask", variant="primary", elem_id="ask")
                    clear = gr.Button("Clear conversation", elem_id="clear")
                gr.Examples(EXAMPLES, inputs=box)
            with gr.Column(scale=2):
                mode = gr.Radio(
                    modes,
                    value=assistant.settings.mode
                    if assistant.settings.mode in modes
                    else "extractive",
                    label=f"Answering mode (now: {assistant.mode_label()})",
                    elem_id="mode",
                )
                side = gr.CheckboxGroup(sides, label="Sides", elem_id="side-filter")
                language = gr.CheckboxGroup(languages, label="Languages", elem_id="language-filter")
                source = gr.Dropdown(
                    source_choices, multiselect=True, label="Sources", elem_id="source-filter"
                )
                with gr.Accordion("Legend: sides and voices", open=False):
                    gr.HTML(legend_html(assistant))
        with gr.Accordion("Add documents", open=False, elem_id="add-documents") as adder:
            files = gr.File(
                file_count="multiple",
                file_types=[".txt", ".md", ".html", ".htm", ".pdf"],
                label="Files (txt, md, html, pdf)",
                elem_id="upload-files",
            )
            # One input per declared field (sources.DECLARED: the list the manifest and the
            # API's form read too), four to a row.
            boxes: dict[str, Any] = {}
            for row in range(0, len(DECLARED), 4):
                with gr.Row():
                    for f in DECLARED[row : row + 4]:
                        if f.choices:
                            vocabulary = sides if f.choices == "sides" else list(VOICES)
                            boxes[f.name] = gr.Dropdown(vocabulary, value="unknown", label=f.label)
                        else:
                            boxes[f.name] = gr.Textbox(value="", label=f.label)
            f_replace = gr.Checkbox(
                False, label="Replace a source with the same id (otherwise it is refused)"
            )
            add = gr.Button("Add to the index", elem_id="add")
            added = gr.Textbox(label="Result", interactive=False, elem_id="add-result", lines=3)
        gr.Markdown("### Cited sources")
        panel = gr.HTML(elem_id="sources-panel")
        opener = gr.Dropdown([], label="Open a cited source document", elem_id="open-source")
        document = gr.HTML(elem_id="document")
        gr.HTML(f"<style>{CSS}</style>")

        inputs = [box, chatbot, side, language, source, mode]
        outputs = [chatbot, panel, opener, box]
        box.submit(respond, inputs, outputs, api_name="ask")
        send.click(respond, inputs, outputs, api_visibility="private")
        clear.click(
            lambda: ([], "", gr.update(choices=[], value=None), ""),
            None,
            [chatbot, panel, opener, document],
            api_visibility="private",
        )
        opener.change(open_source, opener, document, api_visibility="private")

        def add_files(*args: Any) -> Iterator[tuple[str, Any]]:
            # Called as (files, *declared field values, replace, request): see its signature.
            files, values, replace, request = args[0], args[1:-2], args[-2], args[-1]
            # The same rule as the JSON API: with keys set, only an admin session adds.
            if not keys.session_is_admin(getattr(request, "username", None)):
                raise gr.Error(
                    "adding documents needs an admin key: log in as 'admin' with an admin key"
                )
            fields = dict(zip(boxes, values, strict=True))
            message = ""
            for message in upload(jobs, files, fields, bool(replace)):
                yield message, gr.update()
            choices = [
                (f"{r.source.id} — {r.source.title[:50]}", r.source.id) for r in assistant.sources()
            ]
            yield message, gr.update(choices=choices)

        def admin_only(request: gr.Request) -> Any:
            return gr.update(visible=keys.session_is_admin(getattr(request, "username", None)))

        demo.load(admin_only, None, adder, api_visibility="private")

        # Gradio names the API's parameters, and finds where to pass the request, from the
        # signature: give it the declared fields by name.
        # Every field may be left out (an empty form field, as in the browser).
        kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
        add_files.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [
                inspect.Parameter("files", kind, annotation=list[Any] | None),
                *(
                    inspect.Parameter(
                        f.name, kind, annotation=str, default="unknown" if f.choices else ""
                    )
                    for f in DECLARED
                ),
                inspect.Parameter("replace", kind, annotation=bool, default=False),
                inspect.Parameter("request", kind, annotation=gr.Request, default=None),
            ]
        )
        # Gradio reads the type hints apart from the signature to find the request parameter.
        add_files.__annotations__ = {
            p.name: p.annotation
            for p in add_files.__signature__.parameters.values()  # type: ignore[attr-defined]
        }
        add.click(
            add_files,
            [files, *boxes.values(), f_replace],
            [added, source],
            api_name="add_documents",
        )
    return demo


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the web chat on the bundled corpus.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7860)
    args = parser.parse_args(argv)
    # The entry point, not an import: `python app.py` never reaches for the Hugging Face Hub.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    assistant = Assistant()
    try:

        def progress(done: int, total: int, name: str) -> None:
            print(f"building the index: {done}/{total} {name}", file=sys.stderr, flush=True)

        report = assistant.ensure_index(progress)
        if report:
            print(f"index built: {report.summary()}", file=sys.stderr)
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    keys = Keys.of_settings(assistant.settings)
    demo = create_app(assistant, keys=keys)
    demo.launch(
        server_name=args.host,
        server_port=args.port,
        css=CSS,
        auth=keys.login(),
        auth_message=LOGIN_MESSAGE,
        # The same guard as the served API: body limits, strict JSON, the CSP header.
        app_kwargs={
            "middleware": [
                Middleware(Guard, max_upload=assistant.settings.max_upload_mb * 1024 * 1024)
            ]
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
