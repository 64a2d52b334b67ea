"""The web chat's own labels in the browser's language: prompts/page/<code>.toml, one file per
language, read into Gradio's I18n, which the page itself looks up by the browser's language.

A label is keyed by its English text, so a page launched without the translations (a bare
`demo.launch()`) still reads in English, and a label a file lacks falls back to English in
the page. The answers' own words are another matter (answering/wording.py): they follow the
question's language, not the browser's.

>>> t = Labels.bundled()
>>> t.translations["fr"][t.english["ask"]], t.translations["ru"]["Side"]
('Demander', 'Сторона')
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from assistant.answering.wording import layered, load_texts
from assistant.config import REPO_ROOT
from assistant.errors import PromptError
from assistant.sources.model import DECLARED

BUNDLED = REPO_ROOT / "prompts" / "page"
# An upload form's field is labelled by field_<name>; its English is the code's (Field.label),
# so that a new manifest field shows without an edit here.
FIELD = "field_"


class Labels:
    """The page's labels: `english` by key, and every language's translations keyed by the
    English text (what gr.I18n takes)."""

    def __init__(self, prompts_dir: Path | None = None) -> None:
        english = load_texts(BUNDLED / "en.toml", templates=False)
        english |= {FIELD + f.name: f.label for f in DECLARED}
        self.english = english
        self.translations: dict[str, dict[str, str]] = {"en": {v: v for v in english.values()}}
        for path in layered(BUNDLED, prompts_dir / "page" if prompts_dir is not None else None):
            mine = self.translations.setdefault(path.stem.lower(), {})
            mine |= {english[k]: v for k, v in self._checked(path).items()}

    @classmethod
    def bundled(cls) -> Labels:
        return _bundled()

    def _checked(self, path: Path) -> dict[str, str]:
        """A file's labels, each one a key of the bundled en.toml or a form field's."""
        labels = load_texts(path, templates=False)
        unknown = [k for k in labels if k not in self.english]
        if unknown:
            raise PromptError(
                f"{path}: unknown {', '.join(unknown)} (not a label of the bundled "
                f"{BUNDLED / 'en.toml'}, nor {FIELD}<name> of a manifest field): remove or "
                "rename it"
            )
        return labels

    def __call__(self, key: str) -> Any:
        """The label `key`, for a component's label, placeholder, info or value: translated
        in the page."""
        import gradio as gr

        return gr.I18n()(self.english[key])

    def i18n(self) -> Any:
        """The translations, as Gradio's I18n (mount_gradio_app's and launch's `i18n`)."""
        import gradio as gr

        return gr.I18n(**self.translations)


@cache
def _bundled() -> Labels:
    return Labels()
