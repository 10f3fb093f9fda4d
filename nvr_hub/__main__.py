"""Allow `python -m nvr_hub`."""

from nvr_hub.cli import main

raise SystemExit(main())
