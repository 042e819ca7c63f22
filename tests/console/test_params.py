"""Issue 10 item 7 over HTTP: out-of-range input answers 400 or 404, never a 500
(Flask's test mode re-raises a 500's exception, so one would fail the test loudly)."""

from __future__ import annotations

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient
from werkzeug.routing import IntegerConverter

from tests.console.conftest import Seeded

HUGE_IDS = (str(2**31), str(2**63), str(2**64 + 1), "1" + "0" * 30, "9" * 5000)
MARK = 424242  # stands for the huge id while the URL is built


def id_routes(app: Flask) -> list[tuple[str, str, list[str]]]:
    """Every route taking an id, as (method, endpoint, argument names)."""
    out = []
    for rule in app.url_map.iter_rules():
        # only integer arguments (``<int:…>``): ``/staff/<action>`` takes a word
        ints = [a for a in rule.arguments
                if isinstance(rule._converters.get(a), IntegerConverter)]
        if ints:
            out += [(m, rule.endpoint, ints) for m in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return out


def test_ids_too_large_for_the_database_are_404_on_every_route(
        flask_app: Flask, logged_in: tuple[FlaskClient, str], seeded: Seeded) -> None:
    client, token = logged_in
    routes = id_routes(flask_app)
    assert len(routes) >= 10
    for method, endpoint, args in routes:
        for huge in HUGE_IDS:
            for arg in args:  # each argument too large in turn, the others fine
                values = {a: (MARK if a == arg else seeded.hostile) for a in args}
                with flask_app.test_request_context():
                    url = url_for(endpoint, kind="pdf", **values).replace(str(MARK), huge)
                r = (client.get(url) if method == "GET"
                     else client.post(url, data={"csrf_token": token}))
                assert r.status_code == 404, (method, url[:80])


@pytest.mark.parametrize("query, reason", [
    ("page=1000000000000000000", "页码"), ("page=0", "页码"), ("page=-1", "页码"),
    ("page=" + "9" * 5000, "页码"), ("page=１", "页码"),
    ("from=0001-01-01", "日期"), ("to=9999-12-31", "日期"), ("from=9999-12-31", "日期"),
    ("to=0001-01-01", "日期"), ("from=2018-02-30", "日期"), ("to=" + "2" * 3000, "日期"),
    ("q=%00", "空字符"), ("district=%00", "空字符"), ("status=%00", "空字符"),
])
def test_out_of_range_queue_filters_are_400(logged_in: tuple[FlaskClient, str],
                                            query: str, reason: str) -> None:
    client, _ = logged_in
    r = client.get("/queue?" + query)
    assert r.status_code == 400 and reason in r.get_data(as_text=True), query


def test_the_widest_allowed_dates_and_last_page_work(logged_in: tuple[FlaskClient, str],
                                                     seeded: Seeded) -> None:
    client, _ = logged_in
    for query in ("from=2000-01-01&to=2099-12-31", "page=100000", "status=all&page=2"):
        assert client.get("/queue?" + query).status_code == 200, query


def test_nul_in_any_parameter_is_400(logged_in: tuple[FlaskClient, str], seeded: Seeded) -> None:
    client, token = logged_in
    assert client.get("/audit?actor=%00").status_code == 400
    assert client.get("/audit?action=a%00b").status_code == 400
    r = client.post(f"/applications/{seeded.hostile}/correct",
                    data={"csrf_token": token, "unit": "新单位\x00"})
    assert r.status_code == 400 and "空字符" in r.get_data(as_text=True)
    r = client.post(f"/applications/{seeded.hostile}/reject",
                    data={"csrf_token": token, "message": "\x00"})
    assert r.status_code == 400
    assert client.get("/login?next=%00").status_code == 400


@pytest.mark.parametrize("value", [str(2**63), str(2**31), "0", "-1", "1e3", "abc", "",
                                   "9" * 5000, "１２"])
def test_reprint_with_an_impossible_application_number_is_refused(
        logged_in: tuple[FlaskClient, str], seeded: Seeded, value: str) -> None:
    client, token = logged_in
    r = client.post("/print/reprint", data={"csrf_token": token, "application_id": value},
                    follow_redirects=True)
    assert r.status_code == 200 and "请填写正确的申请编号" in r.get_data(as_text=True)
