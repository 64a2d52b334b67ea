"""Files → source text and page metadata. The text returned here is *the* source text: every
passage offset and every citation quote refers to it, and the index stores it whole.

Supported: .txt and .md (UTF-8, kept as written), .html/.htm, .pdf (text layer, via pypdf), and
a video's subtitles or captions, .vtt (WebVTT) and .srt (SubRip), read as its transcript with
where each part is said (captions.py).
HTML pages go through trafilatura, a library made for article extraction: the main text only
(navigation, cookie banners, related-article teasers, comments and footers left out), and the
page's metadata (`<meta>`, Open Graph, JSON-LD; the date via htmldate): title, author, date,
site name, canonical URL, and the page's declared language. A page where trafilatura finds no
article falls back to all visible text (BeautifulSoup), and the Document says so in `note`.
Not handled: scanned PDFs without a text layer (no OCR here), .docx, legacy encodings (convert
to UTF-8 first; the error says how).
"""

from __future__ import annotations

import functools
import io
import logging
import os
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.errors import BadDocument
from assistant.recording import Times

from .captions import read_captions
from .language import language_code

SUPPORTED = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".vtt", ".srt")
# The same, as the upload form and the API describe it to people.
READABLE = "txt, md, html, pdf, or a video's captions (vtt, srt)"
MAX_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class Document:
    """A file's text, the metadata found in it, and how the text was read."""

    text: str
    # Manifest field → value found in the file (title, author, date, outlet, url, languages).
    metadata: dict[str, str] = field(default_factory=dict)
    method: str = "text"  # "text", "pdf", "captions", "article" (trafilatura) or "visible text"
    note: str = ""  # what a reader of the ingest report should know (e.g. a fallback)
    # A transcript's (offset, seconds into the recording) at each line (captions.py); () for
    # documents that are not read from captions.
    times: Times = ()
    # The title when neither the manifest nor the file gives one ("" : the text's first line).
    fallback_title: str = ""


def load_document(path: Path) -> Document:
    """Read a file and return its text and metadata.

    Args:
        path: a .txt, .md, .html, .pdf, .vtt or .srt file.

    Raises:
        BadDocument: naming the file and what is wrong with it.
    """
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise BadDocument(
            str(path), f"unsupported type {suffix or '(none)'}; supported: {', '.join(SUPPORTED)}"
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadDocument(str(path), f"cannot read the file ({exc.strerror})") from exc
    return read_document(data, path.name)


def check_file(data: bytes, name: str) -> None:
    """What can be told of a file without reading its text: its type, size and emptiness."""
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED:
        raise BadDocument(
            name, f"unsupported type {suffix or '(none)'}; supported: {', '.join(SUPPORTED)}"
        )
    if len(data) > MAX_BYTES:
        raise BadDocument(name, f"larger than {MAX_BYTES // 2**20} MiB; split it first")
    if not data.strip():
        raise BadDocument(name, "the file is empty")


def read_document(
    data: bytes,
    name: str,
    max_chars: int | None = None,
    check: Callable[[], None] | None = None,
) -> Document:
    """Decode one document's bytes by the type its name says (used for uploads too).

    Args:
        max_chars: refuse a text longer than this (BadDocument naming ASSISTANT_MAX_TEXT_CHARS);
            a PDF's extraction stops as soon as it passes it, so the cap bounds the work too.
        check: called now and then while a PDF is read; it may raise to abandon the reading
            (a cancelled or stopped job).
    """
    check_file(data, name)
    suffix = Path(name).suffix.lower()
    if suffix == ".pdf":
        doc = Document(_pdf_text(data, name, max_chars, check), method="pdf")
    elif suffix in (".html", ".htm"):
        doc = _html_document(_decode(data, name))
    elif suffix in (".vtt", ".srt"):
        doc = _captions_document(_decode(data, name), name)
    else:
        doc = Document(_decode(data, name))
    if max_chars is not None and len(doc.text) > max_chars:
        raise _too_long(name, max_chars)
    if not doc.text.strip():
        raise BadDocument(name, "no readable text in the file")
    if not any(unicodedata.category(ch)[0] == "L" for ch in doc.text):
        # Such a text matches no question, yet ranks first for any when nothing else does.
        raise BadDocument(
            name, "the text has no letter in any script (only digits, punctuation or symbols)"
        )
    return doc


def _decode(data: bytes, name: str) -> str:
    if b"\x00" in data[:8192]:
        raise BadDocument(
            name, "looks binary (NUL bytes); only text, HTML, PDF and captions are read"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadDocument(
            name,
            f"not valid UTF-8 (byte {exc.start}); convert it, e.g. "
            "`iconv -f WINDOWS-1252 -t UTF-8 in.txt > out.txt`",
        ) from exc
    # A BOM is an encoding mark, not text; keeping it would shift no offsets but would show up
    # at the start of the first quote.
    return text.removeprefix("\ufeff")


def _captions_document(text: str, name: str) -> Document:
    try:
        transcript = read_captions(text, Path(name).suffix.lower()[1:])
    except ValueError as exc:
        raise BadDocument(name, str(exc)) from exc
    if not transcript.text.strip():
        raise BadDocument(
            name, "; ".join(x for x in ("no captions with text in the file", transcript.note) if x)
        )
    meta = {"title": transcript.title} if transcript.title else {}
    notes = [transcript.note] if transcript.note else []
    if transcript.language:
        # "en", "en-US", "zh-Hans", "English": the language, not its region or script
        code = language_code(transcript.language)
        if code:
            meta["languages"] = code
        else:
            notes.append(f"its header's language {transcript.language!r} is not one known")
    return Document(
        transcript.text,
        meta,
        method="captions",
        note="; ".join(notes),
        times=transcript.times,
        # Its first line is speech: a transcript without a title is named after its file.
        fallback_title=Path(name).stem,
    )


_BLANKS = re.compile(r"\n[ \t\r\f\v]*(?:\n[ \t\r\f\v]*)+")


# trafilatura's metadata → our manifest fields.
_PAGE_FIELDS = {
    "title": "title",
    "author": "author",
    "date": "date",
    "sitename": "outlet",
    "url": "url",
}
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
_LANG = re.compile(r"<html[^>]*?\blang\s*=\s*[\"']?([A-Za-z]{2,3})\b", re.I)


def _html_document(html: str) -> Document:
    """The article's text and the page's metadata, or all visible text when there is none."""
    import trafilatura

    try:
        found = trafilatura.bare_extraction(
            html,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            prune_xpath="//noscript|//template",  # shown only to browsers without scripts
            config=_trafilatura_config(),
        )
    except (ValueError, TypeError, RecursionError):  # malformed trees the parser gives up on
        found = None
    meta: dict[str, str] = {}
    text = ""
    if found is not None:
        page = found if isinstance(found, dict) else found.as_dict()
        # trafilatura puts each block (heading, paragraph, list item) on a line of its own: a
        # blank line between them keeps a headline out of the first sentence after it.
        text = _tidy((page.get("text") or "").replace("\n", "\n\n"))
        for theirs, ours in _PAGE_FIELDS.items():
            value = " ".join(str(page.get(theirs) or "").split())
            if value and (ours != "date" or _DATE.match(value)):
                meta[ours] = value[:300]
    lang = _LANG.search(html[:4096])
    if lang:
        meta["languages"] = lang.group(1).lower()
    if text.strip():
        return Document(text, meta, "article")
    return Document(
        _html_text(html),
        meta,
        "visible text",
        "no article text found by trafilatura; all visible text was kept (menus and "
        "footers included): check the source, or save the article alone",
    )


@functools.cache
def _trafilatura_config() -> Any:
    """trafilatura's defaults, but an article of 100 characters is one: below its 250, it
    falls back to a baseline that joins the page's blocks with spaces, and a short Chinese
    article (120 characters, a dozen sentences' worth) came back as one line, its headline and
    byline glued to the text. The same setting also scales when trafilatura looks at <div>
    blocks and when it tries its justext and readability fallbacks (3×, 1× and 2× of it), so
    pages of 100 to 750 characters of text take other paths than before: checked on the
    article pages of tests/test_loaders.py (fr, ru, zh), not on a wider set."""
    from trafilatura.settings import use_config

    config = use_config()
    config.set("DEFAULT", "MIN_EXTRACTED_SIZE", "100")
    return config


def _tidy(text: str) -> str:
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()


def _html_text(html: str) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "head", "svg", "iframe"]):
        tag.decompose()
    return _tidy(soup.get_text("\n"))


def _too_long(name: str, max_chars: int) -> BadDocument:
    return BadDocument(
        name,
        f"its text is over {max_chars:,} characters (ASSISTANT_MAX_TEXT_CHARS); split the "
        "document, or raise the setting if the server may spend that long embedding it",
    )


# pypdf logs what it repairs ("EOF marker not found"): with no logging set up, Python printed it
# on stderr above the one line that says whether the file was read. A program that sets up
# logging still gets it.
logging.getLogger("pypdf").addHandler(logging.NullHandler())


def _pdf_text(
    data: bytes, name: str, max_chars: int | None, check: Callable[[], None] | None
) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    read = 0

    def count(text: str, *_: Any) -> None:
        # pypdf calls this for each piece of text it lays out: raising here stops a page whose
        # content stream inflates to megabytes of text, not only the pages after it.
        nonlocal read
        read += len(text)
        if max_chars is not None and read > max_chars:
            raise _too_long(name, max_chars)
        if check is not None:
            check()

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise BadDocument(name, "the PDF is encrypted; save an unencrypted copy first")
        pages = []
        for page in reader.pages:
            if check is not None:
                check()
            pages.append((page.extract_text(visitor_text=count) or "").strip())
        # pypdf swallows what a visitor raises inside a form XObject (and drops its text): a
        # cap passed there is caught here, so such a PDF is refused, not indexed without it.
        if max_chars is not None and read > max_chars:
            raise _too_long(name, max_chars)
        if check is not None:
            check()
    except BadDocument:
        raise
    # PyPdfError covers LimitReachedError too: a stream that inflates past pypdf's bounds.
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise BadDocument(name, f"not a readable PDF ({type(exc).__name__}: {exc})") from exc
    return "\n\n".join(p for p in pages if p)


# The longest first line taken for a title. A longer one is a paragraph, not a headline: as the
# title of a source with no outlet it named the source in every citation (up to 200 characters).
TITLE_MOST = 100


def guess_title(text: str, fallback: str) -> str:
    """A title for a document that neither its manifest entry nor its own metadata names: its
    first non-empty line when that is a headline (a Markdown heading's text; at most TITLE_MOST
    characters), else `fallback` (the file's name).

    >>> guess_title("# Japan's aid\\n\\nTokyo said…", "f"), guess_title("x" * 101, "f")
    ("Japan's aid", 'f')
    """
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line if len(line) <= TITLE_MOST else fallback
    return fallback


def iter_files(paths: list[Path]) -> list[Path]:
    """Expand directories (recursively, sorted) and keep files; skip hidden and manifest files.
    A file reached twice (a folder and a file in it, or one folder given twice) is kept once,
    where it was first reached: it is one source, not two that claim one id."""
    out: dict[Path, Path] = {}
    for p in paths:
        if p.is_dir():
            found = [
                f
                for f in sorted(p.rglob("*"))
                if f.is_file()
                and not any(part.startswith(".") for part in f.relative_to(p).parts)
                and f.name != "sources.toml"
            ]
        else:
            found = [p]
        for f in found:
            # Its absolute path, not the file a link leads to: a link is a source of its own.
            out.setdefault(Path(os.path.abspath(f)), f)
    return list(out.values())
