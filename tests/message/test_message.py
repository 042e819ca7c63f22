"""worker.message: real-world mails from Chinese clients, built in code."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from tests.builders.mail import (
    XLS,
    XLSX,
    attachment_part,
    build_auto_reply,
    build_bounce,
    build_mail,
    encode_word_b,
    multipart,
    text_part,
)
from worker.errors import MailUnreadable
from worker.message import (
    SHANGHAI,
    decode_bytes,
    decode_words,
    html_to_text,
    parse_headers_only,
    parse_message,
    parse_params,
)
from worker.message.model import Digests, same_mail
from worker.recipient import Recipient, parse_recipient

FORM = "线上缴费发票申请表.xlsx"
RARE = "堃喆镕玥"
GB18030_ONLY = "𠀀"  # four bytes in GB18030, not in GBK


def head(**headers: str) -> bytes:
    return b"".join(f"{k.replace('_', '-')}: {v}\r\n".encode() for k, v in headers.items())


# ----------------------------------------------------------------------- bodies


@pytest.mark.parametrize("encoding", ["base64", "quoted-printable", "8bit"])
@pytest.mark.parametrize("charset", ["gb2312", "GB2312", "gbk", "x-gbk", "cp936", "gb18030"])
def test_gb_bodies_decode_as_gb18030(charset: str, encoding: str) -> None:
    body = f"收件人：{RARE}\n电话：13800000000"
    mail = parse_message(build_mail(body=body, charset=charset, body_encoding=encoding))
    assert mail.text == body


def test_four_byte_gb18030_character_in_gb18030_body() -> None:
    body = f"收件人：张{GB18030_ONLY}"
    mail = parse_message(build_mail(body=body, charset="gb18030"))
    assert mail.text == body


def test_gb2312_label_on_gb18030_bytes_still_decodes() -> None:
    body = f"收件人：{RARE}{GB18030_ONLY}"
    assert parse_message(build_mail(body=body, charset="gb2312")).text == body


def test_utf8_body() -> None:
    body = f"收件人：{RARE}{GB18030_ONLY}"
    assert parse_message(build_mail(body=body, charset="utf-8")).text == body


@pytest.mark.parametrize("actual", ["gb18030", "utf-8"])
def test_unknown_charset_label_falls_back(actual: str) -> None:
    raw = head(From="a@163.com", Subject="x") + (
        b"Content-Type: text/plain; charset=x-no-such-charset\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n" + "收件人：张三".encode(actual)
    )
    assert parse_message(raw).text == "收件人：张三"


def test_mislabelled_utf8_body_labelled_ascii() -> None:
    raw = head(From="a@163.com", Subject="x") + (
        b"Content-Type: text/plain; charset=us-ascii\r\n\r\n" + "张三".encode()
    )
    assert parse_message(raw).text == "张三"


def test_undecodable_bytes_are_replaced_not_raised() -> None:
    raw = head(From="a@163.com", Subject="x") + (
        b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + b"ok \xff\xfe\x80\x81 end"
    )
    assert parse_message(raw).text.startswith("ok ")


def test_unlabelled_bytes_cut_mid_character_keep_the_text_before_the_cut() -> None:
    subject = "关于2018年继续教育培训费发票申请（静海区某某公司）"
    gbk, utf8 = subject.encode("gbk"), subject.encode()
    # A GBK subject whose last character lost its second byte: all but that one.
    assert decode_bytes(gbk[:-1]) == subject[:-1] + "\ufffd"
    # UTF-8 broken in one place stays UTF-8 (GB18030 would make hanzi of it).
    assert decode_bytes(utf8[:-1]) == subject[:-1] + "\ufffd"
    assert decode_bytes(utf8[:6] + b"\xff" + utf8[6:]) == subject[:2] + "\ufffd" + subject[2:]
    # A U+FFFD the sender wrote is not counted as a broken byte.
    written = ("\ufffd" * 4 + "申请").encode()
    assert decode_bytes(written[:-1]) == "\ufffd" * 4 + "申\ufffd"
    assert decode_bytes(b"abc\xff") == "abc\ufffd"
    # Through the parser: a raw 8-bit GBK subject cut by a gateway.
    raw = (b"From: a@163.com\r\nSubject: " + gbk[:-1] + b"\r\nMessage-ID: <cut@x>\r\n"
           b"Content-Type: text/plain; charset=utf-8\r\n\r\nbody\r\n")
    assert parse_message(raw).subject == subject[:-1] + "\ufffd"


@pytest.mark.parametrize("label", [None, "utf-8"])
def test_damaged_utf8_stays_utf8_unlabelled_or_labelled_utf8(label: str | None) -> None:
    # Strict GB18030 takes any of these whole, as hanzi that read as nothing (鐢宠).
    assert decode_bytes("申请书".encode()[:-1], label) == "申请\ufffd"  # cut short
    assert decode_bytes("王堃喆".encode()[:-2], label) == "王堃\ufffd"
    broken = "堃喆镕玥的发票申请".encode().replace("票".encode(), "票".encode()[:2] + b"\xff")
    assert decode_bytes(broken, label) == "堃喆镕玥的发\ufffd\ufffd申请"
    # A surrogate's three bytes are one broken place, not three.
    assert decode_bytes("申请表".encode() + b"\xed\xa0\x80.xls", label) == "申请表" + "\ufffd" * 3 + ".xls"


def test_damaged_utf8_under_a_gb_label_needs_more_than_a_few_hanzi() -> None:
    text = "关于申请开具增值税专用发票的说明"
    assert decode_bytes(text.encode()[:-1], "gb2312") == text[:-1] + "\ufffd"
    assert decode_bytes(text.encode()[:5] + b"\xff" + text.encode()[5:], "gbk").endswith(text[2:])
    # Three hanzi cut short are GB18030 as labelled (the label is a second opinion).
    assert decode_bytes("申请书".encode()[:-1], "gb2312") == "申请书".encode()[:-1].decode("gb18030")
    # GBK text as labelled, damaged or not.
    assert decode_bytes(text.encode("gbk")[:-1], "gb2312") == text[:-1] + "\ufffd"
    assert decode_bytes(text.encode("gbk") + b"\xff", "gbk") == text + "\ufffd"


@pytest.mark.parametrize("label", [None, "utf-8", "gbk"])
def test_damaged_gbk_keeps_its_text_under_a_wrong_or_no_label(label: str | None) -> None:
    text = "你好，关于2018年继续教育"
    assert decode_bytes(text.encode("gbk") + b"\xff", label) == text + "\ufffd"
    assert decode_bytes(text.encode("gbk")[:-1], label) == text[:-1] + "\ufffd"
    assert decode_bytes(b"\xff" + "发票".encode("gbk"), label) == "\ufffd发票"


def test_decode_bytes_order() -> None:
    assert decode_bytes("张三".encode("gbk"), "gb2312") == "张三"
    assert decode_bytes("张三".encode(), "gb2312") == "张三"  # wrong label, valid UTF-8
    assert decode_bytes("张三".encode("gbk"), None) == "张三"
    assert decode_bytes("张三".encode("gbk"), "utf-8") == "张三"
    # Valid UTF-8 only by accident (Latin letters): GBK after all.
    assert decode_bytes("莽".encode("gbk"), "gbk") == "莽"
    assert decode_bytes("é".encode(), "iso-8859-1") == "Ã©"  # labels other than GB are trusted


def test_html_only_body_becomes_text() -> None:
    markup = (
        "<html><head><title>标题</title><style>p{color:red}</style>"
        "<script>alert('x')</script></head><body>"
        "<div>您好&nbsp;老师</div><p>收件人：张三<br>电话：13800000000</p>"
        "<table><tr><td>地址：</td><td>天津市武清区&amp;某路1号</td></tr></table>"
        "<ul><li>一</li><li>二</li></ul></body></html>"
    )
    mail = parse_message(build_mail(body=None, html=markup, charset="gb2312"))
    lines = mail.text.splitlines()
    assert "您好 老师" in lines
    assert "收件人：张三" in lines and "电话：13800000000" in lines
    assert "地址： 天津市武清区&某路1号" in lines
    assert "一" in lines and "二" in lines
    assert "alert" not in mail.text and "color" not in mail.text and "标题" not in mail.text
    assert mail.html is not None and "<div>" in mail.html


def test_plain_part_preferred_over_html() -> None:
    mail = parse_message(build_mail(body="纯文本", html="<p>网页</p>"))
    assert mail.text == "纯文本"
    assert mail.html == "<p>网页</p>"


def test_empty_plain_part_falls_back_to_html() -> None:
    mail = parse_message(build_mail(body="", html="<p>网页</p>"))
    assert mail.text == "网页"


def test_html_blockquote_lines_are_marked_quoted() -> None:
    text = html_to_text("<p>新</p><blockquote><div>旧一</div>旧二<br>旧三</blockquote>")
    assert text.splitlines() == ["新", "", "> 旧一", "> 旧二", "> 旧三"]


def test_html_table_cells_wrapped_in_paragraphs_stay_one_row() -> None:
    """Word, WPS and Outlook wrap each cell's text in <p>: the row 收件人 | 张三 was
    cut into lines of one cell each, and no recipient was found in the table."""
    markup = ('<table class=MsoTableGrid><tr><td width=120><p class=MsoNormal><span>收件人'
              '<o:p></o:p></span></p></td><td><p class=MsoNormal><span>张三<o:p></o:p></span></p>'
              '</td></tr><tr><td><div>联系电话</div></td><td><div>13800000000</div></td></tr>'
              '<tr><td><p>地址</p></td><td><p>天津市武清区杨村街1号</p><p>某某公司人事部</p></td>'
              '</tr></table><p>谢谢</p>')
    assert html_to_text(markup).splitlines() == [
        "收件人 张三", "", "联系电话 13800000000", "", "地址 天津市武清区杨村街1号", "某某公司人事部", "",
        "谢谢"]
    mail = parse_message(build_mail(body=None, html=markup, charset="utf-8"))
    assert parse_recipient(mail.text) == Recipient("张三", "13800000000", "天津市武清区杨村街1号")


@pytest.mark.parametrize("text", ["发票“抬头”请写全称", "收件人：张三——电话……", "面积50㎡，温度25℃，①号",
                                  "王𠀀收", "阿依古丽·买买提，数量×2"])
@pytest.mark.parametrize("encoding", ["gb18030", "utf-8"])
def test_chinese_with_its_symbols_under_a_western_label_is_read(text: str, encoding: str) -> None:
    """Quotes, dashes, ℃, ①, · and hanzi past the BMP are Chinese text's too."""
    for label in ("iso-8859-1", "windows-1252"):
        assert decode_bytes(text.encode(encoding), label) == text
    for western in ("Temperatur 25 °C, Preis 5 × 3 €", "Noël à Zürich: «très» beau",
                    "Müller, Jürgen – Straße 5", "São Paulo — Brasil"):
        assert decode_bytes(western.encode("cp1252"), "windows-1252") == western


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8"])
@pytest.mark.parametrize("label", ["iso-8859-1", "windows-1252"])
def test_chinese_body_under_a_western_label_is_read(label: str, encoding: str) -> None:
    """OA systems, PHP mailers and Western-default clients label every body latin-1:
    the body read as ÊÕ¼þÈË and the recipient was "missing" (MISSING_RECIPIENT)."""
    body = "收件人：张三\r\n电话：13800000000\r\n地址：天津市武清区杨村街道和平路1号\r\n"
    part = (f"Content-Type: text/plain; charset={label}\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
            .encode() + body.encode(encoding))
    mail = parse_message(build_mail(body=None, parts=[part]))
    assert parse_recipient(mail.text) == Recipient("张三", "13800000000", "天津市武清区杨村街道和平路1号")
    assert decode_bytes("Grüße aus Köln, café".encode("latin-1"), label) == "Grüße aus Köln, café"


def test_html_unclosed_tags_do_not_lose_text() -> None:
    assert html_to_text("<div>前文<script>x" + "<" * 1000) == "前文"
    assert html_to_text("<p>a</p><style>unclosed") == "a"
    assert html_to_text("前 < 后文") == "前 < 后文"


# ------------------------------------------------------------------ attachments

STYLES = ["rfc2231", "rfc2231-cont", "rfc2047-b", "rfc2047-q", "raw-gbk", "raw-utf8",
          "outlook", "name-only"]


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("charset", ["utf-8", "gbk", "gb2312", "gb18030"])
def test_attachment_filename_styles(style: str, charset: str) -> None:
    name = f"发票申请表（{RARE}）.xls"
    raw = build_mail(attachments=[(name, b"\xd0\xcf\x11\xe0data", XLS)],
                     filename_style=style, filename_charset=charset)
    (attachment,) = parse_message(raw).attachments
    assert attachment.filename == name
    assert attachment.content_type == XLS
    assert attachment.data == b"\xd0\xcf\x11\xe0data"


@pytest.mark.parametrize("style", ["rfc2231", "rfc2047-b", "raw-gbk"])
def test_four_byte_character_in_filename(style: str) -> None:
    name = f"申请表{GB18030_ONLY}.xlsx"
    raw = build_mail(attachments=[(name, b"PK")], filename_style=style,
                     filename_charset="gb18030")
    assert parse_message(raw).attachments[0].filename == name


def test_rfc2231_single_and_continuations() -> None:
    _, params = parse_params(
        "attachment; filename*=utf-8''%E7%94%B3%E8%AF%B7%E8%A1%A8.xlsx"
    )
    assert params["filename"] == "申请表.xlsx"
    _, params = parse_params(
        "attachment;\r\n filename*0*=gbk'zh-cn'%C9%EA%C7;\r\n filename*1*=%EB%B1%ED;"
        "\r\n filename*2=.xls"
    )
    assert params["filename"] == "申请表.xls"


def test_rfc2231_wins_over_plain_parameter() -> None:
    _, params = parse_params("attachment; filename=\"bad.xls\"; filename*=utf-8''%E8%A1%A8.xls")
    assert params["filename"] == "表.xls"


def test_rfc2231_continuations_out_of_order_and_quoted() -> None:
    _, params = parse_params(
        "attachment; filename*1*=%A8.xls; filename*0*=\"utf-8''%E8%A1\""
    )
    assert params["filename"] == "表.xls"


def test_rfc2231_charset_on_the_first_encoded_segment_not_the_first() -> None:
    """An ASCII first segment left plain, the charset on the first encoded one: the
    name read as "2018utf-8''…" with its charset taken for text."""
    _, params = parse_params(
        "attachment;\r\n filename*0=\"2018\";\r\n filename*1*=gbk''%C9%EA%C7%EB;\r\n"
        " filename*2*=%B1%ED.xls"
    )
    assert params["filename"] == "2018申请表.xls"


def test_encoded_words_split_inside_a_character() -> None:
    data = "申请表.xls".encode("gbk")
    first, second = base64.b64encode(data[:3]).decode(), base64.b64encode(data[3:]).decode()
    value = f'attachment; filename="=?gbk?B?{first}?=\r\n =?gbk?B?{second}?="'
    assert parse_params(value)[1]["filename"] == "申请表.xls"


def test_decode_words_mixed_text_and_charsets() -> None:
    text = "回复：" + encode_word_b("发票", "gb2312") + " 和 =?utf-8?Q?=E7=94=B3_x?="
    assert decode_words(text) == "回复：发票 和 申 x"
    assert decode_words("=?broken") == "=?broken"
    assert decode_words("=?no-such?B?5byg5LiJ?=") == "张三"


def test_name_on_content_type_only_and_octet_stream() -> None:
    raw = build_mail(attachments=[("申请表.xls", b"x", "application/octet-stream")],
                     filename_style="name-only")
    (attachment,) = parse_message(raw).attachments
    assert attachment.filename == "申请表.xls"
    assert attachment.content_type == "application/octet-stream"


@pytest.mark.parametrize("ctype", [XLS, XLSX])
def test_spreadsheet_without_any_name_is_an_attachment(ctype: str) -> None:
    raw = head(From="a@163.com", Subject="x", MIME_Version="1.0") + multipart("mixed", [
        text_part("正文"),
        f"Content-Type: {ctype}\r\nContent-Transfer-Encoding: base64\r\n\r\nUEs=".encode(),
    ])
    (attachment,) = parse_message(raw).attachments
    assert attachment.filename is None
    assert attachment.content_type == ctype
    assert attachment.data == b"PK"


def test_disposition_attachment_without_name() -> None:
    raw = build_mail(attachments=[(None, b"data", "application/pdf")])
    (attachment,) = parse_message(raw).attachments
    assert attachment.filename is None and attachment.content_type == "application/pdf"


def test_a_file_without_name_or_disposition_is_kept_when_it_may_be_a_form() -> None:
    """application/octet-stream with neither a name nor a Content-Disposition, as
    scripts and OA systems send a workbook: by its first bytes it may be the form, so
    it is a file (not dropped, which told the unit its mail had no form). An unnamed
    part that cannot be one (an inline image, bytes of no spreadsheet) stays out."""
    from tests.builders.form import build_form_xlsx

    form = build_form_xlsx()
    raw = build_mail(parts=[
        attachment_part(None, form, "application/octet-stream", disposition=None),
        attachment_part(None, b"\x89PNG\r\n\x1a\n", "image/png", disposition=None),
        attachment_part(None, b"just bytes", "application/octet-stream", disposition=None),
    ])
    (attachment,) = parse_message(raw).attachments
    assert attachment.filename is None and attachment.data == form


def test_content_type_is_lower_case() -> None:
    raw = build_mail(attachments=[("a.xls", b"x", "Application/VND.MS-Excel")])
    assert parse_message(raw).attachments[0].content_type == XLS


def test_windows_path_in_filename_is_dropped() -> None:
    raw = build_mail(attachments=[("C:\\Users\\张三\\申请表.xls", b"x", XLS)],
                     filename_style="raw-gbk")
    assert parse_message(raw).attachments[0].filename == "申请表.xls"


@pytest.mark.parametrize("style", ["rfc2231", "rfc2047-b", "raw-gbk"])
def test_a_name_that_hides_what_it_is_shows_what_it_is(style: str) -> None:
    """A right-to-left override made 申请表\u202eslx.exe show as 申请表exe.xls in the
    console and save as an .exe; zero-width and bidi marks hide nothing either."""
    raw = build_mail(attachments=[("申请表\u202eslx.exe", b"MZ", "application/octet-stream"),
                                  ("表\u200b\u2066格\u2069.xlsx", b"x", XLSX)],
                     filename_style=style)
    assert [a.filename for a in parse_message(raw).attachments] == ["申请表slx.exe", "表格.xlsx"]


def test_a_disposition_written_whole_as_one_encoded_word_still_names_the_file() -> None:
    """Some mailers (and Python's email API fed a non-ASCII header) encode the whole
    Content-Disposition: the part, an octet-stream, was neither file nor body, so the
    mail was held as having no form and, a stranger's, got no reply."""
    word = base64.b64encode('attachment; filename="申请表.xlsx"'.encode()).decode()
    data = base64.b64encode(b"PK\x03\x04 workbook").decode()
    raw = ("From: a@b.cn\r\nTo: c@d.cn\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
           'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
           "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhi\r\n"
           "--b\r\nContent-Type: application/octet-stream\r\n"
           f"Content-Disposition: =?utf-8?b?{word}?=\r\nContent-Transfer-Encoding: base64\r\n\r\n"
           f"{data}\r\n--b--\r\n").encode()
    (att,) = parse_message(raw).attachments
    assert (att.filename, att.data) == ("申请表.xlsx", b"PK\x03\x04 workbook")


def test_several_attachments_in_order() -> None:
    files = [("一.xlsx", b"1", XLSX), ("二.xls", b"2", XLS), ("说明.pdf", b"3", "application/pdf")]
    mail = parse_message(build_mail(attachments=files, filename_style="rfc2047-b"))
    assert [(a.filename, a.data) for a in mail.attachments] == [
        ("一.xlsx", b"1"), ("二.xls", b"2"), ("说明.pdf", b"3")]
    assert mail.text.startswith("您好")


def test_forwarded_message_attachments_and_body() -> None:
    original = build_mail(subject="发票申请", body="收件人：赵六\n电话：13700000000",
                          attachments=[(FORM, b"PK-original", XLSX)], charset="gbk")
    raw = build_mail(subject="转发：发票申请", body="请处理附件中的申请。",
                     attachments=[("另一张.xls", b"xls", XLS)], forwarded=[original])
    mail = parse_message(raw)
    assert [a.filename for a in mail.attachments] == ["另一张.xls", FORM]
    assert mail.attachments[1].data == b"PK-original"
    own, _, forwarded = mail.text.partition("-----原始邮件-----")
    assert own.strip() == "请处理附件中的申请。"
    assert "收件人：赵六" in forwarded
    assert mail.subject == "转发：发票申请"


def test_base64_encoded_forwarded_message() -> None:
    original = build_mail(body="原文", attachments=[(FORM, b"PK-original", XLSX)])
    mail = parse_message(build_mail(body="转发", forwarded=[original],
                                    forwarded_encoding="base64"))
    assert [(a.filename, a.data) for a in mail.attachments] == [(FORM, b"PK-original")]
    assert mail.text.endswith("原文")


def test_image_attachment_is_not_inline() -> None:
    raw = build_mail(attachments=[("照片.jpg", b"\xff\xd8", "image/jpeg")])
    (attachment,) = parse_message(raw).attachments
    assert not attachment.inline and attachment.content_type == "image/jpeg"


def test_inline_image_is_marked_inline() -> None:
    image = (b"Content-Type: image/png; name=\"logo.png\"\r\nContent-ID: <logo@x>\r\n"
             b"Content-Disposition: inline; filename=\"logo.png\"\r\n"
             b"Content-Transfer-Encoding: base64\r\n\r\niVBORw==")
    raw = head(From="a@163.com", Subject="x") + multipart("related", [
        text_part("<p>hi</p>", "html"), image])
    (attachment,) = parse_message(raw).attachments
    assert attachment.inline and attachment.filename == "logo.png"


# ---------------------------------------------------------------------- headers


def test_headers_decoded() -> None:
    raw = build_mail(subject=f"发票申请（{RARE}）", sender=f"{RARE} <Unit.Name@163.COM>",
                     reply_to="经办人 <Reply@QQ.com>", charset="gb2312",
                     in_reply_to="<prev@163.com>", references=["<a@x>", "<b@y>"])
    mail = parse_message(raw)
    assert mail.subject == f"发票申请（{RARE}）"
    assert mail.sender == "unit.name@163.com"
    assert mail.sender_name == RARE
    assert mail.reply_to == "reply@qq.com"
    assert mail.in_reply_to == "<prev@163.com>"
    assert mail.references == ["<a@x>", "<b@y>"]
    assert mail.date == datetime(2018, 11, 1, 10, 0, tzinfo=timezone(timedelta(hours=8)))
    assert mail.header_count == len([line for line in raw.split(b"\r\n\r\n")[0].split(b"\r\n")
                                     if not line.startswith((b" ", b"\t"))])


@pytest.mark.parametrize("style", ["raw", "rfc2047-q", "rfc2047-b"])
def test_subject_and_sender_styles(style: str) -> None:
    raw = build_mail(subject="发票 申请", sender="张三 <a@163.com>", header_style=style,
                     charset="gbk")
    mail = parse_message(raw)
    assert mail.subject == "发票 申请"
    assert mail.sender_name == "张三"


def test_message_id_as_written_without_folding() -> None:
    raw = build_mail(message_id="\r\n <Abc.123@163.com>")
    assert parse_message(raw).message_id == "<Abc.123@163.com>"


def test_missing_message_id_is_synthesized_and_stable() -> None:
    raw = build_mail(message_id=None)
    mail = parse_message(raw)
    assert re.fullmatch(r"<[0-9a-f]{64}@invoice-worker\.local>", mail.message_id)
    assert parse_message(raw).message_id == mail.message_id
    assert parse_message(build_mail(message_id=None, body="别的")).message_id != mail.message_id
    assert parse_message(build_mail(message_id=None, subject="别的")).message_id != mail.message_id


def test_a_relayed_copy_of_a_mail_without_message_id_has_its_id() -> None:
    """Trace fields a relay, a filter or a fetcher adds (folded ones too), LF for CRLF
    and white space left at a line's end do not make it another mail."""
    raw = build_mail(message_id=None)
    relayed = (b"Return-Path: <unit@163.com>\r\nDelivered-To: fapiao@example.cn\r\n"
               b"Received: from mx.163.com\r\n\tby mx.example.cn; Mon, 3 Dec 2018 10:00:00 +0800\r\n"
               b"X-Spam-Status: No, score=-1.0\r\n"
               + raw.replace(b"\r\n", b"  \n"))
    assert relayed != raw and parse_message(relayed).message_id == parse_message(raw).message_id


def test_missing_date_is_none() -> None:
    assert parse_message(build_mail(date=None)).date is None


@pytest.mark.parametrize(("value", "expected"), [
    ("Thu, 1 Nov 2018 10:00:00 +0800",
     datetime(2018, 11, 1, 10, 0, tzinfo=timezone(timedelta(hours=8)))),
    ("Thu, 1 Nov 2018 02:00:00 GMT", datetime(2018, 11, 1, 2, 0, tzinfo=UTC)),
    ("Thu, 1 Nov 2018 02:00:00 -0000", datetime(2018, 11, 1, 2, 0, tzinfo=UTC)),
    ("1 Nov 2018 10:00:00", datetime(2018, 11, 1, 10, 0, tzinfo=SHANGHAI)),
    ("Thu, 1 Nov 2018 10:00:00 CST", datetime(2018, 11, 1, 10, 0, tzinfo=SHANGHAI)),
    ("Thu, 1 Nov 2018 10:00:00 +0800 (CST)", datetime(2018, 11, 1, 10, 0, tzinfo=SHANGHAI)),
    ("Thu,  1 Nov 2018 \r\n 10:00:00 +0000", datetime(2018, 11, 1, 10, 0, tzinfo=UTC)),
    ("2018-11-01 10:00:00", datetime(2018, 11, 1, 10, 0, tzinfo=SHANGHAI)),
    ("not a date", None),
    ("Thu, 45 Nov 2018 10:00:00 +0800", None),
    ("", None),
])
def test_dates(value: str, expected: datetime | None) -> None:
    date = parse_message(build_mail(date=value)).date
    assert date == expected
    if date is not None:
        assert date.tzinfo is not None


def test_sender_without_display_name_and_broken_from() -> None:
    assert parse_message(build_mail(sender="Unit@163.com")).sender == "unit@163.com"
    mail = parse_message(build_mail(sender="张三 <unit@163.com", header_style="raw"))
    assert mail.sender == "unit@163.com"
    mail = parse_message(build_mail(sender="no address at all"))
    assert mail.sender == ""


# -------------------------------------------------------------------- auto mail

AUTO_HEADERS = [
    ("Auto-Submitted", "auto-replied"),
    ("Auto-Submitted", "auto-generated"),
    ("Auto-Submitted", "Auto-Replied; owner-email=x@y"),
    ("X-Autoreply", "yes"),
    ("X-Autorespond", "1"),
    ("Precedence", "auto_reply"),
    ("Precedence", "bulk"),
    ("Precedence", "Junk"),
    ("Precedence", "list"),
]


def test_null_return_path_is_auto() -> None:
    assert parse_message(build_mail(extra_headers=[("Return-Path", "<>")])).auto_reason
    raw = build_mail(extra_headers=[("Return-Path", "<unit@163.com>")])
    assert parse_message(raw).auto_reason is None


@pytest.mark.parametrize(("name", "value"), AUTO_HEADERS)
def test_auto_headers(name: str, value: str) -> None:
    mail = parse_message(build_mail(extra_headers=[(name, value)]))
    assert mail.auto_reason is not None


@pytest.mark.parametrize(("name", "value"), [("Auto-Submitted", "no"),
                                             ("Precedence", "first-class"),
                                             ("X-Auto-Response-Suppress", "All")])
def test_headers_that_are_not_auto(name: str, value: str) -> None:
    assert parse_message(build_mail(extra_headers=[(name, value)])).auto_reason is None


@pytest.mark.parametrize("sender", ["MAILER-DAEMON@163.com", "mailer-daemon@qq.com",
                                    "Postmaster <postmaster@example.com>",
                                    "Mail Delivery System <Mailer-Daemon@x.org>"])
def test_daemon_senders(sender: str) -> None:
    assert parse_message(build_mail(sender=sender)).auto_reason is not None


@pytest.mark.parametrize("subject", [
    "自动回复: 线上缴费发票申请", "自动回复：发票", "自动答复: 发票申请", "Auto Reply: x",
    "Auto-Reply: x", "Automatic reply: 发票申请", "Out of Office: x", "退信", "系统退信",
    "Undeliverable: 发票申请", "Delivery Status Notification (Failure)",
    "Undelivered Mail Returned to Sender",
])
def test_auto_subjects(subject: str) -> None:
    assert parse_message(build_mail(subject=subject)).auto_reason is not None


@pytest.mark.parametrize("subject", ["Re: 线上缴费发票申请", "回复：线上缴费发票申请",
                                     "RE: 回复: 发票申请补充", "答复: 发票", "转发：申请表"])
def test_human_replies_are_not_auto(subject: str) -> None:
    assert parse_message(build_mail(subject=subject)).auto_reason is None


def test_bounce_multipart_report() -> None:
    mail = parse_message(build_bounce(sender="bounce-handler@163.com", subject="notice"))
    assert mail.auto_reason is not None and "report" in mail.auto_reason


def test_bounce_builder_and_auto_reply_builder() -> None:
    assert parse_message(build_bounce()).auto_reason is not None
    assert parse_message(build_auto_reply()).auto_reason is not None
    plain = build_auto_reply(extra_headers=())
    assert parse_message(plain).auto_reason is not None  # subject alone says so


def test_own_address_is_auto() -> None:
    raw = build_mail(sender="学院 <XY23391756@163.com>", subject="回复：线上缴费发票申请")
    assert parse_message(raw, own_addresses=["xy23391756@163.com"]).auto_reason is not None
    assert parse_message(raw).auto_reason is None


def test_plain_application_is_not_auto() -> None:
    assert parse_message(build_mail(attachments=[(FORM, b"PK")])).auto_reason is None


# ---------------------------------------------------------------- large links


def test_163_large_attachment_link_in_html() -> None:
    url = ("https://mail.163.com/large-attachment-download/index.html"
           "?p=X&amp;file=Y")
    markup = (f'<div>从网易163邮箱发来的超大附件</div><a href="{url}">申请表.xlsx</a>'
              '<a href="https://www.163.com/">网易</a>')
    mail = parse_message(build_mail(body=None, html=markup))
    assert mail.large_attachment_links == [
        "https://mail.163.com/large-attachment-download/index.html?p=X&file=Y"]


@pytest.mark.parametrize("url", [
    "https://wx.mail.qq.com/ftn/download?func=3&k=abc",
    "http://mail.qq.com/cgi-bin/ftnExs_download?k=abc&t=exs_ftn_download",
    "https://dashi.163.com/html/cloud-attachment-download/?identity=abc",
])
def test_known_large_attachment_hosts_in_text(url: str) -> None:
    mail = parse_message(build_mail(body=f"申请表太大，链接：{url}。谢谢"))
    assert mail.large_attachment_links == [url]


def test_marker_text_catches_unknown_link() -> None:
    body = "从QQ邮箱发来的超大附件\n申请表.xlsx (2M, 2018年12月1日 10:00 到期)\nhttps://ftn.example.cn/d?k=1"
    mail = parse_message(build_mail(body=body))
    assert mail.large_attachment_links == ["https://ftn.example.cn/d?k=1"]


def test_custom_patterns_and_no_false_positives() -> None:
    raw = build_mail(body="见 https://pan.example.com/s/abc 以及 https://www.tjzg.org/")
    assert parse_message(raw).large_attachment_links == []
    mail = parse_message(raw, large_attachment_patterns=[r"pan\.example\.com"])
    assert mail.large_attachment_links == ["https://pan.example.com/s/abc"]


# ------------------------------------------------------------ robustness/limits


def test_ten_thousand_headers() -> None:
    extra = [(f"X-Filler-{i}", f"value {i}") for i in range(10_000)]
    raw = build_mail(extra_headers=extra, attachments=[(FORM, b"PK", XLSX)])
    mail = parse_message(raw)
    assert mail.header_count >= 10_000
    assert [a.filename for a in mail.attachments] == [FORM]
    assert parse_headers_only(raw.split(b"\r\n\r\n")[0]).header_count == mail.header_count


def test_huge_body_and_long_header() -> None:
    body = "收件人：张三\n" + "很长的正文。" * 500_000
    raw = build_mail(body=body, subject="长" * 50_000, attachments=[(FORM, b"PK")])
    mail = parse_message(raw)
    assert mail.text.startswith("收件人：张三") and len(mail.text) == len(body)
    assert mail.subject == "长" * 50_000


def test_deep_nesting_falls_back_to_headers() -> None:
    inner = text_part("hi")
    for _ in range(3000):
        inner = multipart("mixed", [inner])
    mail = parse_message(head(From="a@163.com", Subject="deep") + inner)
    assert mail.subject == "deep"


@pytest.mark.parametrize("raw", [b"", b"   \r\n\r\n", b"\x00\x01 binary garbage \xff",
                                 b"<html><body>not a mail</body></html>"])
def test_not_a_mail(raw: bytes) -> None:
    with pytest.raises(MailUnreadable):
        parse_message(raw)


@pytest.mark.parametrize("raw", [
    # missing closing boundary, broken base64, unterminated quotes
    head(From="a@163.com", Subject="x") + (
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
        b"Content-Type: text/plain; charset=gbk\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"1cXI/Q=\r\n--b\r\nContent-Type: application/vnd.ms-excel; name=\"\xc9\xea.xls\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n!!!notbase64"
    ),
    # garbage content-type and 8-bit garbage in headers
    b"From: \xff\xfe <a@163.com>\r\nSubject: \xc9\xea\xc7\xeb\r\nContent-Type: ;;;===\r\n"
    b"Content-Transfer-Encoding: \xff\r\nDate: \xff\r\n\r\nbody",
    # multipart without boundary
    b"From: a@163.com\r\nContent-Type: multipart/mixed\r\n\r\n--x\r\nhello",
    # header-only
    b"From: a@163.com\r\nSubject: only headers",
    # bare LF line ends
    b"From: a@163.com\nSubject: =?gb2312?B?1cXI/Q==?=\n\nbody\n",
    # rfc2231 with unknown charset and bad percent escapes
    head(From="a@163.com") + b"Content-Type: application/vnd.ms-excel; "
    b"name*=x-bogus''%ZZ%E8%A1%A8.xls\r\n\r\nxx",
])
def test_malformed_mail_is_best_effort(raw: bytes) -> None:
    mail = parse_message(raw)
    assert mail.sender == "a@163.com"
    assert mail.message_id.endswith("@invoice-worker.local>")


def test_malformed_parts_still_found() -> None:
    raw = head(From="a@163.com", Subject="x") + (
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
        b"Content-Type: text/plain; charset=gbk\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"1cXI/Q\r\n--b\r\nContent-Type: application/vnd.ms-excel; name=\"\xc9\xea.xls\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\nUEs"
    )
    mail = parse_message(raw)
    assert mail.text == "张三"
    (attachment,) = mail.attachments
    assert attachment.filename == "申.xls" and attachment.data == b"PK"


def test_bare_lf_mail() -> None:
    mail = parse_message(b"From: a@163.com\nSubject: =?gb2312?B?1cXI/Q==?=\n\nbody\n")
    assert mail.subject == "张三" and mail.text == "body"


def test_leading_blank_lines_tolerated() -> None:
    assert parse_message(b"\r\n\r\nFrom: a@163.com\r\n\r\nhi").sender == "a@163.com"


def test_headers_only() -> None:
    raw = build_mail(subject="自动回复：发票", attachments=[(FORM, b"PK")])
    header_block = raw.split(b"\r\n\r\n")[0] + b"\r\n\r\n"
    mail = parse_headers_only(header_block)
    assert mail.subject == "自动回复：发票"
    assert mail.attachments == [] and mail.text == "" and mail.html is None
    assert mail.auto_reason is None  # attachments unseen: subject words alone never ignore
    assert mail.message_id == parse_message(raw).message_id
    with pytest.raises(MailUnreadable):
        parse_headers_only(b"")


def test_headers_only_on_a_whole_mail() -> None:
    raw = build_mail(message_id=None, attachments=[(FORM, b"PK" * 100_000)])
    mail = parse_headers_only(raw)
    assert mail.sender == "unit@163.com" and mail.attachments == []
    assert mail.message_id == parse_message(raw).message_id


def test_name_and_address_encoded_together_in_one_word() -> None:
    """Some webmail encodes the whole From (name and address) as one RFC 2047 word."""
    from email.header import Header

    raw = build_mail(sender=Header("赵玥 <zhaoyue@163.com>", "gbk").encode())
    mail = parse_message(raw)
    assert (mail.sender_name, mail.sender) == ("赵玥", "zhaoyue@163.com")


@pytest.mark.parametrize("value", [
    "=?gbk?b?1dTr/CA8emhhb3l1ZUAxNjMuY29tPg==?=", "=?utf-8?q?=E8=B5=B5?= zhaoyue",
    '"赵玥" <zhaoyue at 163.com>', "<>", "undisclosed-recipients:;", "\"(a\\", "赵玥",
])
def test_an_address_without_at_is_read_as_when_parseaddr_ran(value: str) -> None:
    """``address`` runs ``parseaddr`` only for a text with an '@': without one it finds
    no address, so the result is what the fallbacks alone give."""
    from email.utils import parseaddr

    from worker.message import headers

    assert "@" not in parseaddr(value)[1]
    assert headers.address(value) == _address_with_parseaddr(value)


def _address_with_parseaddr(value: str) -> tuple[str, str]:
    """``headers.address`` as it was, ``parseaddr`` run on every text."""
    from email.utils import parseaddr

    from worker.message import headers

    text = headers.raw_text(value)
    try:
        name, addr = parseaddr(text)
    except Exception:
        name, addr = "", ""
    if "@" not in addr:
        match = headers._address_in(text)
        if match is None:
            decoded = headers.header_text(text)
            match = headers._address_in(decoded)
            if match is None:
                return decoded.strip('"\' '), ""
            text = decoded
        addr, name = match.group(0), text[: match.start()]
    return headers.decode_words(name).strip().strip("\"'<> ").strip(), addr.strip().lower()


@pytest.mark.parametrize("value", [bytes([b]) for b in range(256)])
def test_blank_means_what_strip_leaves_nothing_of(value: bytes) -> None:
    """A mail of white space alone is unreadable; any other byte makes it a mail (the
    emptiness test must not copy the mail, and must not change which is which)."""
    from worker.message.parse import _as_bytes

    for raw in (value, value * 3, b" \t" + value + b"\x0b\x0c"):
        if raw.strip():
            assert _as_bytes(raw) == raw.lstrip(b"\r\n")
        else:
            with pytest.raises(MailUnreadable):
                _as_bytes(raw)


_AT = datetime(2018, 9, 3, 10, 15, tzinfo=timezone(timedelta(hours=8)))


@pytest.mark.parametrize(("stored", "new", "copy"), [
    (Digests("c", "e", _AT), Digests("c", "e", _AT.astimezone(UTC)), True),  # one instant
    (Digests("c", "e", _AT), Digests("c", "e", _AT + timedelta(hours=1)), False),  # sent again
    (Digests("c", "e", _AT), Digests("c", "e", _AT + timedelta(seconds=2)), True),  # one sending
    (Digests("c", "e", None), Digests("c", "e2", _AT), True),  # a relay stamped a Date
    (Digests("c", "e", _AT), Digests("d", "e", _AT), False),  # another mail, one ID
    (Digests(None, "e", _AT), Digests("c", "e", _AT), False),  # stored unread: judge this one
    (Digests("c", "e", _AT), Digests(None, "e", _AT), True),  # a copy over the limit
    (Digests("c", "e", _AT), Digests(None, "e2", _AT), False),
    (Digests(None, None, _AT), Digests("c", "e", _AT), True),  # stored before digests
    (Digests(None, None, _AT), Digests("c", "e", _AT + timedelta(days=1)), False),
])
def test_same_mail_needs_the_same_date_and_content(stored: Digests, new: Digests,
                                                    copy: bool) -> None:
    assert same_mail(stored, new) is copy
