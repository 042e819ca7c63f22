"""The worker's wiring (engine, sessions, config) as the console's request code sees it."""

from __future__ import annotations

from flask import current_app, g
from sqlalchemy.orm import Session, sessionmaker

from worker.app import App
from worker.config import Config
from worker.staff import Actor


def worker() -> App:
    app = current_app.extensions["invoice_worker"]
    assert isinstance(app, App)
    return app


def sessions() -> sessionmaker[Session]:
    return worker().sessions


def config() -> Config:
    return worker().config


def actor() -> Actor:
    """The logged-in staff member (auth guarantees one on every non-public page)."""
    who = g.get("actor")
    assert isinstance(who, Actor)
    return who
