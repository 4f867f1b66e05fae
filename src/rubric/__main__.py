"""``python -m rubric``: the command line, for environments where the script is not on PATH."""

from .cli import main

raise SystemExit(main())
