from __future__ import annotations

import re
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest

from worker.config import DEFAULTS_PATH, EXAMPLE_PATH, load_config
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


def test_a_config_saved_as_gbk_is_refused_with_how_to_save_it(tmp_path: Path) -> None:
    """Notepad's "ANSI" on a Chinese Windows is GBK; TOML is UTF-8 (a traceback before)."""
    path = tmp_path / "my.toml"
    path.write_bytes('[invoice]\nissuer = "王静"\n'.encode("gbk"))
    with pytest.raises(ConfigError, match="not UTF-8 text \\(byte 21\\).*UTF-8") as err:
        load_config(path)
    assert err.value.key == str(path)


# --- issue 11 item 1: config that can't be silently wrong ------------------------------

SPEC_MINIMAL = """
[database]
url = "sqlite:///var/invoices.db"
[mailbox]
url = "maildir:var/mail"
password_env = "IMAP_PASSWORD"
[output]
dir = "var/out"
[smtp]
url = "smtp://127.0.0.1:2525"
from = "xy23391756@163.com"
password_env = "SMTP_PASSWORD"
[courier]
email = "pickup@courier.example"
"""


@pytest.mark.parametrize(("text", "key", "hint"), [
    ('[smpt]\nurl = "smtp://127.0.0.1:2525"', "smpt", "'smtp'"),
    ("[schedule]\npol_minutes = 1", "schedule.pol_minutes", "'poll_minutes'"),
    ("[invoice]\nfrist_number = 1001", "invoice.frist_number", "'first_number'"),
    ('[courier.rates]\ndefault = { first_kg = "12.00", extra = "2" }', "courier.rates.default.extra",
     "'extra_kg'"),
])
def test_typos_are_refused_with_their_key(tmp_path: Path, text: str, key: str, hint: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text))
    assert err.value.key == key
    assert "unknown key" in err.value.reason and hint in err.value.reason


@pytest.mark.parametrize(("text", "key"), [
    ('[schedule]\npoll_minutes = "soon"', "schedule.poll_minutes"),
    ("[invoice]\nfirst_number = true", "invoice.first_number"),
    ("[invoice]\nfirst_number = 1.5", "invoice.first_number"),
    ('[limits]\nmax_rows = "many"', "limits.max_rows"),
    ('[programme]\nsuburban_districts = "武清区"', "programme.suburban_districts"),
    ('[programme]\nsuburban_districts = ["武清区", 3]', "programme.suburban_districts[1]"),
    ('[programme]\npayment_window_end = "2018-01-01T00:00:00"', "programme.payment_window_end"),
    ("[courier]\nwaybill_last = 5", "courier.waybill_last"),
    ("[invoice]\nfirst_number = 2000\nlast_number = 1999", "invoice.last_number"),
    ('[smtp]\nurl = "http://mail"', "smtp.url"),
    ('[smtp]\nfrom = ""', "smtp.from"),
    ("[output]\ndir = 3", "output.dir"),
    ("schedule = 5", "schedule"),
])
def test_wrong_types_and_rules_name_the_key(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text))
    assert err.value.key == key


def test_every_problem_is_listed_not_only_the_first(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, '[smpt]\nurl = "x"\n[schedule]\npol_minutes = 1\n'
                                    '[invoice]\ntax_rate = "abc"\n'))
    assert {key for key, _ in err.value.problems} == {"smpt", "schedule.pol_minutes", "invoice.tax_rate"}
    assert "and 2 more" in str(err.value)


def test_the_spec_minimal_file_works(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, SPEC_MINIMAL))
    assert cfg.smtp.url == "smtp://127.0.0.1:2525" and cfg.smtp.sender == "xy23391756@163.com"
    assert cfg.smtp.password_env == "SMTP_PASSWORD"
    assert cfg.courier.email == "pickup@courier.example"
    assert cfg.source[-1] == str(tmp_path / "c.toml")


def test_relative_paths_resolve_against_the_config_folder(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    etc = tmp_path / "etc"
    etc.mkdir()
    path = etc / "worker.toml"
    path.write_text(SPEC_MINIMAL, encoding="utf-8")
    monkeypatch.chdir("/")  # started from / as a service would be
    cfg = load_config(path)
    assert cfg.output_dir == etc / "var" / "out"
    assert cfg.database.url == f"sqlite:///{etc}/var/invoices.db"
    assert cfg.mailbox.url == f"maildir:{etc}/var/mail"
    assert cfg.base_dir == etc


def test_relative_ca_files_and_absolute_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "ca.pem").write_text("x", encoding="utf-8")
    monkeypatch.chdir("/")
    cfg = load_config(write(tmp_path, '[database]\nurl = "postgresql+psycopg://u@h/db"\n'
                                      '[mailbox]\nurl = "imaps://a%40b.com@imap.b.com/INBOX"\n'
                                      'ca_file = "ca.pem"\n[smtp]\nca_file = "ca.pem"\n'
                                      '[output]\ndir = "/srv/out"\n'))
    assert cfg.database.url == "postgresql+psycopg://u@h/db"
    assert cfg.mailbox.url == "imaps://a%40b.com@imap.b.com/INBOX"
    assert cfg.mailbox.ca_file == str(tmp_path / "ca.pem") == cfg.smtp.ca_file
    assert cfg.output_dir == Path("/srv/out")
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, '[smtp]\nca_file = "missing.pem"\n'))
    assert err.value.key == "smtp.ca_file" and str(tmp_path / "missing.pem") in err.value.reason


def test_environment_overrides_deep_merge_over_file_and_defaults(tmp_path: Path) -> None:
    env = {"INVOICE_WORKER_SCHEDULE__POLL_MINUTES": "10",
           "INVOICE_WORKER_PROGRAMME__FEES__2019": "170",
           "INVOICE_WORKER_PROGRAMME__SUBURBAN_DISTRICTS": '["武清区", "静海区"]',
           "INVOICE_WORKER_CONFIG": "ignored.toml", "PATH": "/bin"}
    cfg = load_config(write(tmp_path, "[schedule]\npoll_minutes = 2\n"), environ=env)
    assert cfg.schedule.poll_minutes == 10              # env wins over the file
    assert cfg.schedule.manifest_time.isoformat() == "16:00:00"   # defaults kept
    assert cfg.programme.fees[2019] == Decimal("170.00")
    assert cfg.programme.fees[2018] == Decimal("150.00")  # merged, not replaced
    assert cfg.programme.suburban_districts == ("武清区", "静海区")


@pytest.mark.parametrize(("env", "key"), [
    ({"INVOICE_WORKER_SCHEDULE__POL_MINUTES": "10"}, "schedule.pol_minutes"),
    ({"INVOICE_WORKER_SCHEDULE__POLL_MINUTES": "soon"}, "schedule.poll_minutes"),
    ({"INVOICE_WORKER_SCHEDUEL__POLL_MINUTES": "10"}, "INVOICE_WORKER_SCHEDUEL__POLL_MINUTES"),
])
def test_bad_environment_overrides_name_the_key(env: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(environ=env)
    assert err.value.key == key


def test_process_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INVOICE_WORKER_REPLIES__MAX_ATTEMPTS", "3")
    assert load_config().replies.max_attempts == 3


def _flat(table: dict, prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in table.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def test_example_loads_and_documents_every_default_key() -> None:
    example = EXAMPLE_PATH.read_text(encoding="utf-8")
    cfg = load_config(EXAMPLE_PATH)
    assert cfg.courier.email == "pickup@courier.example"
    # uncomment every `# key = value` line: still valid, covers every default key, and
    # each commented value is the shipped default (the example cannot go stale)
    active = _flat(tomllib.loads(example))
    uncommented = re.sub(r"(?m)^# ?((?:[A-Za-z0-9_]+|\"[^\"]+\") = )", r"\1", example)
    full = _flat(tomllib.loads(uncommented))
    defaults = _flat(tomllib.loads(DEFAULTS_PATH.read_text(encoding="utf-8")))
    assert set(defaults) - set(full) == set()
    assert set(full) - set(defaults) == set()
    for key, value in full.items():
        if key not in active:
            assert value == defaults[key], key
    assert load_config(overrides=tomllib.loads(uncommented)).programme == load_config().programme
