"""A perspective-aware, multilingual research assistant.

The public API — everything another app needs:

    from assistant import Assistant, Answer, Citation, Passage, Source, Settings
"""

from assistant.config import Settings
from assistant.core import Assistant
from assistant.errors import (
    AssistantError,
    BadDocument,
    Busy,
    ConfigError,
    EmbedderMismatch,
    IndexNotBuilt,
    InvalidRequest,
    JobFinished,
    JobNotFound,
    LLMError,
    ManifestError,
    PromptError,
    SourceExists,
    SourceNotFound,
    StoreUnavailable,
    TooLarge,
)
from assistant.ingest.pipeline import IngestReport
from assistant.schema import Answer, Citation, Claim, Passage, SideSummary
from assistant.sources.model import VOICES, Mark, Source, Suggestion

__all__ = [
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
    "Passage",
    "PromptError",
    "Settings",
    "SideSummary",
    "Mark",
    "Source",
    "SourceExists",
    "SourceNotFound",
    "StoreUnavailable",
    "Suggestion",
    "TooLarge",
    "VOICES",
]
