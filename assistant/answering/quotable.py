"""Which sentences an answer may quote, and which it quotes last: claims before the page's
furniture.

A sentence is quotable when it is long enough to say something (30 letters or more), or a whole
short sentence, as a debate's perspectives often are ("iPhone is great tech.").

Lines of a page that are not running text score high against a question on their subject,
because they name it, and quoted as a side's answer they crowd out the sentences that answer
(found by trying a corpus of a user's own, with a Markdown post, an HTML page and a signed
letter). By their form, not their words (`line_kind`):
- **never quoted**: any sentence of a line in italics ("*By Tom Reyes — posted 2 March
  2025*", "*Rohstoff-Kurier, 20 March 2024. Interview with Jürgen Albrecht, CEO.*": a byline
  or caption), but to a question about someone it names, to whom it says who they are ("Who
  is Jürgen Albrecht?" was answered with the ministry's one line naming him); or of a line in
  bold that ends in a question (an interview's question, "**The government speaks of 2,400
  jobs. Is that right?**": the interviewer's words, which quoted as the interviewee's side
  gave the government's figure as the company's); a line in bold that does not ask is a key
  sentence;
- **headings, not a source's first quote while it has running text near its side's best**
  (extractive.py): a Markdown heading, a line of its own that does not end as a sentence ends
  (a headline, a title, a signature), or a question standing as a line of its own ("Who tells
  the truth on the figures?"). A headline can be a side's own framing ("Tokyo positions itself
  as a military adversary to Moscow", the only place its outlet says so), and a debate's
  perspective can be a rhetorical question on its own line ("If we allow GM foods, where will
  science stop?", 29 of Perspectrum's 3,583 lines), so neither is left out;
- a list item is content, with or without a full stop.

Whether a sentence stands on a line of its own, and the line it is part of, are read from
the passage that holds it (the source's text between its first and last sentence, so with the
line breaks between them), and at the passage's edges from where the source starts and ends;
where neither tells, it is taken for running text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal

from assistant.ingest.chunking import MARKDOWN_HEADING, letters
from assistant.ingest.language import CJK
from assistant.retrieval.relevance import QUESTION_MARKS
from assistant.retrieval.result import Passage
from assistant.store.rows import Sentence

# How a sentence ends, in the scripts the corpora use.
SENTENCE_END = tuple(".!…。！" + QUESTION_MARKS)
# Closing quotes, brackets and emphasis that may follow a sentence's last mark (French sets a
# space before a closing guillemet).
_CLOSERS = "\"'”’»)*_ \u00a0\u202f"
# A list item: "- ", "• ", "* ", "1. ", "2) ", "a) ".
_LIST_ITEM = re.compile(r"^\s*(?:[-–—•·▪*+]\s|\(?\w{1,2}[.)]\s)")
# A whole line in italics (one * or _): a byline or caption; bold is a key sentence.
_EMPHASIS = re.compile(r"^\s*([*_])(?![*_])\S.*\S(?<![*_])\1\s*$", re.S)
# A whole line in bold or italics, its marker nowhere inside ("*Le Monde* reported … *jobs*"
# is running text): an italic one is a byline or caption, a bold one asking a question an
# interview's question.
_MARKED = re.compile(r"^\s*(\*\*|__|\*|_)(?![*_\s])(?:(?!\1).)+(?<![*_\s])\1\s*$", re.S)
# How much of a line around a sentence is read: past this, it is taken for running text.
_LINE = 2000


def quotable(text: str) -> bool:
    """Long enough to say something: 30 letters or more, or a whole short sentence (15
    letters and three words or more, ending as a sentence ends). A CJK character counts as a
    word (and as three letters).

    >>> [quotable(t) for t in ("iPhone is great tech.", "日本提供了援助。", "By Anna Smith",
    ...                        "Photo: AFP.", "Section 2. Aid", "Why?")]
    [True, True, False, False, False, False]
    """
    n = letters(text)
    if n >= 30:
        return True
    body = text.strip().rstrip(_CLOSERS)
    words = len(body.split()) + len(CJK.findall(body))
    return n >= 15 and words >= 3 and body.endswith(SENTENCE_END)


LineKind = Literal["text", "heading", "caption", "furniture"]


def line_kind(text: str, before: str | None, after: str | None) -> LineKind:
    """Running text, a heading (quoted last), a caption (a line in italics: quoted only to
    a question about someone it names, extractive._pool) or furniture (never quoted): the
    module doc.

    Args:
        text: the sentence.
        before, after: the source's text just before and after it ("" at the source's start
            or end), or None where unknown.

    >>> line_kind("# Why Lyon's cyclists back the charge", None, None)
    'heading'
    >>> line_kind("*By Tom Reyes, volunteer — posted 2 March 2025*", "\\n", "\\r\\n")
    'caption'
    >>> line_kind("**The charge will raise 48 million euros a year.**", "\\n", "\\n")
    'text'
    >>> line_kind("Tokyo positions itself as a military adversary to Moscow – 2024-09-06", "", "\\n")
    'heading'
    >>> line_kind("Péage urbain : qui dit vrai sur les chiffres ?", "\\n\\n", "\\n")
    'heading'
    >>> line_kind("The city puts the cost at 48 million euros.", "\\n", "\\n")
    'text'
    >>> line_kind("- Residents and disabled drivers will be exempt", "\\n", "\\n")
    'text'
    >>> line_kind("Those talks were extremely productive", "said. ", "\\n")  # running text
    'text'
    >>> line_kind("Stimmt diese Zahl?**", "\\n**Die Regierung spricht von 2.400 Jobs. ", "\\n")
    'furniture'
    >>> line_kind("**Die Regierung spricht von 2.400 Jobs.", "\\n", " Stimmt diese Zahl?**\\n")
    'furniture'
    >>> line_kind("**Die Regierung spricht von 2.400 Jobs.**", "\\n", "\\n")  # a key sentence
    'text'
    >>> line_kind("Interview mit Jürgen Albrecht, CEO.*", "\\n*Rohstoff-Kurier, 20. März. ", "\\n")
    'caption'
    >>> line_kind("*Le Monde* reported that the minister resigned.", "\\n", " Others: *Reuters*\\n")
    'text'
    >>> line_kind("**Und die Gemeinden vor Ort?", "\\n", None), line_kind("*Ana Ruiz*", None, None)
    ('furniture', 'caption')
    >>> [line_kind(*args) for args in (("**Who pays for the water?", "The report asks: ", None),
    ...     ("*This matters a great deal.*", None, " More text follows.\\n"),
    ...     ("The ministry confirmed the figure.*", None, "\\n"))]
    ['text', 'text', 'text']
    """
    heading = bool(MARKDOWN_HEADING.match(text.lstrip()))
    if _LIST_ITEM.match(text):
        return "heading" if heading else "text"
    if before is None or after is None:
        # Its line unknown (a passage's first or last sentence), a sentence that opens a
        # line in bold, where the side that is known starts or ends a line, is taken to be
        # that line where the passage's edge cuts its close: "**Und die Gemeinden vor Ort?"
        # ending a passage was quoted as the interviewee's answer. Italics are left to the
        # known text: a footnote's "*" or "_id" would make running text a caption.
        starts = before is None or _line_starts(before)
        ends = after is None or _line_ends(after)
        line = text.strip()
        for mark in ("**", "__"):
            if before is None and line.endswith(mark) and not line.startswith(mark):
                line = mark + line
            if after is None and line.startswith(mark) and not line.endswith(mark):
                line += mark
        marked = _in_marked_line(line, "", "") if starts and ends else None
        return marked or ("heading" if heading else "text")
    own_line = _line_starts(before) and _line_ends(after)
    if own_line and _EMPHASIS.match(text):
        return "caption"
    if marked := _in_marked_line(text, before, after):
        return marked
    body = text.strip().rstrip(_CLOSERS)
    ends = body.endswith(SENTENCE_END) and not body.endswith(tuple(QUESTION_MARKS))
    if heading or (own_line and not ends):
        return "heading"
    return "text"


def _line_starts(before: str) -> bool:
    """Whether the text before a sentence ends a line (or is the source's start)."""
    return before.rstrip(" \t\r").endswith("\n") or before.strip(" \t") == ""


def _line_ends(after: str) -> bool:
    """Whether the text after a sentence starts a new line (or is the source's end)."""
    return after.lstrip(" \t\r").startswith("\n") or after.strip() == ""


def _in_marked_line(text: str, before: str, after: str) -> LineKind | None:
    """ "caption" where the sentence is part of a whole line in italics, "furniture" where of
    one in bold ending in a question (known only where the line's start and end are: a line
    break or the source's edge)."""
    head, tail = before.rsplit("\n", 1), after.split("\n", 1)
    if (len(head) == 1 and before) or (len(tail) == 1 and after.strip()):
        return None
    line = (head[-1] + text + tail[0]).strip()
    marked = _MARKED.match(line)
    if not marked:
        return None
    if len(marked.group(1)) == 1:
        return "caption"
    return "furniture" if line.rstrip(_CLOSERS).endswith(tuple(QUESTION_MARKS)) else None


def surroundings(
    s: Sentence, passages: Iterable[Passage], length: int | None
) -> tuple[str | None, str | None]:
    """The text before and after a sentence on its line, from a passage holding it (module
    doc): back to and with the line break before it, on to and with the one after it (at most
    _LINE characters each way).

    Args:
        s: the sentence.
        passages: passages of its source, any of which may hold it.
        length: the source text's length in characters (None if unknown).
    """
    before: str | None = None
    after: str | None = None
    for p in passages:
        if p.source_id != s.source_id or not (p.start <= s.start and s.end <= p.end):
            continue
        if s.start > p.start:
            head = p.text[: s.start - p.start][-_LINE:]
            before = head[head.rfind("\n") :] if "\n" in head else head
        elif p.start == 0 or s.start == 0:
            before = ""
        if s.end < p.end:
            tail = p.text[s.end - p.start :][:_LINE]
            after = tail[: tail.find("\n") + 1] if "\n" in tail else tail
        elif length is not None and length - s.end <= 2:
            after = ""  # the source's last sentence (line breaks at most follow)
        if before is not None and after is not None:
            break
    return before, after
