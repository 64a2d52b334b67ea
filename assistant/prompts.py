"""Prompt templates are files in prompts/, rendered strictly with Jinja2.

StrictUndefined makes a variable the caller forgot an error instead of an empty string, so a
prompt can never silently lose its passages or question.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from assistant.errors import PromptError


@lru_cache(maxsize=4)
def _env(directory: str) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(directory),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # the output is a prompt, not HTML
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(directory: Path, name: str, **variables: Any) -> str:
    """Render prompts/<name> with the given variables.

    Args:
        directory: the prompts directory (Settings.prompts_dir).
        name: the file name, e.g. "answer.user.md".
        **variables: every variable the template uses.
    """
    try:
        return _env(str(directory)).get_template(name).render(**variables)
    except jinja2.TemplateNotFound as exc:
        raise PromptError(
            f"prompt {name!r} not found in {directory}; restore it from the repository"
        ) from exc
    except jinja2.UndefinedError as exc:
        raise PromptError(
            f"prompt {name!r}: {exc.message}; pass that variable to render()"
        ) from exc
    except jinja2.TemplateSyntaxError as exc:
        raise PromptError(f"prompt {name!r} line {exc.lineno}: {exc.message}") from exc
