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
        ({"ASSISTANT_COLLECTION": "ab"}, "contains 3-63 characters"),
        # Chroma's own rule, checked before its files are made (it said "damaged" and left them).
        ({"ASSISTANT_COLLECTION": "bad name!"}, "COLLECTION.*starts and ends with an alphanumeric"),
        ({"ASSISTANT_COLLECTION": "a..b"}, "no two consecutive periods"),
        ({"ASSISTANT_COLLECTION": "10.0.0.1"}, "not a valid IPv4"),
        ({"ASSISTANT_COLLECTION": "x" * 60}, "at most 53 characters"),
        ({"ASSISTANT_RELEVANCE_SAME": "83"}, "ASSISTANT_RELEVANCE_SAME is a cosine, -1 to 1"),
        ({"ASSISTANT_RELEVANCE_APART": "0"}, "ASSISTANT_RELEVANCE_APART .* above 0"),
        # At start, not at the first document or question.
        ({"ASSISTANT_LANGUAGES": "en,klingon,xx"}, r"LANGUAGES\) holds 'klingon', 'xx': give ISO"),
        ({"ASSISTANT_LANGUAGES": " , "}, r"LANGUAGES\) holds no language"),
        (
            {"ASSISTANT_LANGUAGES": "en,ua"},
            r"holds 'ua'.*'ua' is a country's code: write 'uk' \(Ukrainian\)",
        ),
    ],
)
def test_bad_values_say_what_to_fix(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        Settings.resolve(env=env)


def test_unknown_override_is_an_error() -> None:
    with pytest.raises(ConfigError, match="unknown setting"):
        Settings.resolve(env={}, colection="x")


def test_settings_made_directly_read_the_environment_and_check_their_values(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`Settings(top_k=3)` took the defaults over ASSISTANT_*, so a program meaning another
    index wrote into the default one; and it checked nothing (a str top_k failed at `ask`)."""
    from assistant import Assistant

    monkeypatch.setenv("ASSISTANT_INDEX_PATH", str(tmp_path / "elsewhere"))
    made = Settings(top_k="3")
    assert made.index_path == tmp_path / "elsewhere" and made.top_k == 3
    assert Settings(env={}, top_k=3).index_path != made.index_path
    assert Assistant(Settings(top_k=3)).settings.index_path == tmp_path / "elsewhere"
    assert made.replace(top_k=5, chroma_url=None).top_k == 5  # None leaves a value as it is
    with pytest.raises(ConfigError, match="languages .* holds 'xx'"):
        Settings(env={}, languages="xx")  # one language, not the letters x and x
    with pytest.raises(ConfigError, match="top_k must be 1"):
        Settings(env={}, top_k=0)
    with pytest.raises(ConfigError, match="settings must be a Settings.*index_path="):
        Assistant("index")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Settings({}, 5)  # type: ignore[call-arg]


def test_an_index_path_that_is_a_file_says_so(tmp_path: Path) -> None:
    """Chroma said "no index" to a read of it and "File exists (os error 17)" to a write."""
    from assistant.store.chroma import Store

    file = tmp_path / "index"
    file.write_text("not an index", "utf-8")
    with pytest.raises(ConfigError, match="is a file, not a folder"):
        Store(str(file))


def test_an_empty_path_is_refused_not_read_as_the_current_folder() -> None:
    """`--index ""` searched the current folder and said to build an index there."""
    with pytest.raises(ConfigError, match="index_path is an empty path: give a folder"):
        Settings.resolve(index_path="", env={})
    # An empty variable is an unset one, as for every setting.
    assert Settings.resolve(env={"ASSISTANT_INDEX_PATH": ""}).index_path.name == "index"


def test_the_commands_take_the_index_options_before_or_after_the_command() -> None:
    """`assistant eval Q --out R --index DIR`, as people type it, names the index as
    `assistant --index DIR eval …` does (argparse refused it: "unrecognized arguments");
    one given after the command wins, and one given before is not lost to a default."""
    from assistant.cli import _settings, build_parser

    parser = build_parser()
    after = parser.parse_args(["eval", "q.jsonl", "--out", "r", "--index", "/tmp/x"])
    before = parser.parse_args(["--index", "/tmp/x", "--collection", "c1", "search", "hi"])
    both = parser.parse_args(["--index", "/tmp/y", "search", "hi", "--index", "/tmp/x"])
    assert after.index == before.index == both.index == "/tmp/x"
    assert before.collection == "c1" and after.collection is None
    assert str(_settings(after).index_path) == "/tmp/x"


def test_a_chroma_url_is_read_as_people_write_it_or_refused() -> None:
    """A scheme Chroma's client does not speak is refused (ftp:// was taken as http://); a
    path, a reverse proxy's prefix, is kept (it was dropped without a word)."""
    from assistant import StoreUnavailable
    from assistant.store.client import server_address

    assert server_address("127.0.0.1:8001/") == ("127.0.0.1", 8001, False)
    assert server_address("http://h/chroma") == ("http://h:8000/chroma", 8000, False)
    with pytest.raises(StoreUnavailable, match=r"over http:// or https://, not ftp://"):
        server_address("ftp://127.0.0.1:8123")


def test_a_chroma_url_with_https_to_no_tls_server_says_chroma_run_speaks_http(
    tmp_path: Path,
) -> None:
    """Nothing listens there; the message names `chroma run`'s http:// beside the fix."""
    from assistant import StoreUnavailable
    from assistant.store.client import connect

    from .conftest import free_port

    port = free_port()
    with pytest.raises(StoreUnavailable, match=r"speaks http://, not https://"):
        connect(str(tmp_path), f"https://127.0.0.1:{port}")
