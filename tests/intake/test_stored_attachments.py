"""An application's attachment is stored in the database with it (``stored_attachments``,
migration 0013), once per content, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import select

from tests.intake.conftest import World
from tests.intake.test_pass import BODY, WHEN, trainees, unit
from worker.db.models import Application, StoredAttachment
from worker.samples import form_xlsx, mail


def _sent(form: bytes, name: str, minutes: int) -> bytes:
    return mail(sender="zhaoyue@163.com", subject="发票申请", body=BODY,
                date=WHEN + timedelta(minutes=minutes), attachments=[(name, form)])


def _stored(world: World) -> tuple[list[tuple[str | None, str | None]], dict[str, StoredAttachment]]:
    with world.app.sessions() as s:
        apps = [(a.attachment, a.attachment_path) for a in
                s.scalars(select(Application).order_by(Application.id))]
        files = {f.name: f for f in s.scalars(select(StoredAttachment))}
        s.expunge_all()
    return apps, files


def test_an_attachment_is_stored_with_its_application_as_it_came(world: World) -> None:
    people = trainees("S", 2)
    world.pay(people)
    form = form_xlsx(unit(people))
    world.deliver(_sent(form, "武清区 申请表（终版）.xlsx", 0))
    assert world.run() == {"accepted": 1}
    apps, files = _stored(world)
    digest = hashlib.sha256(form).hexdigest()
    name = f"attachments/{digest[:2]}/{digest}.xlsx"  # the content's name, not the mail's
    assert apps == [("武清区 申请表（终版）.xlsx", name)]
    assert list(files) == [name]
    assert files[name].data == form and files[name].size == len(form)
    assert files[name].stored_at is not None
    # Nothing is written beside the database for it any more.
    assert not (world.app.config.output_dir / "attachments").exists()


def test_the_same_bytes_sent_again_are_stored_once(world: World) -> None:
    """Twice in one chunk (one statement), then once more in a later pass: one row,
    named by every application that carried those bytes."""
    people, others = trainees("D", 2), trainees("E", 1)
    world.pay(people + others)
    form, other = form_xlsx(unit(people)), form_xlsx(unit(others))
    world.deliver(_sent(form, "申请表.xlsx", 0), _sent(form, "申请表(1).xlsx", 1),
                  _sent(other, "另一份.xlsx", 2))
    world.run()
    world.deliver(_sent(form, "再发一次.xlsx", 3))
    world.run()
    apps, files = _stored(world)
    assert len(apps) == 4
    assert len(files) == 2
    named = [path for _, path in apps]
    assert named.count(named[0]) == 3 and named[0] in files and named[2] in files
    assert files[named[0]].data == form and files[named[2]].data == other
