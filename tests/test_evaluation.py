"""Evaluation: question-set format, metrics on hand-computed cases, the runner, reports,
comparison, and the CI gate on data/questions.jsonl."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant import Assistant, InvalidRequest
from assistant.evaluation import metrics as m
from assistant.evaluation.compare import compare, format_comparison
from assistant.evaluation.gate import check_gate
from assistant.evaluation.metrics import SUMMARY_KEYS
from assistant.evaluation.questions import load_questions
from assistant.evaluation.results import Result
from assistant.evaluation.runner import run_eval, score, summarise

from .conftest import REPO

QUESTIONS = REPO / "data" / "questions.jsonl"


def test_bundled_question_set_is_valid_and_covers_what_it_must() -> None:
    qs = load_questions(QUESTIONS)
    assert len(qs) >= 40
    assert {"en", "fr", "zh", "ru"} <= {q.language for q in qs}
    assert sum(not q.answerable for q in qs) >= 5
    assert sum("cross-lingual" in q.tags for q in qs) >= 5
    contested = [q for q in qs if "contested" in q.tags]
    assert len(contested) >= 3 and all(len(q.expected_sides) >= 2 for q in contested)
    sources = {p.stem for p in (REPO / "data" / "corpus").glob("*.txt")}
    assert {s for q in qs for s in q.expected_sources} <= sources


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("{not json", "line 2: not valid JSON"),
        ('{"id": "x"}', "line 2: field 'question' is missing"),
        (
            '{"id": "x", "question": "q", "language": "en", "expected_sources": [], "expected_facts": ["a"], '
            '"expected_sides": [], "answerable": true}',
            "line 2: field 'expected_facts'",
        ),
        (
            '{"id": "x", "question": "q", "language": "en", "expected_sources": [], "expected_facts": [], '
            '"expected_sides": [], "answerable": "yes"}',
            "line 2: field 'answerable' must be a bool",
        ),
        (
            '{"id": "x", "question": "q", "language": "ua", "expected_sources": [], "expected_facts": [], '
            '"expected_sides": [], "answerable": true}',
            "line 2: field 'language' is 'ua', not a language; 'ua' is a country's code: write 'uk'",
        ),
        (  # a misspelt field is named beside the one it stands for
            '{"id": "x", "question": "q", "language": "en", "expected_sources": [], "expected_facts": [], '
            '"expected_sids": [], "answerable": true}',
            "line 2: field 'expected_sides' is missing \\(the line has 'expected_sids': rename it",
        ),
        (
            '{"id": "x", "question": "q", "language": "en", "expected_sources": [], "expected_facts": [], '
            '"expected_sides": [], "answerable": true, "tag": []}',
            "line 2: unknown field\\(s\\) 'tag' \\(did you mean 'tags'\\?\\)",
        ),
        (  # crashed the run once every question had been answered, and nothing was written
            '{"id": "x", "question": "q", "language": "en", "expected_sources": [], "expected_facts": [], '
            '"expected_sides": [], "answerable": true, "tags": [1, "a"]}',
            "line 2: field 'tags' must be a list of strings",
        ),
    ],
)
def test_malformed_lines_name_the_line(tmp_path: Path, line: str, fragment: str) -> None:
    good = QUESTIONS.read_text(encoding="utf-8").splitlines()[0]
    path = tmp_path / "q.jsonl"
    path.write_text(good + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises(InvalidRequest, match=fragment):
        load_questions(path)


def test_a_question_set_file_says_what_it_needs(tmp_path: Path) -> None:
    good = QUESTIONS.read_text(encoding="utf-8").splitlines()[0]
    path = tmp_path / "q.jsonl"
    path.write_text("\ufeff" + good + "\n", encoding="utf-8")  # a byte-order mark is no error
    assert [q.id for q in load_questions(path)] == ["q01"]
    path.write_bytes((good + "\n").encode() + '{"id": "é"}\n'.encode("latin-1"))
    with pytest.raises(InvalidRequest, match="line 2: not UTF-8.*save the file as UTF-8"):
        load_questions(path)
    path.write_text("[" + good + "]", encoding="utf-8")
    with pytest.raises(InvalidRequest, match="JSON array.*one question object per line"):
        load_questions(path)
    # A language's name or regional code is its code: one column of the report, not two.
    named = good.replace('"language": "fr"', '"language": "French"')
    path.write_text(named + "\n" + named.replace('"q01"', '"q02"').replace("French", "fr-FR"))
    assert [q.language for q in load_questions(path)] == ["fr", "fr"]
    path.write_text(good.replace('"language": "fr"', '"language": "Frnch"'))
    with pytest.raises(InvalidRequest, match="'Frnch', not a language; write its ISO 639-1 code"):
        load_questions(path)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ('{"hit_at_k": 0.99}', r"unknown key\(s\) \['hit_at_k'\] in the file"),
        ('{"minimum": {"mrr": 0.9}}', r"unknown key\(s\) \['minimum'\]"),
        ('{"by_tag": {"contested": {"mrr": 0.9}}}', r"unknown key\(s\) \['mrr'\] in by_tag.contested"),
        ('{"by_tag": {"contested": {}}}', "holds neither 'min' nor 'max'"),
        ('{"min": [["hit_at_k", 0.9]]}', "min must be an object of metric: number"),
        ('[{"min": {}}]', "the file must be a JSON object"),
        ('{"min": {"hit_at_k": "0.9"}}', 'min.hit_at_k must be a number, got "0.9"'),
        ('{"min": {"hit_at_k": null}}', "min.hit_at_k must be a number, got null"),
        ('{"min": {"hit_at_k": NaN}}', "min.hit_at_k must be a number, got NaN"),  # never missed
        ('{"min": {"hit_at_kk": 0.5}}', "unknown metric 'hit_at_kk' in min .known: hit_at_k"),
        ('{"by_tag": {"mixed_language": {"min": {"mrr": 0.5}}}}', "no question of the set has the tag 'mixed_language'"),
        ("{not json", "cannot read the thresholds"),
    ],
)  # fmt: skip
def test_a_gate_file_of_another_shape_is_refused(
    tmp_path: Path, content: str, fragment: str
) -> None:
    """Each passed silently (nothing checked), crashed with a traceback, or was reported as a
    score below its threshold, and only after every question had been asked."""
    from assistant.evaluation.gate import read_gate

    path = tmp_path / "gate.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InvalidRequest, match=fragment):
        read_gate(path, {"contested", "mixed-language"})


def test_a_failed_question_is_not_scored_and_a_run_that_cannot_start_does_not_start(
    assistant: Assistant, embedder, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from assistant import ConfigError, IndexNotBuilt, Settings
    from assistant.evaluation.questions import Question

    ok = next(q for q in load_questions(QUESTIONS) if q.id == "q37")
    long = Question("long", "aid " * 1500, "en", ["x"], [], [], True)
    summary = run_eval(assistant, [ok, long], tmp_path / "run")
    # Was: scored as an answer that did not abstain (abstention accuracy 1.0).
    assert summary["errors"] == 1 and summary["error_examples"][0].startswith("long: TooLarge")
    assert summary["abstention_accuracy"] == 1.0 and summary["by_language"]["en"]["questions"] == 2
    rows = [json.loads(x) for x in (tmp_path / "run" / "results.jsonl").read_text().splitlines()]
    assert all(v is None for v in rows[1]["scores"].values()) and rows[1]["error"]
    assert "error: TooLarge" in (tmp_path / "run" / "report.html").read_text(encoding="utf-8")
    # What the set names that the index lacks is in the run's files, not on a terminal alone;
    # and a report read alone says what its metrics are.
    note = "question long: expected_sources names 'x', no source of the index"
    assert summary["notes"] == [note]
    for report in ("report.md", "report.html"):
        text = (tmp_path / "run" / report).read_text(encoding="utf-8")
        assert note.replace("'", "&#x27;" if report == "report.html" else "'") in text
        assert "side_balance" in text and "every one is cited" in text
    # No index, or a mode with no LLM: refused before any question, nothing written.
    empty = Assistant(Settings.resolve(index_path=tmp_path / "none", env={}), embedder=embedder)
    with pytest.raises(IndexNotBuilt, match="ingest data/corpus"):
        run_eval(empty, [ok], tmp_path / "out1")
    with pytest.raises(ConfigError, match="ASSISTANT_LLM_BASE_URL"):
        run_eval(assistant, [ok], tmp_path / "out2", mode="llm")
    with pytest.raises(ConfigError, match="ASSISTANT_LLM_BASE_URL"):
        run_eval(assistant, [ok], tmp_path / "out3", judge=True)
    assert not any((tmp_path / d).exists() for d in ("out1", "out2", "out3"))
    with pytest.raises(InvalidRequest, match="cannot make the output folder"):
        run_eval(assistant, [ok], tmp_path / "run" / "summary.json" / "x")


def test_unknown_ids_and_sides_of_a_question_are_named(assistant: Assistant) -> None:
    from assistant.evaluation.questions import Question, unknown_references

    q = Question("t2", "q", "en", ["000_fa22c8dc189e4776.txt"], [], ["pro-russia"], True,
                 related_sources=["999_nope"])  # fmt: skip
    notes = unknown_references([q], assistant)
    assert any("'000_fa22c8dc189e4776.txt'" in n and "did you mean '000_fa22c8dc189e4776'" in n
               for n in notes)  # fmt: skip
    assert any("'pro-russia'" in n and "did you mean 'pro-Russia'" in n for n in notes)
    assert any("'999_nope'" in n for n in notes) and len(notes) == 3
    assert unknown_references(load_questions(QUESTIONS), assistant) == []


def test_metrics_on_hand_computed_cases() -> None:
    retrieved = ["b", "b", "a", "c", "d"]
    assert m.hit_at_k(retrieved, ["a"], 1) == 0.0
    assert m.hit_at_k(retrieved, ["a"], 2) == 1.0  # distinct sources: b, a, c, d
    assert m.reciprocal_rank(retrieved, ["c", "a"]) == 0.5
    assert m.reciprocal_rank(retrieved, ["z"]) == 0.0
    assert m.citation_precision(["a", "b", "c"], ["a"]) == pytest.approx(1 / 3)
    assert m.citation_precision([], ["a"]) is None
    assert m.citation_recall(["a", "b"], ["a", "c"]) == 0.5
    text = "Japan gave aid."
    assert m.quote_validity(
        [("Japan", text, 0, 5), ("gave", text, 6, 10), ("aid", text, 0, 3)]
    ) == pytest.approx(2 / 3)
    assert m.fact_recall(
        "Avdeevka, says RT", [["avdeevka"], ["Donetsk", "Bakhmut"], ["rt"]]
    ) == pytest.approx(2 / 3)
    assert m.side_coverage(["pro-Russia"], ["pro-Russia", "pro-Ukraine"]) == 0.5
    assert m.abstention_correct(True, False) == 1.0 and m.abstention_correct(False, False) == 0.0
    assert m.percentile([100.0, 200.0, 300.0, 400.0, 500.0], 50) == 300.0
    assert m.mean([None, None]) is None


def test_unanswerable_questions_skip_answerable_only_metrics() -> None:
    from assistant.evaluation.questions import Question

    q = Question("u", "Moon?", "en", [], [], [], False)
    row = Result.asked(q)
    row.retrieved_sources, row.answer, row.abstained = ["a"], "x", True
    s = score(q, row, {}, 5)
    assert s["abstention_accuracy"] == 1.0
    assert all(
        s[k] is None
        for k in (
            "hit_at_k",
            "mrr",
            "citation_precision",
            "citation_recall",
            "fact_recall",
            "side_coverage",
        )
    )
    row.scores, row.latency_ms = s, 10.0
    summary = summarise([row], {})
    assert summary["abstention_accuracy"] == 1.0 and summary["hit_at_k"] is None


def test_related_sources_count_as_relevant_but_are_not_required(tmp_path: Path) -> None:
    """The same debate in another language (`related_sources`): finding or citing it is
    relevant; recall still asks for the expected sources."""
    from assistant.evaluation.questions import Question
    from assistant.schema import Citation

    def cite(n: int, sid: str, side: str) -> Citation:
        return Citation(n, sid, "", "", "", side, "", "ru", "", "q", 0, 1, 0.9)

    q = Question("c", "Keep the clock change?", "en", ["en_for", "en_against"], [],
                 ["for", "against"], True, related_sources=["ru_for"])  # fmt: skip
    row = Result.asked(q)
    row.retrieved_sources = ["ru_for", "en_against", "other"]
    row.citations = [cite(1, "ru_for", "for"), cite(2, "en_against", "against")]
    row.cited_sources = ["ru_for", "en_against"]
    s = score(q, row, {}, 1)
    assert (s["hit_at_k"], s["mrr"], s["citation_precision"]) == (1.0, 1.0, 1.0)
    assert s["citation_recall"] == 0.5 and s["side_balance"] == 1.0
    plain = Question(*[getattr(q, f) for f in ("id", "question", "language", "expected_sources",
                     "expected_facts", "expected_sides", "answerable")])  # fmt: skip
    s = score(plain, row, {}, 1)
    assert (s["hit_at_k"], s["mrr"], s["citation_precision"], s["side_balance"]) == (
        0.0, 0.5, 0.5, 0.0,
    )  # fmt: skip
    bad = tmp_path / "q.jsonl"
    line = {"id": "x", "question": "q", "language": "en", "expected_sources": ["a"],
            "expected_facts": [], "expected_sides": [], "answerable": True,
            "related_sources": ["a"]}  # fmt: skip
    bad.write_text(json.dumps(line) + "\n")
    with pytest.raises(InvalidRequest, match="both expected and related"):
        load_questions(bad)


def test_runner_writes_results_summary_and_reports_with_plots(
    assistant: Assistant, tmp_path: Path
) -> None:
    qs = [q for q in load_questions(QUESTIONS) if q.id in ("q01", "q24", "q37", "q42")]
    summary = run_eval(assistant, qs, tmp_path / "run")
    required = (
        "hit_at_k",
        "mrr",
        "citation_precision",
        "citation_recall",
        "quote_validity",
        "fact_recall",
        "side_coverage",
        "side_balance",
        "abstention_accuracy",
        "wrong_abstention_rate",
        "unsupported_claim_rate",
        "latency_p50_ms",
        "latency_p95_ms",
    )
    assert SUMMARY_KEYS == required
    for key in required:
        if key == "unsupported_claim_rate":  # an extractive answer makes no claim of its own
            assert summary[key] is None
            continue
        assert isinstance(summary[key], float | int), key
    assert summary["quote_validity"] == 1.0 and summary["abstention_accuracy"] == 1.0
    rows = [json.loads(x) for x in (tmp_path / "run" / "results.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == ["q01", "q24", "q37", "q42"]
    assert {
        "retrieved_sources",
        "cited_sources",
        "answer",
        "citations",
        "scores",
        "latency_ms",
    } <= set(rows[0])
    assert all(Result.from_dict(r).to_dict() == r for r in rows)  # typed rows, read back as written
    for name in (
        "summary.json",
        "report.md",
        "report.html",
        "metrics.png",
        "languages.png",
        "latency.png",
    ):
        assert (tmp_path / "run" / name).stat().st_size > 0
    page = (tmp_path / "run" / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 3 and "Où Kaneko" in page


def test_a_stopped_run_keeps_its_answers_and_leaves_the_earlier_run_whole(
    assistant: Assistant, tmp_path: Path
) -> None:
    """Stopped half way, a run wrote nothing, and a folder could mix two runs' files; now the
    answered questions are kept apart and the earlier run's files stay whole until replaced."""
    qs = [q for q in load_questions(QUESTIONS) if q.id in ("q01", "q24", "q37")]
    out = tmp_path / "run"
    run_eval(assistant, qs[:1], out)
    earlier = {p.name: p.read_bytes() for p in out.iterdir()}

    def stop_after_two(done: int, total: int, qid: str) -> None:
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_eval(assistant, qs, out, progress=stop_after_two)
    kept = [json.loads(x)["id"] for x in (out / "results.partial.jsonl").read_text().splitlines()]
    assert kept == ["q01", "q24"]
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.name in earlier} == earlier
    # A run killed outright (SIGKILL, a lost machine) left its staging folder; one of a run
    # still going (another process writing the same folder) is that run's.
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    (out / f".run-{done.pid}").mkdir()
    (out / f".run-{done.pid}" / "summary.json").write_text("{}")
    (out / f".run-{os.getppid()}").mkdir()
    run_eval(assistant, qs, out)
    # No partial, no staging of a dead run; the live one's is left alone.
    assert sorted(p.name for p in out.iterdir()) == sorted([*earlier, f".run-{os.getppid()}"])
    assert json.loads((out / "summary.json").read_text())["questions"] == 3


def test_compare_reports_metric_and_question_differences(
    assistant: Assistant, tmp_path: Path
) -> None:
    qs = [q for q in load_questions(QUESTIONS) if q.id in ("q01", "q37")]
    run_eval(assistant, qs, tmp_path / "a", k=8)
    run_eval(assistant, qs, tmp_path / "b", k=1)
    c = compare(tmp_path / "a", tmp_path / "b")
    assert set(c["metrics"]) >= {"hit_at_k", "citation_recall", "latency_p50_ms"}
    assert c["metrics"]["citation_recall"]["diff"] is not None
    text = format_comparison(c)
    assert "B − A" in text and "changed:" in text and "k = 1, 2 questions" in text
    # Runs of different questions say so (the text gave only "0 questions changed").
    run_eval(assistant, qs[:1], tmp_path / "c", k=8)
    assert "Only in A: 1 question(s) (q37)" in format_comparison(
        compare(tmp_path / "a", tmp_path / "c")
    )
    (tmp_path / "c" / "summary.json").write_text("[1, 2]")
    with pytest.raises(InvalidRequest, match="summary.json is not a JSON object"):
        compare(tmp_path / "a", tmp_path / "c")
    with pytest.raises(InvalidRequest, match="assistant eval"):
        compare(tmp_path / "a", tmp_path / "nothing")


def test_eval_gate_on_the_bundled_question_set(assistant: Assistant, tmp_path: Path) -> None:
    """The CI gate: every deterministic metric at or above its documented threshold."""
    summary = run_eval(assistant, load_questions(QUESTIONS), tmp_path / "gate")
    failures = check_gate(summary, REPO / "data" / "eval_thresholds.json")
    assert failures == [], failures
    # The mixed-language questions are reported on a line (a column) of their own.
    assert summary["by_tag"]["mixed-language"]["questions"] >= 8
    assert "#mixed-language (" in (tmp_path / "gate" / "report.md").read_text(encoding="utf-8")


def test_gate_reports_each_miss() -> None:
    path = REPO / "data" / "eval_thresholds.json"
    failures = check_gate({"hit_at_k": 0.5, "mrr": 1.0}, path)
    assert any(f.startswith("hit_at_k = 0.5 is below") for f in failures)
    assert any(f.startswith("quote_validity was not measured") for f in failures)
    # A tag's own floors are checked against that tag's line.
    by_tag = {"mixed-language": {"hit_at_k": 1.0, "side_balance": 0.1}}
    failures = check_gate({"by_tag": by_tag}, path)
    assert any(f.startswith("#mixed-language side_balance = 0.1 is below") for f in failures)
    assert not any(f.startswith("#mixed-language hit_at_k") for f in failures)


def test_eval_gate_on_the_contested_claims(contested: Assistant, tmp_path: Path) -> None:
    """The CI gate for balance: answers to contested claims quote both sides' documents."""
    questions = load_questions(REPO / "data" / "contested" / "questions.jsonl")
    assert len(questions) >= 30 and len({q.language for q in questions}) >= 2
    summary = run_eval(contested, questions, tmp_path / "contested")
    assert summary["side_balance"] is not None
    failures = check_gate(summary, REPO / "data" / "contested" / "eval_thresholds.json")
    assert failures == [], failures


def test_an_eval_stopped_without_a_terminal_says_what_it_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Into a log (no terminal, no progress bar), a Ctrl-C after one answered question said
    "interrupted after 0 of 2 questions: nothing of this run was written" while the answer
    was kept: the count was the disabled bar's."""
    import assistant.evaluation.questions as question_sets
    import assistant.evaluation.runner as runner
    from assistant.cli import main

    questions = tmp_path / "q.jsonl"
    line = json.dumps(
        {"id": "ID", "question": "How much aid?", "language": "en", "answerable": False,
         "expected_sources": [], "expected_facts": [], "expected_sides": []}
    )  # fmt: skip
    questions.write_text(line.replace("ID", "a") + "\n" + line.replace("ID", "b") + "\n")

    def stopped(assistant, qs, out, progress=None, **_):  # type: ignore[no-untyped-def]
        progress(1, len(qs), qs[0].id)  # one answer written to the partial file
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "run_eval", stopped)
    monkeypatch.setattr(question_sets, "unknown_references", lambda *_: [])
    code = main(
        ["--index", str(tmp_path / "i"), "eval", str(questions), "--out", str(tmp_path / "o")]
    )
    err = capsys.readouterr().err
    assert code == 130 and "interrupted after 1 of 2 questions: their results are in" in err, err
