r"""An answer's own words in its question's language: prompts/wording/<code>.toml, one file per
language, English (en.toml) where a language has none.

The quotes are verbatim whatever the language; what is worded here is the frame around them
("… says:", the figures' heading, which sides are not quoted and why, the sentence that says the
sources do not answer). A language is added by a file, not by code, and a file is checked when
it is read: every key of en.toml, each with the same {placeholders}, so that a translation
cannot lose a figure or a side's name, nor fail in the middle of an answer.

>>> w = Wordings.bundled()
>>> w.of("fr").text("says", who="RT", about="state-media", quote="“…” [1]")
'RT (state-media) dit\xa0: “…” [1]'
>>> w.of("it") is w.of("en"), w.of("zh").names(["a", "b", "c"], "side")
(True, '“a”一方、“b”一方或“c”一方')
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Sequence
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from assistant.config import REPO_ROOT
from assistant.errors import PromptError
from assistant.sources.model import UNKNOWN

FALLBACK = "en"
BUNDLED = REPO_ROOT / "prompts" / "wording"


def placeholders(template: str) -> set[str]:
    """The named fields of a str.format template. A field with no name ("{}"), a conversion
    ("{side!r}") or a format ("{side:>9}") is refused: the code fills fields by name, as text.

    >>> sorted(placeholders("{who} ({about}) says: {quote}"))
    ['about', 'quote', 'who']
    >>> placeholders("says {}")
    Traceback (most recent call last):
    ...
    ValueError: '{}' has no name: write a field as {name}, one of the English file's
    """
    out = set()
    for _, field, spec, conversion in string.Formatter().parse(template):
        if field is None:
            continue
        if not field.isidentifier() or spec or conversion:
            shown = field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            raise ValueError(
                f"'{{{shown}}}' has no name: write a field as {{name}}, one of the English file's"
                if not field
                else f"'{{{shown}}}' is not a plain field: write it as {{name}}"
            )
        out.add(field)
    return out


class Wording:
    """One language's words: each a template filled by name."""

    def __init__(self, language: str, templates: dict[str, str]) -> None:
        self.language, self.templates = language, templates

    def text(self, key: str, **fields: Any) -> str:
        """The template `key` filled; a float field written as number() writes it."""
        return self.templates[key].format(
            **{k: self.number(v) if isinstance(v, float) else v for k, v in fields.items()}
        )

    def number(self, value: float, digits: int = 3) -> str:
        """A measure written with the language's decimal mark: 0.016, 0,016."""
        return f"{value:.{digits}f}".replace(".", self.templates["decimal_mark"])

    def voice(self, voice: str) -> str:
        """A source's voice as shown beside its side: "voice unknown" where its corpus declares
        none (a bare "unknown" after a side reads as the side's)."""
        return self.text("voice_unknown") if voice == UNKNOWN else voice

    def suggested(self, side: str) -> str:
        """A side the assistant suggested, called a suggestion ("" for none)."""
        return self.text("side_suggested", side=side) if side else ""

    def names(self, items: Sequence[str], key: str) -> str:
        """Items, each worded by `key` ("the {side} side"), listed: "a, b or c"."""
        named = [self.text(key, side=item) for item in items]
        if len(named) < 2:
            return "".join(named)
        rest = self.templates["separator"].join(named[:-1])
        return self.text("either", rest=rest, last=named[-1])


class Wordings:
    """Every language's Wording: the bundled files, and a folder's own over them, read and
    checked when made."""

    def __init__(self, directory: Path, default: str = FALLBACK) -> None:
        self.directory, self.default = directory, default
        files = layered(BUNDLED, directory)
        # Read again when a file changes (a new Assistant sees an edited translation).
        self._of = _read(tuple((str(p), p.stat().st_mtime_ns) for p in files))

    @classmethod
    def bundled(cls) -> Wordings:
        """The bundled words alone, read once per process (they ship with the code): a default
        where no Assistant passes its own, and for an Answer's text read on its own (text.cut)."""
        return _bundled()

    @classmethod
    def in_prompts(cls, prompts_dir: Path, default: str = FALLBACK) -> Wordings:
        """The bundled words with those of a prompts folder's wording/ (Settings.prompts_dir)
        laid over them: a file there adds its language or replaces the bundled one's.
        `default`: the language of a question whose language is not determined (an index of
        one configured language detects none)."""
        return cls(prompts_dir / "wording", default)

    @property
    def languages(self) -> list[str]:
        return sorted(self._of)

    def of(self, language: str | None) -> Wording:
        """The wording of a language code ("fr"; "zh-Hant" reads zh-hant.toml, else zh.toml),
        the default language's for "und" or none, and English where the folder has none."""
        code = (language or "").lower()
        if code in ("", "und"):
            code = self.default
        return self._of.get(code) or self._of.get(code.split("-")[0]) or self._of[FALLBACK]


@cache
def _bundled() -> Wordings:
    return Wordings(BUNDLED)


def layered(bundled: Path, own: Path | None) -> list[Path]:
    """The .toml files of a bundled folder, then those of one's own folder (where it exists and
    is another), each folder's sorted: a later file of one name is laid over an earlier one.
    The web chat's labels are found so too (web/labels.py)."""
    folders = [bundled]
    if own is not None and own.is_dir() and own.resolve() != bundled.resolve():
        folders.append(own)
    return [path for folder in folders for path in sorted(folder.glob("*.toml"))]


@lru_cache(maxsize=8)
def _read(stamp: tuple[tuple[str, int], ...]) -> dict[str, Wording]:
    """The files of `stamp` (path, modification time), in its order, each over the last of its
    language."""
    reference = load_texts(BUNDLED / f"{FALLBACK}.toml")
    out = {FALLBACK: Wording(FALLBACK, reference)}
    for name, _ in stamp:
        path = Path(name)
        code = path.stem.lower()
        out[code] = Wording(code, _checked(path, reference))
    return out


def _checked(path: Path, reference: dict[str, str]) -> dict[str, str]:
    """A file's templates, held to the bundled English file's keys and placeholders: the code
    fills those, and nothing else."""
    templates = load_texts(path)
    missing = [k for k in reference if k not in templates]
    unknown = [k for k in templates if k not in reference]
    if missing:
        raise PromptError(
            f"{path}: missing {', '.join(missing)}; copy each from the bundled "
            f"{BUNDLED / (FALLBACK + '.toml')} and translate it"
        )
    if unknown:
        raise PromptError(
            f"{path}: unknown {', '.join(unknown)} (not in the bundled {FALLBACK}.toml): "
            "remove or rename it"
        )
    for key, template in templates.items():
        want, got = placeholders(reference[key]), placeholders(template)
        if want != got:
            lacks = ", ".join(f"{{{f}}}" for f in sorted(want - got))
            extra = ", ".join(f"{{{f}}}" for f in sorted(got - want))
            raise PromptError(
                f"{path}: {key} "
                + "; ".join(x for x in (lacks and f"lacks {lacks}", extra and f"has {extra}") if x)
                + f"; keep each placeholder of {FALLBACK}.toml's {key}, in braces, and add none"
            )
    return templates


def load_texts(path: Path, templates: bool = True) -> dict[str, str]:
    """A TOML file of text values, each a str.format template with named fields only (or,
    with templates=False, text shown as written: the web chat's labels): its errors say the
    file, the key and the fix."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise PromptError(f"{path} is not UTF-8 text: save it as UTF-8") from exc
    except tomllib.TOMLDecodeError as exc:
        raise PromptError(f"{path} is not valid TOML: {exc}; fix it there") from exc
    bad = [k for k, v in data.items() if not isinstance(v, str)]
    if bad:
        raise PromptError(f"{path}: {', '.join(bad)} must be text in quotes")
    for key, template in data.items() if templates else ():
        try:
            placeholders(template)
        except ValueError as exc:
            raise PromptError(
                f"{path}: {key}: {exc} (a literal brace is written twice: {{{{ or }}}})"
            ) from exc
    return data
