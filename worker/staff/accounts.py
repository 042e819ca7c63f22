"""Staff accounts: salted scrypt password hashes, compared in constant time.

Why scrypt from the standard library rather than argon2-cffi: it is memory-hard (the
property that makes GPU guessing expensive), OWASP lists it as an accepted choice, and
it needs no compiled dependency on the institute's Debian box. The parameters travel
inside each stored hash (``scrypt$n$r$p$salt$key``), so they can be raised later and
old hashes still verify (``needs_rehash`` tells when to upgrade one at login).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import unicodedata
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from worker.db.models import Staff
from worker.staff.errors import ActionRefused


@dataclass(frozen=True)
class ScryptParams:
    n: int
    r: int
    p: int


# OWASP's scrypt option "N=2^15, r=8, p=3": 32 MiB and about half a second per hash
# here -- slow for a guesser, tolerable for a login. Tests lower it for speed.
PARAMS = ScryptParams(n=2**15, r=8, p=3)
_MAX_N = 2**20       # a hash claiming more is corrupt: do not let it eat the server
_KEY_BYTES = 32
MIN_PASSWORD = 8
MAX_NAME = 64


@dataclass(frozen=True)
class Actor:
    """Who is acting, as the audit log records it."""

    id: int | None
    name: str


def _scrypt(password: str, salt: bytes, params: ScryptParams) -> bytes:
    secret = unicodedata.normalize("NFKC", password).encode("utf-8")
    return hashlib.scrypt(secret, salt=salt, n=params.n, r=params.r, p=params.p,
                          maxmem=2 * 128 * params.r * params.n + 1024 * 1024, dklen=_KEY_BYTES)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str, params: ScryptParams | None = None) -> str:
    params = params or PARAMS
    salt = secrets.token_bytes(16)
    key = _scrypt(password, salt, params)
    return f"scrypt${params.n}${params.r}${params.p}${_b64(salt)}${_b64(key)}"


def _parse(stored: str) -> tuple[ScryptParams, bytes, bytes] | None:
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        params = ScryptParams(int(n), int(r), int(p))
        if scheme != "scrypt" or not (1 < params.n <= _MAX_N and 0 < params.r <= 32
                                      and 0 < params.p <= 16):
            return None
        return params, base64.b64decode(salt, validate=True), base64.b64decode(key, validate=True)
    except ValueError:
        return None


def verify_password(password: str, stored: str) -> bool:
    parsed = _parse(stored)
    if parsed is None:
        return False
    params, salt, key = parsed
    return hmac.compare_digest(_scrypt(password, salt, params), key)


def needs_rehash(stored: str) -> bool:
    parsed = _parse(stored)
    return parsed is None or parsed[0] != PARAMS


_DUMMY: dict[ScryptParams, str] = {}


def burn_time(password: str) -> None:
    """Spend what a real verification costs, so an unknown name answers no faster
    than a wrong password (names are not to be discovered by timing)."""
    if PARAMS not in _DUMMY:
        _DUMMY[PARAMS] = hash_password(secrets.token_urlsafe(16))
    verify_password(password, _DUMMY[PARAMS])


def clean_name(name: str) -> str:
    name = unicodedata.normalize("NFKC", name).strip()
    if not name or len(name) > MAX_NAME or any(c.isspace() or not c.isprintable() for c in name):
        raise ActionRefused(f"用户名须为 1–{MAX_NAME} 个字符，不含空格或控制字符")
    return name


def check_password_policy(name: str, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ActionRefused(f"密码至少 {MIN_PASSWORD} 个字符")
    if password.strip().casefold() == name.casefold():
        raise ActionRefused("密码不能与用户名相同")


def find_staff(session: Session, name: str) -> Staff | None:
    return session.scalars(select(Staff).where(Staff.name == name)).one_or_none()


def create_staff(session: Session, name: str, password: str) -> Staff:
    """A new active account, in the caller's transaction; refuses an existing name."""
    name = clean_name(name)
    check_password_policy(name, password)
    if find_staff(session, name) is not None:
        raise ActionRefused(f"用户 {name} 已存在")
    staff = Staff(name=name, password_hash=hash_password(password), active=True)
    session.add(staff)
    session.flush()
    return staff


def set_password(session: Session, name: str, password: str) -> Staff:
    """Replace a password (also ends that person's console sessions, see console.auth)."""
    name = clean_name(name)
    staff = find_staff(session, name)
    if staff is None:
        raise ActionRefused(f"没有用户 {name}")
    check_password_policy(name, password)
    staff.password_hash = hash_password(password)
    return staff
