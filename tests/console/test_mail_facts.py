"""What staff see about a mail's time and why a mail was ignored (issue 9, kinds 3 and 6):
the arrival time judged by, the sender's Date for information, a flag when the two are
more than a day apart, and the reason an ignored mail was taken as machine-made."""

from __future__ import annotations

from datetime import datetime

from flask.testing import FlaskClient
from sqlalchemy import select

from tests.builders.form import build_form_xlsx, default_header, make_lines
from tests.builders.mail import build_auto_reply, build_mail
from tests.intake.conftest import World
from worker.db.models import Application
from worker.message import SHANGHAI


def app_ids(world: World) -> list[int]:
    with world.app.sessions() as s:
        return list(s.scalars(select(Application.id).order_by(Application.id)))


def test_arrival_date_and_skew_are_shown(logged_in: tuple[FlaskClient, str], world: World) -> None:
    client, _ = logged_in
    form = build_form_xlsx(default_header(), make_lines(1))
    world.deliver(build_mail(date=datetime(2018, 12, 28, 9, 0, tzinfo=SHANGHAI), body="无收件信息",
                             attachments=[("a.xlsx", form)]),
                  arrival=datetime(2019, 1, 2, 9, 0, tzinfo=SHANGHAI))
    world.run()
    (app_id,) = app_ids(world)
    html = client.get(f"/applications/{app_id}").get_data(as_text=True)
    assert "到达邮箱</dt><dd>2019-01-02 09:00" in html
    assert "邮件所写日期</dt><dd>2018-12-28 09:00" in html
    assert "比到达邮箱的时间早约 5.0 天" in html
    queue = client.get("/queue?status=all").get_data(as_text=True)
    assert "2019-01-02 09:00" in queue
    later = client.get("/queue?status=all&from=2019-01-02").get_data(as_text=True)
    assert f"/applications/{app_id}" in later  # the date filter is by arrival too


def test_no_flag_when_date_and_arrival_agree(logged_in: tuple[FlaskClient, str], world: World) -> None:
    client, _ = logged_in
    world.deliver(build_mail(body="无收件信息"))
    world.run()
    (app_id,) = app_ids(world)
    assert "flash warn" not in client.get(f"/applications/{app_id}").get_data(as_text=True)


def test_ignored_mail_says_why(logged_in: tuple[FlaskClient, str], world: World) -> None:
    client, _ = logged_in
    world.deliver(build_auto_reply())
    world.run()
    (app_id,) = app_ids(world)
    page = client.get(f"/applications/{app_id}").get_data(as_text=True)
    assert "忽略原因" in page and "Auto-Submitted: auto-replied" in page
    queue = client.get("/queue?status=ignored").get_data(as_text=True)
    assert "已忽略：邮件头 Auto-Submitted" in queue
