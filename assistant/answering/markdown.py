"""An LLM's Markdown made safe as it streams: raw HTML, images and links removed (their text
stays), emphasis, lists, headings, code and [n] markers kept. markdown-it-py parses it and
mdformat's renderer writes it back: kept libraries rather than regexes.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def parser() -> Any:
    """markdown-it-py parsing with mdformat's renderer, which writes tokens back as Markdown
    (escaping text so that it stays text)."""
    from markdown_it import MarkdownIt
    from mdformat.renderer import MDRenderer

    # The options mdformat.text() sets, with no plugins: text kept as wrapped, lists numbered.
    mdit = MarkdownIt(renderer_cls=MDRenderer)  # type: ignore[arg-type]  # as mdformat does
    mdit.options.update(
        mdformat={"wrap": "keep", "number": True}, store_labels=True, parser_extension=[],
        codeformatters={},
    )  # fmt: skip
    return mdit


def _cleaned(tokens: list[Any]) -> list[Any]:
    """Tokens without raw HTML, images (their alt text stays), links (their text stays) or
    bare URLs that a renderer would turn into links (`unlinked`)."""
    from markdown_it.token import Token

    from .text import unlinked  # text.py reads this module's parser: imported when used

    out = []
    for t in tokens:
        if t.type in ("html_block", "html_inline"):
            continue
        if t.type == "inline" and t.children is not None:
            kids = []
            for c in t.children:
                if c.type in ("link_open", "link_close", "html_inline"):
                    continue
                if c.type in ("image", "text"):
                    c = Token("text", "", 0, content=unlinked(c.content))
                kids.append(c)
            t.children = kids
        out.append(t)
    return out


def _blocks(tokens: list[Any]) -> list[tuple[int, list[Any]]]:
    """Top-level blocks as (first source line, tokens)."""
    blocks: list[tuple[int, list[Any]]] = []
    for t in tokens:
        if t.level == 0 and t.nesting >= 0 or not blocks:  # an opening or a whole block
            blocks.append((t.map[0] if t.map else 0, []))
        blocks[-1][1].append(t)
    return blocks


def _render(tokens: list[Any]) -> str:
    mdit = parser()
    return str(mdit.renderer.render(_cleaned(tokens), mdit.options, {})).strip("\n")


_SENTENCE = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])")


def _sentence(text: str) -> str:
    """One sentence of a paragraph, rendered alone as inline Markdown."""
    from markdown_it.token import Token

    mdit = parser()
    tokens = [Token("paragraph_open", "p", 1), *mdit.parseInline(text, {})]
    return _render([*tokens, Token("paragraph_close", "p", -1)])


def _paragraph(tokens: list[Any], heading: bool = False) -> list[str] | None:
    """A paragraph block's sentences as written (None for any other block; with `heading`, a
    heading's too)."""
    kinds = [t.type for t in tokens]
    if kinds != ["paragraph_open", "inline", "paragraph_close"] and not (
        heading and kinds == ["heading_open", "inline", "heading_close"]
    ):
        return None
    return [x for x in _SENTENCE.split(tokens[1].content) if x.strip()]


class SafeMarkdown:
    """An LLM's Markdown, made safe as it streams.

    Text is written out sentence by sentence inside a paragraph, and block by block otherwise
    (a list, a heading or a code block once the next block starts), so what was streamed is
    always a prefix of the whole (`close()` ends it). Raw HTML, images and links are removed
    (an image's alt text and a link's text stay); emphasis, lists, headings, code and `[n]`
    markers stay. A paragraph's sentences are rendered one by one (emphasis spanning two
    sentences shows its asterisks, inert). Used whole: `safe_markdown(text)`.
    """

    def __init__(self) -> None:
        self.raw = ""
        self.consumed = 0  # lines of raw already written out
        self.sentences = 0  # sentences already written of the paragraph at line `consumed`
        self.written = ""

    def feed(self, delta: str) -> str:
        """Add text; return the safe Markdown that became final."""
        self.raw += delta
        return self._emit(final=False)

    def close(self) -> str:
        """The rest, now that the text is whole."""
        return self._emit(final=True)

    def _put(self, text: str, joiner: str) -> str:
        if not text:
            return ""
        out = (joiner if self.written else "") + text
        self.written += out
        return out

    def _emit(self, final: bool) -> str:
        lines = self.raw.split("\n")
        rest = lines[self.consumed :]
        blocks = _blocks(parser().parse("\n".join(rest), {}))
        out = ""
        for i, (start, tokens) in enumerate(blocks):
            if final:
                whole = True
            elif i == len(blocks) - 1:
                whole = False  # it may still grow
            else:
                # A quote or a list takes in an unindented next line (a lazy continuation),
                # so it is whole only once a blank line ends it.
                lazy = tokens[0].type in (
                    "blockquote_open",
                    "bullet_list_open",
                    "ordered_list_open",
                )
                whole = not lazy or not rest[blocks[i + 1][0] - 1].strip()
            sentences = _paragraph(tokens)
            if sentences is None and i == 0 and self.sentences:
                # A paragraph already partly written became a setext heading ("text\n---"):
                # the rest of it is written as sentences too, never twice.
                sentences = _paragraph(tokens, heading=True)
            if sentences is None:
                if not whole:
                    self.consumed += start
                    break
                out += self._put(_render(tokens), "\n\n")
                continue
            ready = sentences if whole else sentences[:-1]
            for n, text in enumerate(ready[self.sentences :], start=self.sentences):
                out += self._put(_sentence(text), " " if n else "\n\n")
            if not whole:
                self.sentences = max(self.sentences, len(ready))
                self.consumed += start
                break
            self.sentences = 0
        else:
            if final:
                self.consumed = len(lines)
                out += self._put("\n", "") if self.written else ""
        return out


def safe_markdown(text: str) -> str:
    """An LLM's Markdown, made safe (see SafeMarkdown).

    >>> safe_markdown("Japan **gave** aid [1]. ![x](http://e.example/x.png) <img src=x> [see](http://e.example)")
    'Japan **gave** aid [1]. x  see\\n'
    """
    s = SafeMarkdown()
    return s.feed(text) + s.close()
