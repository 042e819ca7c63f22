"""``invoice-worker console``: the console on werkzeug's threaded server, for one
office machine. Production runs gunicorn (``Procfile``'s web process) instead."""

from __future__ import annotations

import logging

from werkzeug.serving import make_server

from worker.config import Config

log = logging.getLogger(__name__)


def serve(config: Config, host: str, port: int) -> int:
    from worker.console import create_app

    app = create_app(config)
    server = make_server(host, port, app, threaded=True)
    print(f"console: http://{host}:{server.server_port}/  (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
