"""The staff web console (Flask): see why an application is held, fix, approve,
reject or re-check it, import payments, print batches.

Flask because it is small, already a dependency of the stack's tooling, has Jinja2
(autoescaping, the templates the worker already uses) and signed-cookie sessions
built in, and is served by gunicorn in production (``Procfile``'s web process).
Every change goes through ``worker.staff``: the web layer only reads and forwards.
"""

from __future__ import annotations

import os
from datetime import timedelta

from flask import Flask

from worker.app import App
from worker.config import TEMPLATES_DIR, Config, load_config
from worker.console import (
    account,
    application,
    audit,
    auth,
    csrf,
    dashboard,
    filters,
    params,
    payments,
    print_centre,
    queue,
    security,
    tax,
)
from worker.console import health as health_page
from worker.console import reports as report_downloads
from worker.console import staff_admin as accounts_page
from worker.db import check_schema

STATIC_DIR = TEMPLATES_DIR / "console" / "static"
MAX_UPLOAD = 20 * 1024 * 1024  # a season's payment export is a few MB


def create_app(config: Config, *, check: bool = True) -> Flask:
    worker_app = App.from_config(config)
    if check:
        check_schema(worker_app.engine)
    config.output_dir.mkdir(parents=True, exist_ok=True)
    app = Flask(__name__, template_folder=str(TEMPLATES_DIR), static_folder=str(STATIC_DIR),
                static_url_path="/static")
    app.jinja_env.autoescape = True  # every template, whatever its name: data is text
    app.config.update(
        SECRET_KEY=security.secret_key(config.output_dir),
        SESSION_COOKIE_NAME="iw_console",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=os.environ.get("CONSOLE_SECURE_COOKIE", "") == "1",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=10),
        MAX_CONTENT_LENGTH=MAX_UPLOAD,
        MAX_FORM_MEMORY_SIZE=MAX_UPLOAD,
    )
    app.extensions["invoice_worker"] = worker_app
    security.install(app)
    params.install(app)  # before the blueprints: their <int:...> rules use its converter
    csrf.install(app)
    auth.install(app)
    filters.install(app, config)
    for module in (auth, account, dashboard, queue, application, payments, print_centre, tax, audit,
                   health_page, report_downloads, accounts_page):
        app.register_blueprint(module.bp)
    return app


def wsgi() -> Flask:
    """gunicorn's entry point: ``gunicorn 'worker.console:wsgi()'``; the config file
    comes from INVOICE_WORKER_CONFIG (unset = shipped defaults)."""
    return create_app(load_config(os.environ.get("INVOICE_WORKER_CONFIG") or None))
