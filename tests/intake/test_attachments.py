"""What counts as an attachment (issue 9, kind 1), without storage: the drafts a mail
gives.  The cases themselves run through a whole pass in test_in_the_wild.py."""

from __future__ import annotations

import pytest

from tests.builders.form import build_form_xls, build_form_xlsx, default_header, form_grid, make_lines
from tests.builders.formats import encrypt_xlsx, grid_to_csv, grid_to_html, grid_to_ods, grid_to_tab_text
from tests.builders.mail import XLS, XLSX, attachment_part, build_mail, build_tnef, build_zip
from worker.config import load_config
from worker.form import write_blank_form
from worker.intake.analyse import AppDraft, analyse
from worker.message import parse_message

LINES = make_lines(2)
FORM = build_form_xlsx(default_header(), LINES)
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 40_000  # large enough to be a photo, not a logo


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("out")
    return load_config(overrides={"output": {"dir": str(out)}, "limits": {"max_forms": 3}})


def drafts(config, raw: bytes) -> list[AppDraft]:
    return analyse(parse_message(raw), config)


def codes(d: AppDraft) -> list[str]:
    return [str(r.code) for r in d.reasons]


@pytest.mark.parametrize("disposition", ["inline", None])
@pytest.mark.parametrize("content_type", [XLSX, "application/octet-stream"])
def test_inline_or_undisposed_spreadsheet_with_content_id_is_a_form(
        config, disposition: str | None, content_type: str) -> None:
    part = attachment_part("申请表.xlsx", FORM, content_type, disposition=disposition,
                           content_id="abc@foxmail")
    (d,) = drafts(config, build_mail(parts=[part]))
    assert d.has_form and len(d.draft.lines) == 2


def test_inline_xls_without_a_name_is_a_form(config) -> None:
    part = attachment_part(None, build_form_xls(default_header(), LINES), XLS,
                           disposition="inline", content_id="x@y")
    (d,) = drafts(config, build_mail(parts=[part]))
    assert d.has_form


def test_inline_pictures_stay_hidden(config) -> None:
    part = attachment_part("image001.png", PNG, "image/png", disposition="inline", content_id="i@o")
    (d,) = drafts(config, build_mail(parts=[part]))
    assert codes(d) == ["NO_FORM"]


def test_winmail_dat_with_a_pdf_names_the_pdf(config) -> None:
    tnef = build_tnef([("申请表.pdf", b"%PDF-1.4 ...")])
    (d,) = drafts(config, build_mail(attachments=[("winmail.dat", tnef, "application/ms-tnef")]))
    assert codes(d) == ["UNSUPPORTED_ATTACHMENT"] and "申请表.pdf" in d.reasons[0].detail


def test_winmail_dat_with_only_the_rich_text_body_is_no_form(config) -> None:
    tnef = build_tnef([])
    (d,) = drafts(config, build_mail(attachments=[("winmail.dat", tnef, "application/ms-tnef")]))
    assert codes(d) == ["NO_FORM"]


def test_zip_with_gbk_names_and_two_forms_gives_two_applications(config) -> None:
    other = build_form_xlsx(default_header(unit="天津市武清区另一家公司"), make_lines(1, start=5))
    archive = build_zip([("武清/申请表一.xlsx", FORM), ("武清/申请表二.xlsx", other)], names="gbk")
    apps = drafts(config, build_mail(attachments=[("申请表.zip", archive)]))
    assert [a.attachment.filename for a in apps] == ["申请表.zip/申请表一.xlsx", "申请表.zip/申请表二.xlsx"]
    assert all(a.has_form for a in apps)


def test_zip_in_a_zip_is_opened(config) -> None:
    inner = build_zip([("申请表.xlsx", FORM)], names="gbk")
    outer = build_zip([("表格.zip", inner)], names="gbk")
    (d,) = drafts(config, build_mail(attachments=[("打包.zip", outer)]))
    assert d.has_form and d.attachment.filename == "打包.zip/表格.zip/申请表.xlsx"


def test_zip_without_a_spreadsheet_says_so(config) -> None:
    archive = build_zip([("说明.docx", b"PK\x03\x04word")], names="gbk")
    (d,) = drafts(config, build_mail(attachments=[("申请表.zip", archive)]))
    assert codes(d) == ["UNSUPPORTED_ATTACHMENT"]
    assert "申请表.zip/说明.docx" in d.reasons[0].detail


@pytest.mark.parametrize(("data", "words"), [
    (b"Rar!\x1a\x07\x01\x00" + b"\0" * 64, "RAR 压缩包"),
    (b"7z\xbc\xaf\x27\x1c\x00\x04" + b"\0" * 64, "7z 压缩包"),
    (build_zip([("申请表.xlsx", FORM)], encrypted=True), "加密的 zip 压缩包"),
])
def test_archives_we_cannot_open_are_held_naming_the_format(config, data: bytes, words: str) -> None:
    (d,) = drafts(config, build_mail(attachments=[("申请表.rar", data, "application/octet-stream")]))
    assert codes(d) == ["UNSUPPORTED_ATTACHMENT"] and words in d.reasons[0].detail


def test_zip_bomb_is_held_unreadable(config) -> None:
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.xlsx", b"\0" * (4 * 1024 * 1024))
    (d,) = drafts(config, build_mail(attachments=[("申请表.zip", out.getvalue())]))
    assert codes(d) == ["FORM_UNREADABLE"] and "压缩炸弹" in d.reasons[0].detail


def test_html_table_body_is_a_form_with_no_attachment(config) -> None:
    markup = grid_to_html(form_grid(default_header(), LINES))
    (d,) = drafts(config, build_mail(body=None, html=markup, charset="utf-8"))
    assert d.has_form and d.attachment is None and len(d.draft.lines) == 2


def test_html_body_with_an_attached_form_reads_only_the_attachment(config) -> None:
    markup = grid_to_html(form_grid(default_header(), LINES))
    (d,) = drafts(config, build_mail(body=None, html=markup, attachments=[("a.xlsx", FORM)]))
    assert d.attachment is not None and d.has_form


def test_tab_separated_form_in_a_plain_body(config) -> None:
    body = "老师好\n" + grid_to_tab_text(form_grid(default_header(), LINES)) + "\n收件人：张三"
    (d,) = drafts(config, build_mail(body=body))
    assert d.has_form and d.attachment is None


def test_body_table_missing_columns_says_which(config) -> None:
    markup = ("<table><tr><td>序号</td><td>姓名</td><td>身份证号</td><td>订单号</td></tr>"
              "<tr><td>1</td><td>王伟</td><td>1</td><td>2</td></tr></table>")
    (d,) = drafts(config, build_mail(body=None, html=markup))
    assert codes(d) == ["FORM_UNREADABLE"] and "邮件正文" in d.reasons[0].detail


def test_layout_table_in_an_ordinary_mail_is_no_form(config) -> None:
    markup = "<table><tr><td>您好，申请表稍后发送。</td></tr><tr><td>张三</td></tr></table>"
    (d,) = drafts(config, build_mail(body=None, html=markup))
    assert codes(d) == ["NO_FORM"]


def test_more_forms_than_max_forms_is_one_held_application(config) -> None:
    files = [(f"表{i}.xlsx", FORM) for i in range(4)]
    (d,) = drafts(config, build_mail(attachments=files))
    assert codes(d) == ["TOO_MANY_FORMS"] and d.attachment is None
    assert "4" in d.reasons[0].detail and "3" in d.reasons[0].detail


def test_max_forms_counts_forms_inside_containers(config) -> None:
    archive = build_zip([(f"表{i}.xlsx", FORM) for i in range(3)], names="gbk")
    (d,) = drafts(config, build_mail(attachments=[("a.zip", archive), ("b.xlsx", FORM)]))
    assert codes(d) == ["TOO_MANY_FORMS"]


def test_exactly_max_forms_is_fine(config) -> None:
    files = [(f"表{i}.xlsx", build_form_xlsx(default_header(unit=f"天津市武清区单位{i}"), LINES))
             for i in range(3)]  # three different forms (one file twice is one form)
    assert len([d for d in drafts(config, build_mail(attachments=files)) if d.has_form]) == 3


def test_config_default_max_forms_is_twenty() -> None:
    assert load_config().limits.max_forms == 20


def test_protected_workbook_in_a_mail_is_a_form(config) -> None:
    (d,) = drafts(config, build_mail(attachments=[("申请表.xlsx", encrypt_xlsx(FORM))]))
    assert d.has_form and len(d.draft.lines) == 2


def test_a_real_password_is_held_unreadable_saying_so(config) -> None:
    (d,) = drafts(config, build_mail(attachments=[("申请表.xlsx", encrypt_xlsx(FORM, "secret1"))]))
    assert codes(d) == ["FORM_UNREADABLE"] and "打开密码" in d.reasons[0].detail


@pytest.mark.parametrize(("name", "ctype"), [("申请表.ods", "application/vnd.oasis.opendocument.spreadsheet"),
                                             ("申请表.csv", "text/csv")])
def test_ods_and_csv_attachments_are_forms(config, name: str, ctype: str) -> None:
    grid = form_grid(default_header(), LINES)
    data = grid_to_ods(grid) if name.endswith(".ods") else grid_to_csv(grid)
    (d,) = drafts(config, build_mail(attachments=[(name, data, ctype)]))
    assert d.has_form and len(d.draft.lines) == 2


def test_the_same_form_attached_twice_is_one_application(config) -> None:
    raw = build_mail(attachments=[("申请表.xlsx", FORM), ("申请表(1).xlsx", FORM)])
    (d,) = drafts(config, raw)
    assert d.has_form and len(d.draft.lines) == 2 and d.attachment.filename == "申请表.xlsx"


def test_the_blank_template_beside_the_filled_form_is_not_an_application(config, tmp_path) -> None:
    write_blank_form(tmp_path / "模板.xlsx")
    blank = (tmp_path / "模板.xlsx").read_bytes()
    (d,) = drafts(config, build_mail(attachments=[("模板.xlsx", blank), ("申请表.xlsx", FORM)]))
    assert d.attachment.filename == "申请表.xlsx" and len(d.draft.lines) == 2
    (alone,) = drafts(config, build_mail(attachments=[("模板.xlsx", blank)]))
    assert alone.has_form and alone.draft.lines == []  # alone it is the unit's application
