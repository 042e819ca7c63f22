"""A worker process that claims a reply from the outbox and then hangs while sending,
until killed: ``python -m tests.replies.stuck_sender CONFIG``. Prints ``sending`` once
its claim is committed."""

from __future__ import annotations

import sys
import time
from email.message import EmailMessage

from worker.app import App
from worker.config import load_config
from worker.mailer import Mailer
from worker.replies import send_due


class Stuck(Mailer):
    def _deliver(self, msg: EmailMessage) -> str:
        print("sending", flush=True)
        time.sleep(3600)
        return "never"


def main() -> None:
    app = App.from_config(load_config(sys.argv[1]))
    send_due(app.sessions, Stuck(app.config.smtp.sender, app.config.tz), limit=1)


if __name__ == "__main__":
    main()
