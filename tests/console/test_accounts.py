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
    assert a != b and a.startswith("scrypt$")
    assert accounts.verify_password("s3cret-pass", a)
    assert not accounts.verify_password("s3cret-pasS", a)
    assert not accounts.verify_password("s3cret-pass", "scrypt$99999999$8$1$AA==$AA==")  # corrupt
    assert not accounts.verify_password("x", "plain-text")


def test_shipped_parameters_are_the_owasp_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.undo()  # the real PARAMS, not the fast test ones
    stored = accounts.hash_password("a long enough password")
    assert stored.split("$")[1:4] == [str(2**15), "8", "3"]
    assert accounts.verify_password("a long enough password", stored)


def test_old_parameters_still_verify_and_are_upgraded_at_login(world: World) -> None:
    weak = accounts.hash_password(PASSWORD, accounts.ScryptParams(2**4, 8, 1))
    assert accounts.needs_rehash(weak)
    with world.app.sessions.begin() as s:
        accounts.create_staff(s, "王老师", "placeholder-pw")
    with world.app.sessions.begin() as s:
        accounts.find_staff(s, "王老师").password_hash = weak  # type: ignore[union-attr]
    assert login(world.app.sessions, "王老师", PASSWORD, "10.0.0.1").actor is not None
    assert not accounts.needs_rehash(staff_row(world, "王老师").password_hash)


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
