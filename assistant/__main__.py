"""`python -m assistant` is the `assistant` command."""

from .cli import main

raise SystemExit(main())
