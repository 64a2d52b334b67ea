import unicodedata
from pathlib import Path

import pytest

from assistant import InvalidRequest, ManifestError
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
        # A near miss is named: a side, a voice, a field's name.
        ('[[sources]]\nfile = "a.txt"\nside = "Left"\n', ["(did you mean 'left'?)"]),
        ('[[sources]]\nfile = "a.txt"\nvoice = "comentary"\n', ["(did you mean 'commentary'?)"]),
        ('[[sources]]\nfile = "a.txt"\nsied = "left"\n', ["(did you mean 'side'?)"]),
        (
            '[[sources]]\nfile = "a.txt"\nlanguages = ["uk", "ua"]\n',
            ["field 'languages': 'ua' is a country's code: write 'uk' (Ukrainian)"],
        ),
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


def test_an_entrys_side_in_another_unicode_form_is_the_declared_side(tmp_path: Path) -> None:
    """Declared composed, written decomposed in an entry (two editors, or a name pasted from a
    macOS file name): the same side, spelt as declared (was: "field 'side' is 'Umweltverbände'
    (did you mean 'Umweltverbände'?)")."""
    nfc = unicodedata.normalize("NFC", "Umweltverbände")
    nfd = unicodedata.normalize("NFD", nfc)
    body = f'[corpus.sides]\n"{nfc}" = "NGOs"\n[[sources]]\nfile = "a.txt"\nside = "{nfd}"\n'
    (tmp_path / "sources.toml").write_text(body, encoding="utf-8")
    assert load_manifest(tmp_path / "sources.toml").sources["a"].side == nfc


def test_id_defaults_to_file_stem(tmp_path: Path) -> None:
    corpus = load_manifest(write(tmp_path, '[[sources]]\nfile = "report-1.txt"\nside = "left"\n'))
    assert list(corpus.sources) == ["report-1"]
    assert corpus.sources["report-1"].side == "left"


def test_sources_are_listed_by_side_and_by_a_language_declared_or_detected(fresh, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`Assistant.sources` (and every door's list) narrowed as a search is: by side, and by a
    language a source declares in its manifest, in any spelling, or holds in its text."""
    (tmp_path / "memo.txt").write_text(
        "Japan sent aid to Ukraine in 2024, the ministry said on Tuesday.", encoding="utf-8"
    )
    (tmp_path / "note.txt").write_text("Россия возразила против помощи Японии.", encoding="utf-8")
    (tmp_path / "sources.toml").write_text(
        '[corpus.sides]\n"pro-Ukraine" = "for"\n"pro-Russia" = "against"\n\n'
        '[[sources]]\nfile = "memo.txt"\nside = "pro-Ukraine"\n'
        'languages = ["French"]  # declared, though it is written in English\n\n'
        '[[sources]]\nfile = "note.txt"\nside = "pro-Russia"\n',
        encoding="utf-8",
    )
    fresh.ingest([tmp_path])
    assert [r.source.id for r in fresh.sources()] == ["memo", "note"]
    assert [r.source.id for r in fresh.sources(side="pro-Russia")] == ["note"]
    assert [r.source.id for r in fresh.sources(language="fr")] == ["memo"]  # declared only
    assert [r.source.id for r in fresh.sources(language="English")] == ["memo"]  # detected
    assert [r.source.id for r in fresh.sources(side="pro-Russia", language="en")] == []
    with pytest.raises(InvalidRequest, match="unknown language filter 'de'"):
        fresh.sources(language="de")
    with pytest.raises(InvalidRequest, match=r"'ua' is a country's code: write 'uk' \(Ukrainian\)"):
        fresh.sources(language="ua")
    with pytest.raises(InvalidRequest, match=r"'ua' is a country's code: write 'uk'"):
        fresh.search("aid", language="ua")
    with pytest.raises(InvalidRequest, match="unknown side filter 'pro-russia'"):
        fresh.sources(side=["pro-russia"])


def test_a_side_filter_matches_the_side_in_another_unicode_form(fresh, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A manifest written with decomposed letters (macOS, text copied from its file names) and
    a filter typed with composed ones name the same side: it was refused with an error whose
    two names read alike ("unknown side filter 'Umweltverbände'; this index has:
    Umweltverbände")."""
    nfd, nfc = (unicodedata.normalize(form, "Umweltverbände") for form in ("NFD", "NFC"))
    assert nfd != nfc
    (tmp_path / "memo.txt").write_text(
        "Die Umweltverbände fordern ein Verbot von Glyphosat bis 2025.", encoding="utf-8"
    )
    (tmp_path / "sources.toml").write_text(
        f'[corpus.sides]\n"{nfd}" = "NGOs"\n\n[[sources]]\nfile = "memo.txt"\nside = "{nfd}"\n',
        encoding="utf-8",
    )
    fresh.ingest([tmp_path])
    assert [r.source.id for r in fresh.sources(side=nfc)] == ["memo"]
    passages = fresh.search("Verbot von Glyphosat", side=nfc)
    assert [p.source_id for p in passages] == ["memo"] and passages[0].side == nfd
    answer = fresh.ask("Wann soll Glyphosat verboten werden?", side=[nfc])
    assert answer.citations and answer.filters == {"side": [nfd]}  # as the index spells it
    with pytest.raises(InvalidRequest, match="unknown side filter 'Umweltverbande'"):
        fresh.search("Glyphosat", side="Umweltverbande")


def test_uploads_into_a_new_index_keep_the_sides_the_first_was_checked_against(fresh) -> None:  # type: ignore[no-untyped-def]
    """Into an index with no manifest behind it, an upload is checked against the default
    corpus's sides; the index recorded none, so the second upload was refused a side the first
    had taken ("this corpus declares ['unknown']")."""
    fresh.add_document("memo.txt", b"Japan sent aid to Ukraine in 2024.", {"side": "pro-Ukraine"})
    fresh.add_document(
        "note.txt", "Россия возразила против помощи Японии.".encode(), {"side": "pro-Russia"}
    )
    fresh.add_document("more.txt", b"Japan sent more aid in 2025.", {"side": "pro-Ukraine"})
    assert {r.source.id: r.source.side for r in fresh.sources()} == {
        "memo": "pro-Ukraine",
        "more": "pro-Ukraine",
        "note": "pro-Russia",
    }
    assert {"pro-Russia", "pro-Ukraine"} <= set(fresh.sides())


def test_the_chat_offers_the_corpus_s_own_example_questions(fresh, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The chat offered the bundled corpus's questions (Japan's aid) over any index; they are
    the manifest's `examples` now, recorded with the index and followed when only they change
    (no document changed, so no source's write recorded them)."""
    from assistant.web.app import create_app

    def offered() -> list[str]:
        config = create_app(fresh).config
        return [
            str(sample[0])
            for c in config["components"]
            if c.get("type") == "dataset"
            for sample in c["props"].get("samples", [])
        ]

    (tmp_path / "ban.txt").write_text(
        "The city will ban cars from the centre in 2027.", encoding="utf-8"
    )
    manifest = tmp_path / "sources.toml"
    head = '[corpus]\nname = "Car ban"\nexamples = ["When does the ban start?"]\n'
    manifest.write_text(head, encoding="utf-8")
    fresh.ingest([tmp_path])
    assert fresh.corpus().examples == ("When does the ban start?",)
    assert offered() == ["When does the ban start?"]
    manifest.write_text(head.replace("When does the ban start?", "Qui paie ?"), encoding="utf-8")
    report = fresh.ingest([tmp_path])
    assert report.unchanged == ["ban"] and fresh.corpus().examples == ("Qui paie ?",)
    assert offered() == ["Qui paie ?"]
    generation = fresh.store.generation()
    fresh.ingest([tmp_path])  # nothing new declared: the index is not marked changed
    assert fresh.store.generation() == generation
    manifest.write_text('[corpus]\nname = "Car ban, 2027"\n', encoding="utf-8")
    fresh.ingest([tmp_path])  # a named corpus's examples are its own: none
    assert fresh.corpus().examples == () and offered() == []
    manifest.write_text('[corpus]\nexamples = "Qui paie ?"\n', encoding="utf-8")
    with pytest.raises(ManifestError, match=r"examples must be a list of questions"):
        fresh.ingest([tmp_path])
