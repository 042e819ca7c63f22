"""Staff accounts: salted scrypt, constant-time compare, rate-limited logins."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.console.conftest import PASSWORD, staff_row
from tests.intake.conftest import World
from worker.db.models import LoginAttempt
from worker.db.types import utcnow
from worker.staff import ActionRefused, Actor, accounts
from worker.staff.login import MAX_WAIT, THROTTLED, WRONG, login, wait_after


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


def test_failures_beyond_five_make_growing_waits_not_a_lock(world: World, staff: Actor) -> None:
    now = utcnow()
    for i in range(5):  # free
        assert login(world.app.sessions, "李老师", "guess", f"10.0.1.{i}", now).error == WRONG
    refused = login(world.app.sessions, "李老师", PASSWORD, "10.0.9.9", now)
    assert refused.error == THROTTLED and refused.retry_after == timedelta(seconds=30)
    t = now + timedelta(seconds=30)
    assert login(world.app.sessions, "李老师", "guess", "10.0.1.6", t).error == WRONG  # 6th
    assert login(world.app.sessions, "李老师", "x", "10.0.1.7", t).retry_after == timedelta(minutes=1)
    t += timedelta(minutes=1)
    assert login(world.app.sessions, "李老师", "guess", "10.0.1.8", t).error == WRONG  # 7th
    assert login(world.app.sessions, "李老师", "x", "10.0.1.9", t).retry_after == timedelta(minutes=2)
    assert [wait_after(n) for n in (4, 5, 6, 7, 8, 9, 10, 50)] == [
        timedelta(0), timedelta(seconds=30), timedelta(minutes=1), timedelta(minutes=2),
        timedelta(minutes=4), timedelta(minutes=8), MAX_WAIT, MAX_WAIT]
    # The owner's right password works as soon as the wait is over.
    assert login(world.app.sessions, "李老师", PASSWORD, "10.0.9.9",
                 t + timedelta(minutes=2)).actor == staff


def test_tries_while_throttled_do_not_count(world: World, staff: Actor) -> None:
    """One try every few minutes cannot keep the owner out for good."""
    now = utcnow()
    for i in range(5):
        login(world.app.sessions, "李老师", "guess", f"10.0.1.{i}", now)
    for second in range(1, 30, 2):  # an attacker keeps knocking while the name waits...
        t = now + timedelta(seconds=second)
        assert login(world.app.sessions, "李老师", "guess", "10.0.5.5", t).error == THROTTLED
    # ...but none of those tries counted: 30 s after the 5th failure the owner gets in.
    assert login(world.app.sessions, "李老师", PASSWORD, "10.0.9.9",
                 now + timedelta(seconds=30)).actor == staff
    with world.app.sessions() as s:
        rows = s.scalars(select(LoginAttempt).where(LoginAttempt.throttled.is_(True))).all()
    assert len(rows) == 15 and all(not r.ok for r in rows)


def test_owners_browser_gets_in_while_strangers_keep_the_name_waiting(
        world: World, staff: Actor) -> None:
    now = utcnow()
    first = login(world.app.sessions, "李老师", PASSWORD, "10.0.0.1", now)
    assert first.device  # the browser's device cookie carries this
    for i in range(40):  # a spread-out attack: the name's wait is at its cap
        t = now + timedelta(minutes=1) + i * MAX_WAIT
        assert login(world.app.sessions, "李老师", "guess", f"10.9.{i}.1", t).error == WRONG
    later = now + timedelta(minutes=2) + 39 * MAX_WAIT
    assert login(world.app.sessions, "李老师", PASSWORD, "10.0.0.2", later).error == THROTTLED
    ok = login(world.app.sessions, "李老师", PASSWORD, "10.0.0.2", later, device=first.device)
    assert ok.actor == staff and ok.device == first.device
    # The known browser is still slowed by its own failures.
    typo = later + timedelta(seconds=1)
    for _ in range(5):
        login(world.app.sessions, "李老师", "typo", "10.0.0.2", typo, device=first.device)
    assert login(world.app.sessions, "李老师", PASSWORD, "10.0.0.2", typo,
                 device=first.device).error == THROTTLED


def test_failures_from_one_address_slow_that_address_whatever_the_names(
        world: World, staff: Actor) -> None:
    now = utcnow()
    for name in ("a", "b", "c", "d", "e"):
        login(world.app.sessions, name, "guess", "10.0.0.66", now)
    assert login(world.app.sessions, "李老师", PASSWORD, "10.0.0.66", now).error == THROTTLED
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


def test_login_reports_failures_since_the_previous_login(world: World, staff: Actor) -> None:
    now = utcnow()
    first = login(world.app.sessions, "李老师", PASSWORD, "10.0.0.1", now)
    assert first.failures is None
    for i in range(6):
        login(world.app.sessions, "李老师", "guess", f"10.7.0.{i}", now + timedelta(seconds=i + 1))
    ok = login(world.app.sessions, "李老师", PASSWORD, "10.0.0.1", now + timedelta(minutes=5),
               device=first.device)
    notice = ok.failures
    assert notice is not None and notice.since == now
    assert (notice.count, notice.throttled, notice.last_address) == (6, 1, "10.7.0.5")
    assert notice.last_at == now + timedelta(seconds=6)
    again = login(world.app.sessions, "李老师", PASSWORD, "10.0.0.1", now + timedelta(minutes=6))
    assert again.failures is None  # shown once: counted from the newest login


def test_nul_and_control_characters_in_a_name_are_recorded_cleanly(world: World) -> None:
    assert login(world.app.sessions, "李\x00老师\n", "x", "10.0.0.1\x00").error == WRONG
    with world.app.sessions() as s:
        row = s.scalars(select(LoginAttempt)).one()
    assert (row.name, row.address) == ("李老师", "10.0.0.1")


def test_disabled_account_cannot_log_in(world: World, staff: Actor) -> None:
    with world.app.sessions.begin() as s:
        accounts.find_staff(s, "李老师").active = False  # type: ignore[union-attr]
    assert login(world.app.sessions, "李老师", PASSWORD, "10.0.0.1").error == WRONG
