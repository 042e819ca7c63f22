"""The same pass against a real Dovecot over imaps (verified TLS) and STARTTLS."""

from __future__ import annotations

from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path

import pytest

from tests.fixtures.dovecot import DovecotServer
from tests.intake.conftest import World, make_world
from tests.intake.test_pass import form_mail, trainees, unit

pytestmark = pytest.mark.imap


@pytest.fixture(params=["imaps", "imap"])
def imap_world(request: pytest.FixtureRequest, imap_account: DovecotServer, db_url: str,
               tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("TEST_IMAP_PASSWORD", imap_account.password)
    world = make_world(db_url, tmp_path, mailbox={
        "url": imap_account.url(request.param), "password_env": "TEST_IMAP_PASSWORD",
        "ca_file": str(imap_account.ca_file)})
    yield world
    world.app.close()


def test_imap_pass_files_mail_after_commit_and_ignores_it_next_time(
    imap_world: World, imap_account: DovecotServer
) -> None:
    people = trainees("I", 2)
    imap_world.pay(people)
    good = form_mail(unit(people))
    imap_account.deliver(good)
    imap_account.deliver(form_mail(unit(people, district="南开区")))
    assert imap_world.run() == {"accepted": 1, "held": 1}
    assert imap_account.messages("INBOX") == []
    processed = imap_account.messages("Processed")
    exceptions = imap_account.messages("Exceptions")
    assert [message_from_bytes(m)["Message-ID"] for m in processed] == [
        message_from_bytes(good)["Message-ID"]]
    assert len(exceptions) == 1
    # The same mail delivered again: recognised by Message-ID, moved, nothing new issued.
    imap_account.deliver(good)
    assert imap_world.run() == {"accepted": 1}
    apps = imap_world.export()
    assert len(apps) == 2
    assert [i["number"] for a in apps for i in a["invoices"]] == ["00000001"]
    assert len(imap_account.messages("Processed")) == 2
