"""Making document text inert in Markdown.

Answers are Markdown (headings per side, bullets) and every chat UI renders them, but the text
of a document, and its labels, must show as text: an image `![x](http://host/pixel.png)` in a
quote would make each reader's browser report to that host, and `<img>`, links and emphasis
would let a document restyle the answer. CommonMark lets a backslash escape any ASCII
punctuation; escaping the characters that open inline markup (emphasis, code, links, images,
raw HTML, entities, strikethrough, table cells) is enough for text that sits inside one line
(quotes are single-lined before they are composed). `.`, `:` and `$` are left alone so that
figures such as "$7.6 billion" read and match as written.
"""

from __future__ import annotations

import re

_INLINE = re.compile(r"([\\`*_\[\]<>&~|!#])")


def inert(text: str) -> str:
    r"""Backslash-escape the characters that open inline Markdown or HTML.

    >>> inert("see ![x](http://evil.example/x.png) and **bold** <b>")
    'see \\!\\[x\\](http://evil.example/x.png) and \\*\\*bold\\*\\* \\<b\\>'
    """
    return _INLINE.sub(r"\\\1", text)


def plain(text: str) -> str:
    """Undo inert(): the text as written (for reading a rendered chat turn back).

    >>> plain(inert("a *b* [1] <c>")) == "a *b* [1] <c>"
    True
    """
    return re.sub(r"\\(.)", r"\1", text)
