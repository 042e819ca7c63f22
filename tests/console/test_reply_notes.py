"""Staff see on the application page what was replied, and why nothing was."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select

from tests.builders.mail import build_mail
from tests.console.conftest import Seeded
from tests.intake.conftest import World
from worker.db.models import Application, Mail
from worker.replies.policy import EXPLAIN, NoReply


def test_a_withheld_reply_and_a_sent_one_are_shown_with_their_reason(
        logged_in: tuple[FlaskClient, str], seeded: Seeded, world: World) -> None:
    client, _ = logged_in
    world.deliver(build_mail(sender="stranger@spam.example", subject="领奖"))
    world.run()
    with world.app.sessions() as s:
        stranger = s.scalars(select(Application.id).join(Mail)
                             .where(Mail.sender == "stranger@spam.example")).one()
    html = client.get(f"/applications/{stranger}").get_data(as_text=True)
    assert f"未发送自动回复：{EXPLAIN[NoReply.STRANGER]}" in html
    html = client.get(f"/applications/{seeded.accepted}").get_data(as_text=True)
    assert "自动回复已发送至 zhaoyue@163.com" in html and "未发送" not in html
