"""The error tree. Each message says what was wrong and how to fix it.

    AssistantError
    ├── ConfigError          a setting has a value that cannot work
    ├── ManifestError        sources.toml is malformed (names the file, entry and field)
    ├── BadDocument          one input file cannot be read (names the file); ingestion skips it
    ├── IndexNotBuilt        there is no index where one was expected
    ├── EmbedderMismatch     the index was built by another embedder
    ├── StoreUnavailable     the Chroma store cannot be reached or is corrupt
    ├── SourceNotFound       a source id names no indexed source
    ├── SourceExists         an upload would overwrite an indexed source
    ├── InvalidRequest       a question, filter or upload is unusable as given (a ValueError too)
    │   └── TooLarge         over a size limit
    ├── Busy                 the ingest queue is full: retry after `retry_after` seconds
    ├── JobFinished          a finished ingest job cannot be cancelled
    ├── PromptError          a prompt template is missing or a variable is unset
    ├── ClusterError         a Ray task failed to build a source's rows (lost workers retried first)
    └── LLMError             the OpenAI-compatible endpoint failed or answered nonsense

Only the edges (CLI, web app, HTTP API) turn these into user-facing text or status codes.
"""

from __future__ import annotations


class AssistantError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigError(AssistantError):
    """A setting (argument or ASSISTANT_* variable) has a value that cannot work."""


class ManifestError(AssistantError):
    """The source manifest is malformed; the message names the file, the entry and the field."""


class BadDocument(AssistantError):
    """One input file is empty, binary, not UTF-8 or of an unsupported type."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class IndexNotBuilt(AssistantError):
    """No index (or an empty one) where one was expected."""


class EmbedderMismatch(AssistantError):
    """The collection was built with another embedder or dimension."""


class StoreUnavailable(AssistantError):
    """The Chroma store cannot be reached, or its files are unreadable."""


class SourceNotFound(AssistantError):
    """A source id names no indexed source."""


class SourceExists(AssistantError):
    """An upload would replace a source already indexed under the same id."""


class InvalidRequest(AssistantError, ValueError):
    """A question, filter or upload cannot be used as given.

    Also a ValueError, as Python's own bad arguments are: code written for the standard
    library's convention, and frameworks that treat a ValueError as the caller's mistake (a
    LangChain tool's validation, pydantic validators), catch it without knowing this package."""


class TooLarge(InvalidRequest):
    """A question or an uploaded file over its size limit (HTTP 413)."""


class Busy(AssistantError):
    """The server has as many ingest jobs as it takes (HTTP 429 with Retry-After)."""

    def __init__(self, message: str, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class JobNotFound(AssistantError):
    """A job id names no ingest job the server holds (HTTP 404)."""


class JobFinished(AssistantError):
    """A cancel for an ingest job that has finished already (HTTP 409)."""


class PromptError(AssistantError):
    """A prompt template is missing, or rendering it left a variable unset."""


class ClusterError(AssistantError):
    """A Ray task building a source's rows failed (`assistant ingest --ray`; a task whose worker
    was lost is run again first): the sources committed before it stay, and a re-run completes
    the rest."""


class LLMError(AssistantError):
    """The OpenAI-compatible endpoint could not be reached or answered unusably."""

    @classmethod
    def failed(cls, exc: Exception) -> LLMError:
        """The client's exception, said with what to check."""
        said = str(exc).lower()
        if "context_length" in said or "context length" in said or "maximum context" in said:
            return cls(
                f"the model's context is too small for the question and its passages "
                f"({type(exc).__name__}: {exc}); ask with fewer passages (k), or give the "
                "server a larger context size or a model with one"
            )
        return cls(
            f"the LLM endpoint failed ({type(exc).__name__}: {exc}); check ASSISTANT_LLM_BASE_URL "
            "and ASSISTANT_LLM_MODEL, that the server is running, or switch to mode 'extractive'"
        )
