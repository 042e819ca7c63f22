"""Headers and secrets: what every response carries, and where the session key lives.

The Content-Security-Policy allows nothing but this site's own stylesheet and images:
no script at all (the console needs none), no inline styles, no framing, forms only
to ourselves. Even if some text escaped autoescaping it could not run.

The client address (login throttling, sessions) comes from the connection unless
``CONSOLE_BEHIND_PROXY=1``. Getting that wrong is silent by nature, so it is made
loud: while the setting is off, a request carrying ``X-Forwarded-For`` (a proxy is in
front after all, and every client shares its address) is logged once as a warning
and every page shows a banner until the setting is fixed.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from flask import Flask, Response, current_app, g, render_template, request
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from worker.console.params import BadParameter

CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
KEY_FILE = ".console-secret"
PROXY_ENV = "CONSOLE_BEHIND_PROXY"
PROXY_WARNING = ("此控制台前面有反向代理（请求带有 X-Forwarded-For），但未设置 "
                 "CONSOLE_BEHIND_PROXY=1：所有人都显示为代理的地址，登录限速会互相影响。"
                 "请设置 CONSOLE_BEHIND_PROXY=1 后重启控制台。")
log = logging.getLogger(__name__)


def secret_key(output_dir: Path) -> str:
    """CONSOLE_SECRET_KEY, else a key made once and kept (0600) in the output folder,
    shared by every gunicorn worker and surviving restarts (sessions stay valid)."""
    env = os.environ.get("CONSOLE_SECRET_KEY", "")
    if env:
        return env
    path = output_dir / KEY_FILE
    output_dir.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        tmp = output_dir / f"{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
        try:
            os.link(tmp, path)  # atomic, and loses to a worker that made one first
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    key = path.read_text(encoding="ascii").strip()
    if len(key) < 32:
        raise RuntimeError(f"{path} holds no usable key; delete it to make a new one")
    return key


def _headers(response: Response) -> Response:
    h = response.headers
    h.setdefault("Content-Security-Policy", CSP)
    h["X-Content-Type-Options"] = "nosniff"
    h["X-Frame-Options"] = "DENY"
    h["Referrer-Policy"] = "same-origin"
    h["Cross-Origin-Opener-Policy"] = "same-origin"
    if response.mimetype == "text/html":
        h["Cache-Control"] = "no-store"  # pages hold ID numbers and phone numbers
    return response


def behind_proxy() -> bool:
    return os.environ.get(PROXY_ENV, "") == "1"


def _proxy_check() -> None:
    """Not configured for a proxy, yet one is there: say so (log once, banner always)."""
    if "X-Forwarded-For" not in request.headers:
        return
    g.proxy_warning = PROXY_WARNING
    state = current_app.extensions.setdefault("console_proxy_warned", {"done": False})
    if not state["done"]:
        state["done"] = True
        log.warning("console: requests carry X-Forwarded-For but %s is not 1: every client "
                    "appears as the proxy's address %s (login throttling is shared); set "
                    "%s=1 and restart", PROXY_ENV, request.remote_addr, PROXY_ENV)


def install(app: Flask) -> None:
    app.after_request(_headers)
    install_errors(app)
    if behind_proxy():
        # Behind one reverse proxy: take the client address (rate limiting, audit)
        # and scheme from its X-Forwarded-* headers; never trust them otherwise.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]
        log.info("console: %s=1, client addresses taken from X-Forwarded-For", PROXY_ENV)
    else:
        log.info("console: %s is off, client addresses taken from the connection; a "
                 "request with X-Forwarded-For will raise a warning", PROXY_ENV)
        app.before_request(_proxy_check)


ERRORS = {
    400: ("请求无效", "表单已失效或内容有误，请返回刷新页面后重试。"),
    403: ("没有权限", "请先登录。"),
    404: ("找不到", "没有这个页面或文件。"),
    405: ("不支持的操作", "请从页面上的按钮操作。"),
    413: ("文件过大", "上传的文件超过 20 MB。"),
}


def _error_page(e: HTTPException) -> tuple[str, int]:
    code = e.code or 500
    title, message = ERRORS.get(code, ("出错了", "请稍后再试。"))
    if code == 400 and e.description and (isinstance(e, BadParameter) or "令牌" in e.description):
        message = e.description
    if code == 403 and g.get("actor") is not None:  # logged in: not an admin (staff pages)
        message = "这个页面和操作只限管理员账号。"
    return render_template("console/error.html", code=code, title=title, message=message), code


def install_errors(app: Flask) -> None:
    for code in ERRORS:
        app.register_error_handler(code, _error_page)
