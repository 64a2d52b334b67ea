"""The web chat (Gradio). `python app.py [--host H] [--port P]` runs it; the HTTP API mounts it.

`create_app(assistant)` builds the Gradio interface and starts nothing; only `__main__` builds
the index if there is none (from data/corpus, with progress) and serves the chat at / on
127.0.0.1 with uvicorn (serve/http.create_chat: the API's guard, CORS rules and upload rule).
Document and user text is inert: escaped for Markdown in the chat (answering/text.py),
HTML-escaped in the source panels, and the page forbids loading anything from another origin
(a Content-Security-Policy header, from serve/middleware.py, whichever way it is served).
With keys configured, Gradio's login guards the page and its API (access.py).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from assistant import Answer, Assistant, AssistantError
from assistant.answering.text import export, linked, plain, worded
from assistant.ingest.language import UNDETERMINED
from assistant.serve.access import Keys
from assistant.serve.jobs import Jobs
from assistant.sources.model import safe_id

from .labels import Labels
from .render import CSS, as_text, document_html, legend_html, sources_html
from .upload import add_documents, source_filter

# A conversation kept in the browser holds its latest messages and answers: localStorage holds
# a few megabytes, and an answer with its citations is a few kilobytes.
KEPT_MESSAGES = 100
KEPT_ANSWERS = 50
# What a question asked shows in its answer's place when the page is reloaded or closed before
# the answer completes: the question is kept as it is asked, the answer only once complete.
INTERRUPTED = (
    "⚠ This answer did not finish: the page was reloaded or closed while it was written. Ask again."
)
__all__ = ["CSS", "create_app", "document_html", "main", "sources_html"]


def _text(content: Any) -> str:
    """A chat message's text: Gradio gives a string or a list of {"type": "text", "text": …}."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


Update = tuple[list[dict[str, Any]], str, Any, str, list[Answer]]


def responder(assistant: Assistant) -> Callable[..., Iterator[Update]]:
    """The ask event: streams the answer into the chat, then fills the sources panel and the
    cited-document picker. Errors become a chat line that says the fix."""

    def respond(
        message: str,
        chat: list[dict[str, Any]],
        side: list[str],
        language: list[str],
        source: list[str],
        mode: str,
        answers: list[Answer] | None = None,
    ) -> Iterator[Update]:
        answers = list(answers or [])
        # An answer a reload cut short (its placeholder) is no context for the next question.
        history = [
            (m["role"], plain(_text(m.get("content"))))
            for m in chat
            if _text(m.get("content")) != INTERRUPTED
        ]
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
                    # Both modes stream safe Markdown (answering/text.py): document text
                    # inert, an LLM's Markdown without raw HTML, images or links.
                    text += item
                    chat[-1] = {"role": "assistant", "content": text}
                    yield chat, "", gr.update(), "", answers
                else:
                    chat[-1] = {"role": "assistant", "content": linked(item.answer)}
                    choices = citation_choices(item)
                    panel = sources_html(assistant, item)
                    answers.append(item)
                    yield chat, panel, gr.update(choices=choices, value=None), "", answers
        except AssistantError as exc:
            chat[-1] = {"role": "assistant", "content": as_text(f"⚠ {exc}")}
            # The question stays in the box, to be mended (a question over the limit was lost).
            yield chat, "", gr.update(), message, answers

    return respond


def citation_choices(answer: Answer) -> list[tuple[str, str]]:
    """The cited-document picker's entries: "[n] who", keyed by source and quote offsets."""
    return [(f"[{c.n}] {c.who()}", f"{c.source_id}:{c.start}:{c.end}") for c in answer.citations]


def exporter() -> Callable[..., Any]:
    """The Export button's file: the conversation as Markdown with every answer's references
    (answering/text.export), written under a temporary folder made at the first export (building
    the page creates nothing; Gradio serves the file from its cache). The folder, which holds
    people's conversations, is deleted when the process exits."""
    folder: list[tempfile.TemporaryDirectory[str]] = []
    making = threading.Lock()  # two sessions' first exports make one folder

    def export_file(answers: list[Answer] | None, request: gr.Request) -> Any:
        if not answers:
            return gr.update(value=None, interactive=False)
        with making:
            if not folder:
                # Its finalizer deletes it at exit, however the server stops short of a kill.
                folder.append(tempfile.TemporaryDirectory(prefix="assistant-export-"))
        stamp = time.strftime("%Y-%m-%d %H:%M")
        # One file per session, rewritten after each answer.
        session = getattr(request, "session_hash", None) or uuid.uuid4().hex
        path = Path(folder[0].name) / f"conversation-{safe_id(str(session))[:40]}.md"
        # Titled in the language the conversation opened in, as its first answer is worded.
        title = worded(answers[0]).text("exported", stamp=stamp)
        path.write_text(export(answers, title), encoding="utf-8")
        return gr.update(value=str(path), interactive=True)

    return export_file


def language_choices(assistant: Assistant) -> list[tuple[str, str]]:
    """The languages filter's entries: those the index's passages are in ("und": too short
    to tell)."""
    names = {UNDETERMINED: "und (undetermined)"}
    languages = assistant.snapshot().vocabulary()["language"]
    return [(names.get(lang, lang), lang) for lang in sorted(languages)]


def controls(assistant: Assistant, t: Labels) -> tuple[Any, Any, Any, Any, Any]:
    """The answering mode and the side, language and source filters (and the box that finds
    sources past the filter's SHOWN); then the legend."""
    modes = assistant.modes()
    mode = gr.Radio(
        modes,
        value=assistant.settings.mode if assistant.settings.mode in modes else "extractive",
        label=t("mode") + f" ({assistant.mode_label()})",
        elem_id="mode",
    )
    side = gr.CheckboxGroup(list(assistant.sides()), label=t("sides"), elem_id="side-filter")
    # The index's own languages (refreshed with the sources, below): one it lacks, offered,
    # could only be refused.
    language = gr.CheckboxGroup(
        language_choices(assistant), label=t("languages"), elem_id="language-filter"
    )
    # Its entries follow the index (refreshed on page load and when opened, below), at most
    # SHOWN of them; past that, the box under it finds the others. An id not among them,
    # typed or sent by an API client, reaches retrieval, which names the closest valid one.
    choices, hint = source_filter(assistant)
    source = gr.Dropdown(
        choices,
        multiselect=True,
        label=t("sources"),
        info=hint,
        elem_id="source-filter",
        allow_custom_value=True,
    )
    # A box of its own, not the dropdown's typing (its key_up): the dropdown's text raced its
    # own updates, and text typed faster than a reply came back searched for its first letters.
    finder = gr.Textbox(
        label=t("find_sources"),
        placeholder=t("find_sources_hint"),
        visible=bool(hint),
        elem_id="source-finder",
    )
    finder.change(
        lambda typed, chosen: gr.update(
            choices=source_filter(assistant, typed or "", chosen or [])[0]
        ),
        [finder, source],
        source,
        api_visibility="private",
        trigger_mode="always_last",
    )
    with gr.Accordion(t("legend"), open=False):
        gr.HTML(legend_html(assistant))
    return mode, side, language, source, finder


def create_app(
    assistant: Assistant, keys: Keys | None = None, jobs: Jobs | None = None
) -> gr.Blocks:
    """Build the chat interface around an Assistant.

    Args:
        assistant: what answers.
        keys: the access model; with keys, serve the Blocks with `auth=keys.login()` and only
            admin sessions may add documents (the same rule as the JSON API).
        jobs: the ingest queue shared with the JSON API (one of its own if not given; its
            worker starts with the first upload).
    """
    keys = keys or Keys()
    jobs = jobs or Jobs(assistant)
    # The page's own labels in the browser's language (labels.py); checked now, not on a visit.
    t = Labels(assistant.settings.prompts_dir)

    def admin_only(request: gr.Request) -> Any:
        return gr.update(visible=keys.session_is_admin(getattr(request, "username", None)))

    def current_sources(
        chosen: list[str] | None = None, typed: str | None = None
    ) -> tuple[Any, Any]:
        """The filter's entries now (those the finder's text finds, the chosen ones kept) and
        whether the finder shows (past SHOWN sources: the index may have grown since)."""
        # A hidden finder's text comes as None.
        choices, hint = source_filter(assistant, typed or "", chosen or [])
        return gr.update(choices=choices, info=hint), gr.update(visible=bool(hint))

    def current_languages() -> Any:
        return gr.update(choices=language_choices(assistant))

    # No telemetry: the page is for people's research questions, and the product runs offline.
    # Gradio's cache (uploads, exports) is emptied of files older than an hour, every hour.
    with gr.Blocks(
        title="Perspective-aware research assistant",
        analytics_enabled=False,
        delete_cache=(3600, 3600),
    ) as demo:
        gr.Markdown(t("intro"))
        with gr.Row():
            with gr.Column(scale=3):
                chat = _conversation(assistant.corpus().examples, t)
            with gr.Column(scale=2):
                mode, side, language, source, finder = controls(assistant, t)
        sides = list(assistant.sides())
        adder, uploaded = add_documents(assistant, keys, jobs, sides, source, t)
        restore = _answering(assistant, chat, [side, language, source, mode], t)
        restore(demo)
        demo.load(admin_only, None, adder, api_visibility="private")
        # Documents added since start-up (by any client, or `assistant ingest`) appear.
        shown = [source, finder]
        demo.load(current_sources, None, shown, api_visibility="private")
        source.focus(current_sources, shown, shown, api_visibility="private")
        uploaded.then(current_sources, shown, shown, api_visibility="private")
        demo.load(current_languages, None, language, api_visibility="private")
    # What mount_gradio_app is given (serve/http.py); `demo.launch(i18n=demo.i18n_instance)`
    # keeps them too (a bare launch() drops them: the page is then in English).
    demo.i18n_instance = t.i18n()
    return demo


@dataclass
class _Conversation:
    """The page's conversation: the chat, the question box and its buttons."""

    chatbot: Any
    box: Any
    send: Any
    clear: Any
    download: Any


def _conversation(examples: tuple[str, ...], t: Labels) -> _Conversation:
    """The chat, its question box and buttons, and the corpus's example questions (none
    offered when its manifest declares none: the bundled corpus's would not fit another)."""
    chatbot = gr.Chatbot(label=t("conversation"), height=480, elem_id="chat")
    box = gr.Textbox(placeholder=t("question"), show_label=False, elem_id="question")
    with gr.Row():
        send = gr.Button(t("ask"), variant="primary", elem_id="ask")
        clear = gr.Button(t("clear"), elem_id="clear")
        download = gr.DownloadButton(t("export"), interactive=False, elem_id="export")
    if examples:
        gr.Examples(list(examples), inputs=box, label=t("examples"))
    return _Conversation(chatbot, box, send, clear, download)


def kept(chat: list[dict[str, Any]], answers: list[Answer], user: str) -> dict[str, Any]:
    """What the browser keeps of a conversation: its latest messages and answers, and whose
    it is."""
    return {
        "user": user,
        "chat": [
            {"role": m["role"], "content": _text(m.get("content"))} for m in chat[-KEPT_MESSAGES:]
        ],
        "answers": [a.to_dict(with_retrieved=False) for a in answers[-KEPT_ANSWERS:]],
    }


def restored(saved: Any, user: str) -> tuple[list[dict[str, Any]], list[Answer]] | None:
    """The chat and answers the browser kept for this user, or None (nothing kept, another
    user's, or not readable as a conversation: the page then starts empty, as before)."""
    if not isinstance(saved, dict) or not saved.get("chat") or saved.get("user") != user:
        return None
    try:
        answers = [Answer.from_dict(a) for a in saved.get("answers", [])]
        chat = [{"role": m["role"], "content": str(m["content"])} for m in saved["chat"]]
    except (KeyError, TypeError, ValueError):
        return None
    return chat, answers


def _answering(
    assistant: Assistant, chat: _Conversation, filters: list[Any], t: Labels
) -> Callable[[gr.Blocks], None]:
    """The cited sources under the conversation, and the events that ask, export, clear and
    open a cited document. `filters`: side, language, source and mode, as `respond` takes them.

    The conversation is kept in the browser (its localStorage, encrypted with a secret of this
    server's run) and restored when the page loads, so a reload keeps it; a server restart or
    Clear conversation forgets it. Returns what registers the restoring on the page's load."""
    gr.Markdown(t("cited_sources"))
    panel = gr.HTML(elem_id="sources-panel")
    opener = gr.Dropdown([], label=t("open_source"), elem_id="open-source")
    document = gr.HTML(elem_id="document")
    gr.HTML(f"<style>{CSS}</style>")

    def open_source(key: str | None) -> str:
        if not key:
            return ""
        source_id, start, end = key.rsplit(":", 2)
        return document_html(assistant, source_id, int(start), int(end))

    respond = responder(assistant)
    answers = gr.State([])  # this session's answers, for the Export button
    saved = gr.BrowserState({}, storage_key="assistant-conversation")
    export_file = exporter()
    inputs = [chat.box, chat.chatbot, *filters, answers]
    outputs = [chat.chatbot, panel, opener, chat.box, answers]

    def keep(chat_now: list[dict[str, Any]], done: list[Answer], request: gr.Request) -> Any:
        return kept(chat_now, done, _user(request))

    def asked(
        message: str, chat_now: list[dict[str, Any]], done: list[Answer], request: gr.Request
    ) -> Any:
        """The conversation kept with the question just asked, before it is answered: a reload
        mid-answer then shows the question and that its answer did not finish."""
        if not message.strip():
            return gr.skip()
        turn = [
            {"role": "user", "content": as_text(message)},
            {"role": "assistant", "content": INTERRUPTED},
        ]
        return kept(chat_now + turn, done, _user(request))

    def restore(saved_now: Any, request: gr.Request) -> tuple[Any, ...]:
        got = restored(saved_now, _user(request))
        if got is None:
            return gr.update(), gr.update(), gr.update(), gr.update()
        chat_then, done = got
        last = done[-1] if done else None
        return (
            chat_then,
            sources_html(assistant, last) if last else "",
            gr.update(choices=citation_choices(last) if last else [], value=None),
            done,
        )

    # Beside the answer, not before it: the answer stays the trigger's own event, which Gradio
    # runs once at a time (a second question while one streams is not taken).
    for trigger in (chat.box.submit, chat.send.click):
        trigger(asked, [chat.box, chat.chatbot, answers], saved, api_visibility="private")
    for event in (
        chat.box.submit(respond, inputs, outputs, api_name="ask"),
        chat.send.click(respond, inputs, outputs, api_visibility="private"),
    ):
        event.then(export_file, answers, chat.download, api_visibility="private").then(
            keep, [chat.chatbot, answers], saved, api_visibility="private"
        )
    chat.clear.click(
        lambda: (
            [],
            "",
            gr.update(choices=[], value=None),
            "",
            [],
            gr.update(value=None, interactive=False),
            {},
        ),
        None,
        [chat.chatbot, panel, opener, document, answers, chat.download, saved],
        api_visibility="private",
    )
    opener.change(open_source, opener, document, api_visibility="private")

    def on_load(demo: gr.Blocks) -> None:
        demo.load(
            restore, saved, [chat.chatbot, panel, opener, answers], api_visibility="private"
        ).then(export_file, answers, chat.download, api_visibility="private")

    return on_load


def _user(request: gr.Request) -> str:
    """Who is signed in ("" without keys): a conversation kept in a browser is restored only
    for the user who had it."""
    return str(getattr(request, "username", None) or "")


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

        from assistant.serve.http import create_chat, listenable, log_config, run_server

        listenable(args.host, args.port)  # before building the index, not minutes after
        report = assistant.ensure_index(progress)
        if report:
            print(f"index built: {report.summary()}", file=sys.stderr)
        print(f"the chat: http://{args.host}:{args.port}/", file=sys.stderr, flush=True)
        run_server(create_chat(assistant), args.host, args.port, log_config=log_config())
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
