"""The web chat's HTML: side badges, citations with their context, the document view, the legend.

Everything shown from a document or a user is escaped here (html.escape) or made inert for the
chat's Markdown (answering/text.py); app.py only places these pieces on the page.
"""

from __future__ import annotations

import html

from assistant import VOICES, Answer, Assistant, Citation
from assistant.answering.text import inert
from assistant.recording import Times, at_moment, clock
from assistant.sources.model import Source, web_address

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
.said {color:#6b7280;font-size:11px;font-variant-numeric:tabular-nums;user-select:none}
"""


def side_colours(sides: list[str]) -> dict[str, str]:
    named = [s for s in sides if s != "unknown"]
    colours = {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(named)}
    colours["unknown"] = UNKNOWN_COLOUR
    return colours


def badge(side: str, colours: dict[str, str]) -> str:
    return f'<span class="badge side-badge" style="background:{colours.get(side, UNKNOWN_COLOUR)};color:#fff">{html.escape(side)}</span>'


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
    c: Citation,
    source_text: str,
    colours: dict[str, str],
    context: int = 300,
    undated: str = "undated",
) -> str:
    """One cited source: labels, then the quote highlighted inside its surrounding text.
    `undated`: the date shown where the source has none, in the answer's language."""
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
        f"{html.escape(c.title)} · {html.escape(c.date or undated)} · {html.escape(c.language)}"
        + (f" · {_moment(c)}" if c.at is not None else "")
        + f" · <code>{html.escape(c.source_id)}</code>"
        f'<div class="ctx">…{html.escape(before)}<mark>{html.escape(c.quote)}</mark>{html.escape(after)}…</div></div>'
    )


def _moment(c: Citation) -> str:
    """'at 1:15', a link to the video there when the source's address is a YouTube one."""
    timed = at_moment(c.url, c.at) if c.url and c.at is not None else ""
    if timed and timed != c.url and web_address(timed):
        href = html.escape(timed, quote=True)
        return f'<a href="{href}" target="_blank" rel="noopener noreferrer">{html.escape(c.when())}</a>'
    return html.escape(c.when())


def sources_html(assistant: Assistant, answer: Answer) -> str:
    """The sources panel of an answer, its words in the answer's language (the Assistant's
    own wording files over the bundled ones)."""
    w = assistant.wordings.of(answer.question_language)
    if answer.abstained or not answer.citations:
        # The answer says why (and, under filters, that only part of the index was searched).
        return f"<i>{html.escape(w.text('no_source_quoted'))}</i>"
    colours = side_colours(list(assistant.sides()))
    texts = {c.source_id: assistant.source(c.source_id)[1] for c in answer.citations}
    undated = w.text("undated")
    return "".join(
        citation_html(c, texts[c.source_id], colours, undated=undated) for c in answer.citations
    )


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
    span = (start, end) if start is not None and end is not None else None
    if span is not None and not 0 <= span[0] <= span[1] <= len(text):
        span = None
    body = _document_body(text, span, record.times)
    return head + f'<div class="ctx" id="document-text">{body}</div>'


def _document_body(text: str, span: tuple[int, int] | None, times: Times) -> str:
    """The text escaped, the cited span marked, and for a transcript, when each paragraph is
    said before it ([1:15]): the offsets are the text's, the times only shown."""
    said = {o: s for o, s in times if o == 0 or text[max(0, o - 2) : o] == "\n\n"}
    cuts = sorted({0, len(text), *said, *(span or ())})
    out = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        if a in said:  # before a mark opening there: the time is no part of the quote
            out.append(f'<span class="said">[{clock(said[a])}]</span> ')
        if span is not None and a == span[0]:
            out.append("<mark></mark>" if span[0] == span[1] else "<mark>")
        out.append(html.escape(text[a:b]))
        if span is not None and b == span[1] and span[0] != span[1]:
            out.append("</mark>")
    return "".join(out)


def as_text(text: str) -> str:
    """Text shown in the chat as written: no Markdown or HTML in it takes effect (answering/text.py)."""
    return inert(text)
