"""The one loopback rule for SMTP and IMAP URLs."""

from __future__ import annotations

import pytest

from worker.hosts import is_loopback


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST", "localhost.", "127.0.0.1",
                                  "127.8.9.10", "::1", "[::1]", "::ffff:127.0.0.1"])
def test_loopback(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", [None, "", "smtp.163.com", "10.0.0.1", "0.0.0.0",  # noqa: S104
                                  "::",
                                  "::ffff:10.0.0.1", "localhost.example.com", "127.0.0.1.nip.io"])
def test_not_loopback(host: str | None) -> None:
    assert not is_loopback(host)
