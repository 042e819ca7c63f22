"""The command-line contract of SPEC §5, through the real ``invoice-worker`` command."""

from __future__ import annotations

import json
import mailbox as stdlib_mailbox
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.builders.mail import maildir_message
from tests.builders.payments import Pay, payments_csv
from worker.form import read_form
from worker.samples import Trainee, Unit, form_xlsx, id_number, mail, tax_id

TZ = ZoneInfo("Asia/Shanghai")


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "worker", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120, check=False)


def setup(tmp_path: Path, db_url: str) -> Path:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[database]\nurl = "{db_url}"\n[mailbox]\nurl = "maildir:var/mail"\n'
                   '[output]\ndir = "var/out"\n', encoding="utf-8")
    return cfg


def test_init_db_is_idempotent_and_run_needs_it(tmp_path: Path) -> None:
    cfg = setup(tmp_path, "sqlite:///var/invoices.db")
    early = cli("--config", str(cfg), "run", "--once", cwd=tmp_path)
    assert early.returncode == 3 and "init-db" in early.stderr
    for _ in range(2):
        done = cli("--config", str(cfg), "init-db", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert "revision" in done.stdout
    assert (tmp_path / "var" / "invoices.db").exists()


def test_a_whole_season_through_the_command(tmp_path: Path, db_url: str) -> None:
    cfg = setup(tmp_path, db_url)
    assert cli("--config", str(cfg), "init-db", cwd=tmp_path).returncode == 0
    people = [Trainee("张堃", id_number("120222", "19800101", 11), "TJ1"),
              Trainee("李喆", id_number("120222", "19850202", 22), "TJ2")]
    export = tmp_path / "export.csv"
    export.write_bytes(payments_csv(
        [Pay(t.order_no, t.name, t.id_number) for t in people]
        + [Pay("BAD", "坏行", "x", amount="abc")], encoding="gb18030"))
    imported = cli("--config", str(cfg), "import-payments", str(export), cwd=tmp_path)
    assert imported.returncode == 1  # one bad row is reported; the good rows load
    assert "2 new" in imported.stdout and "export.csv:4" in imported.stderr

    unit = Unit("天津市武清区雍阳科技有限公司", "武清", tax_id("91120222MA05JGUY2"), "赵玥",
                "13820000001", trainees=people)
    (tmp_path / "var").mkdir(exist_ok=True)
    box = stdlib_mailbox.Maildir(str(tmp_path / "var" / "mail"), create=True)
    box.add(maildir_message(mail(sender="a@163.com", subject="申请", date=datetime(2018, 9, 1, tzinfo=TZ),
                                 body="收件人：赵玥 电话：13820000001 地址：天津市武清区一号",
                                 attachments=[("表.xlsx", form_xlsx(unit))])))
    run = cli("--config", str(cfg), "run", "--once", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["by_status"] == {"accepted": 1}

    out = cli("--config", str(cfg), "export", "--json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    (app,) = json.loads(out.stdout)["applications"]
    plain = cli("--config", str(cfg), "export", cwd=tmp_path)  # JSON is the default
    assert plain.returncode == 0 and json.loads(plain.stdout) == json.loads(out.stdout)
    assert set(app) >= {"message_id", "attachment", "status", "reasons", "unit", "district",
                        "invoices", "shipment"}
    assert app["status"] == "accepted" and app["attachment"] == "表.xlsx"
    assert app["invoices"][0]["amount"] == "300.00"
    assert app["invoices"][0]["orders"] == ["TJ1", "TJ2"]
    assert set(app["shipment"]) >= {"waybill", "recipient", "phone", "address", "postage_due",
                                    "label_pdf"}


def test_form_template_writes_a_form_the_parser_reads(tmp_path: Path) -> None:
    done = cli("form-template", "blank/申请表.xlsx", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    form = read_form("申请表.xlsx", (tmp_path / "blank" / "申请表.xlsx").read_bytes())
    assert form.lines == [] and "unit" in form.header and "tax_id" in form.header


def test_form_template_to_a_path_it_cannot_write_says_so(tmp_path: Path) -> None:
    (tmp_path / "a folder.xlsx").mkdir()
    (tmp_path / "notes").write_text("mine", encoding="utf-8")
    for target, why in (("a folder.xlsx", "Is a directory"), ("notes/表.xlsx", "(notes)")):
        done = cli("form-template", target, cwd=tmp_path)
        assert done.returncode == 1, done.stderr
        assert done.stderr.startswith(f"invoice-worker: cannot write {target}: ")
        assert why in done.stderr and "Traceback" not in done.stderr
    assert (tmp_path / "notes").read_text(encoding="utf-8") == "mine"


def test_a_bad_config_names_the_key(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[invoice]\nper_invoice_limit = "lots"\n', encoding="utf-8")
    done = cli("--config", str(cfg), "init-db", cwd=tmp_path)
    assert done.returncode == 2
    assert "invoice.per_invoice_limit" in done.stderr and "Traceback" not in done.stderr


def test_a_reader_closing_the_output_gets_no_traceback(tmp_path: Path) -> None:
    """``export --json | head -c1``: the pipe closes before the JSON is written."""
    cfg = setup(tmp_path, f"sqlite:///{tmp_path / 'w.db'}")
    assert cli("--config", str(cfg), "init-db", cwd=tmp_path).returncode == 0
    proc = subprocess.Popen([sys.executable, "-m", "worker", "--config", str(cfg), "export",
                             "--json"], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    proc.stdout.close()  # before the child, still importing, has written anything
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1
    assert "Traceback" not in err and "Exception ignored" not in err
    assert "output closed by its reader" in err
