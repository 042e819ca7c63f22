"""gunicorn settings for the staff console (``gunicorn -c deploy/gunicorn.conf.py 'worker.console:wsgi()'``).

Sized for a request that renders PDFs: approving an application renders its invoices
and label (weasyprint, ~0.1-1 s a page with harfbuzz subsetting, longer for a big
batch from the print centre), and a report download builds a whole workbook. So:
* threads in a few processes (``gthread``): a slow PDF holds one thread, not the site;
* ``timeout`` well above the longest render (a 300-invoice batch);
* workers recycled after ``max_requests``: weasyprint and fontTools keep caches that
  grow; a fresh process returns the memory.
Settings can be overridden from the environment (GUNICORN_CMD_ARGS, standard gunicorn).
"""

import os

bind = os.environ.get("CONSOLE_BIND", "127.0.0.1:8000")   # nginx proxies to it
workers = int(os.environ.get("CONSOLE_WORKERS", "2"))
worker_class = "gthread"
threads = 4
timeout = 300              # seconds a request may take: a full print batch of PDFs
graceful_timeout = 60
keepalive = 5
max_requests = 500
max_requests_jitter = 50
limit_request_line = 8190
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")  # only the proxy sets X-Forwarded-*
accesslog = "-"
errorlog = "-"
loglevel = "info"
