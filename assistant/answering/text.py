"""The answer's text format, with one owner: the body and its [n] markers, the references list,
document text made inert, LLM Markdown made safe, the cut at a token budget, and the export.

An `Answer` is the single source of truth; every edge renders its text from it here:
- `Answer.answer` is the **body**: Markdown with `[n]` markers and no references list, safe for
  any Markdown renderer in both modes. Document text in it is inert (`inert`); an LLM's Markdown
  keeps emphasis, lists, headings and code, and loses raw HTML, images and links
  (markdown.SafeMarkdown).
- `full(answer)`: the body, then the references list (`references`): what clients that only
  show text receive (the OpenAI endpoint, agent tools, the CLI).
- `cut(answer, limit)`: `full` cut to a token budget at a sentence boundary, with the
  references of the text it keeps.
- `export(answers)`: a Markdown document of one answer or a conversation, with references.
- `linked(body)`: the web chat's form, each `[n]` a link to its citation in the sources panel.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from assistant.errors import InvalidRequest
from assistant.inputs import longest_fitting
from assistant.recording import at_moment
from assistant.schema import Answer, Citation

from .markdown import parser
from .wording import FALLBACK, Wording, Wordings

MARKER = re.compile(r"\[(\d{1,3})\]")
# A marker with the spaces before it: what to take out when a marker goes ("$7.6 billion [99]."
# left "$7.6 billion .").
SPACED_MARKER = re.compile(r"[ \t]*" + MARKER.pattern)
# CommonMark lets a backslash escape any ASCII punctuation; escaping the characters that open
# inline markup (emphasis, code, links, images, raw HTML, entities, strikethrough, table cells)
# is enough for text that sits inside one line. `.`, `:` and `$` are left alone so that
# figures such as "$7.6 billion" read and match as written.
_INLINE = re.compile(r"([\\`*_\[\]<>&~|!#])")


# GFM renderers (a chat UI's, Gradio's) turn a bare "http://…" or "www.…" into a link. A zero-width
# space after the scheme or "www" leaves the text as it reads and makes it no link; plain() takes
# it out again.
_BARE_LINK = re.compile(r"(?i)\b(https?|ftp)(?=://)|\b(www)(?=\.)")
_DEFANGED = re.compile(r"(?i)\b(https?|ftp|www)\u200b(?=://|\.)")


def unlinked(text: str) -> str:
    """Text in which no bare URL becomes a link.

    >>> unlinked("see https://x.example and www.y.example") == "see https\u200b://x.example and www\u200b.y.example"
    True
    """
    return _BARE_LINK.sub(lambda m: (m.group(1) or m.group(2)) + "\u200b", text)


def inert(text: str, links: bool = False) -> str:
    r"""Document or user text, backslash-escaped so that no Markdown or HTML in it takes effect:
    an image `![x](http://host/pixel.png)` in a quote would make each reader's browser report
    to that host, and `<img>`, links and emphasis would let a document restyle the answer.

    A bare URL in it is no link either (`unlinked`), unless `links` (a source's own URL in its
    reference).

    >>> inert("see ![x](http://evil.example/x.png) and **bold** <b>", links=True)
    'see \\!\\[x\\](http://evil.example/x.png) and \\*\\*bold\\*\\* \\<b\\>'
    """
    return _INLINE.sub(r"\\\1", text if links else unlinked(text))


def address(url: str) -> str:
    r"""A source's own address as a link that reads, and copies, as written: an autolink
    (`<https://…>`), inside which Markdown takes no backslash escapes, where inert() would write
    `watch?v=a\_b\&t=5s`. An address an autolink cannot hold stays inert text.

    >>> address("https://www.youtube.com/watch?v=a_b&t=5s"), address("https://x.example/a b")
    ('<https://www.youtube.com/watch?v=a_b&t=5s>', 'https://x.example/a b')
    """
    if re.fullmatch(r"https?://[^\s<>\x00-\x1f\x7f]+", url, re.I):
        return f"<{url}>"
    return inert(url, links=True)


def inert_but_markers(text: str) -> str:
    r"""inert(), with the [n] citation markers kept as markers.

    >>> inert_but_markers("a *b* [2]")
    'a \\*b\\* [2]'
    """
    return re.sub(r"\\\[(\d{1,3})\\\]", r"[\1]", inert(text))


def plain(text: str) -> str:
    """Undo inert(): the text as written (for reading a rendered turn back).

    >>> plain(inert("a *b* [1] <c>")) == "a *b* [1] <c>"
    True
    """
    return _DEFANGED.sub(r"\1", re.sub(r"\\(.)", r"\1", text))


def oneline(text: str) -> str:
    return " ".join(text.split())


def markers(text: str) -> list[int]:
    """The [n] markers of a text, in order of first appearance.

    >>> markers("a [2] b [1][2]")
    [2, 1]
    """
    return list(dict.fromkeys(int(n) for n in MARKER.findall(text)))


# -- an LLM's Markdown, made safe ---------------------------------------------------------------


# -- references ---------------------------------------------------------------------------------


def reference(c: Citation, wording: Wording | None = None) -> str:
    """One reference: who (outlet, author), side and voice, date, language, the quote, where in
    the source it is (id and character offsets; for captions, when in the recording), and the
    URL. Every field inert; the words around the data ("undated", an unknown voice, a suggested
    side) in `wording`'s language (English by default)."""
    w = wording or Wordings.bundled().of(FALLBACK)
    who = c.outlet or c.title or c.source_id
    if c.author and c.author not in who:  # "The Military Show" beside "The Military Show (YouTube)"
        who += f", {c.author}"
    side = ", ".join(x for x in (c.side, w.suggested(c.suggested_side)) if x)
    parts = [
        f"{inert(who)} — {inert(side)}, {inert(w.voice(c.voice))}",
        inert(c.date or w.text("undated")),
        inert(c.language),
        f"“{inert(oneline(c.quote))}”",
        f"{inert(c.source_id)} {c.start}–{c.end}",
    ]
    if c.at is not None:
        parts.append(c.when())  # where in the recording the quote is said
    if c.url:
        # The source's own address, declared or extracted; a video's opens at the quote.
        parts.append(address(at_moment(c.url, c.at) if c.at is not None else c.url))
    return f"- [{c.n}] " + " · ".join(parts)


# Fields by position: who — side, voice · date · language · “quote” · id start–end[ · at m:ss][ · URL]. The
# quote may hold “ ” and ·, so it runs to the last "” · id start–end".
_REFERENCE = re.compile(
    r"^- \[(?P<n>\d+)\] (?P<who>[^·\n]*?) · [^·\n]* · [^·\n]* · “(?P<quote>.*)” · "
    r"(?P<source_id>\S+) (?P<start>\d+)–(?P<end>\d+)",
    re.M,
)


def read_references(text: str) -> dict[int, dict[str, Any]]:
    """The references of a rendered answer, by number: n, who, quote (as written), source_id,
    start, end. For clients and tests that check a text against its sources.

    Raises:
        InvalidRequest: the text holds several answers' lists (an export of a conversation,
            `assistant chat`'s output): merged by number, one answer's [1] hid another's;
            references_of_each reads them apart.
    """
    lists = references_of_each(text)
    if len(lists) > 1:
        raise InvalidRequest(
            f"the text holds {len(lists)} answers' references lists; read each answer's with "
            "references_of_each(text), in the order of the answers"
        )
    return lists[0] if lists else {}


def references_of_each(text: str) -> list[dict[int, dict[str, Any]]]:
    """Each references list of a rendered text, in order (one per answer), as read_references
    gives one. Only the lines of the list under its heading (`sources_heading` of any bundled
    language: "**Sources**", "**Источники**", "**来源**") are read: an LLM's answer may hold
    lines shaped like references, and they are not the answer's sources.

    >>> one = "- [1] W — s, v · undated · en · “Q.” · doc 0–2"
    >>> text = f"A [1].\\n\\n{one}\\n\\n**Sources**\\n\\n{one}\\n\\nB [1].\\n\\n**来源**\\n\\n{one}\\n"
    >>> [sorted(r) for r in references_of_each(text)]
    [[1], [1]]
    """
    parts = _headings().split(text)
    if len(parts) == 1:  # the list's lines alone
        found = [_read_reference(line) for line in text.split("\n")]
        return [dict(r for r in found if r is not None)] if any(found) else []
    lists = []
    for part in parts[1:]:
        read: dict[int, dict[str, Any]] = {}
        for line in part.lstrip("\n").split("\n"):
            if (r := _read_reference(line)) is None:
                break  # the list ends with its first line of anything else
            read[r[0]] = r[1]
        lists.append(read)
    return lists


@cache
def _headings() -> re.Pattern[str]:
    """A references heading of any bundled language, alone on its line."""
    bundled = Wordings.bundled()
    names = {bundled.of(code).text("sources_heading") for code in bundled.languages}
    return re.compile("^(?:" + "|".join(map(re.escape, sorted(names))) + r")[ \t]*\r?$", re.M)


def _read_reference(line: str) -> tuple[int, dict[str, Any]] | None:
    m = _REFERENCE.match(line)
    if m is None:
        return None
    return int(m["n"]), {
        "who": plain(m["who"]),
        "quote": plain(m["quote"]),
        "source_id": plain(m["source_id"]),
        "start": int(m["start"]),
        "end": int(m["end"]),
    }


def references(citations: Sequence[Citation], wording: Wording | None = None) -> str:
    """The references list, one bullet per citation, under its heading ('' if none), in
    `wording`'s language (English by default)."""
    if not citations:
        return ""
    w = wording or Wordings.bundled().of(FALLBACK)
    lines = "\n".join(reference(c, w) for c in citations)
    return w.text("sources_heading") + "\n\n" + lines + "\n"


def worded(a: Answer) -> Wording:
    """The bundled words of an answer's question_language: an Answer's text read on its own
    (its references, its cut, its export) speaks its answer's language."""
    return Wordings.bundled().of(a.question_language)


def full(a: Answer) -> str:
    """The body, then the references list: for clients that only show text."""
    body = a.answer.rstrip()
    return body + "\n\n" + references(a.citations, worded(a)) if a.citations else body + "\n"


def stream_full(items: Iterator[str | Answer]) -> Iterator[str | Answer]:
    """An answer stream whose text ends with the references list; the Answer passes through."""
    for item in items:
        if isinstance(item, Answer) and item.citations:
            yield "\n" + references(item.citations, worded(item))
        yield item


# -- the cut at a token budget ------------------------------------------------------------------

_CJK_STOP = re.compile(r"[。！？]")


def _boundaries(body: str) -> list[int]:
    """Where the body may be cut: line ends, after each [n] marker, and sentence ends; never
    inside a code block (a cut there would pull the references into the code)."""
    import sentencex

    ends = {m.end() for m in MARKER.finditer(body)} | {m.end() for m in _CJK_STOP.finditer(body)}
    starts = [0]
    for line in body.split("\n"):
        for b in sentencex.get_sentence_boundaries("en", line):
            ends.add(starts[-1] + len(b["text"].rstrip()) + b["start_index"])
        starts.append(starts[-1] + len(line) + 1)
        ends.add(starts[-1] - 1)
    code = [
        (starts[t.map[0]], starts[t.map[1]] - 1)
        for t in parser().parse(body, {})
        if t.type in ("fence", "code_block") and t.map
    ]
    return sorted(e for e in ends if 0 < e < len(body) and not any(a < e < b for a, b in code))


@dataclass(frozen=True)
class Cut:
    """The text sent for an answer: its content, the citations it holds, why it ended."""

    content: str
    citations: list[Citation]
    finish_reason: str  # "stop", or "length" when cut
    tokens: int  # the content's, counted once: the cut needs it and so does `usage`


def _kept(text: str, citations: Sequence[Citation]) -> list[Citation]:
    cited = set(markers(text))
    return [c for c in citations if c.n in cited]


def cut(a: Answer, limit: int | None, count: Callable[[str], int]) -> Cut:
    """`full(a)` in at most `limit` tokens: the longest prefix of the body that ends at a
    sentence boundary and, with the references of the citations it still holds, fits. If not
    even one sentence fits, the body's words that fit, without markers or references; if not
    even one word fits, the characters that do (as a model stops mid-word at its limit: an
    empty reply would say the limit was met by nothing). Its note on flagged sentences is
    worded in the answer's question_language (the bundled words)."""
    w = worded(a)
    whole = full(a)
    tokens = count(whole)
    if limit is None or tokens <= limit:
        return Cut(whole, list(a.citations), "stop", tokens)
    body = a.answer.rstrip()
    best: Cut | None = None
    for end in _boundaries(body):
        text = body[:end].rstrip()
        cites = _kept(text, a.citations)
        if a.citations and not cites:
            continue  # a heading alone says nothing: the first cut point holds a citation
        if a.unsupported_sentences and w.text("unsupported_heading") not in text:
            # The flags sit at the end of the answer: a cut must not pass its claims as checked.
            text += "\n\n" + w.text("cut_flagged", count=len(a.unsupported_sentences))
        content = text + "\n\n" + references(cites, w) if cites else text
        n = count(content)
        if n > limit:
            break  # a longer prefix holds at least as many tokens
        best = Cut(content, cites, "length", n)
    if best is not None:
        return best
    # Not even one sentence fits with its references: the longest run of whole words, without
    # markers (a marker whose reference is not sent would point at nothing).
    plain = SPACED_MARKER.sub("", body)
    words = plain.split(" ")
    for i in range(len(words), 0, -1):
        head = " ".join(words[:i]).rstrip()
        if count(head) <= limit:
            return Cut(head, [], "length", count(head))
    # The first word alone is over the limit: its longest prefix that fits (a prefix's count
    # grows with its length, so a bisection finds it).
    low = longest_fitting(len(words[0]), lambda i: count(plain[:i]) <= limit)
    head = plain[:low]
    return Cut(head, [], "length", count(head))


# -- the export and the web chat's form ---------------------------------------------------------


def export(answers: Sequence[Answer], title: str = "") -> str:
    """A Markdown document: each question as a heading, its answer with [n] markers, then its
    references (quote, outlet, author, date, language, side, voice, offsets, URL)."""
    parts = [f"# {inert(title)}\n"] if title else []
    for a in answers:
        parts.append(f"## {inert(oneline(a.question))}\n\n{searched(a)}{full(a)}")
    return "\n".join(parts)


def searched(a: Answer) -> str:
    """The line saying what the search was restricted to ('' for the whole index): an export
    of an answer quoting one side alone did not say that the side was all that was asked for.

    >>> from assistant.schema import Answer
    >>> print(searched(Answer("q", "a", [], [], False, "extractive", filters={"side": ["pro-Russia"],
    ...                                                                     "language": ["uk", "ru"]})))
    *Searched within the filters: side pro-Russia; language uk, ru.*
    <BLANKLINE>
    <BLANKLINE>
    """
    if not a.filters:
        return ""
    w = worded(a)  # the question's language, as its answer
    within = "; ".join(f"{key} {', '.join(vals)}" for key, vals in a.filters.items())
    return w.text("searched", filters=inert(within)) + "\n\n"


def linked(body: str) -> str:
    """Each [n] marker a link to its citation in the chat's sources panel.

    >>> linked("says so [2].")
    'says so [[2]](#cite-2).'
    """
    return MARKER.sub(r"[[\1]](#cite-\1)", body)
