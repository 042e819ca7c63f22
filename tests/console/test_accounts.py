"""Staff accounts: salted scrypt, constant-time compare, rate-limited logins."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.console.conftest import PASSWORD, staff_row
from tests.intake.conftest import World
from worker.db.types import utcnow
from worker.staff import ActionRefused, Actor, accounts
from worker.staff.login import LOCKED, WRONG, login


def test_hash_is_salted_and_verifies() -> None:
    a, b = accounts.hash_password("s3cret-pass"), accounts.hash_password("s3cret-pass")
    assert a != b and a.startswith("scrypt:")  # werkzeug.security's format
    assert accounts.verify_password("s3cret-pass", a)
    assert not accounts.verify_password("s3cret-pasS", a)
    assert not accounts.verify_password("s3cret-pass", "scrypt$99999999$8$1$AA==$AA==")  # corrupt
    assert not accounts.verify_password("x", "plain-text")
    assert not accounts.verify_password("s3cret-pass", "scrypt:1073741824:8:1$AAAA$00")  # corrupt
    assert not accounts.verify_password("s3cret-pass", "scrypt:1000:8:1$AAAA$00")  # corrupt
    assert not accounts.verify_password("s3cret-pass", "pbkdf2:sha1:1$AAAA$00")  # not ours


def test_shipped_parameters_are_the_owasp_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.undo()  # the real PARAMS, not the fast test ones
    stored = accounts.hash_password("a long enough password")
    assert stored.split("$")[0] == f"scrypt:{2**15}:8:3"
    assert accounts.verify_password("a long enough password", stored)


def test_old_parameters_still_verify_and_are_upgraded_at_login(world: World) -> None:
    # werkzeug limits scrypt memory to 132·n·r·p bytes: n below 2**7 cannot be computed
    weak = accounts.hash_password(PASSWORD, accounts.ScryptParams(2**8, 8, 1))
    assert accounts.needs_rehash(weak)
    with world.app.sessions.begin() as s:
        accounts.create_staff(s, "王老师", "placeholder-pw")
    with world.app.sessions.begin() as s:
        accounts.find_staff(s, "王老师").password_hash = weak  # type: ignore[union-attr]
    assert login(world.app.sessions, "王老师", PASSWORD, "10.0.0.1").actor is not None
    assert not accounts.needs_rehash(staff_row(world, "王老师").password_hash)


# Written by this module before it hashed through werkzeug (own format, NFKC-normalised
# password "旧版密码 old-pass１", scrypt n=2^10 r=8 p=1, 32-byte key, base64).
LEGACY = "scrypt$1024$8$1$LbejDds14uMbiIXpxVGjXg==$b+eqJpQuXWFPwe4NVokRmCdkOOuMjNgJ8r/qGZbM61w="


def test_hashes_from_before_werkzeug_still_verify_and_are_replaced_at_login(
        world: World) -> None:
    assert accounts.verify_password("旧版密码 old-pass1", LEGACY)   # NFKC: １ is 1
    assert accounts.verify_password("旧版密码 old-pass１", LEGACY)
    assert not accounts.verify_password("旧版密码 old-pass2", LEGACY)
    assert accounts.needs_rehash(LEGACY)
    with world.app.sessions.begin() as s:
        accounts.create_staff(s, "赵老师", "placeholder-pw")
    with world.app.sessions.begin() as s:
        accounts.find_staff(s, "赵老师").password_hash = LEGACY  # type: ignore[union-attr]
    assert login(world.app.sessions, "赵老师", "旧版密码 old-pass1", "10.0.0.1").actor is not None
    upgraded = staff_row(world, "赵老师").password_hash
    assert upgraded.startswith("scrypt:") and not accounts.needs_rehash(upgraded)
    assert accounts.verify_password("旧版密码 old-pass1", upgraded)


def test_create_refuses_duplicates_weak_and_odd_names(world: World, staff: Actor) -> None:
    with world.app.sessions.begin() as s:
        with pytest.raises(ActionRefused, match="已存在"):
            accounts.create_staff(s, "李老师", "another password")
        with pytest.raises(ActionRefused, match="至少"):
            accounts.create_staff(s, "张老师", "short")
        with pytest.raises(ActionRefused, match="用户名"):
            accounts.create_staff(s, "张 老师", "long enough pw")
        with pytest.raises(ActionRefused, match="相同"):
            accounts.create_staff(s, "zhanglaoshi", "ZhangLaoshi")
    assert "李老师" not in staff_row(world).password_hash  # only the hash is stored


def test_wrong_password_and_unknown_name_look_the_same(world: World, staff: Actor) -> None:
    assert login(world.app.sessions, "李老师", "wrong", "10.0.0.1").error == WRONG
    assert login(world.app.sessions, "nobody", "wrong", "10.0.0.2").error == WRONG
    ok = login(world.app.sessions, "李老师", PASSWORD, "10.0.0.1")
    assert ok.actor == staff and ok.password_fingerprint
    assert staff_row(world).last_login_at is not None


def test_five_failures_lock_the_name_for_fifteen_minutes(world: World, staff: Actor) -> None:
    now = utcnow()
    for i in range(5):
        assert login(world.app.sessions, "李老师", "guess", f"10.0.1.{i}", now).error == WRONG
    # Even the right password is refused now, from any address, without being checked.
    assert login(world.app.sessions, "李老师", PASSWORD, "10.0.9.9", now).error == LOCKED
    later = now + timedelta(minutes=16)
    assert login(world.app.sessions, "李老师", PASSWORD, "10.0.9.9", later).actor == staff


def test_five_failures_lock_the_address_whatever_the_names(world: World, staff: Actor) -> None:
    now = utcnow()
    for name in ("a", "b", "c", "d", "e"):
        login(world.app.sessions, name, "guess", "10.0.0.66", now)
    assert login(world.app.sessions, "李老师", PASSWORD, "10.0.0.66", now).error == LOCKED
    assert login(world.app.sessions, "李老师", PASSWORD, "10.0.0.67", now).actor == staff


def test_a_success_clears_the_names_count(world: World, staff: Actor) -> None:
    now = utcnow()
    for i in range(4):
        login(world.app.sessions, "李老师", "typo", f"10.0.2.{i}", now)
    assert login(world.app.sessions, "李老师", PASSWORD, "10.0.2.9", now).actor
    for i in range(4):
        login(world.app.sessions, "李老师", "typo", f"10.0.3.{i}", now + timedelta(seconds=1))
    assert login(world.app.sessions, "李老师", PASSWORD, "10.0.3.9",
                 now + timedelta(seconds=2)).actor


def test_disabled_account_cannot_log_in(world: World, staff: Actor) -> None:
    with world.app.sessions.begin() as s:
        accounts.find_staff(s, "李老师").active = False  # type: ignore[union-attr]
    assert login(world.app.sessions, "李老师", PASSWORD, "10.0.0.1").error == WRONG
