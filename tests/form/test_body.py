"""A form pasted into the mail body, as an HTML table or tab-separated cells."""

from __future__ import annotations

from tests.builders.form import default_header, form_grid, make_lines
from tests.builders.formats import grid_to_html, grid_to_tab_text
from worker.form import DEFAULT_LIMITS
from worker.form.body import html_table_sheet, tab_text_sheet
from worker.form.reader import build_form

LINES = make_lines(2)


def test_html_tables_read_like_a_workbook() -> None:
    markup = grid_to_html(form_grid(default_header(), LINES))
    form = build_form([html_table_sheet(markup, DEFAULT_LIMITS)], DEFAULT_LIMITS)
    assert form.header["unit"] == default_header()["单位名称"]
    assert [line.order_no for line in form.lines] == [line["order_no"] for line in LINES]
    assert form.total_count == 2


def test_labels_and_table_in_separate_tables_inside_a_layout_table() -> None:
    table = form_grid({}, LINES, total=None, notes=False, title="")[0].rows
    cells = "".join("<tr>" + "".join(f"<td>{v if v is not None else ''}</td>" for v in row) + "</tr>"
                    for row in table)
    label_rows = "".join(f"<tr><th>{label}</th><td colspan=3>{value}</td></tr>"
                         for label, value in default_header().items())
    markup = (f"<table><tr><td><table>{label_rows}</table></td></tr>"
              f"<tr><td><table>{cells}</table></td></tr></table>")
    form = build_form([html_table_sheet(markup, DEFAULT_LIMITS)], DEFAULT_LIMITS)
    assert form.header["unit"] and form.header["district"]
    assert len(form.lines) == 2


def test_markup_without_tables_is_no_sheet() -> None:
    assert html_table_sheet("<p>收件人：张三</p><div>电话：13800000000</div>", DEFAULT_LIMITS) is None


def test_tab_separated_cells_in_a_plain_body() -> None:
    text = "老师好，申请表如下\n" + grid_to_tab_text(form_grid(default_header(), LINES)) + "\n谢谢"
    form = build_form([tab_text_sheet(text, DEFAULT_LIMITS)], DEFAULT_LIMITS)
    assert len(form.lines) == 2 and form.header["district"] == default_header()["所属区"]


def test_plain_text_without_tab_rows_is_no_sheet() -> None:
    assert tab_text_sheet("收件人：张三\t电话：13800000000\n地址：天津", DEFAULT_LIMITS) is None


def test_html_cells_merged_down_keep_the_columns_below_in_place() -> None:
    """In HTML a cell merged over two rows (rowspan) is absent from the second: the
    titles under 缴费信息 moved left under 序号 姓名 身份证号 and the form was not found."""
    grid = form_grid(default_header(), LINES, notes=False)[-1].rows
    index = next(i for i, row in enumerate(grid) if row and row[0] == "序号")
    titles = ('<tr><td rowspan="2">序号</td><td rowspan=2>姓名</td><td rowspan="2">身份证号</td>'
              '<td colspan="3">缴费信息</td></tr>'
              '<tr><td>订单号</td><td>培训年度</td><td>金额（元）</td></tr>')
    rows = ["<tr>" + "".join(f"<td>{'' if v is None else v}</td>" for v in row) + "</tr>"
            for row in grid]
    rows[index] = titles
    form = build_form([html_table_sheet("<table>" + "".join(rows) + "</table>", DEFAULT_LIMITS)],
                      DEFAULT_LIMITS)
    assert [(line.seq, line.order_no) for line in form.lines] == [
        (1, LINES[0]["order_no"]), (2, LINES[1]["order_no"])]
