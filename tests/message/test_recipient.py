"""worker.recipient: the parcel recipient as units really write it."""

from __future__ import annotations

import pytest

from tests.builders.mail import build_mail
from worker.message import parse_message
from worker.recipient import (
    Recipient,
    is_valid_phone,
    merge,
    normalize_phone,
    parse_recipient,
    parse_recipient_parts,
)

ZHANG = Recipient("张三", "13800000000", "天津市武清区杨村街道和平路1号")


@pytest.mark.parametrize("text", [
    "收件人：张三\n电话：13800000000\n地址：天津市武清区杨村街道和平路1号",
    "收件人:张三\n联系电话:13800000000\n收件地址:天津市武清区杨村街道和平路1号",
    "收 件 人：张三\n手 机：13800000000\n收件地址 ： 天津市武清区杨村街道和平路1号  ",
    "收件人姓名：张三\n收件电话：13800000000\n邮寄地址：天津市武清区杨村街道和平路1号",
    "收件人：张三 电话：13800000000 地址：天津市武清区杨村街道和平路1号",
    "收件人：张三，电话：13800000000；地址：天津市武清区杨村街道和平路1号。",
    "收件人：张三；手机号：13800000000；寄送地址：天津市武清区杨村街道和平路1号",
    "联系人：张三\n联系方式：13800000000\n通讯地址：天津市武清区杨村街道和平路1号",
    "收件信息：\n张三，13800000000，天津市武清区杨村街道和平路1号",
    "收件信息\n张三 13800000000 天津市武清区杨村街道和平路1号",
    "收件信息：张三，13800000000，天津市武清区杨村街道和平路1号",
    "邮寄信息如下：\n张三\n13800000000\n天津市武清区杨村街道和平路1号",
    "收件人：张三，13800000000，天津市武清区杨村街道和平路1号",
    "收件人：\n张三 13800000000\n天津市武清区杨村街道和平路1号",
    "收件人信息\n姓名：张三\n电话：13800000000\n地址：天津市武清区杨村街道和平路1号",
    "地址：天津市武清区杨村街道和平路1号 张三 13800000000",
    "张三，13800000000，天津市武清区杨村街道和平路1号",
    "收件人 张三\n电话 13800000000\n地址 天津市武清区杨村街道和平路1号",
    "收件人张三\n电话13800000000\n地址天津市武清区杨村街道和平路1号",
    "收件人：张三（收）\n电话：13800000000\n地址：天津市武清区杨村街道和平路1号",
])
def test_recipient_variants(text: str) -> None:
    assert parse_recipient(text) == ZHANG


@pytest.mark.parametrize("text", [
    # what follows the name on its line gives way to a labelled value
    "收件人：张三，天津市武清区某某公司\n电话：13800000000\n地址：天津市武清区杨村街道和平路1号",
    "收件人：张三, 天津市武清区杨村街道和平路9号\n电话：13800000000\n地址：天津市武清区杨村街道和平路1号",
    # a note in brackets after the name, with digits or a colon in it
    "收件人：张三（工作日9:00-17:00可收件）\n电话：13800000000\n地址：天津市武清区杨村街道和平路1号",
    "收件人：张三（http://wq.example）\n电话：13800000000\n地址：天津市武清区杨村街道和平路1号",
])
def test_what_else_is_on_the_name_line_never_beats_a_label(text: str) -> None:
    assert parse_recipient(text) == ZHANG


@pytest.mark.parametrize("markup", [
    # each label's value in the next <div> / after a <br> (phone clients, QQ webmail)
    "<div>收件人：</div><div>张三</div><div>电话：</div><div>13800000000</div>"
    "<div>地址：</div><div>天津市武清区杨村街道和平路1号</div>",
    "<p>收件人：<br>张三</p><p>联系电话：<br>13800000000</p><p>邮寄地址：<br>天津市武清区杨村街道和平路1号</p>",
    # a long address broken by a <br> (or by the editor) goes on on the next line
    "<div>收件人：张三</div><div>电话：13800000000</div><div>地址：天津市武清区<br>杨村街道和平路1号</div>",
    "<div>收件人：张三<br>电话：13800000000<br>地址：天津市<br>武清区杨村街道和平路1号<br>谢谢！</div>",
])
def test_values_on_the_line_below_their_label(markup: str) -> None:
    """An address cut at a line break went to the courier cut (天津市); a phone and an
    address under their empty labels were missing (MISSING_RECIPIENT)."""
    mail = parse_message(build_mail(body=None, html=markup, charset="utf-8"))
    assert parse_recipient(mail.text) == ZHANG


def test_a_greeting_under_an_empty_address_label_is_not_the_address() -> None:
    """收件人：/电话：/地址： left empty (the form holds them), then a greeting."""
    assert parse_recipient("收件人：\n电话：\n地址：\n\n谢谢！") == Recipient()


def test_the_line_under_an_address_is_not_taken_for_more_of_it() -> None:
    text = ("收件人：张三\n电话：13800000000\n地址：天津市武清区杨村街道和平路1号\n李四\n"
            "13900000000\n\n天津市河西区某路2号")
    assert parse_recipient(text) == ZHANG
    table = "收件人 电话 地址\n张三 13800000000 天津市武清区杨村街道和平路1号"
    assert parse_recipient(table) == ZHANG


def test_full_width_everything() -> None:
    text = "收件人：张三\u3000\u3000电话：１３８００００００００\n地址：天津市武清区和平路１号"
    result = parse_recipient(text)
    assert result.name == "张三"
    assert result.phone == "１３８００００００００"
    assert normalize_phone(result.phone) == "13800000000"
    assert result.address == "天津市武清区和平路１号"


def test_rare_characters_in_names() -> None:
    for name in ("王堃", "李喆", "朱镕基", "赵玥", "张𠀀", "欧阳娜娜"):
        assert parse_recipient(f"收件人：{name}\n电话：13800000000").name == name


def test_phone_is_returned_as_written() -> None:
    assert parse_recipient("电话： 138 0000 0000 ").phone == "138 0000 0000"
    assert parse_recipient("电话：022-23391756转123").phone == "022-23391756转123"
    assert parse_recipient("电话：1380000000（办公）").phone == "1380000000"  # invalid, kept
    assert parse_recipient("手机：13800000000/022-23391756").phone == "13800000000"
    assert parse_recipient("电话：无").phone is None


def test_address_keeps_the_whole_rest_of_the_line() -> None:
    text = "地址：天津市武清区杨村街道, 和平路1号 3号楼 2单元 501室 "
    assert parse_recipient(text).address == "天津市武清区杨村街道, 和平路1号 3号楼 2单元 501室"


def test_address_keeps_no_bracket_opened_before_the_postcode() -> None:
    text = "收件人：张三\n电话：13800000000\n地址：天津市武清区杨村街道和平路1号（邮编：301700）"
    assert parse_recipient(text) == ZHANG


def test_address_stops_at_postcode() -> None:
    text = "地址：天津市武清区杨村街道和平路1号 邮编：301700"
    assert parse_recipient(text).address == "天津市武清区杨村街道和平路1号"


def test_explicit_labels_beat_generic_ones() -> None:
    text = "电话：022-23391756\n收件人：张三\n收件电话：13800000000\n地址：天津市武清区某路1号"
    assert parse_recipient(text).phone == "13800000000"


def test_first_occurrence_wins() -> None:
    text = "收件人：张三\n电话：13800000000\n收件人：李四\n电话：13900000000"
    assert parse_recipient(text) == Recipient("张三", "13800000000", None)


def test_signature_person_is_not_the_recipient() -> None:
    text = ("您好，附件是申请表。\n收件人：张三\n地址：天津市武清区和平路1号\n\n"
            "经办人：李四 电话：13900000000\n")
    assert parse_recipient(text) == Recipient("张三", None, "天津市武清区和平路1号")


def test_signature_lines_after_handler_label() -> None:
    text = "经办人：李四\n电话：13900000000\n地址：天津市宝坻区某路2号"
    assert parse_recipient(text) == Recipient()


def test_signature_separator() -> None:
    text = "收件人：张三\n\n-- \n某某公司 财务部\n天津市宝坻区某路2号 13900000000"
    assert parse_recipient(text) == Recipient("张三", None, None)


def test_handler_then_recipient_label() -> None:
    text = "经办人：李四，电话：13900000000\n收件人：张三，电话：13800000000"
    assert parse_recipient(text).phone == "13800000000"


def test_name_label_only_in_recipient_context() -> None:
    assert parse_recipient("姓名：张三").name is None
    assert parse_recipient("经办人姓名：李四").name is None
    assert parse_recipient("收件信息\n姓名：张三").name == "张三"


def test_instructions_are_not_values() -> None:
    text = "请在正文中写明收件人、收件电话、收件地址。\n按通知要求填写收件人姓名和地址"
    assert parse_recipient(text) == Recipient()


def test_quoted_lines_do_not_override_new_text() -> None:
    text = ("收件人：新人\n电话：13800000000\n"
            "> 收件人：旧人\n> 电话：13700000000\n> 地址：天津市静海区某路3号")
    assert parse_recipient(text) == Recipient("新人", "13800000000", "天津市静海区某路3号")


@pytest.mark.parametrize("separator", [
    "-----原始邮件-----",
    "------------------ Original ------------------",
    "------------------\u00a0原始邮件\u00a0------------------",
    "-----Original Message-----",
    "在 2018-11-01 10:00:00，\"某单位\" <unit@163.com> 写道：",
    "On Thu, Nov 1, 2018 at 10:00 AM Unit <unit@163.com> wrote:",
    "________________________________",
])
def test_quote_separators(separator: str) -> None:
    text = (f"请寄给：\n收件人：新人\n\n{separator}\n"
            "收件人：旧人\n电话：13700000000\n地址：天津市静海区某路3号")
    assert parse_recipient(text) == Recipient("新人", "13700000000", "天津市静海区某路3号")


def test_quoted_header_block_is_not_a_recipient() -> None:
    text = ("补充电话：13800000000\n\n"
            "发件人: \"学院\" <xy23391756@163.com>\n发送时间: 2018年11月1日 10:00\n"
            "收件人: \"某单位\" <unit@163.com>\n主题: 回复：线上缴费发票申请\n\n"
            "请补充收件信息。")
    assert parse_recipient(text) == Recipient(None, "13800000000", None)


def test_quoted_block_fills_gaps_after_its_header() -> None:
    text = ("电话：13800000000\n\n-----原始邮件-----\n发件人: a <a@b.com>\n"
            "收件人: xy <xy@163.com>\n主题: x\n\n收件人：赵六\n地址：天津市静海区某路3号")
    assert parse_recipient(text) == Recipient("赵六", "13800000000", "天津市静海区某路3号")


def test_html_body_via_parse_message() -> None:
    markup = ("<div>您好！</div><table><tr><td>收件人</td><td>张三</td></tr>"
              "<tr><td>联系电话</td><td>13800000000</td></tr>"
              "<tr><td>收件地址</td><td>天津市武清区杨村街道和平路1号</td></tr></table>"
              "<blockquote>收件人：旧人</blockquote>")
    text = parse_message(build_mail(body=None, html=markup, charset="gb2312")).text
    assert parse_recipient(text) == ZHANG


def test_empty_and_huge_text() -> None:
    assert parse_recipient("") == Recipient()
    huge = "收件人：张三\n" + "无关的正文内容。\n" * 200_000
    assert parse_recipient(huge).name == "张三"


def test_missing_and_merge() -> None:
    assert Recipient().missing() == ["收件人", "收件电话", "收件地址"]
    assert Recipient("张三", "", None).missing() == ["收件电话", "收件地址"]
    assert ZHANG.missing() == []
    body = Recipient("张三", None, "")
    form = Recipient("李四", "13900000000", "天津市宝坻区某路2号")
    assert merge(body, form) == Recipient("张三", "13900000000", "天津市宝坻区某路2号")
    assert merge(Recipient(), Recipient()) == Recipient()


@pytest.mark.parametrize(("raw", "expected"), [
    ("13800000000", "13800000000"),
    ("19912345678", "19912345678"),
    (" 138 0000 0000 ", "13800000000"),
    ("138-0000-0000", "13800000000"),
    ("+86 138 0000 0000", "13800000000"),
    ("+86-13800000000", "13800000000"),
    ("(+86)13800000000", "13800000000"),
    ("8613800000000", "13800000000"),
    ("0086 13800000000", "13800000000"),
    ("１３８００００００００", "13800000000"),
    ("022-23391756", "022-23391756"),
    ("02223391756", "022-23391756"),
    ("022 2339 1756", "022-23391756"),
    ("(022)23391756", "022-23391756"),
    ("（022）23391756", "022-23391756"),
    ("022-2339-1756", "022-23391756"),
    ("23391756", "022-23391756"),
    ("2339-1756", "022-23391756"),
    ("022-23391756-123", "022-23391756-123"),
    ("022-23391756转123", "022-23391756-123"),
    ("022-23391756 ext 123", "022-23391756-123"),
    ("022-23391756 ext.8", "022-23391756-8"),
    ("23391756转8001", "022-23391756-8001"),
    ("010-62345678", "010-62345678"),
    ("0316-2234567", "0316-2234567"),
    ("+86 22 23391756", "022-23391756"),
])
def test_valid_phones(raw: str, expected: str) -> None:
    assert normalize_phone(raw) == expected
    assert is_valid_phone(raw)


@pytest.mark.parametrize("raw", [
    "", "   ", "无", "abc", "1380000000", "138000000000", "12800000000", "10800000000",
    "2339175", "022-2339175", "022-03391756", "123-23391756", "13800000000转1",
    "+1 3800000000", "022-23391756-1234567", "022-23391756转", "13800000000 13900000000",
    "电话13800000000", "0000-00000000", "00-23391756",
])
def test_invalid_phones(raw: str) -> None:
    assert normalize_phone(raw) is None
    assert not is_valid_phone(raw)


def test_none_phone() -> None:
    assert normalize_phone(None) is None and not is_valid_phone(None)


QQ_REPLY = (
    "<div>收件人：张三</div><div>电话：13800000000</div><div><br></div>"
    '<div style="font-size: 12px;font-family: Arial Narrow;padding:2px 0 2px 0;">'
    "------------------&nbsp;原始邮件&nbsp;------------------</div>"
    '<div style="font-size: 12px;background:#efefef;padding:8px;">'
    "<div><b>发件人:</b>&nbsp;\"学院\"&lt;xy23391756@163.com&gt;;</div>"
    "<div><b>发送时间:</b>&nbsp;2018年11月1日(星期四) 上午10:00</div>"
    "<div><b>收件人:</b>&nbsp;\"某单位\"&lt;unit@qq.com&gt;;</div>"
    "<div><b>主题:</b>&nbsp;回复：线上缴费发票申请</div></div><div><br></div>"
    "<div>您的申请缺少收件地址。</div>"
    "<div>收件人：旧人</div><div>地址：天津市静海区某路3号</div>"
)
NETEASE_REPLY = (
    "<div>收件人：张三<br>电话：13800000000</div><br><br>"
    '<div style="position:relative;zoom:1"></div><div id="divNeteaseMailCard"></div>'
    "<br>在 2018-11-01 10:00:00，\"学院\" &lt;xy23391756@163.com&gt; 写道：<br>"
    '<blockquote id="isReplyContent" style="PADDING-LEFT: 1ex; MARGIN: 0px 0px 0px 0.8ex">'
    "收件人：旧人<br>地址：天津市静海区某路3号</blockquote>"
)
OUTLOOK_REPLY = (
    "收件人：张三\r\n电话：13800000000\r\n\r\n"
    "________________________________\r\n"
    "发件人: 学院 <xy23391756@163.com>\r\n发送时间: 2018年11月1日 10:00\r\n"
    "收件人: 某单位 <unit@outlook.com>\r\n主题: 回复: 线上缴费发票申请\r\n\r\n"
    "收件人：旧人\r\n地址：天津市静海区某路3号\r\n"
)


@pytest.mark.parametrize(("body", "html"), [(None, QQ_REPLY), (None, NETEASE_REPLY),
                                            (OUTLOOK_REPLY, None)])
def test_client_replies(body: str | None, html: str | None) -> None:
    mail = parse_message(build_mail(body=body, html=html, charset="gb2312"))
    assert parse_recipient(mail.text) == Recipient("张三", "13800000000", "天津市静海区某路3号")


def test_forwarded_mail_body_is_a_fallback() -> None:
    original = build_mail(body="收件人：赵六\n电话：13700000000\n地址：天津市静海区某路3号")
    mail = parse_message(build_mail(body="收件人：张三\n请处理。", forwarded=[original]))
    assert parse_recipient(mail.text) == Recipient("张三", "13700000000", "天津市静海区某路3号")


# Our MISSING_RECIPIENT reply, as 163, QQ and Foxmail quote it under a unit's answer.
OUR_REPLY_QUOTED = (
    "\n\n------------------ 原始邮件 ------------------\n"
    "发件人: \"发票\"<fapiao@example.cn>\n主题: Re: 线上缴费发票申请\n\n"
    "天津市武清区示例公司：\n问题（1 个）：\n  1. 缺少收件信息——邮件正文和申请表中都没有找到：收件人。"
    "请在邮件正文中写明收件人姓名、联系电话和收件地址，"
    "例如：“收件人：张三 电话：13800000000 地址：天津市武清区……”。\n")


@pytest.mark.parametrize("text", [
    "您好，已补充。" + OUR_REPLY_QUOTED,                    # nothing new: still nobody
    "收件人：例如张三",
    "请按格式填写，例如：收件人：张三 电话：13800000000 地址：天津市武清区……",
])
def test_an_example_is_no_ones_address(text: str) -> None:
    """Quoting our own reply used to ship the parcel to 张三 at 天津市武清区……"""
    assert parse_recipient_parts(text) == (Recipient(), Recipient())


def test_the_new_text_and_the_quoted_mail_are_kept_apart() -> None:
    """The form's recipient ranks between them (worker.intake.analyse): a unit that
    moved answers with a corrected form above the old details it quotes."""
    new, quoted = parse_recipient_parts(
        "收件信息已改，见申请表。\n\n> 收件人：旧收件\n> 电话：13820000000\n"
        "> 地址：天津市武清区旧地址 1 号\n")
    assert new == Recipient()
    assert quoted == Recipient("旧收件", "13820000000", "天津市武清区旧地址 1 号")


@pytest.mark.parametrize("text", ["收件人在表里", "收件信息已改，见申请表。", "收件人：见附件申请表",
                                  "收件人：详见申请表", "收件人：同上", "收件人：无"])
def test_a_sentence_about_the_details_is_no_name(text: str) -> None:
    assert parse_recipient(text).name is None


@pytest.mark.parametrize("name", ["如意", "上官婉儿", "于见明", "张在"])
def test_names_that_merely_hold_those_words_stay_names(name: str) -> None:
    assert parse_recipient(f"收件人：{name} 电话：13800000000").name == name
