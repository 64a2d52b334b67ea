"""The benches under bench/ keep working: each imports and answers --help (they import
everything at their top, so a renamed or moved module breaks this, not a user who runs the bench
by hand), and each has a tiny input in CI's smoke step, which runs them end to end."""

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


SMOKE_STEP = BENCH.parent / ".ci" / "smoke_benches.py"


def test_every_bench_has_a_tiny_input_in_the_ci_smoke_step() -> None:
    """CI runs each bench end to end on a tiny input (.ci/smoke_benches.py, after the suite: the
    benches load the model in a process each and together take minutes): a new bench without
    one would go unchecked."""
    spec = importlib.util.spec_from_file_location("smoke_benches", SMOKE_STEP)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert {name.split()[0] for name in module.SMOKE} == {p.name for p in BENCH.glob("*.py")}
    assert "smoke_benches.py" in (BENCH.parent / ".ci" / "run").read_text(encoding="utf-8")
