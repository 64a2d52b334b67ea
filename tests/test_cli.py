"""The `assistant` command, run as a real subprocess."""

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import CORPUS, REPO

pytestmark = pytest.mark.slow  # every test spawns the command


def run(*args: str, index: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant", "--index", str(index), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_search_json_has_the_documented_fields(index_dir: Path) -> None:
    out = run(
        "search",
        "Pourquoi Daisaku Kaneko combat-il aux côtés de la Russie ?",
        "--json",
        index=index_dir,
    )
    assert out.returncode == 0, out.stderr
    hits = json.loads(out.stdout)
    assert hits[0]["source_id"] == "000_fa22c8dc189e4776"
    for key in ("source_id", "text", "start", "end", "language", "side", "voice", "score"):
        assert key in hits[0]


def test_a_reader_that_stops_early_gets_no_traceback(index_dir: Path) -> None:
    """`assistant ask … | head -3` printed a BrokenPipeError traceback: here the reader has
    gone before the first line."""
    read, write = os.pipe()
    os.close(read)
    with subprocess.Popen(
        [sys.executable, "-m", "assistant", "--index", str(index_dir), "sources"],
        cwd=REPO,
        stdout=write,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        os.close(write)
        _, err = proc.communicate(timeout=300)
    assert proc.returncode == 1 and err == "", err


def test_ask_json_has_citations_with_sides(index_dir: Path) -> None:
    out = run("ask", "How much aid has Japan given Ukraine?", "--json", index=index_dir)
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)
    assert answer["abstained"] is False and answer["answer"]
    c = answer["citations"][0]
    for key in ("n", "source_id", "side", "voice", "language", "quote", "start", "end"):
        assert key in c
    assert {"pro-Russia", "pro-Ukraine"} <= {c["side"] for c in answer["citations"]}


def test_ask_streams_plain_text(index_dir: Path) -> None:
    out = run("ask", "Où Kaneko a-t-il été blessé ?", index=index_dir)
    assert out.returncode == 0 and "Avdeevka" in out.stdout
    # Into a pipe or a file the text may be rendered: document text stays inert there.
    assert "000\\_fa22c8dc189e4776" in out.stdout
    # In a terminal, as written (was "000\\_fa22c8dc189e4776", the escapes shown).
    main, tty = pty.openpty()
    with subprocess.Popen(
        [sys.executable, "-m", "assistant", "--index", str(index_dir), "ask",
         "Où Kaneko a-t-il été blessé ?"],
        cwd=REPO, stdout=tty, stderr=subprocess.DEVNULL,
    ) as proc:  # fmt: skip
        os.close(tty)
        shown = b""
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # the terminal closed: the command ended
                break
            if not chunk:
                break
            shown += chunk
    os.close(main)
    text = shown.decode("utf-8", "replace")
    assert proc.returncode == 0 and "000_fa22c8dc189e4776" in text and "\\_" not in text, text


def test_chat_reads_each_follow_up_with_the_questions_before_it(index_dir: Path) -> None:
    """The CLI asked one question at a time; `chat` takes one per line from stdin, keeps the
    turns, and goes on after a question it refuses."""
    too_long = "Japan " * 1000
    lines = f"Pourquoi Daisaku Kaneko combat-il aux côtés de la Russie ?\n\n{too_long}\nEt où a-t-il été blessé ?\n"
    out = subprocess.run(
        [sys.executable, "-m", "assistant", "--index", str(index_dir), "chat", "--json"],
        input=lines, cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    # The refused question is said and fails the run for a script; the next is still asked.
    assert out.returncode == 2 and "the limit is 4000" in out.stderr, out.stderr
    answers = [json.loads(x) for x in out.stdout.splitlines()]
    assert len(answers) == 2  # and no turn for the refused one
    follow_up = answers[1]
    assert follow_up["standalone_question"].startswith("Pourquoi Daisaku Kaneko")
    assert "Avdeevka" in " ".join(c["quote"] for c in follow_up["citations"])
    text = subprocess.run(
        [sys.executable, "-m", "assistant", "--index", str(index_dir), "chat"],
        input=f"Où Kaneko a-t-il été blessé ?\n{too_long}\nexit\nnot asked\n", cwd=REPO,
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert text.returncode == 2 and text.stdout.count("**Sources**") == 1, text.stdout
    # From a pipe, the answer follows its question as a heading (answers ran together); a
    # refused question has none.
    assert text.stdout.startswith("## Où Kaneko a-t-il été blessé ?\n"), text.stdout
    assert text.stdout.count("## ") == 1 and "Japan Japan" not in text.stdout
    # A fault of the whole run (no index here) ends it at once, said once.
    none = subprocess.run(
        [sys.executable, "-m", "assistant", "--index", str(index_dir.parent / "none"), "chat"],
        input="a\nb\n", cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert none.returncode == 2 and none.stderr.count("error:") == 1, none.stderr


def test_a_document_cannot_drive_the_terminal(tmp_path: Path) -> None:
    """A document's escape sequences reach a terminal as text: ESC and the other controls
    are shown as U+FFFD, one for one; JSON output keeps the text exact (escaped by JSON)."""
    (tmp_path / "esc.txt").write_text(
        "Red \x1b[31malert\x1b[0m text here.\x07 Another sentence about the aid.\n",
        encoding="utf-8",
    )
    assert run("ingest", str(tmp_path / "esc.txt"), index=tmp_path / "i").returncode == 0
    for args in (("search", "alert"), ("ask", "alert text?"), ("sources",)):
        out = run(*args, index=tmp_path / "i")
        assert out.returncode == 0 and "\ufffd" in out.stdout and "31malert" in out.stdout, (
            out.stdout
        )
        assert not any(c in out.stdout for c in "\x1b\x07"), args
    hits = json.loads(run("search", "alert", "--json", index=tmp_path / "i").stdout)
    assert "\x1b[31malert" in hits[0]["text"]


def test_ingest_reports_and_errors_are_one_clear_line(tmp_path: Path) -> None:
    out = run("ingest", str(CORPUS / "004_c6b0d4f86fb433b5.txt"), index=tmp_path / "i")
    assert out.returncode == 0 and "1 added" in out.stdout
    # Into a pipe or a log, no progress bar: its carriage-return redraws were noise there.
    two = tmp_path / "two"
    two.mkdir()
    for name in ("a", "b"):
        (two / f"{name}.txt").write_text(f"Note {name}: the council met on Monday.", "utf-8")
    out = run("ingest", str(two), index=tmp_path / "i")
    assert out.returncode == 0 and "2 added" in out.stdout
    assert "\r" not in out.stderr and "file/s" not in out.stderr, out.stderr
    # A file skipped is a partial ingest (exit 1); a folder and a file in it, or one folder
    # given twice, are read once (each file was skipped as claiming its own id).
    (two / "noise.bin.txt").write_bytes(b"\x00\x01\x02 binary")
    out = run("ingest", str(two), str(two / "a.txt"), str(two), index=tmp_path / "i")
    assert out.returncode == 1, (out.stdout, out.stderr)
    assert "2 unchanged, 1 skipped" in out.stdout and "noise.bin.txt" in out.stderr
    assert "also" not in out.stderr, out.stderr
    out = run("search", "Japan", index=tmp_path / "missing")
    assert out.returncode == 2
    assert out.stderr.startswith("error: ") and "ingest data/corpus" in out.stderr
    out = run("ingest", str(tmp_path / "nope"), index=tmp_path / "refused")
    assert out.returncode == 2 and "no such file" in out.stderr
    # Neither a read of a missing index nor a refused ingest leaves an empty index behind.
    assert not (tmp_path / "missing").exists() and not (tmp_path / "refused").exists()
    # k is 1 to 100: 0 is not "the default", and a negative k would slice from the end.
    for args in (("search", "Japan", "--k", "-3"), ("ask", "Japan", "--k", "0")):
        out = run(*args, index=tmp_path / "i")
        assert out.returncode == 2 and "k must be a whole number from 1 to 100" in out.stderr


def test_sources_lists_labels(index_dir: Path) -> None:
    out = run("sources", "--json", index=index_dir)
    rows = {r["id"]: r for r in json.loads(out.stdout)}
    assert rows["002_9ece5d155ad6878c"]["side"] == "pro-Ukraine"
    assert rows["003_3836cd8526ff3a53"]["languages"] == ["zh", "en"]  # as its manifest declares
    # What the index holds, detected in the text (the table showed only the declared ones).
    assert sorted(rows["003_3836cd8526ff3a53"]["detected_languages"]) == ["en", "zh"]
    assert rows["000_fa22c8dc189e4776"]["detected_languages"] == ["fr"]
    table = run("sources", index=index_dir).stdout.splitlines()
    line = next(x for x in table if x.startswith("003_"))
    assert ",".join(rows["003_3836cd8526ff3a53"]["detected_languages"]) in line.split(), line
    titles = [line.index(rows[line.split()[0]]["title"][:20]) for line in table]
    assert len(table) == len(rows) and len(set(titles)) == 1, (
        table
    )  # one column, however long the side
    # Narrowed by side and language (detected or declared), as a search is; a typo is named.
    some = json.loads(run("sources", "--json", "--side", "pro-Russia", "--language", "fr",
                          index=index_dir).stdout)  # fmt: skip
    assert [r["id"] for r in some] == ["000_fa22c8dc189e4776"]  # the one French source
    typo = run("sources", "--side", "pro-russia", index=index_dir)
    assert typo.returncode == 2 and "unknown side filter 'pro-russia'" in typo.stderr


def test_eval_fails_loudly_when_questions_fail_and_reads_its_gate_first(
    index_dir: Path, tmp_path: Path
) -> None:
    """A run whose questions failed exited 0 with normal-looking metrics; a gate file that
    could not be used was read only after every question had been asked."""
    good = (REPO / "data" / "questions.jsonl").read_text(encoding="utf-8").splitlines()[36]
    bad = json.dumps({**json.loads(good), "id": "long", "question": "aid " * 1500})
    questions = tmp_path / "q.jsonl"
    questions.write_text(good + "\n" + bad + "\n", encoding="utf-8")
    gate = tmp_path / "gate.json"
    gate.write_text('{"min": {"hit_at_kk": 0.5}}', encoding="utf-8")
    out = run("eval", str(questions), "--out", str(tmp_path / "g"), "--gate", str(gate),
              index=index_dir)  # fmt: skip
    assert out.returncode == 2 and "unknown metric 'hit_at_kk'" in out.stderr
    assert not (tmp_path / "g").exists()
    out = run("eval", str(questions), "--out", str(tmp_path / "run"), index=index_dir)
    assert out.returncode == 2, out.stderr
    assert "1 of 2 questions failed" in out.stderr and "long: TooLarge" in out.stderr
    assert (tmp_path / "run" / "results.jsonl").exists()  # written all the same
    assert "unsupported_claim_rate  None" in out.stdout  # was "unsupported_claim_rateNone"
