"""A video's captions (.vtt, .srt) read as its transcript, and quotes from it that say when in
the recording they are said."""

import dataclasses
import hashlib
import json
import time
from pathlib import Path

import pytest

from assistant import BadDocument
from assistant.answering.generative import _label
from assistant.answering.text import read_references, references
from assistant.ingest.captions import RUN
from assistant.ingest.chunking import split_sentences
from assistant.ingest.loaders import read_document
from assistant.recording import clock, time_at
from assistant.serve.shapes import source_text
from assistant.sources.model import Source
from assistant.store.records import SourceRecord, record_meta, record_of, stamp
from assistant.web.render import citation_html, document_html

# Automatic captions as YouTube writes them: each cue rolls the line before it up, with a 10 ms
# cue between that repeats it, words timed inline, a sound annotation on a line of its own.
ROLLING = """WEBVTT
Kind: captions
Language: en-US

00:00:00.000 --> 00:00:02.350 align:start position:0%
 
so<00:00:00.320><c> today</c><00:00:00.640><c> we</c>

00:00:02.350 --> 00:00:02.360 align:start position:0%
so today we
 

00:00:02.360 --> 00:00:05.030 align:start position:0%
so today we
are<00:00:02.879><c> talking</c><00:00:03.199><c> about</c><00:00:03.520><c> japan</c>

00:00:05.030 --> 00:00:05.040 align:start position:0%
are talking about japan
 

00:00:05.040 --> 00:00:07.000 align:start position:0%
are talking about japan
[Music]

00:00:10.000 --> 00:00:12.000
<v Fumio Kishida>Japan will give &amp; keep giving.

00:00:12.000 --> 00:00:14.000
<v Fumio Kishida>Twelve billion dollars so far.

00:00:14.000 --> 00:00:16.000
<v Reporter>Is that enough?
"""

# A broadcaster's SubRip file: SSA placement and italics, and ">>" where the speaker changes.
SUBRIP = """1
00:00:01,000 --> 00:00:03,500
{\\an8}<i>Good evening.</i>
This is the news.

2
00:00:04,000 --> 00:00:06,000
>> Moscow says the aid
is a provocation.

3
00:01:05,000 --> 00:01:07,000
(applause)
"""


def test_automatic_captions_are_a_transcript_with_each_line_once() -> None:
    doc = read_document(ROLLING.encode(), "kishida-briefing.vtt")
    assert doc.method == "captions"
    assert doc.text == (
        "so today we are talking about japan\n\n"
        "Fumio Kishida: Japan will give & keep giving. Twelve billion dollars so far.\n\n"
        "Reporter: Is that enough?"
    )
    # The header's language, without its region (no title: the source is named after the file).
    assert doc.metadata == {"languages": "en"} and doc.fallback_title == "kishida-briefing"
    # Where each cue's new words start, and when they are said.
    said = {doc.text[o:].split()[0]: s for o, s in doc.times}
    assert said == {"so": 0, "are": 2, "Fumio": 10, "Twelve": 12, "Reporter:": 14}
    assert time_at(doc.times, doc.text.index("billion")) == 12
    assert time_at(doc.times, doc.text.index("enough")) == 14


def test_subrip_drops_styling_and_annotations_and_starts_a_turn_at_each_speaker() -> None:
    doc = read_document(SUBRIP.encode(), "news.srt")
    assert doc.text == "Good evening. This is the news.\n\nMoscow says the aid is a provocation."
    assert doc.times == ((0, 1), (14, 1), (33, 4), (53, 4))  # each line, when its cue starts
    assert doc.metadata == {}  # SubRip declares no language and no title


def vtt(*cues: str, header: str = "WEBVTT") -> bytes:
    """A WebVTT file of cues one second apart, each cue's lines as given."""
    blocks = [f"00:00:{i:02d}.000 --> 00:00:{i:02d}.900\n{c}" for i, c in enumerate(cues)]
    return "\n\n".join([header, *blocks]).encode() + b"\n"


@pytest.mark.parametrize(
    ("cues", "text"),
    [
        (  # two voices in one cue, and on one line; a voice class with a hyphen
            [
                "<v Akira Sato>A fair point, Olga.\n<v Olga Petrenko>Thank you.",
                "<v.loud-voice Omar>Hi</v> <v Dana Lee>Hello</v>",
            ],
            "Akira Sato: A fair point, Olga.\n\nOlga Petrenko: Thank you.\n\nOmar: Hi"
            "\n\nDana Lee: Hello",
        ),
        (  # a broadcast's three-line roll-up: each line once
            [
                ">> THE PRIME MINISTER SAID\nJAPAN WILL KEEP ITS SANCTIONS",
                ">> THE PRIME MINISTER SAID\nJAPAN WILL KEEP ITS SANCTIONS\nUNTIL THE WAR",
                "JAPAN WILL KEEP ITS SANCTIONS\nUNTIL THE WAR\nENDS.",
            ],
            "THE PRIME MINISTER SAID JAPAN WILL KEEP ITS SANCTIONS UNTIL THE WAR ENDS.",
        ),
        (  # speakers marked inside a cue: ">>", and a dialogue's dashes
            [
                ">> Moscow called it a provocation.\n>> That is untrue.",
                "- Will Japan send weapons?\n- No.",
            ],
            "Moscow called it a provocation.\n\nThat is untrue.\n\nWill Japan send weapons?\n\nNo.",
        ),
        (  # ruby readings and bidi marks are not said; Chinese lines join without a space
            [
                "<ruby>発電機<rt>はつでんき</rt></ruby>を送る。",
                "&lrm;That is all.",
                "日本还向乌克兰提供了发电机",
                "谢谢收看。",
            ],
            "発電機を送る。 That is all. 日本还向乌克兰提供了发电机谢谢收看。",
        ),
        (  # roll-up is the first lines repeating the last written, by position and by voice
            ["no no no", "no no no\nno no no", "<v Alice>Yes.", "<v Bob>Yes.", "A\nB\nA"],
            "no no no no no no\n\nAlice: Yes.\n\nBob: Yes. A B A",
        ),
        (  # a hand-made transcript is cut at its sentences, however long a turn runs
            [
                "<v Ana>" + "They said the aid was ready" if i % 2 == 0 else "and would come soon."
                for i in range(16)
            ],
            "Ana: " + " ".join(["They said the aid was ready and would come soon."] * 8),
        ),
        (  # a line of speech that looks like times is speech
            ["Score went 2:1 -> 2:2 late.", "10:30 -> 11:45 is the schedule."],
            "Score went 2:1 -> 2:2 late. 10:30 -> 11:45 is the schedule.",
        ),
    ],
    ids=["voices", "roll-up", "turn marks", "ruby, bidi, CJK", "repeats", "sentences", "times"],
)
def test_captions_as_people_write_them(cues: list[str], text: str) -> None:
    doc = read_document(vtt(*cues), "c.vtt")
    assert doc.text == text and not doc.note
    assert all(time_at(doc.times, o) is not None for o, _ in doc.times)


def test_cues_that_are_not_read_are_reported_and_a_misnamed_file_is_read_as_what_it_is() -> None:
    broken = (
        "1\n00:00:01,000 --> 00:00:02,000\nFirst cue is fine.\n\n"
        "2\n00:00:05,000 -> 00:00:08,000\nSecond cue says this.\n\n"
        "3\n00:00:09 --> 00:00:10,000\nThird is lost.\n\n"
        "4\n00:00:11,000 --> 00:00:12,000\nLast one.\n"
    )
    doc = read_document(("\n\n" + broken).encode(), "b.srt")  # a line named is the file's
    assert doc.text == "First cue is fine. Second cue says this.\n\nLast one."  # no timing line
    assert doc.note.startswith("2 cue(s) not read: their timing line is not valid SubRip")
    assert "line 8: '00:00:05,000 -> 00:00:08,000'" in doc.note
    assert "00:01:02,345 --> 00:01:04,000" in doc.note  # how to write one
    sixty = read_document(
        vtt("Fine.", "Not read.", "Last.").replace(b"00:00:01.000", b"00:00:60.000"), "s.vtt"
    )
    assert "1 cue(s) not read" in sixty.note and "line 6: '00:00:60.000 -->" in sixty.note
    # SubRip named .vtt, WebVTT named .srt: read as what they are, with a note saying so.
    misnamed = read_document(SUBRIP.encode(), "news.vtt")
    assert misnamed.text.startswith("Good evening.")
    assert (
        "its content is SubRip, not WebVTT" in misnamed.note and "rename it .srt" in misnamed.note
    )
    assert read_document(ROLLING.encode(), "a.srt").metadata["languages"] == "en"
    # A language named in words is its code; one not known is left out, with a note.
    assert (
        read_document(vtt("Hello there.", header="WEBVTT\nLanguage: English"), "e.vtt").metadata[
            "languages"
        ]
        == "en"
    )
    odd = read_document(vtt("Hello there.", header="WEBVTT\nLanguage: Elvish"), "o.vtt")
    assert "languages" not in odd.metadata and "'Elvish' is not one known" in odd.note
    # Blank lines before the first cue and a space after a cue's number are no errors.
    assert read_document(b"\n\n1 \n00:00:01,000 --> 00:00:02,000\nHi there.\n", "s.srt").text == (
        "Hi there."
    )
    # A file whose every cue is unreadable says why, and how to write a timing line.
    with pytest.raises(BadDocument) as err:
        read_document(b"WEBVTT\n\n00:00:01,000 --> 00:00:02,000\nComma timings.\n", "c.vtt")
    assert "no captions with text" in err.value.reason
    assert "write it as 00:01:02.345 --> 00:01:04.000" in err.value.reason


def test_an_unpunctuated_run_ends_at_a_cue_so_that_quotes_stay_short() -> None:
    """Automatic captions have no full stops: without a cut the whole talk is one "sentence"."""
    cues = "".join(
        f"00:00:{i:02d}.000 --> 00:00:{i + 1:02d}.000\nword{i} and then we talk about the aid\n\n"
        for i in range(50)
    )
    doc = read_document(f"WEBVTT\n\n{cues}".encode(), "talk.vtt")
    sentences = split_sentences(doc.text, "en", 512)
    assert len(sentences) > 5
    longest_cue = max(len(f"word{i} and then we talk about the aid") for i in range(50))
    assert max(len(s.text) for s in sentences) <= RUN + longest_cue + 1
    assert all(time_at(doc.times, s.start) is not None for s in sentences)


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("a.vtt", b"00:00:01.000 --> 00:00:02.000\nno header\n", "not valid WebVTT"),
        ("a.vtt", b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n[Music]\n", "no captions with text"),
        ("a.srt", b"hello, this is not SubRip\n", "not valid SubRip"),
        ("a.srt", b"1\n00:00:01,000 --> 00:00:02,000\n\xe9t\xe9\n", "not valid UTF-8"),
    ],
    ids=["no WEBVTT line", "only a sound", "not SubRip", "not UTF-8"],
)
def test_bad_caption_files_say_what_is_wrong(name: str, data: bytes, reason: str) -> None:
    with pytest.raises(BadDocument) as err:
        read_document(data, name)
    assert err.value.path == name and reason in err.value.reason


BRIEFING = """WEBVTT - Foreign ministry briefing
Language: en

00:00:01.000 --> 00:00:04.000
<v Spokesperson>Good afternoon. Let me start with Japan's support for Ukraine.

00:00:04.500 --> 00:00:09.000
<v Spokesperson>Japan has so far provided twelve billion dollars in aid to Ukraine,
including humanitarian and financial support.

00:01:12.000 --> 00:01:15.000
<v Reporter>Will Japan send weapons to Ukraine?

00:01:15.500 --> 00:01:21.000
<v Spokesperson>Japan does not provide lethal weapons. Our export rules forbid it.
"""

MANIFEST = """[corpus.sides]
pro-Ukraine = "supports Ukraine"

[[sources]]
file = "briefing.vtt"
id = "briefing"
outlet = "Ministry of Foreign Affairs of Japan"
side = "pro-Ukraine"
voice = "government-official"
url = "https://www.youtube.com/watch?v=briefing01"
"""


def test_a_quote_from_a_recording_says_when_it_is_said(fresh, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "briefing.vtt").write_text(BRIEFING, encoding="utf-8")
    (docs / "sources.toml").write_text(MANIFEST, encoding="utf-8")
    assert fresh.ingest([docs]).added == ["briefing"]
    record, text = fresh.source("briefing")
    assert record.source.title == "Foreign ministry briefing"  # the WEBVTT line's text
    assert "-->" not in text and "<v" not in text

    answer = fresh.ask("Will Japan provide lethal weapons?")
    cited = [c for c in answer.citations if c.source_id == "briefing"]
    assert cited and all(c.at == time_at(record.times, c.start) for c in cited)
    weapons = next(c for c in cited if "lethal weapons" in c.quote)
    assert weapons.at == 75 and weapons.to_dict()["at"] == 75
    # Every door's text says it: the answer's body, its references, the chat's source card.
    assert "at 1:15" in answer.answer
    listed = references(answer.citations)
    # A YouTube address opens at the quote, as a link that copies as written.
    assert "· at 1:15 · <https://www.youtube.com/watch?v=briefing01&t=75s>" in listed
    parsed = read_references(listed)[weapons.n]  # still parsed back
    assert (parsed["source_id"], parsed["quote"]) == ("briefing", weapons.quote)
    card = citation_html(weapons, text, {})  # the chat's: a link to the video at that moment
    assert 'href="https://www.youtube.com/watch?v=briefing01&amp;t=75s"' in card
    assert 'rel="noopener noreferrer">at 1:15</a>' in card
    # The chat's whole-document view: when each paragraph is said, the quote marked.
    page = document_html(fresh, "briefing", weapons.start, weapons.end)
    assert '<span class="said">[1:12]</span> Reporter: Will Japan' in page
    assert f"<mark>{weapons.quote}</mark>" in page

    shown = source_text(fresh, "briefing")  # GET /v1/sources/{id} and MCP's: text and times
    assert shown.text == text and shown.times == list(record.times)
    assert json.loads(shown.model_dump_json())["times"][-1] == [239, 75]
    hit = fresh.search("lethal weapons", 1)[0]  # a search hit says where its passage starts
    assert (hit.source_id, hit.at) == ("briefing", time_at(record.times, hit.start))
    # and so does its label in an LLM's prompt
    assert _label(hit).endswith(f"; said at {clock(hit.at or 0)}")

    # The times are the record's: an unchanged file is unchanged, and an upload keeps them too.
    assert fresh.ingest([docs]).unchanged == ["briefing"]
    fresh.add_document("news.srt", SUBRIP.encode(), {"side": "pro-Ukraine"})
    assert fresh.source("news")[0].times == ((0, 1), (14, 1), (33, 4), (53, 4))
    # Replaced by a text, it keeps no times (Chroma merges a record's metadata when rewritten).
    fresh.add_document("news.txt", b"Good evening. Moscow says the aid is a provocation.", {}, True)
    assert fresh.source("news")[0].times == ()
    assert all(c.at is None for c in fresh.ask("What does Moscow say about the aid?").citations)


def test_a_source_without_times_keeps_the_stamp_it_had() -> None:
    """Stamps written before transcripts had times must still match their records: a changed
    stamp makes every refresh read every record again (Store.records), for good."""
    r = SourceRecord(Source("a", title="T", side="pro-Ukraine"), "v1", "/p/a.txt", 10, 1, 1.5)
    before = {k: v for k, v in record_meta(r).items() if k != "times"}  # the fields stored then
    flat = json.dumps(before, sort_keys=True, ensure_ascii=False, default=str)
    assert stamp(r) == hashlib.sha1(flat.encode("utf-8")).hexdigest()[:20]
    assert record_meta(r)["times"] is None  # takes the key out of Chroma's merged metadata
    timed = dataclasses.replace(r, times=((0, 3), (40, 7)))
    assert record_of("a", record_meta(timed)).times == timed.times and stamp(timed) != stamp(r)


def test_an_upload_says_what_reading_its_captions_noticed(fresh, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The job an upload becomes (the HTTP API's and the chat's) ends with the notes an ingest
    prints for the same file: a cue not read, a language not known, a misnamed format."""
    from assistant.serve.jobs import Jobs

    bad = (
        b"WEBVTT\nLanguage: Klingon\n\n00:00:01.000 --> 00:00:03.000\nThe aid arrived today.\n\n"
        b"00:00:05 --> 00:00:07.000\nThese words are lost.\n\n"
        b"00:00:08.000 --> 00:00:09.000\nMore will come.\n"
    )
    jobs = Jobs(fresh, tmp_path / "jobs")
    try:
        done = []
        for name, data in (("bad.vtt", bad), ("misnamed.vtt", SUBRIP.encode())):
            job = jobs.submit(name, data, {"side": "pro-Ukraine"})
            for _ in range(600):
                if jobs.get(job.id).state not in ("queued", "running"):
                    break
                time.sleep(0.1)
            done.append(jobs.get(job.id))
    finally:
        jobs.stop()
    assert [j.state for j in done] == ["done", "done"]
    assert done[0].message.startswith("indexed; 1 cue(s) not read")
    assert "line 7: '00:00:05 --> 00:00:07.000'" in done[0].message
    assert "its header's language 'Klingon' is not one known" in done[0].message
    assert "its content is SubRip, not WebVTT" in done[1].message
    # A pause is measured to the millisecond: 1.1 s is no pause, 2.1 s is one.
    gaps = read_document(
        b"WEBVTT\n\n00:00:01.000 --> 00:00:02.900\nwe were told that the ships\n\n"
        b"00:00:04.000 --> 00:00:06.000\nwould leave on monday\n\n"
        b"00:00:08.100 --> 00:00:09.000\nthen\n",
        "gaps.vtt",
    )
    assert gaps.text == "we were told that the ships would leave on monday\n\nthen"
