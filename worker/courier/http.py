"""One form POST to a provider, through the standard library (``urllib``), with every
failure wrapped where it enters: timeouts, refused connections and HTTP 5xx become
``CourierUnavailable``, HTTP 429 ``CourierRateLimited``, 401/403
``CourierCredentials``; the reason is Chinese, for staff."""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping

from worker.errors import CourierCredentials, CourierRateLimited, CourierUnavailable

MAX_ANSWER = 20 * 1024 * 1024   # a label PDF is far smaller; a runaway answer is cut off


def post_form(url: str, fields: Mapping[str, str], *, timeout: float, who: str) -> bytes:
    """POST ``fields`` as application/x-www-form-urlencoded (UTF-8); the answer's bytes."""
    body = urllib.parse.urlencode(fields).encode("ascii")
    request = urllib.request.Request(  # noqa: S310 -- the URL is the office's own config
        url, data=body, method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"})
    return _send(request, timeout, who)


def get(url: str, headers: Mapping[str, str], *, timeout: float, who: str) -> bytes:
    """GET a file the provider pointed us to (SF's label download)."""
    request = urllib.request.Request(url, headers=dict(headers), method="GET")  # noqa: S310
    return _send(request, timeout, who)


def _send(request: urllib.request.Request, timeout: float, who: str) -> bytes:
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            return answer.read(MAX_ANSWER)
    except urllib.error.HTTPError as e:
        if e.code == 429:
            raise CourierRateLimited(f"{who}限流，稍后重试", code="HTTP 429") from e
        if e.code in (401, 403):
            raise CourierCredentials(f"{who}拒绝了我们的凭证，请检查账号配置", code=f"HTTP {e.code}") from e
        raise CourierUnavailable(f"{who}服务异常，稍后重试", code=f"HTTP {e.code}") from e
    except TimeoutError as e:
        raise CourierUnavailable(f"{who}响应超时，稍后重试", code="timeout") from e
    except urllib.error.URLError as e:
        if isinstance(e.reason, TimeoutError):
            raise CourierUnavailable(f"{who}响应超时，稍后重试", code="timeout") from e
        raise CourierUnavailable(f"{who}无法连接，稍后重试", code=str(e.reason)[:80]) from e
    except OSError as e:  # connection reset mid-answer
        raise CourierUnavailable(f"{who}连接中断，稍后重试", code=type(e).__name__) from e
