"""The benches under bench/ keep working: each imports and answers --help (they import
everything at their top, so a renamed or moved module breaks this, not a user who runs the bench
by hand), and those that fit in a minute run end to end on a small input."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.mark.parametrize("path", sorted(BENCH.glob("*.py")), ids=lambda p: p.name)
def test_each_bench_imports_and_answers_help(
    path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = importlib.util.spec_from_file_location(f"bench_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(sys, "argv", [path.name, "--help"])
    with pytest.raises(SystemExit) as done:
        module.main()
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith("usage:")


CORPUS_FILE = BENCH.parent / "data" / "corpus" / "004_c6b0d4f86fb433b5.txt"
# Each bench with a small input; {corpus} is a folder of one bundled document, {index} a copy
# of the session's index, {out} where the result goes (never over bench/results).
SMOKE = {
    "ingest.py": ["--corpus", "{corpus}", "--repeat", "1"],
    "abstention.py": ["--articles", "2", "--out", "{out}"],
    "attribution.py": ["--index", "{index}", "--out", "{out}"],
    "suggestions.py": ["--out", "{out}"],
    "load.py": ["--index", "{index}", "--clients", "2", "--seconds", "2", "--upload-pdf"]
    + ["--out", "{out}"],
}


@pytest.mark.slow
@pytest.mark.parametrize("name", SMOKE)
def test_benches_run_on_a_tiny_input(name: str, index_dir: Path, tmp_path: Path) -> None:
    """A bench run end to end on a small input: what a user runs by hand does not break
    unnoticed. (The others need minutes of data: xquad, balance, query, sentence_vs_passage;
    their imports and options are checked above.)"""
    import json
    import shutil
    import subprocess

    corpus, index, out = tmp_path / "corpus", tmp_path / "index", tmp_path / "result.json"
    corpus.mkdir()
    shutil.copy(CORPUS_FILE, corpus)
    if "{index}" in SMOKE[name]:
        shutil.copytree(index_dir, index)
    argv = [a.format(corpus=corpus, index=index, out=out) for a in SMOKE[name]]
    done = subprocess.run(
        [sys.executable, str(BENCH / name), *argv],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=BENCH.parent,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    if "{out}" in SMOKE[name]:
        assert json.loads(out.read_text(encoding="utf-8"))
