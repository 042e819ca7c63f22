"""A worker process killed between the provider's answer and our commit:
``python -m tests.courier.crash_order CONFIG``. It orders waybills and SIGKILLs
itself the moment the first answer is in, before recording it."""

from __future__ import annotations

import os
import signal
import sys

from worker.app import App
from worker.config import load_config
from worker.courier import ordering
from worker.courier.factory import provider_for


def _die(*_args: object, **_kwargs: object) -> None:
    print("answered", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    app = App.from_config(load_config(sys.argv[1]))
    ordering._record = _die  # type: ignore[assignment]
    ordering.order_waybills(app.sessions, app.config, provider_for(app.config))


if __name__ == "__main__":
    main()
