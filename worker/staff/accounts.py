"""Staff accounts: salted scrypt password hashes through ``werkzeug.security``.

werkzeug (already here with Flask) does the hashing and the constant-time compare, in
its own format ``scrypt:n:r:p$salt$hexkey``; we choose the parameters and only accept
scrypt. Why scrypt rather than argon2-cffi: it is memory-hard (the property that makes
GPU guessing expensive), OWASP lists it as an accepted choice, and it needs no compiled
dependency on the institute's Debian box. The parameters travel inside each stored
hash, so they can be raised later and old hashes still verify (``needs_rehash`` tells
when to upgrade one at login).

Hashes written before werkzeug took over (``scrypt$n$r$p$b64salt$b64key``, our own
format) still verify here, and ``needs_rehash`` is true for them, so each is replaced
by a werkzeug hash at that person's next login; no one has to reset a password.

Passwords are NFKC-normalised before hashing (as they always were, so old hashes
match): a full-width ``ｐａｓｓ１`` typed with a Chinese IME is the same password as
``pass1``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import unicodedata
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from worker.db.models import Staff
from worker.staff.errors import ActionRefused


@dataclass(frozen=True)
class ScryptParams:
    n: int
    r: int
    p: int

    @property
    def method(self) -> str:
        """werkzeug's method string, ``scrypt:32768:8:3``."""
        return f"scrypt:{self.n}:{self.r}:{self.p}"

    def sane(self) -> bool:
        """Within what we would ever write: a stored hash claiming more is corrupt, and
        must not make a login allocate gigabytes."""
        return 1 < self.n <= _MAX_N and 0 < self.r <= 32 and 0 < self.p <= 16


# OWASP's scrypt option "N=2^15, r=8, p=3": 32 MiB and about half a second per hash
# here -- slow for a guesser, tolerable for a login. Tests lower it for speed.
PARAMS = ScryptParams(n=2**15, r=8, p=3)
_MAX_N = 2**20
_SALT_CHARS = 22     # werkzeug's salt alphabet has 62 letters: 22 of them ~ 131 bits
_WERKZEUG = re.compile(r"scrypt:(\d{1,8}):(\d{1,3}):(\d{1,3})\$[0-9A-Za-z]+\$[0-9a-f]+")
_KEY_BYTES = 32      # the legacy format's key length
MIN_PASSWORD = 8
MAX_NAME = 64


@dataclass(frozen=True)
class Actor:
    """Who is acting, as the audit log records it."""

    id: int | None
    name: str


def _secret(password: str) -> str:
    return unicodedata.normalize("NFKC", password)


def hash_password(password: str, params: ScryptParams | None = None) -> str:
    """``scrypt:n:r:p$salt$hexkey`` (werkzeug's format) for ``password``."""
    return generate_password_hash(_secret(password), method=(params or PARAMS).method,
                                  salt_length=_SALT_CHARS)


def _params(stored: str) -> ScryptParams | None:
    """The parameters of a well-formed werkzeug scrypt hash within bounds, else None."""
    match = _WERKZEUG.fullmatch(stored)
    if match is None:
        return None
    params = ScryptParams(*(int(g) for g in match.groups()))
    return params if params.sane() else None


def verify_password(password: str, stored: str) -> bool:
    """True if ``password`` matches ``stored`` (either format); False for a wrong password
    and for a stored hash that is not one of ours or is corrupt, never an exception."""
    if stored.startswith("scrypt$"):
        return _verify_legacy(password, stored)
    if _params(stored) is None:
        return False
    try:
        return check_password_hash(stored, _secret(password))
    except ValueError:  # hashlib refused the parameters (not a power of two, memory)
        return False


def needs_rehash(stored: str) -> bool:
    """True for legacy hashes and for hashes with other parameters than ``PARAMS``."""
    return _params(stored) != PARAMS


def _verify_legacy(password: str, stored: str) -> bool:
    """Our own format before werkzeug: ``scrypt$n$r$p$b64salt$b64key`` (32-byte key)."""
    try:
        _scheme, n, r, p, salt_b64, key_b64 = stored.split("$")
        params = ScryptParams(int(n), int(r), int(p))
        salt = base64.b64decode(salt_b64, validate=True)
        key = base64.b64decode(key_b64, validate=True)
        if not params.sane():
            return False
        derived = hashlib.scrypt(_secret(password).encode("utf-8"), salt=salt, n=params.n,
                                 r=params.r, p=params.p, dklen=_KEY_BYTES,
                                 maxmem=2 * 128 * params.r * params.n + 1024 * 1024)
    except ValueError:
        return False
    return hmac.compare_digest(derived, key)


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
