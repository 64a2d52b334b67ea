from pathlib import Path

import pytest

from assistant import ManifestError
from assistant.sources.manifest import load_manifest
from assistant.sources.model import UNKNOWN, VOICES

CORPUS = Path(__file__).resolve().parent.parent / "data" / "corpus"


def test_bundled_manifest_labels_every_document() -> None:
    corpus = load_manifest(CORPUS / "sources.toml")
    assert set(corpus.sides) == {"pro-Russia", "pro-Ukraine", "neutral", UNKNOWN}
    files = sorted(p.name for p in CORPUS.glob("*.txt"))
    assert sorted(s.file for s in corpus.sources.values()) == files
    for s in corpus.sources.values():
        assert s.id == Path(s.file).stem
        assert s.side in corpus.sides and s.voice in VOICES
        assert s.title and s.outlet and s.perspective and s.evidence and s.languages
    assert corpus.sources["003_3836cd8526ff3a53"].languages == ("zh", "en")
    assert corpus.sources["002_9ece5d155ad6878c"].voice == "government-official"


def write(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "sources.toml"
    p.write_text('[corpus]\n[corpus.sides]\n"left" = "l"\n"right" = "r"\n' + body, encoding="utf-8")
    return p


@pytest.mark.parametrize(
    ("body", "fragments"),
    [
        ('[[sources]]\nfile = "a.txt"\nside = "middle"\n', ["entry 1 (a.txt)", "'side'", "middle"]),
        ('[[sources]]\nfile = "a.txt"\nvoice = "blogger"\n', ["entry 1 (a.txt)", "'voice'"]),
        ('[[sources]]\nfile = "a.txt"\ndate = "May 2024"\n', ["'date'", "YYYY-MM-DD"]),
        ('[[sources]]\ntitle = "x"\n', ["entry 1", "'file' is missing"]),
        (
            '[[sources]]\nfile = "a.txt"\ncolour = "red"\n',
            ["entry 1 (a.txt)", "unknown field 'colour'"],
        ),
        (
            '[[sources]]\nfile = "a.txt"\n[[sources]]\nfile = "b.txt"\nid = "a"\n',
            ["entry 2 (b.txt)", "'id'"],
        ),
        ('[[sources]]\nfile = "a.txt"\nid = "../etc"\n', ["entry 1 (a.txt)", "'id'"]),
        ("[[sources]\n", ["not valid TOML"]),
    ],
)
def test_malformed_manifest_names_file_entry_and_field(
    tmp_path: Path, body: str, fragments: list[str]
) -> None:
    path = write(tmp_path, body)
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    message = str(info.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message


def test_id_defaults_to_file_stem(tmp_path: Path) -> None:
    corpus = load_manifest(write(tmp_path, '[[sources]]\nfile = "report-1.txt"\nside = "left"\n'))
    assert list(corpus.sources) == ["report-1"]
    assert corpus.sources["report-1"].side == "left"
