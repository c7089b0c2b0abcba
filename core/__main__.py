"""``python -m core`` runs the ``chexmini`` command line (same as the console script)."""

from chexmini_cli.main import main

raise SystemExit(main())
