"""The platform's batch-issuing workbook (批量开票-导入开票模板, V260401) as data.

One table per sheet; everything the writer and the tests need about a column is in its
row here: letter, header (row 3), the template's row-2 hint where known, the length
limit, which ``PlannedInvoice`` field feeds it, and its drop-down list.

Sources (public code that reads or writes the official template; searched 2025-26):

* Sheet 1 ``1-发票基本信息``, 39 columns A–AM, headers in row 3, data from row 4:
  ``InvoiceBasicInfoSheet`` (PHP, "税务数电发票模板（V251101版）表1，39列(A-AM)"), the
  same 39 headers in a browser-extension generator that also writes the hidden
  ``excelVersion`` sheet with ``pt:20260401``, and a TypeScript self-test that opens the
  real V260401 file and asserts A3 发票流水号 … AE3 购买方邮箱, validations on
  ``B4:B1001`` (``"增值税专用发票,普通发票"``) and ``"是,否"``, and ``excelVersion``
  holding ``pt:20260401``. L–O are four 购买方所在地区 columns (province … street,
  "报废产品收购必填").
* Column T 是否展示购买方地址电话银行账号 is NOT 是/否: its list is 展示地址、电话 /
  展示开户银行、银行账号 / 展示地址、电话、开户银行及银行账号 (Java template generator
  ``displayPAddTelAcc``; the TypeScript test asserts the third text in the template).
  Empty means "not shown".
* Sheet 2 ``2-发票明细信息``, 14 columns A–N (发票流水号, 项目名称, 商品和服务税收编码,
  规格型号, 单位, 数量, 单价, 金额, 税率, 折扣金额, 是否使用优惠政策, 优惠政策类型,
  即征即退类型, 煤炭种类); validation ``K4:K1001``; 税率 written as a decimal (0.03).
* 998 invoices per file: the template's validations cover rows 4–1001 ("ROW_SOFT_LIMIT =
  998 // 数据验证只覆盖到第 1001 行").
* Row-2 hints and limits: 必填（限20字符） for 流水号, （限10字符） 发票类型, 必填(是/否)
  是否含税, （限100字符） 购买方名称, 专票必填（限20字符） 税号, 非必填（限230字符） 备注,
  （限72字符） 邮箱, 限100 开户银行/账号; sheet 2: 项目名称 100, 税收编码 20 (19 digits),
  金额 16 "保留两位小数", 税率 8. Hints not found in any source are left empty rather
  than invented.
"""

from __future__ import annotations

from dataclasses import dataclass

BASIC_SHEET = "1-发票基本信息"
DETAIL_SHEET = "2-发票明细信息"
SPECIFIC_SHEET = "3-特定业务信息"
EXTRA_SHEET = "4-附加要素信息"
VERSION_SHEET = "excelVersion"
TEMPLATE_VERSION = "pt:20260401"  # A4 of the hidden excelVersion sheet in V260401

HEADER_ROW = 3
FIRST_DATA_ROW = 4
MAX_INVOICES_PER_FILE = 998  # validations reach row 1001
LAST_VALIDATED_ROW = FIRST_DATA_ROW + MAX_INVOICES_PER_FILE - 1

YES, NO = "是", "否"
YES_NO = (YES, NO)
INVOICE_TYPES = ("增值税专用发票", "普通发票")  # the template's own order
SHOW_ADDRESS_PHONE = "展示地址、电话"
SHOW_BANK = "展示开户银行、银行账号"
SHOW_ALL = "展示地址、电话、开户银行及银行账号"
SHOW_CHOICES = (SHOW_ADDRESS_PHONE, SHOW_BANK, SHOW_ALL)


@dataclass(frozen=True)
class Column:
    letter: str
    header: str
    field: str | None = None  # key of the row dict built from a PlannedInvoice/line
    hint: str = ""
    max_len: int | None = None
    choices: tuple[str, ...] = ()


_REGION = "购买方所在地区（报废产品收购必填）"

BASIC_COLUMNS: tuple[Column, ...] = (
    Column("A", "发票流水号", "serial", "必填\n（限20字符）", 20),
    Column("B", "发票类型", "invoice_type", "必填\n（限10字符）", 10, INVOICE_TYPES),
    Column("C", "特定业务类型"),
    Column("D", "是否含税", "tax_included", "必填(是/否)\n（限2字符）", 2, YES_NO),
    Column("E", "受票方自然人标识", "natural_person", "非必填(是/否)\n（限2字符）", 2, YES_NO),
    Column("F", "购买方名称", "buyer_name", "必填\n（限100字符）", 100),
    Column("G", "购买方纳税人识别号", "buyer_tax_id", "专票必填\n（限20字符）", 20),
    Column("H", "购买方证件类型"),
    Column("I", "购买方证件号码"),
    Column("J", "购买方国籍（或地区）"),
    Column("K", "购买方地址", "buyer_address"),
    Column("L", _REGION),
    Column("M", _REGION),
    Column("N", _REGION),
    Column("O", _REGION),
    Column("P", "购买方详细地址（报废产品收购必填）"),
    Column("Q", "购买方电话", "buyer_phone"),
    Column("R", "购买方开户银行", "buyer_bank", "非必填\n（限100字符）", 100),
    Column("S", "购买方银行账号", "buyer_account", "非必填\n（限100字符）", 100),
    Column("T", "是否展示购买方地址电话银行账号", "show_buyer", "非必填\n（限20字符）", 20, SHOW_CHOICES),
    Column("U", "是否开具涉税专业服务发票品目"),
    Column("V", "涉税专业服务协议编号"),
    Column("W", "备注", "remark", "非必填\n（限230字符）", 230),
    Column("X", "报废产品销售类型"),
    Column("Y", "每千克煤炭发热量"),
    Column("Z", "干基全硫"),
    Column("AA", "干燥无灰基挥发分"),
    Column("AB", "销售方开户行"),
    Column("AC", "销售方银行账号"),
    Column("AD", "是否展示销售方地址电话银行账号", choices=SHOW_CHOICES),
    Column("AE", "购买方邮箱", "buyer_email", "非必填\n（限72字符）", 72),
    Column("AF", "购买方经办人姓名"),
    Column("AG", "购买方经办人证件类型"),
    Column("AH", "购买方经办人证件号码"),
    Column("AI", "经办人国籍(地区)"),
    Column("AJ", "经办人自然人纳税人识别号"),
    Column("AK", "放弃享受减按1%征收率原因"),
    Column("AL", "收款人"),
    Column("AM", "复核人"),
)

DETAIL_COLUMNS: tuple[Column, ...] = (
    Column("A", "发票流水号", "serial", "必填\n（限20字符）", 20),
    Column("B", "项目名称", "item_name", "必填\n（限100字符）", 100),
    Column("C", "商品和服务税收编码", "tax_code", "必填\n（限20字符）", 20),
    Column("D", "规格型号", "spec"),
    Column("E", "单位", "unit"),
    Column("F", "数量", "quantity"),
    Column("G", "单价", "unit_price"),
    Column("H", "金额", "amount", "必填\n（限16字符）\n保留两位小数", 16),
    Column("I", "税率", "tax_rate", "必填\n（限8字符）", 8),
    Column("J", "折扣金额"),
    Column("K", "是否使用优惠政策", choices=YES_NO),
    Column("L", "优惠政策类型"),
    Column("M", "即征即退类型"),
    Column("N", "煤炭种类"),
)

BASIC_NOTE = (
    "填表说明：每个发票流水号对应一张发票（第4行起每行一张）；明细在“2-发票明细信息”中"
    "按发票流水号关联。本文件由 invoice-worker 按税务平台批量开票模板（V260401）结构生成。"
)
DETAIL_NOTE = "填表说明：系统根据发票流水号将明细与“1-发票基本信息”关联；一张发票可有多行明细。"
