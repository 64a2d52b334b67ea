from pathlib import Path

import pytest

from assistant import ConfigError, Settings


def test_explicit_beats_environment_beats_default() -> None:
    env = {"ASSISTANT_TOP_K": "9", "ASSISTANT_COLLECTION": "other"}
    s = Settings.resolve(env=env, top_k=5)
    assert s.top_k == 5
    assert s.collection == "other"
    assert Settings.resolve(env={}).top_k == 8


def test_types_are_coerced_from_environment() -> None:
    s = Settings.resolve(env={"ASSISTANT_INDEX_PATH": "/tmp/x", "ASSISTANT_LANGUAGES": "en, fr"})
    assert s.index_path == Path("/tmp/x")
    assert s.languages == ("en", "fr")
    # As people write them: one spelling each, once.
    written = Settings.resolve(env={"ASSISTANT_LANGUAGES": "EN,en-US,Romanian,zh_Hans"})
    assert written.languages == ("en", "ro", "zh")


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"ASSISTANT_TOP_K": "many"}, "ASSISTANT_TOP_K"),
        ({"ASSISTANT_MODE": "magic"}, "ASSISTANT_MODE"),
        ({"ASSISTANT_MODE": "llm"}, "ASSISTANT_LLM_BASE_URL"),
        ({"ASSISTANT_CHUNK_OVERLAP": "150"}, "chunk_overlap"),
        ({"ASSISTANT_COLLECTION": "ab"}, "3 characters"),
        ({"ASSISTANT_RELEVANCE_SAME": "83"}, "ASSISTANT_RELEVANCE_SAME is a cosine, -1 to 1"),
        ({"ASSISTANT_RELEVANCE_APART": "0"}, "ASSISTANT_RELEVANCE_APART .* above 0"),
        # At start, not at the first document or question.
        ({"ASSISTANT_LANGUAGES": "en,klingon,xx"}, "LANGUAGES holds 'klingon', 'xx': give ISO"),
        ({"ASSISTANT_LANGUAGES": " , "}, "LANGUAGES holds no language"),
    ],
)
def test_bad_values_say_what_to_fix(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        Settings.resolve(env=env)


def test_unknown_override_is_an_error() -> None:
    with pytest.raises(ConfigError, match="unknown setting"):
        Settings.resolve(env={}, colection="x")
