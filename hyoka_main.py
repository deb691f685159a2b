"""The `hyoka` command: assistant/cli.py, with the chat UI (app.py) for `hyoka serve`.

This module sits beside app.py, above assistant/: the CLI never imports the UI, and the UI (with
Gradio) is imported only when `hyoka serve` runs, so `hyoka ask` starts without it.
"""

from __future__ import annotations

import sys

from assistant.cli import main as cli_main
from assistant.settings import Settings


def serve(settings: Settings, host: str | None, port: int | None) -> int:
    from app import main as app_main

    return app_main(settings, host=host, port=port)


def main(argv: list[str] | None = None) -> int:
    return cli_main(argv, serve=serve)


if __name__ == "__main__":
    sys.exit(main())
