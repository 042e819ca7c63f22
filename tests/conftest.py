from __future__ import annotations

pytest_plugins = [
    "tests.fixtures.dovecot",
    "tests.fixtures.db",
    "tests.fixtures.smtp",
    "tests.fixtures.world",
]
