from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from worker.config import load_config
from worker.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_are_the_2018_programme() -> None:
    cfg = load_config()
    assert cfg.programme.fees[2014] == Decimal("160.00")
    assert cfg.programme.fees[2018] == Decimal("150.00")
    assert "武清区" in cfg.programme.suburban_districts
    assert "和平区" in cfg.programme.urban_districts
    assert cfg.invoice.per_invoice_limit == Decimal("10000.00")
    assert cfg.programme.request_deadline.isoformat() == "2018-12-31T23:59:59+08:00"


def test_user_file_overrides_key_by_key(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, """
[database]
url = "postgresql+psycopg://u@h/db"
[mailbox]
url = "imaps://xy23391756%40163.com@imap.163.com/INBOX"
password_env = "IMAP_PASSWORD"
[output]
dir = "var/out"
[courier]
email = "pickup@courier.example"
"""))
    assert cfg.database.url == "postgresql+psycopg://u@h/db"
    assert cfg.mailbox.url.startswith("imaps://")
    assert cfg.mailbox.processed_folder == "Processed"  # untouched default kept
    assert cfg.courier.name == "顺丰速运"
    assert cfg.courier.email == "pickup@courier.example"


@pytest.mark.parametrize(("text", "key"), [
    ('[invoice]\ntax_rate = "abc"', "invoice.tax_rate"),
    ('[mailbox]\nurl = "pop3://x"', "mailbox.url"),
    ("[schedule]\npoll_minutes = 0", "schedule.poll_minutes"),
    ('[schedule]\ntimezone = "Mars/Base"', "schedule.timezone"),
    ('[programme]\npayment_window_start = "yesterday"', "programme.payment_window_start"),
    ('[programme.fees]\n"x" = "150"', "programme.fees.x"),
    ('[programme]\nurban_districts = ["武清区"]', "programme.urban_districts"),
    ("[invoice]\nlast_number = 0", "invoice.last_number"),
    ("[database]\nurl = 5", "database.url"),
])
def test_bad_values_name_the_key(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text))
    assert err.value.key == key


def test_bad_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[database\nurl="))
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")
