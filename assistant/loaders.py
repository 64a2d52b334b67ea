"""Files → source text. The text returned here is *the* source text: every passage offset and
every citation quote refers to it, and the index stores it whole.

Supported: .txt and .md (UTF-8, kept as written), .html/.htm (visible text only, via
BeautifulSoup: scripts, styles and templates dropped), .pdf (text layer, via pypdf).
Not handled: scanned PDFs without a text layer (no OCR here), .docx, legacy encodings (convert
to UTF-8 first; the error says how).
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from .errors import BadDocument

SUPPORTED = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf")
MAX_BYTES = 50 * 1024 * 1024


def load_text(path: Path) -> str:
    """Read a file and return its text.

    Args:
        path: a .txt, .md, .html or .pdf file.

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
    return text_from_bytes(data, path.name)


def text_from_bytes(data: bytes, name: str) -> str:
    """Decode one document's bytes by the type its name says (used for uploads too)."""
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED:
        raise BadDocument(
            name, f"unsupported type {suffix or '(none)'}; supported: {', '.join(SUPPORTED)}"
        )
    if len(data) > MAX_BYTES:
        raise BadDocument(name, f"larger than {MAX_BYTES // 2**20} MiB; split it first")
    if not data.strip():
        raise BadDocument(name, "the file is empty")
    if suffix == ".pdf":
        text = _pdf_text(data, name)
    else:
        text = _decode(data, name)
        if suffix in (".html", ".htm"):
            text = _html_text(text)
    if not text.strip():
        raise BadDocument(name, "no readable text in the file")
    return text


def _decode(data: bytes, name: str) -> str:
    if b"\x00" in data[:8192]:
        raise BadDocument(name, "looks binary (NUL bytes); only text, HTML and PDF are read")
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


_BLANKS = re.compile(r"\n[ \t\r\f\v]*(?:\n[ \t\r\f\v]*)+")


def _html_text(html: str) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "head", "svg", "iframe"]):
        tag.decompose()
    text = soup.get_text("\n")
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()


def _pdf_text(data: bytes, name: str) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise BadDocument(name, "the PDF is encrypted; save an unencrypted copy first")
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
    except BadDocument:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise BadDocument(name, f"not a readable PDF ({type(exc).__name__}: {exc})") from exc
    return "\n\n".join(p for p in pages if p)


def guess_title(text: str, fallback: str) -> str:
    """The first non-empty line, as a title for documents without a manifest entry."""
    for line in text.splitlines():
        line = line.strip()
        if line:
            return line[:200]
    return fallback


def iter_files(paths: list[Path]) -> list[Path]:
    """Expand directories (recursively, sorted) and keep files; skip hidden and manifest files."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(
                f
                for f in sorted(p.rglob("*"))
                if f.is_file()
                and not any(part.startswith(".") for part in f.relative_to(p).parts)
                and f.name != "sources.toml"
            )
        else:
            out.append(p)
    return out
