"""A worker process that claims a print batch and then hangs while rendering, until
killed: ``python -m tests.documents.stuck_render CONFIG``. Prints ``rendering`` once
its claim is committed."""

from __future__ import annotations

import sys
import time

from worker.app import App
from worker.config import load_config
from worker.documents import batch


def _hang(*_args: object, **_kwargs: object) -> None:
    print("rendering", flush=True)
    time.sleep(3600)


def main() -> None:
    app = App.from_config(load_config(sys.argv[1]))
    batch._start = _hang  # type: ignore[assignment]
    batch.render_pending(app.sessions, app.config)


if __name__ == "__main__":
    main()
