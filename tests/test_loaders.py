from pathlib import Path

import pytest

from assistant import BadDocument
from assistant.loaders import load_text


def make_pdf(path: Path, text: str) -> Path:
    """A real PDF with a text layer, drawn by matplotlib."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(8, 3))
    fig.text(0.05, 0.5, text, fontsize=12)
    fig.savefig(path, format="pdf")
    plt.close(fig)
    return path


def test_txt_and_md_are_kept_as_written(tmp_path: Path) -> None:
    body = "Titre\n\nUne phrase. Une autre phrase.\n"
    (tmp_path / "a.txt").write_text("\ufeff" + body, encoding="utf-8")
    (tmp_path / "b.md").write_text("# Heading\n\n" + body, encoding="utf-8")
    assert load_text(tmp_path / "a.txt") == body
    assert load_text(tmp_path / "b.md").startswith("# Heading")


def test_html_keeps_visible_text_only(tmp_path: Path) -> None:
    (tmp_path / "p.html").write_text(
        "<html><head><title>T</title><style>p{color:red}</style></head><body>"
        "<script>alert('x')</script><h1>Japan and Ukraine</h1><p>Aid was <b>large</b>.</p>"
        "<noscript>enable js</noscript></body></html>",
        encoding="utf-8",
    )
    text = load_text(tmp_path / "p.html")
    assert "Japan and Ukraine" in text and "Aid was" in text and "large" in text
    for hidden in ("alert", "color:red", "enable js"):
        assert hidden not in text


def test_pdf_text_layer_is_read(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "d.pdf", "Japan pledged 12 billion dollars to Ukraine.")
    assert "Japan pledged 12 billion dollars" in load_text(path)


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.txt", b"", "empty"),
        ("blank.md", b"  \n\n ", "empty"),
        ("bin.txt", b"\x00\x01\x02binary\x00", "binary"),
        ("latin1.txt", "Café à Kiev".encode("latin-1"), "not valid UTF-8"),
        ("photo.jpg", b"\xff\xd8\xff\xe0", "unsupported type .jpg"),
        ("broken.pdf", b"%PDF-1.4 this is not a pdf", "not a readable PDF"),
        ("scripts.html", b"<script>only()</script>", "no readable text"),
    ],
)
def test_bad_files_name_the_file_and_the_problem(
    tmp_path: Path, name: str, data: bytes, reason: str
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(BadDocument) as info:
        load_text(path)
    assert name in str(info.value) and reason in str(info.value)
