import importlib

import pytest

import assistant


def test_public_names_are_pinned() -> None:
    assert sorted(assistant.__all__) == [
        "Answer",
        "Assistant",
        "AssistantError",
        "BadDocument",
        "Busy",
        "Citation",
        "Claim",
        "ConfigError",
        "EmbedderMismatch",
        "IndexNotBuilt",
        "IngestReport",
        "InvalidRequest",
        "JobFinished",
        "JobNotFound",
        "LLMError",
        "ManifestError",
        "Mark",
        "Passage",
        "PromptError",
        "Settings",
        "SideSummary",
        "Source",
        "SourceExists",
        "SourceNotFound",
        "StoreUnavailable",
        "Suggestion",
        "TooLarge",
        "VOICES",
    ]
    namespace: dict[str, object] = {}
    exec("from assistant import *", namespace)  # what a user's star import gets
    assert set(assistant.__all__) <= set(namespace)
    errors = [n for n in assistant.__all__ if n in assistant.errors.__dict__]
    assert len(errors) == 16 and all(
        issubclass(getattr(assistant, n), assistant.AssistantError) for n in errors
    ), errors


def test_a_question_over_the_limit_is_too_large_everywhere(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """One rule, one error: the API answers it with 413, every other edge names the limit."""
    a = assistant.Assistant(index_path=tmp_path / "idx")
    with pytest.raises(assistant.TooLarge, match="the limit is 4000") as info:
        a.ask("x" * 4001)
    assert isinstance(info.value, assistant.InvalidRequest)
    with pytest.raises(assistant.TooLarge):
        a.search("x" * 4001)


def test_python_callers_get_the_fix_for_a_wrong_shape(tmp_path, embedder) -> None:  # type: ignore[no-untyped-def]
    """Each was a bare ValueError or TypeError, or a misleading message ("the question is
    empty" for bytes), or silently accepted (a turn of role "bot")."""
    a = assistant.Assistant(index_path=tmp_path / "idx", embedder=embedder)
    for history in ("How much aid?", ["q", "a"], [("user", "x", "y")], [("bot", "x")],
                    [{"role": "user"}]):  # fmt: skip
        with pytest.raises(assistant.InvalidRequest, match=r"\(role, text\) pair"):
            a.ask("And Russia?", history=history)
    with pytest.raises(assistant.InvalidRequest, match="must be text"):
        a.search(b"aid")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="k must be a whole number"):  # the stdlib's convention
        a.search("aid", k=0)
    with pytest.raises(assistant.InvalidRequest, match="encode"):
        a.add_document("x.txt", "text, not bytes", {})  # type: ignore[arg-type]


SUBPACKAGES = (
    "sources", "ingest", "store", "retrieval", "answering", "evaluation", "serve", "web",
    "integrations",
)  # fmt: skip


@pytest.mark.slow  # a fresh interpreter per sub-package
@pytest.mark.parametrize("package", SUBPACKAGES)
def test_each_subpackage_names_its_public_surface_and_it_imports(package: str) -> None:
    """A sub-package's docstring lists its public surface, one `module.Name: what` line each;
    every name there imports from its module, in a fresh interpreter (no import cycle hides
    behind another test's imports)."""
    import re
    import subprocess
    import sys

    doc = importlib.import_module(f"assistant.{package}").__doc__ or ""
    names = re.findall(r"^ *([a-z_]+)(?:\.(\w+))?: ", doc, re.M)
    assert names, f"assistant/{package}/__init__.py names no public surface"
    code = "\n".join(
        f"from assistant.{package}.{module} import {name}"
        if name
        else f"import assistant.{package}.{module}"
        for module, name in names
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_the_top_level_holds_at_most_15_modules() -> None:
    """The pipeline and the doors live in sub-packages that follow the data flow."""
    from pathlib import Path

    top = [p.name for p in Path(assistant.__file__).parent.glob("*.py")]
    assert len(top) <= 15, sorted(top)
