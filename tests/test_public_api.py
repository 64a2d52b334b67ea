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
    assert len(errors) == 15 and all(
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
