"""The README's Python example runs as written (against the session's index)."""

import contextlib
import io
import re

import pytest

from .conftest import REPO


def test_readme_python_example_runs(index_dir, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Python", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code, "the README has a Python example"
    monkeypatch.setenv("ASSISTANT_INDEX_PATH", str(index_dir))
    monkeypatch.chdir(REPO)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code.group(1), "README.md", "exec"), {})  # noqa: S102 - our own README
    printed = out.getvalue()
    assert "Avdeevka" in printed and "pro-Russia" in printed and "5 unchanged" in printed
