"""Staff accounts (issue 11 item 5): list, disable, enable from the shell and, for an
admin, in the console; the invoice's 开票人 is the staff member who approved it."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select

from tests.console.conftest import PASSWORD, Seeded, csrf_of, log_in, staff_row
from tests.console.test_cli import cli
from tests.intake.conftest import World
from worker.db.models import Application, AuditEntry, Invoice, Staff
from worker.documents.invoice import invoice_view
from worker.staff import Actor, actions
from worker.staff.admin import add_staff
from worker.staff.login import login


def make(world: World, name: str, *, admin: bool = False) -> None:
    with world.app.sessions.begin() as s:
        add_staff(s, name, PASSWORD, admin=admin)


def test_first_account_is_admin_then_only_with_admin_flag(world: World) -> None:
    cfg, env = world.config_file(), {"PW": "a good long password"}
    first = cli("--config", str(cfg), "staff", "add", "王老师", "--password-env", "PW",
                cwd=world.root, env=env)
    assert first.returncode == 0 and "(admin)" in first.stdout, first.stderr
    cli("--config", str(cfg), "staff", "add", "赵老师", "--password-env", "PW", cwd=world.root, env=env)
    cli("--config", str(cfg), "staff", "add", "钱老师", "--admin", "--password-env", "PW",
        cwd=world.root, env=env)
    listed = cli("--config", str(cfg), "staff", "list", cwd=world.root)
    assert listed.returncode == 0
    rows = {line.split()[0]: line.split()[1:3] for line in listed.stdout.splitlines()[1:]}
    assert rows == {"王老师": ["yes", "yes"], "赵老师": ["yes", "no"], "钱老师": ["yes", "yes"]}


def test_disable_and_enable_from_the_shell(world: World) -> None:
    make(world, "王老师", admin=True)
    make(world, "赵老师")
    cfg = world.config_file()
    off = cli("--config", str(cfg), "staff", "disable", "赵老师", cwd=world.root)
    assert off.returncode == 0 and "disabled" in off.stdout
    assert login(world.app.sessions, "赵老师", PASSWORD, "127.0.0.1").actor is None
    twice = cli("--config", str(cfg), "staff", "disable", "赵老师", cwd=world.root)
    assert twice.returncode == 1 and "已经是停用状态" in twice.stderr
    last_admin = cli("--config", str(cfg), "staff", "disable", "王老师", cwd=world.root)
    assert last_admin.returncode == 1 and "唯一启用的管理员" in last_admin.stderr
    nobody = cli("--config", str(cfg), "staff", "enable", "孙老师", cwd=world.root)
    assert nobody.returncode == 1 and "没有用户" in nobody.stderr
    assert cli("--config", str(cfg), "staff", "enable", "赵老师", cwd=world.root).returncode == 0
    assert login(world.app.sessions, "赵老师", PASSWORD, "127.0.0.1").actor is not None
    with world.app.sessions() as s:
        entries = [(e.actor, e.action) for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert entries == [("命令行", "disable_staff"), ("命令行", "enable_staff")]


def test_only_admins_manage_accounts_in_the_console(world: World, flask_app, staff: Actor) -> None:  # type: ignore[no-untyped-def]
    make(world, "王老师", admin=True)
    plain = flask_app.test_client()
    token = log_in(plain)                                   # 李老师: not an admin
    assert "/staff" not in plain.get("/").get_data(as_text=True)
    refused = plain.get("/staff")
    assert refused.status_code == 403
    assert "只限管理员" in refused.get_data(as_text=True)  # not "请先登录": it is logged in
    assert plain.post("/staff/disable", data={"name": "王老师", "csrf_token": token}).status_code == 403

    admin: FlaskClient = flask_app.test_client()
    token = log_in(admin, "王老师")
    page = admin.get("/staff").get_data(as_text=True)
    assert 'href="/staff"' in page and "李老师" in page and "管理员" in page
    assert admin.post("/staff/disable", data={"name": "李老师"}).status_code == 400  # no CSRF token
    r = admin.post("/staff/disable", data={"name": "李老师", "csrf_token": token}, follow_redirects=True)
    assert "已停用账号 李老师" in r.get_data(as_text=True)
    assert staff_row(world).active is False
    assert plain.get("/").status_code == 302               # the disabled session is over
    r = admin.post("/staff/disable", data={"name": "王老师", "csrf_token": token}, follow_redirects=True)
    assert "不能停用自己的账号" in r.get_data(as_text=True)
    admin.post("/staff/enable", data={"name": "李老师", "csrf_token": token})
    assert staff_row(world).active is True
    audit = admin.get("/audit").get_data(as_text=True)
    assert "停用账号" in audit and "启用账号" in audit and "账号：李老师" in audit
    assert csrf_of(page)


def test_issuer_is_the_approver_or_the_configured_name(world: World, seeded: Seeded,
                                                      staff: Actor) -> None:
    cfg = world.app.config
    actions.correct_fields(world.app.sessions, cfg, staff, seeded.no_recipient,
                           {"recipient_name": "赵玥", "recipient_phone": "13820000001",
                            "recipient_address": "天津市武清区雍阳西道88号"})
    actions.approve(world.app.sessions, cfg, staff, seeded.no_recipient)
    with world.app.sessions() as s:
        issuers = {inv.application_id: inv.issuer for inv in s.scalars(select(Invoice))}
        approved = s.scalars(select(Invoice).where(Invoice.application_id == seeded.no_recipient)).first()
        assert approved is not None
        view = invoice_view(approved, s.get(Application, seeded.no_recipient), cfg)  # type: ignore[arg-type]
    assert issuers == {seeded.accepted: cfg.invoice.issuer, seeded.no_recipient: "李老师"}
    assert view.issuer == "李老师"
    with world.app.sessions() as s:
        assert s.scalars(select(Staff.is_admin)).all() == [False]  # made by create_staff
