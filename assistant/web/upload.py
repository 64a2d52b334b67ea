"""The web chat's "Add documents" form: one input per declared field, queued ingest jobs.

The form is generated from sources/model.DECLARED (the list the manifest and the API's form read
too), so a new manifest field appears here without an edit. Adding follows the JSON API's
rule: with keys set, only an admin session adds (access.py).
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import gradio as gr

from assistant import VOICES, Assistant, AssistantError
from assistant.ingest.loaders import READABLE, SUPPORTED
from assistant.serve.access import Keys
from assistant.serve.jobs import Jobs
from assistant.sources.model import DECLARED

from .labels import FIELD, Labels

# What the browser's file picker offers: every type an ingest reads (captions included).
FILE_TYPES = list(SUPPORTED)


# The most entries the Sources filter holds at once. An archive's 6,000 made the page's config
# 692 KB, sent again on each load and focus, and the box slow to open and to type in on a slow
# CPU (docs/RELIABILITY.md, ninth round); past this many, what is typed in the box finds them.
SHOWN = 200


def source_filter(
    assistant: Assistant, typed: str = "", chosen: Sequence[str] = ()
) -> tuple[list[tuple[str, str]], str]:
    """The sources filter's entries and what the box says under its name, from one listing.

    Entries, "id — title" shown and the id passed: the first SHOWN whose entry holds `typed`
    (in any case), and every `chosen` one, which the box keeps; with no more than SHOWN
    sources, every one (the box filters them as it is typed in). The hint, past SHOWN
    sources: that the "Find sources" box finds the others (empty, and that box hidden, up to
    SHOWN)."""
    needle, keep = typed.strip().casefold(), set(chosen)
    out, found = [], 0
    records = assistant.sources()
    for r in records:
        entry = (f"{r.source.id} — {r.source.title[:50]}", r.source.id)
        if r.source.id in keep:
            out.append(entry)
        elif found < SHOWN and needle in entry[0].casefold():
            out.append(entry)
            found += 1
    n = len(records)
    return out, f"{SHOWN} of {n:,} sources: find the others below" if n > SHOWN else ""


def upload(
    jobs: Jobs, files: list[Any] | None, fields: dict[str, Any], replace: bool = False
) -> Iterator[tuple[str, list[str]]]:
    """Queue uploaded files as ingest jobs (jobs.py) and report their progress, one line each,
    until every job is done, failed or cancelled. Yields (the lines, the unfinished job ids):
    the ids are what the Cancel button cancels."""
    if not files:
        yield f"Choose one or more files ({READABLE}) first.", []
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
            lines[path.name] = _failed(path.name, str(exc))
    yield "\n".join(lines.values()), list(queued.values())
    while queued:
        time.sleep(0.5)
        for name, job_id in list(queued.items()):
            line = _progress(jobs, name, job_id)
            lines[name] = line
            if not line.startswith("…"):
                del queued[name]
        yield "\n".join(lines.values()), list(queued.values())


def _progress(jobs: Jobs, name: str, job_id: str) -> str:
    """One file's line: ✔ with its labels when indexed, ✘ with the reason, … while it runs."""
    job = jobs.get(job_id)
    if job.state == "done":
        record = jobs.assistant.snapshot().records.get(job.source_id)
        labels = f" ({record.source.labels()})" if record else ""
        notes = job.message.removeprefix("indexed").lstrip("; ")
        return f"✔ {name}: indexed as {job.source_id}{labels}" + (f"; {notes}" if notes else "")
    if job.state in ("failed", "cancelled"):
        return _failed(name, job.message)
    return f"… {name}: {job.message} ({job.to_dict()['progress']:.0%})"


def _failed(name: str, why: str) -> str:
    """A file's ✘ line; a reason that names the file already ("x.txt: looks binary") is not
    prefixed with it again."""
    return f"✘ {name}: {why.removeprefix(f'{name}: ')}"


def field_inputs(sides: list[str], t: Labels) -> dict[str, Any]:
    """One input per declared field, four to a row: a dropdown for a vocabulary, else a box;
    each labelled in the browser's language (`t`)."""
    boxes: dict[str, Any] = {}
    for row in range(0, len(DECLARED), 4):
        with gr.Row():
            for f in DECLARED[row : row + 4]:
                if f.choices:
                    vocabulary = sides if f.choices == "sides" else list(VOICES)
                    label = t(FIELD + f.name)
                    boxes[f.name] = gr.Dropdown(vocabulary, value="unknown", label=label)
                else:
                    boxes[f.name] = gr.Textbox(value="", label=t(FIELD + f.name))
    return boxes


def add_handler(
    assistant: Assistant, keys: Keys, jobs: Jobs
) -> Callable[..., Iterator[tuple[str, Any, list[str]]]]:
    """The "Add to the index" event: (files, *declared fields, replace, request) → progress
    lines, then the refreshed sources filter (and, as page state, the unfinished job ids the
    Cancel button cancels). Its signature names every declared field, so
    the page's API (gradio_client) takes them by name."""

    def add_files(*args: Any) -> Iterator[tuple[str, Any, list[str]]]:
        files, values, replace, request = args[0], args[1:-2], args[-2], args[-1]
        if not keys.session_is_admin(getattr(request, "username", None)):
            raise gr.Error(
                "adding documents needs an admin key: log in as 'admin' with an admin key"
            )
        fields = {f.name: v for f, v in zip(DECLARED, values, strict=True)}
        message = ""
        for message, unfinished in upload(jobs, files, fields, bool(replace)):
            yield message, gr.update(), unfinished
        yield message, gr.update(), []  # the filter is refreshed after, with what is chosen

    # Gradio names the API's parameters, and finds where to pass the request, from the
    # signature; every field may be left out (an empty form field, as in the browser).
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    signature = inspect.Signature(
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
    add_files.__signature__ = signature  # type: ignore[attr-defined]  # read by gradio
    # Gradio reads the type hints apart from the signature to find the request parameter.
    add_files.__annotations__ = {p.name: p.annotation for p in signature.parameters.values()}
    return add_files


def cancel_handler(keys: Keys, jobs: Jobs) -> Callable[..., str]:
    """The "Cancel" event: cancel this page's unfinished uploads (their ids are the page's
    state, set by the add event); the add event's progress lines then say "cancelled"."""

    def cancel_uploads(job_ids: list[str] | None, request: gr.Request) -> str:
        if not keys.session_is_admin(getattr(request, "username", None)):
            raise gr.Error("cancelling uploads needs an admin key")
        cancelled = 0
        for job_id in job_ids or []:
            try:
                jobs.cancel(job_id, wait_s=0)
                cancelled += 1
            except AssistantError:
                pass  # finished meanwhile: its own line says how
        if not cancelled:
            return "Nothing to cancel: no upload of this page is unfinished."
        return f"Cancelling {cancelled} upload(s); nothing of them will be indexed."

    return cancel_uploads


def add_documents(
    assistant: Assistant, keys: Keys, jobs: Jobs, sides: list[str], source: Any, t: Labels
) -> Any:
    """The "Add documents" accordion, wired; visible to admin sessions only. Returns it and
    its upload event (the page refreshes its Sources filter after it, with what is chosen and
    what the finder holds)."""
    with gr.Accordion(t("add_documents"), open=False, elem_id="add-documents") as adder:
        files = gr.File(
            file_count="multiple",
            file_types=FILE_TYPES,
            label=t("files") + f" ({READABLE})",
            elem_id="upload-files",
        )
        boxes = field_inputs(sides, t)
        replace = gr.Checkbox(False, label=t("replace"))
        with gr.Row():
            add = gr.Button(t("add"), elem_id="add")
            cancel = gr.Button(t("cancel"), elem_id="cancel-upload", variant="stop")
        added = gr.Textbox(label=t("result"), interactive=False, elem_id="add-result", lines=3)
        cancelled = gr.Markdown(elem_id="cancel-result")
        unfinished = gr.State([])
    event = add.click(
        add_handler(assistant, keys, jobs),
        [files, *boxes.values(), replace],
        [added, source, unfinished],
        api_name="add_documents",
    )
    cancel.click(cancel_handler(keys, jobs), [unfinished], [cancelled], api_name="cancel_uploads")
    return adder, event
